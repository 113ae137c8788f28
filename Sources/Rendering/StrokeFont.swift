import Foundation

/// sbrt's embedded stroke font: a sans-serif single-line ("engraving") face of our
/// own design, drawn as anti-aliased polylines, so it is sharp at any size.
///
/// Glyphs are described on a grid of font units: baseline at y = 0, cap height 10,
/// x-height 7, descenders to −3, y up. One em is 14 units, so text of `size` px has
/// capitals `size × 10/14` px tall. Each glyph is an advance width and a path string
/// of commands separated by spaces:
///
/// - `M x y` starts a new stroke at (x, y);
/// - `L x y` draws a line to (x, y);
/// - `A cx cy rx ry a0 a1` continues the stroke with an elliptical arc about
///   (cx, cy), radii rx and ry, from angle a0 to a1 in degrees (counter-clockwise from
///   +x; a1 < a0 runs clockwise). A stroke may start with an arc.
///
/// Covers printable ASCII (32–126) and a few symbols used in labels (× – − · ° ± ≥ ≤ µ ² ³).
/// Characters it does not have are drawn as `?`.
public enum StrokeFont {
    /// Font units per em.
    public static let unitsPerEm = 14.0
    /// Cap height in font units.
    public static let capHeight = 10.0

    /// One glyph: its advance in font units and its strokes (polylines in font units, y up).
    public struct Glyph: Sendable {
        public var advance: Double
        public var strokes: [[SIMD2<Double>]]
    }

    /// The glyph of `c`, or of `?` when the font has none.
    public static func glyph(_ c: Character) -> Glyph {
        glyphs[c] ?? glyphs["?"]!
    }

    /// Advance width of `text` at `size` px per em, px.
    public static func width(_ text: String, size: Double) -> Double {
        text.reduce(0) { $0 + glyph($1).advance } * size / unitsPerEm
    }

    /// The strokes of `text` in pixel coordinates (y down), its baseline starting at
    /// (`x`, `y`), at `size` px per em; `italic` slants by 12°.
    public static func paths(_ text: String, x: Double, y: Double, size: Double, italic: Bool = false) -> [[SIMD2<Double>]] {
        let s = size / unitsPerEm
        let slant = italic ? 0.21 : 0
        var pen = x
        var out: [[SIMD2<Double>]] = []
        for c in text {
            let g = glyph(c)
            for stroke in g.strokes {
                out.append(stroke.map { SIMD2(pen + ($0.x + slant * $0.y) * s, y - $0.y * s) })
            }
            pen += g.advance * s
        }
        return out
    }

    // MARK: - Glyph table

    static let glyphs: [Character: Glyph] = {
        var table: [Character: Glyph] = [:]
        for (c, advance, path) in source {
            table[c] = Glyph(advance: advance, strokes: parse(path))
        }
        return table
    }()

    /// Parses a glyph path string (see the type's documentation).
    static func parse(_ path: String) -> [[SIMD2<Double>]] {
        let tokens = path.split(separator: " ")
        var strokes: [[SIMD2<Double>]] = []
        var current: [SIMD2<Double>] = []
        var n = 0
        func number() -> Double { defer { n += 1 }; return Double(tokens[n])! }
        while n < tokens.count {
            let command = tokens[n]
            n += 1
            switch command {
            case "M":
                if !current.isEmpty { strokes.append(current) }
                current = [SIMD2(number(), number())]
            case "L":
                current.append(SIMD2(number(), number()))
            case "A":
                let cx = number(), cy = number(), rx = number(), ry = number(), a0 = number(), a1 = number()
                let steps = max(3, Int((abs(a1 - a0) / 10).rounded(.up)))
                for k in 0...steps {
                    let a = (a0 + (a1 - a0) * Double(k) / Double(steps)) * .pi / 180
                    let p = SIMD2(cx + rx * cos(a), cy + ry * sin(a))
                    if k == 0, let last = current.last, abs(last.x - p.x) < 1e-9, abs(last.y - p.y) < 1e-9 { continue }
                    current.append(p)
                }
            default:
                preconditionFailure("bad glyph path token \(command)")
            }
        }
        if !current.isEmpty { strokes.append(current) }
        return strokes
    }

    // Character, advance, path. Designed for sbrt; see the type's documentation.
    static let source: [(Character, Double, String)] = [
        (" ", 5, ""),
        ("!", 4, "M 2 10 L 2 3 M 2 0.2 L 2 0.3"),
        ("\"", 6, "M 2 10 L 2 7.5 M 4 10 L 4 7.5"),
        ("#", 8.5, "M 3.2 10 L 2.2 0 M 6.2 10 L 5.2 0 M 1.2 6.5 L 7.5 6.5 M 0.9 3.5 L 7.2 3.5"),
        ("$", 8.5, "M 7.2 8.4 A 4.3 7.5 2.9 2.5 20 270 A 4.3 2.5 3.1 2.5 90 -160 M 4.3 11 L 4.3 -1"),
        ("%", 10, "M 8.2 10 L 1.8 0 A 2.9 7.7 1.6 2.1 0 360 M 8.6 2.3 A 7 2.3 1.6 2.1 0 360"),
        ("&", 9, "M 8.2 0 L 2.9 6.4 A 4.2 8.3 1.7 1.7 215 -35 L 1.6 3.4 A 3.6 2.3 2 2.3 150 300 L 7.8 4.2"),
        ("'", 4, "M 2 10 L 2 7.5"),
        ("(", 5, "M 4.3 11 A 5.6 4 3.3 7 110 250"),
        (")", 5, "M 0.7 11 A -0.6 4 3.3 7 70 -70"),
        ("*", 7, "M 3.5 10 L 3.5 5 M 1.3 8.8 L 5.7 6.2 M 5.7 8.8 L 1.3 6.2"),
        ("+", 8.5, "M 4.25 8 L 4.25 1 M 1 4.5 L 7.5 4.5"),
        (",", 4, "M 2.2 0.6 L 1.2 -2"),
        ("-", 6, "M 1.2 4 L 4.8 4"),
        (".", 4, "M 1.9 0.3 L 2.1 0.3"),
        ("/", 7, "M 6 10.5 L 1 -1"),
        ("0", 8, "M 4 10 A 4 5 3 5 90 450"),
        ("1", 8, "M 2.2 8 L 4.8 10 L 4.8 0"),
        ("2", 8, "A 4 7.1 3 2.9 160 -35 L 1 0 L 7.2 0"),
        ("3", 8, "M 1.5 8.9 A 3.9 7.5 2.7 2.5 145 -90 A 4 2.6 3 2.6 90 -150"),
        ("4", 8, "M 5.6 0 L 5.6 10 L 0.9 3 L 7.4 3"),
        ("5", 8, "M 6.6 10 L 2 10 L 1.5 5.6 A 4 3.3 3 3.3 135 -145"),
        ("6", 8, "M 6.2 9.3 A 4.4 5 3.4 5 60 180 L 1 3 A 4 3 3 3 180 540"),
        ("7", 8, "M 1 10 L 7.2 10 L 3 0"),
        ("8", 8, "M 4 5.3 A 4 7.65 2.6 2.35 270 630 A 4 2.65 3 2.65 90 450"),
        ("9", 8, "M 7 7 A 4 7 3 3 0 360 L 7 5 A 3.7 5 3.3 5 0 -120"),
        (":", 4, "M 1.9 0.3 L 2.1 0.3 M 1.9 6 L 2.1 6"),
        (";", 4, "M 2.2 0.6 L 1.2 -2 M 1.9 6 L 2.1 6"),
        ("<", 8.5, "M 7.2 8 L 1.2 4.5 L 7.2 1"),
        ("=", 8.5, "M 1.2 6 L 7.2 6 M 1.2 3 L 7.2 3"),
        (">", 8.5, "M 1.2 8 L 7.2 4.5 L 1.2 1"),
        ("?", 8, "M 1.4 8.3 A 4 7.5 2.7 2.5 160 -70 L 4 3.2 M 3.9 0.3 L 4.1 0.3"),
        ("@", 11, "M 7 6.3 L 7 3.2 A 8 3.2 1 1.2 180 360 A 5.5 4.5 4.5 5.4 5 345 M 7 4.7 A 5.5 4.7 1.5 1.9 0 360"),
        ("A", 9, "M 1 0 L 4.5 10 L 8 0 M 2.3 3.5 L 6.7 3.5"),
        ("B", 9, "M 1.5 0 L 1.5 10 L 5 10 A 5 7.5 2.5 2.5 90 -90 L 1.5 5 M 5 5 A 5.2 2.5 2.7 2.5 90 -90 L 1.5 0"),
        ("C", 9, "A 4.8 5 3.8 5 38 322"),
        ("D", 9, "M 1.5 0 L 1.5 10 L 4 10 A 4 5 3.6 5 90 -90 L 1.5 0"),
        ("E", 8.5, "M 7.2 10 L 1.5 10 L 1.5 0 L 7.2 0 M 1.5 5.2 L 5.8 5.2"),
        ("F", 8, "M 7.2 10 L 1.5 10 L 1.5 0 M 1.5 5.2 L 5.8 5.2"),
        ("G", 9.5, "A 4.8 5 3.8 5 38 357 L 8.6 4.4 L 5.4 4.4"),
        ("H", 9, "M 1.5 0 L 1.5 10 M 7.5 0 L 7.5 10 M 1.5 5.2 L 7.5 5.2"),
        ("I", 6, "M 1.5 10 L 4.5 10 M 3 10 L 3 0 M 1.5 0 L 4.5 0"),
        ("J", 7.5, "M 5.8 10 L 5.8 2.9 A 3.5 2.9 2.3 2.9 0 -165"),
        ("K", 8.5, "M 1.5 0 L 1.5 10 M 7.5 10 L 1.5 3.5 M 3.7 5.9 L 7.6 0"),
        ("L", 8, "M 1.5 10 L 1.5 0 L 7 0"),
        ("M", 10.5, "M 1.4 0 L 1.4 10 L 5.25 0.5 L 9.1 10 L 9.1 0"),
        ("N", 9, "M 1.5 0 L 1.5 10 L 7.5 0 L 7.5 10"),
        ("O", 9.6, "M 4.8 10 A 4.8 5 3.8 5 90 450"),
        ("P", 8.5, "M 1.5 0 L 1.5 10 L 5 10 A 5 7.3 2.7 2.7 90 -90 L 1.5 4.6"),
        ("Q", 9.6, "M 4.8 10 A 4.8 5 3.8 5 90 450 M 5.4 2.4 L 8.3 -0.8"),
        ("R", 9, "M 1.5 0 L 1.5 10 L 5 10 A 5 7.3 2.7 2.7 90 -90 L 1.5 4.6 M 4.8 4.6 L 7.7 0"),
        ("S", 8.5, "M 7.2 8.6 A 4.3 7.5 2.9 2.5 25 270 A 4.3 2.5 3.1 2.5 90 -155"),
        ("T", 8.5, "M 0.9 10 L 7.6 10 M 4.25 10 L 4.25 0"),
        ("U", 9, "M 1.5 10 L 1.5 3.3 A 4.5 3.3 3 3.3 180 360 L 7.5 10"),
        ("V", 9, "M 1 10 L 4.5 0 L 8 10"),
        ("W", 11.5, "M 0.8 10 L 3.2 0 L 5.75 8.5 L 8.3 0 L 10.7 10"),
        ("X", 8.5, "M 1.2 10 L 7.3 0 M 7.3 10 L 1.2 0"),
        ("Y", 8.5, "M 0.9 10 L 4.25 5 L 7.6 10 M 4.25 5 L 4.25 0"),
        ("Z", 8.5, "M 1.5 10 L 7.3 10 L 1.3 0 L 7.3 0"),
        ("[", 5, "M 4 11 L 2 11 L 2 -2 L 4 -2"),
        ("\\", 7, "M 1 10.5 L 6 -1"),
        ("]", 5, "M 1 11 L 3 11 L 3 -2 L 1 -2"),
        ("^", 8, "M 1.5 6.5 L 4 10 L 6.5 6.5"),
        ("_", 7, "M 0 -2 L 7 -2"),
        ("`", 5, "M 2 10 L 3.2 8.5"),
        ("a", 8, "M 6.8 3.5 A 3.9 3.5 2.9 3.5 0 360 M 6.8 7 L 6.8 0"),
        ("b", 8, "M 1.2 10 L 1.2 0 M 7 3.5 A 4.1 3.5 2.9 3.5 0 360"),
        ("c", 7.5, "A 4.1 3.5 3 3.5 40 320"),
        ("d", 8, "M 6.8 3.5 A 3.9 3.5 2.9 3.5 0 360 M 6.8 10 L 6.8 0"),
        ("e", 8, "M 1.1 3.6 L 6.9 3.6 A 4 3.5 2.9 3.5 2 318"),
        ("f", 6, "M 5.6 9.6 A 4.3 8.3 1.6 1.7 55 180 L 2.7 0 M 1 6.8 L 5.2 6.8"),
        ("g", 8, "M 6.8 3.5 A 3.9 3.5 2.9 3.5 0 360 M 6.8 7 L 6.8 -0.9 A 4 -0.9 2.8 2.1 0 -160"),
        ("h", 8, "M 1.2 10 L 1.2 0 M 1.2 4 A 4 4 2.8 3 180 0 L 6.8 0"),
        ("i", 3.8, "M 1.9 7 L 1.9 0 M 1.9 9.4 L 1.9 9.6"),
        ("j", 4.2, "M 2.6 7 L 2.6 -1.4 A 1.1 -1.4 1.5 1.6 0 -140 M 2.6 9.4 L 2.6 9.6"),
        ("k", 7.5, "M 1.2 10 L 1.2 0 M 6.5 7 L 1.2 2.4 M 3.2 4.1 L 6.8 0"),
        ("l", 3.8, "M 1.9 10 L 1.9 0"),
        ("m", 11, "M 1.2 7 L 1.2 0 M 1.2 4.5 A 3.3 4.5 2.1 2.5 180 0 L 5.4 0 M 5.4 4.5 A 7.5 4.5 2.1 2.5 180 0 L 9.6 0"),
        ("n", 8, "M 1.2 7 L 1.2 0 M 1.2 4 A 4 4 2.8 3 180 0 L 6.8 0"),
        ("o", 8, "M 4 7 A 4 3.5 2.9 3.5 90 450"),
        ("p", 8, "M 1.2 7 L 1.2 -3 M 7 3.5 A 4.1 3.5 2.9 3.5 0 360"),
        ("q", 8, "M 6.8 3.5 A 3.9 3.5 2.9 3.5 0 360 M 6.8 7 L 6.8 -3"),
        ("r", 5.8, "M 1.2 7 L 1.2 0 M 1.2 3.8 A 4.1 4 2.9 3 180 75"),
        ("s", 7, "M 5.9 6 A 3.6 5.25 2.4 1.75 25 270 A 3.6 1.75 2.6 1.75 90 -155"),
        ("t", 6, "M 2.7 9.3 L 2.7 1.6 A 4.2 1.6 1.5 1.6 180 300 M 0.9 7 L 5 7"),
        ("u", 8, "M 1.2 7 L 1.2 3 A 4 3 2.8 3 180 360 M 6.8 7 L 6.8 0"),
        ("v", 7.5, "M 0.9 7 L 3.75 0 L 6.6 7"),
        ("w", 10, "M 0.8 7 L 2.9 0 L 5 6 L 7.1 0 L 9.2 7"),
        ("x", 7.5, "M 1.1 7 L 6.4 0 M 6.4 7 L 1.1 0"),
        ("y", 7.5, "M 0.9 7 L 3.75 0 M 6.6 7 L 2.4 -3"),
        ("z", 7.5, "M 1.1 7 L 6.4 7 L 1.1 0 L 6.4 0"),
        ("{", 6, "M 4.6 11 A 4.6 9.8 1.2 1.2 90 180 L 3.4 5.6 L 2.2 4.5 L 3.4 3.4 L 3.4 -0.8 A 4.6 -0.8 1.2 1.2 180 270"),
        ("|", 4, "M 2 11 L 2 -2.5"),
        ("}", 6, "M 1.4 11 A 1.4 9.8 1.2 1.2 90 0 L 2.6 5.6 L 3.8 4.5 L 2.6 3.4 L 2.6 -0.8 A 1.4 -0.8 1.2 1.2 0 -90"),
        ("~", 8.5, "M 1.2 4.2 A 2.6 4.2 1.4 1.1 180 0 A 5.4 4.2 1.4 1.1 180 360"),
        // Symbols used in labels.
        ("×", 8.5, "M 1.8 7 L 6.7 2 M 6.7 7 L 1.8 2"),
        ("–", 8, "M 0.5 4 L 7.5 4"),
        ("−", 8.5, "M 1.2 4.5 L 7.3 4.5"),
        ("—", 12, "M 0.5 4 L 11.5 4"),
        ("·", 4, "M 1.9 4.2 L 2.1 4.2"),
        ("°", 5.5, "M 2.75 10 A 2.75 8.5 1.5 1.5 90 450"),
        ("±", 8.5, "M 4.25 8.5 L 4.25 2.5 M 1 5.5 L 7.5 5.5 M 1 0.5 L 7.5 0.5"),
        ("≥", 8.5, "M 1.2 9 L 7.2 6 L 1.2 3 M 1.2 1 L 7.2 1"),
        ("≤", 8.5, "M 7.2 9 L 1.2 6 L 7.2 3 M 1.2 1 L 7.2 1"),
        ("µ", 8, "M 1.2 7 L 1.2 -3 M 1.2 3 A 4 3 2.8 3 180 360 M 6.8 7 L 6.8 0"),
        ("³", 5.5, "M 1.2 10.6 A 2.6 10.4 1.4 1.2 150 -90 A 2.7 7.6 1.5 1.6 90 -150"),
        ("²", 5.5, "M 1.1 10.4 A 2.6 10.3 1.5 1.3 160 -35 L 1.1 7 L 4.3 7"),
    ]
}
