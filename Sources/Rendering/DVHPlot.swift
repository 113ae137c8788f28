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
        let w = Double(width), h = Double(height)
        let fs = min(22, max(10.5, min(w, h * 1.3) / 42))
        var top = max(curves.map(\.dvh.maxGy).max() ?? 1, 1e-3)
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
    /// right middle, top middle, bottom right, middle), the first that the fewest curve
    /// samples fall in.
    static func legendOrigin(_ curves: [DVHCurve], _ L: Layout, _ bw: Double, _ bh: Double) -> (Double, Double) {
        let m = L.fs * 0.5
        let candidates: [(Double, Double)] = [
            (L.right - bw - m, L.top + m),
            (L.right - bw - m, (L.top + L.bottom - bh) / 2),
            ((L.left + L.right - bw) / 2, L.top + m),
            (L.right - bw - m, L.bottom - bh - m),
            ((L.left + L.right - bw) / 2, (L.top + L.bottom - bh) / 2),
        ]
        let points = curves.flatMap { samples($0.dvh).map { SIMD2(L.x($0.x), L.y($0.y)) } }
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
        let L = layout(curves, rxGy: rxGy, width: width, height: height)
        var c = Canvas(width: width, height: height, background: .white)
        let fs = L.fs
        let ink = Colour(30, 30, 30), gridColour = Colour(222, 222, 222)
        // Grid.
        var gx: [[SIMD2<Double>]] = []
        var d = 0.0
        while d <= L.xMax + 1e-9 { gx.append([SIMD2(L.x(d), L.top), SIMD2(L.x(d), L.bottom)]); d += L.xStep }
        for p in stride(from: 0.0, through: 100, by: 10) { gx.append([SIMD2(L.left, L.y(p)), SIMD2(L.right, L.y(p))]) }
        c.stroke(gx, lineWidth: 1, colour: gridColour)
        // Rx.
        if let rx = rxGy, rx <= L.xMax {
            c.stroke([[SIMD2(L.x(rx), L.top), SIMD2(L.x(rx), L.bottom)]], lineWidth: max(1.2, fs * 0.09), colour: Colour(120, 120, 120), dash: (fs * 0.5, fs * 0.35))
            c.text("Rx \(Format.number(rx)) Gy", x: L.x(rx) - fs * 0.3, y: L.top + fs * 1.2, size: fs * 0.8, colour: Colour(90, 90, 90), align: .right)
        }
        // Curves.
        let lw = max(1.6, fs * 0.16)
        for curve in curves {
            let pts = samples(curve.dvh).map { SIMD2(L.x($0.x), L.y($0.y)) }
            c.stroke([pts], lineWidth: lw, colour: lineColour(curve.colour))
        }
        // Constraint markers.
        for m in markers where m.doseGy <= L.xMax {
            let x = L.x(m.doseGy), y = L.y(min(100, max(0, m.volumePercent))), r = fs * 0.45
            let diamond = [SIMD2(x, y - r), SIMD2(x + r, y), SIMD2(x, y + r), SIMD2(x - r, y)]
            c.stroke([diamond], closed: true, lineWidth: max(1.5, fs * 0.12), colour: m.verdictColour)
            c.stroke([[SIMD2(x - r * 0.45, y), SIMD2(x + r * 0.45, y)]], lineWidth: max(1.2, fs * 0.1), colour: lineColour(m.colour))
            c.text(m.label, x: x + r * 1.4, y: y - r * 0.9, size: fs * 0.72, colour: m.verdictColour)
        }
        // Axes and ticks.
        c.stroke([[SIMD2(L.left, L.top), SIMD2(L.left, L.bottom), SIMD2(L.right, L.bottom)]], lineWidth: max(1.2, fs * 0.09), colour: ink)
        d = 0
        var ticks: [[SIMD2<Double>]] = []
        while d <= L.xMax + 1e-9 {
            ticks.append([SIMD2(L.x(d), L.bottom), SIMD2(L.x(d), L.bottom + fs * 0.35)])
            c.text(Format.number(d), x: L.x(d), y: L.bottom + fs * 1.35, size: fs * 0.85, colour: ink, align: .centre)
            d += L.xStep
        }
        for p in stride(from: 0.0, through: 100, by: 10) {
            ticks.append([SIMD2(L.left - fs * (Int(p) % 20 == 0 ? 0.35 : 0.2), L.y(p)), SIMD2(L.left, L.y(p))])
            if Int(p) % 20 == 0 {
                c.text(Format.number(p), x: L.left - fs * 0.55, y: L.y(p) + fs * 0.3, size: fs * 0.85, colour: ink, align: .right)
            }
        }
        c.stroke(ticks, lineWidth: max(1, fs * 0.08), colour: ink)
        // Labels and title.
        c.text("Dose (\(doseLabel))", x: (L.left + L.right) / 2, y: L.height - fs * 0.8, size: fs, colour: ink, align: .centre)
        let label = "Volume (%)"
        let lwid = StrokeFont.width(label, size: fs)
        let ax = fs * 1.5, ay = (L.top + L.bottom) / 2 + lwid / 2
        let rotated = StrokeFont.paths(label, x: ax, y: ay, size: fs).map { $0.map { SIMD2(ax + ($0.y - ay), ay - ($0.x - ax)) } }
        c.stroke(rotated, lineWidth: Canvas.strokeWidth(size: fs), colour: ink)
        c.text(title, x: L.left, y: fs * 1.7, size: fs * 1.1, colour: ink, weight: 1.4)
        // Legend.
        if !curves.isEmpty {
            let row = fs * 1.3
            let textWidth = curves.map { StrokeFont.width($0.name, size: fs * 0.9) }.max() ?? 0
            let bw = fs * 3.2 + textWidth, bh = row * Double(curves.count) + fs * 0.6
            let (bx, by) = legendOrigin(curves, L, bw, bh)
            c.fillRect(x: bx, y: by, width: bw, height: bh, colour: .white, alpha: 0.9)
            c.stroke([[SIMD2(bx, by), SIMD2(bx + bw, by), SIMD2(bx + bw, by + bh), SIMD2(bx, by + bh)]], closed: true, lineWidth: 1, colour: Colour(170, 170, 170))
            for (n, curve) in curves.enumerated() {
                let y = by + fs * 0.3 + row * (Double(n) + 0.5)
                c.stroke([[SIMD2(bx + fs * 0.5, y), SIMD2(bx + fs * 2.3, y)]], lineWidth: lw, colour: lineColour(curve.colour))
                c.text(curve.name, x: bx + fs * 2.7, y: y + fs * 0.32, size: fs * 0.9, colour: ink)
            }
        }
        return c.image
    }

    /// The plot as an SVG document (same layout as `render`).
    public static func svg(_ curves: [DVHCurve], rxGy: Double?, width: Int, height: Int,
                           title: String = "Cumulative DVH", doseLabel: String = "Gy", markers: [DVHMarker] = []) -> String {
        let L = layout(curves, rxGy: rxGy, width: width, height: height)
        let fs = L.fs
        func n(_ x: Double) -> String { String(format: "%.2f", x) }
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <title>\(esc(title))</title>
        <rect width="100%" height="100%" fill="#ffffff"/>

        """
        s += "<g stroke=\"#dedede\" stroke-width=\"1\">\n"
        var d = 0.0
        while d <= L.xMax + 1e-9 { s += "<line x1=\"\(n(L.x(d)))\" y1=\"\(n(L.top))\" x2=\"\(n(L.x(d)))\" y2=\"\(n(L.bottom))\"/>\n"; d += L.xStep }
        for p in stride(from: 0.0, through: 100, by: 10) { s += "<line x1=\"\(n(L.left))\" y1=\"\(n(L.y(p)))\" x2=\"\(n(L.right))\" y2=\"\(n(L.y(p)))\"/>\n" }
        s += "</g>\n"
        if let rx = rxGy, rx <= L.xMax {
            s += "<line x1=\"\(n(L.x(rx)))\" y1=\"\(n(L.top))\" x2=\"\(n(L.x(rx)))\" y2=\"\(n(L.bottom))\" stroke=\"#787878\" stroke-width=\"\(n(max(1.2, fs * 0.09)))\" stroke-dasharray=\"\(n(fs * 0.5)) \(n(fs * 0.35))\"/>\n"
            s += "<text x=\"\(n(L.x(rx) - fs * 0.3))\" y=\"\(n(L.top + fs * 1.2))\" font-size=\"\(n(fs * 0.8))\" fill=\"#5a5a5a\" text-anchor=\"end\">Rx \(Format.number(rx)) Gy</text>\n"
        }
        let lw = max(1.6, fs * 0.16)
        for curve in curves {
            let pts = samples(curve.dvh).map { "\(n(L.x($0.x))),\(n(L.y($0.y)))" }.joined(separator: " ")
            s += "<polyline fill=\"none\" stroke=\"\(lineColour(curve.colour).hex)\" stroke-width=\"\(n(lw))\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"\(pts)\"><title>\(esc(curve.name))</title></polyline>\n"
        }
        for m in markers where m.doseGy <= L.xMax {
            let x = L.x(m.doseGy), y = L.y(min(100, max(0, m.volumePercent))), r = fs * 0.45
            s += "<g><title>\(esc(m.label))</title><path d=\"M \(n(x)) \(n(y - r)) L \(n(x + r)) \(n(y)) L \(n(x)) \(n(y + r)) L \(n(x - r)) \(n(y)) Z\" fill=\"none\" stroke=\"\(m.verdictColour.hex)\" stroke-width=\"\(n(max(1.5, fs * 0.12)))\"/>"
            s += "<text x=\"\(n(x + r * 1.4))\" y=\"\(n(y - r * 0.9))\" font-size=\"\(n(fs * 0.72))\" fill=\"\(m.verdictColour.hex)\">\(esc(m.label))</text></g>\n"
        }
        s += "<path d=\"M \(n(L.left)) \(n(L.top)) L \(n(L.left)) \(n(L.bottom)) L \(n(L.right)) \(n(L.bottom))\" fill=\"none\" stroke=\"#1e1e1e\" stroke-width=\"\(n(max(1.2, fs * 0.09)))\"/>\n"
        s += "<g font-size=\"\(n(fs * 0.85))\" fill=\"#1e1e1e\">\n"
        d = 0
        while d <= L.xMax + 1e-9 {
            s += "<line x1=\"\(n(L.x(d)))\" y1=\"\(n(L.bottom))\" x2=\"\(n(L.x(d)))\" y2=\"\(n(L.bottom + fs * 0.35))\" stroke=\"#1e1e1e\"/>"
            s += "<text x=\"\(n(L.x(d)))\" y=\"\(n(L.bottom + fs * 1.35))\" text-anchor=\"middle\">\(Format.number(d))</text>\n"
            d += L.xStep
        }
        for p in stride(from: 0.0, through: 100, by: 20) {
            s += "<line x1=\"\(n(L.left - fs * 0.35))\" y1=\"\(n(L.y(p)))\" x2=\"\(n(L.left))\" y2=\"\(n(L.y(p)))\" stroke=\"#1e1e1e\"/>"
            s += "<text x=\"\(n(L.left - fs * 0.55))\" y=\"\(n(L.y(p) + fs * 0.3))\" text-anchor=\"end\">\(Format.number(p))</text>\n"
        }
        s += "</g>\n"
        s += "<text x=\"\(n((L.left + L.right) / 2))\" y=\"\(n(L.height - fs * 0.8))\" font-size=\"\(n(fs))\" text-anchor=\"middle\" fill=\"#1e1e1e\">Dose (\(doseLabel))</text>\n"
        s += "<text transform=\"translate(\(n(fs * 1.5)) \(n((L.top + L.bottom) / 2))) rotate(-90)\" font-size=\"\(n(fs))\" text-anchor=\"middle\" fill=\"#1e1e1e\">Volume (%)</text>\n"
        s += "<text x=\"\(n(L.left))\" y=\"\(n(fs * 1.7))\" font-size=\"\(n(fs * 1.1))\" font-weight=\"bold\" fill=\"#1e1e1e\">\(esc(title))</text>\n"
        if !curves.isEmpty {
            let row = fs * 1.3
            let textWidth = curves.map { StrokeFont.width($0.name, size: fs * 0.9) }.max() ?? 0
            let bw = fs * 3.2 + textWidth, bh = row * Double(curves.count) + fs * 0.6
            let (bx, by) = legendOrigin(curves, L, bw, bh)
            s += "<rect x=\"\(n(bx))\" y=\"\(n(by))\" width=\"\(n(bw))\" height=\"\(n(bh))\" fill=\"#ffffff\" fill-opacity=\"0.9\" stroke=\"#aaaaaa\"/>\n"
            for (k, curve) in curves.enumerated() {
                let y = by + fs * 0.3 + row * (Double(k) + 0.5)
                s += "<line x1=\"\(n(bx + fs * 0.5))\" y1=\"\(n(y))\" x2=\"\(n(bx + fs * 2.3))\" y2=\"\(n(y))\" stroke=\"\(lineColour(curve.colour).hex)\" stroke-width=\"\(n(lw))\"/>"
                s += "<text x=\"\(n(bx + fs * 2.7))\" y=\"\(n(y + fs * 0.32))\" font-size=\"\(n(fs * 0.9))\" fill=\"#1e1e1e\">\(esc(curve.name))</text>\n"
            }
        }
        s += "</svg>\n"
        return s
    }
}
