import Dosimetry
import Foundation

/// One curve of a DVH plot.
public struct DVHCurve: Sendable {
    public var name: String
    public var colour: Colour
    public var dvh: DVH

    public init(name: String, colour: Colour, dvh: DVH) {
        self.name = name
        self.colour = colour
        self.dvh = dvh
    }
}

/// A constraint drawn on a DVH plot: the point (dose, volume %) a curve must pass below
/// (upper limits) or above (lower limits), with its verdict.
public struct DVHMarker: Sendable {
    public var doseGy: Double
    public var volumePercent: Double
    public var label: String
    public var colour: Colour
    /// true: met, false: violated, nil: not evaluated.
    public var met: Bool?

    public init(doseGy: Double, volumePercent: Double, label: String, colour: Colour, met: Bool?) {
        self.doseGy = doseGy
        self.volumePercent = volumePercent
        self.label = label
        self.colour = colour
        self.met = met
    }

    var verdictColour: Colour {
        switch met {
        case true?: return Colour(0, 140, 60)
        case false?: return Colour(210, 30, 30)
        case nil: return Colour(90, 90, 90)
        }
    }
}

/// Cumulative DVH plots: dose in Gy on x, volume in % of each structure on y, as PNG
/// pixels or SVG text.
///
/// - Curves are drawn in each ROI's display colour; colours too light to read on white
///   (luminance above 0.7, e.g. yellow) are darkened by 30 % for the line only.
/// - Each curve is sampled at 400 doses from 0 to its Dmax and ends there (never
///   extrapolated beyond Dmax); the x axis runs to a round dose above the largest Dmax
///   (and above 110 % of Rx when Rx is known), with a dashed line at Rx.
/// - Grid lines at every tick; y ticks every 10 %, labelled every 20 %.
public enum DVHPlot {
    /// Layout shared by the PNG and SVG writers.
    struct Layout {
        var width: Double, height: Double, fs: Double
        var left: Double, right: Double, top: Double, bottom: Double
        var xMax: Double, xStep: Double
        func x(_ gy: Double) -> Double { left + (right - left) * gy / xMax }
        func y(_ pct: Double) -> Double { bottom - (bottom - top) * pct / 100 }
    }

    static func layout(_ curves: [DVHCurve], rxGy: Double?, width: Int, height: Int) -> Layout {
        layout(maxDoseGy: curves.map(\.dvh.maxGy).max() ?? 1, rxGy: rxGy, width: width, height: height)
    }

    /// The layout of a plot whose data reach `maxDoseGy`.
    static func layout(maxDoseGy: Double, rxGy: Double?, width: Int, height: Int) -> Layout {
        let w = Double(width), h = Double(height)
        let fs = min(22, max(10.5, min(w, h * 1.3) / 42))
        var top = max(maxDoseGy, 1e-3)
        if let rx = rxGy { top = max(top, 1.1 * rx) }
        let step = niceStep(top / 7)
        let xMax = (top / step).rounded(.up) * step
        return Layout(width: w, height: h, fs: fs, left: fs * 4.4, right: w - fs * 1.3, top: fs * 2.9, bottom: h - fs * 3.5,
                      xMax: xMax, xStep: step)
    }

    /// 1, 2 or 5 × 10^n at or above `x`.
    static func niceStep(_ x: Double) -> Double {
        let e = pow(10, (log10(max(x, 1e-9))).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * e >= x { return m * e }
        return 10 * e
    }

    /// The curve's line colour on white.
    static func lineColour(_ c: Colour) -> Colour { c.luminance > 0.7 ? c.mixed(with: .black, 0.3) : c }

    /// Points (dose Gy, volume %) of a curve.
    static func samples(_ dvh: DVH) -> [SIMD2<Double>] {
        let n = 400
        guard dvh.maxGy > 0, dvh.volumeCC > 0 else { return [SIMD2(0, 100), SIMD2(0, 0)] }
        var out: [SIMD2<Double>] = []
        for k in 0...n {
            let d = dvh.maxGy * Double(k) / Double(n)
            out.append(SIMD2(d, k == n ? 0 : dvh.volumePercent(atLeast: d)))
        }
        return out
    }

    /// Top-left corner of the legend box: of a few places inside the plot (top right,
    /// right middle, top middle, bottom right, middle), the first that the fewest data
    /// points (dose Gy, volume %) fall in.
    static func legendOrigin(_ data: [SIMD2<Double>], _ L: Layout, _ bw: Double, _ bh: Double) -> (Double, Double) {
        let m = L.fs * 0.5
        let candidates: [(Double, Double)] = [
            (L.right - bw - m, L.top + m),
            (L.right - bw - m, (L.top + L.bottom - bh) / 2),
            ((L.left + L.right - bw) / 2, L.top + m),
            (L.right - bw - m, L.bottom - bh - m),
            ((L.left + L.right - bw) / 2, (L.top + L.bottom - bh) / 2),
        ]
        let points = data.map { SIMD2(L.x($0.x), L.y($0.y)) }
        var best = candidates[0], bestCount = Int.max
        for (x, y) in candidates {
            let count = points.reduce(0) { $0 + ($1.x >= x - m && $1.x <= x + bw + m && $1.y >= y - m && $1.y <= y + bh + m ? 1 : 0) }
            if count < bestCount { best = (x, y); bestCount = count }
        }
        return best
    }

    /// The plot as an image.
    /// - Parameter doseLabel: the dose unit on the x axis: "Gy", or "Gy EQD2" for a composite.
    /// - Parameter markers: constraint points, drawn as diamonds in the verdict's colour
    ///   (green met, red violated) with their label.
    public static func render(_ curves: [DVHCurve], rxGy: Double?, width: Int, height: Int,
                              title: String = "Cumulative DVH", doseLabel: String = "Gy", markers: [DVHMarker] = []) -> RGBAImage {
        scene(curves, rxGy: rxGy, width: width, height: height, title: title, doseLabel: doseLabel, markers: markers).raster()
    }

    /// The plot as an SVG document (the same drawing as `render`).
    public static func svg(_ curves: [DVHCurve], rxGy: Double?, width: Int, height: Int,
                           title: String = "Cumulative DVH", doseLabel: String = "Gy", markers: [DVHMarker] = []) -> String {
        scene(curves, rxGy: rxGy, width: width, height: height, title: title, doseLabel: doseLabel, markers: markers).svg()
    }

    /// The plot as a drawing: grid, Rx line, curves, markers, axes, labels, legend.
    public static func scene(_ curves: [DVHCurve], rxGy: Double?, width: Int, height: Int,
                             title: String = "Cumulative DVH", doseLabel: String = "Gy", markers: [DVHMarker] = []) -> Scene {
        let L = layout(curves, rxGy: rxGy, width: width, height: height)
        var s = Scene(width: width, height: height, title: title)
        grid(&s, L, rxGy: rxGy)
        let lw = max(1.6, L.fs * 0.16)
        for curve in curves {
            s.stroke([samples(curve.dvh).map { SIMD2(L.x($0.x), L.y($0.y)) }], width: lw, colour: lineColour(curve.colour), title: curve.name)
        }
        draw(markers, &s, L)
        axes(&s, L, title: title, doseLabel: doseLabel)
        legend(curves.map { ($0.name, lineColour($0.colour)) }, &s, L, avoiding: curves.flatMap { samples($0.dvh) })
        return s
    }

    static let ink = Colour(30, 30, 30)

    /// Grid lines at every tick and the dashed prescription line.
    static func grid(_ s: inout Scene, _ L: Layout, rxGy: Double?) {
        let fs = L.fs
        var gx: [[SIMD2<Double>]] = []
        var d = 0.0
        while d <= L.xMax + 1e-9 { gx.append([SIMD2(L.x(d), L.top), SIMD2(L.x(d), L.bottom)]); d += L.xStep }
        for p in stride(from: 0.0, through: 100, by: 10) { gx.append([SIMD2(L.left, L.y(p)), SIMD2(L.right, L.y(p))]) }
        s.stroke(gx, width: 1, colour: Colour(222, 222, 222))
        if let rx = rxGy, rx <= L.xMax {
            s.stroke([[SIMD2(L.x(rx), L.top), SIMD2(L.x(rx), L.bottom)]], width: max(1.2, fs * 0.09), colour: Colour(120, 120, 120), dash: (fs * 0.5, fs * 0.35))
            s.text("Rx \(Format.number(rx)) Gy", x: L.x(rx) - fs * 0.3, y: L.top + fs * 1.2, size: fs * 0.8, colour: Colour(90, 90, 90), align: .right)
        }
    }

    /// Constraint markers: a diamond in the verdict's colour crossed in the curve's colour.
    static func draw(_ markers: [DVHMarker], _ s: inout Scene, _ L: Layout) {
        let fs = L.fs
        for m in markers where m.doseGy <= L.xMax {
            let x = L.x(m.doseGy), y = L.y(min(100, max(0, m.volumePercent))), r = fs * 0.45
            let diamond = [SIMD2(x, y - r), SIMD2(x + r, y), SIMD2(x, y + r), SIMD2(x - r, y)]
            s.group(title: m.label) { g in
                g.stroke([diamond], closed: true, width: max(1.5, fs * 0.12), colour: m.verdictColour)
                g.stroke([[SIMD2(x - r * 0.45, y), SIMD2(x + r * 0.45, y)]], width: max(1.2, fs * 0.1), colour: lineColour(m.colour))
                g.text(m.label, x: x + r * 1.4, y: y - r * 0.9, size: fs * 0.72, colour: m.verdictColour)
            }
        }
    }

    /// Axes, ticks (every 10 %, labelled every 20 %), axis labels and the title.
    static func axes(_ s: inout Scene, _ L: Layout, title: String, doseLabel: String) {
        let fs = L.fs
        s.stroke([[SIMD2(L.left, L.top), SIMD2(L.left, L.bottom), SIMD2(L.right, L.bottom)]], width: max(1.2, fs * 0.09), colour: ink)
        var d = 0.0
        var ticks: [[SIMD2<Double>]] = []
        while d <= L.xMax + 1e-9 {
            ticks.append([SIMD2(L.x(d), L.bottom), SIMD2(L.x(d), L.bottom + fs * 0.35)])
            s.text(Format.number(d), x: L.x(d), y: L.bottom + fs * 1.35, size: fs * 0.85, colour: ink, align: .centre)
            d += L.xStep
        }
        for p in stride(from: 0.0, through: 100, by: 10) {
            ticks.append([SIMD2(L.left - fs * (Int(p) % 20 == 0 ? 0.35 : 0.2), L.y(p)), SIMD2(L.left, L.y(p))])
            if Int(p) % 20 == 0 {
                s.text(Format.number(p), x: L.left - fs * 0.55, y: L.y(p) + fs * 0.3, size: fs * 0.85, colour: ink, align: .right)
            }
        }
        s.stroke(ticks, width: max(1, fs * 0.08), colour: ink)
        s.text("Dose (\(doseLabel))", x: (L.left + L.right) / 2, y: L.height - fs * 0.8, size: fs, colour: ink, align: .centre)
        s.text("Volume (%)", x: fs * 1.5, y: (L.top + L.bottom) / 2, size: fs, colour: ink, align: .centre, vertical: true)
        s.text(title, x: L.left, y: fs * 1.7, size: fs * 1.1, colour: ink, weight: 1.4)
    }

    /// The legend box, placed where the fewest data points fall (see `legendOrigin`).
    static func legend(_ entries: [(name: String, colour: Colour)], _ s: inout Scene, _ L: Layout, avoiding data: [SIMD2<Double>]) {
        guard !entries.isEmpty else { return }
        let fs = L.fs
        let row = fs * 1.3
        let lw = max(1.6, fs * 0.16)
        let textWidth = entries.map { StrokeFont.width($0.name, size: fs * 0.9) }.max() ?? 0
        let bw = fs * 3.2 + textWidth, bh = row * Double(entries.count) + fs * 0.6
        let (bx, by) = legendOrigin(data, L, bw, bh)
        s.fill([[SIMD2(bx, by), SIMD2(bx + bw, by), SIMD2(bx + bw, by + bh), SIMD2(bx, by + bh)]], colour: .white, alpha: 0.9, outline: Colour(170, 170, 170))
        for (n, e) in entries.enumerated() {
            let y = by + fs * 0.3 + row * (Double(n) + 0.5)
            s.stroke([[SIMD2(bx + fs * 0.5, y), SIMD2(bx + fs * 2.3, y)]], width: lw, colour: e.colour)
            s.text(e.name, x: bx + fs * 2.7, y: y + fs * 0.32, size: fs * 0.9, colour: ink)
        }
    }
}
