import Foundation

/// A vector drawing in pixel coordinates (origin top left, y down): the strokes, fills
/// and texts a plot is made of, described once and then drawn into PNG pixels
/// (`raster()`, through `Canvas`) or written as SVG (`svg()`), so that both outputs of a
/// plot come from the same description.
///
/// Raster text uses the embedded stroke font; SVG text names a sans-serif font and is
/// anchored the same way (left, centre, right at the baseline).
public struct Scene: Sendable {
    public enum Item: Sendable {
        /// Polylines with round caps and joins; `dash` is (on, off) in px.
        case stroke(paths: [[SIMD2<Double>]], closed: Bool, width: Double, colour: Colour, dash: (on: Double, off: Double)?, title: String?)
        /// The even-odd union of polygons at `alpha`, with an optional 1 px outline.
        case fill(polygons: [[SIMD2<Double>]], colour: Colour, alpha: Double, outline: Colour?)
        /// A line of text with its baseline at `y`, anchored at `x`; `vertical` turns it
        /// 90° counter-clockwise about (x, y) (reading bottom to top).
        case text(String, x: Double, y: Double, size: Double, colour: Colour, align: TextAlignment, weight: Double, vertical: Bool)
        /// Items that belong together under a title (one SVG group a reader can pick out).
        indirect case group(title: String, items: [Item])
    }

    public var width: Int
    public var height: Int
    public var background: Colour
    public var title: String
    public private(set) var items: [Item] = []

    public init(width: Int, height: Int, background: Colour = .white, title: String = "") {
        self.width = width
        self.height = height
        self.background = background
        self.title = title
    }

    public mutating func stroke(_ paths: [[SIMD2<Double>]], closed: Bool = false, width: Double, colour: Colour,
                                dash: (on: Double, off: Double)? = nil, title: String? = nil) {
        items.append(.stroke(paths: paths, closed: closed, width: width, colour: colour, dash: dash, title: title))
    }

    public mutating func fill(_ polygons: [[SIMD2<Double>]], colour: Colour, alpha: Double = 1, outline: Colour? = nil) {
        items.append(.fill(polygons: polygons, colour: colour, alpha: alpha, outline: outline))
    }

    public mutating func text(_ s: String, x: Double, y: Double, size: Double, colour: Colour,
                              align: TextAlignment = .left, weight: Double = 1, vertical: Bool = false) {
        items.append(.text(s, x: x, y: y, size: size, colour: colour, align: align, weight: weight, vertical: vertical))
    }

    /// Adds the items `body` draws as one titled group.
    public mutating func group(title: String, _ body: (inout Scene) -> Void) {
        var inner = Scene(width: width, height: height, background: background)
        body(&inner)
        items.append(.group(title: title, items: inner.items))
    }

    // MARK: Raster

    /// The drawing as pixels.
    public func raster() -> RGBAImage {
        var c = Canvas(width: width, height: height, background: background)
        for item in items { Self.draw(item, on: &c) }
        return c.image
    }

    static func draw(_ item: Item, on c: inout Canvas) {
        switch item {
        case let .group(_, items):
            for i in items { draw(i, on: &c) }
        case let .stroke(paths, closed, w, colour, dash, _):
            c.stroke(paths, closed: closed, lineWidth: w, colour: colour, dash: dash)
        case let .fill(polygons, colour, alpha, outline):
            c.fillPolygons(polygons, colour: colour, alpha: alpha)
            if let outline { c.stroke(polygons, closed: true, lineWidth: 1, colour: outline) }
        case let .text(s, x, y, size, colour, align, weight, vertical):
            if vertical {
                let w = StrokeFont.width(s, size: size)
                let left = align == .left ? y : align == .centre ? y + w / 2 : y + w
                let paths = StrokeFont.paths(s, x: x, y: left, size: size).map { $0.map { SIMD2(x + ($0.y - left), left - ($0.x - x)) } }
                c.stroke(paths, lineWidth: Canvas.strokeWidth(size: size) * weight, colour: colour)
            } else {
                c.text(s, x: x, y: y, size: size, colour: colour, align: align, weight: weight)
            }
        }
    }

    // MARK: SVG

    /// The drawing as a standalone SVG document.
    public func svg() -> String {
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">
        <title>\(Self.escape(title))</title>
        <rect width="100%" height="100%" fill="\(background.hex)"/>

        """
        for item in items { s += Self.svg(item) + "\n" }
        return s + "</svg>\n"
    }

    static func svg(_ item: Item) -> String {
        switch item {
        case let .group(title, items):
            return "<g><title>\(escape(title))</title>" + items.map(svg).joined() + "</g>"
        case let .stroke(paths, closed, w, colour, dash, title):
            var attrs = "fill=\"none\" stroke=\"\(colour.hex)\" stroke-width=\"\(n(w))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            if let dash { attrs += " stroke-dasharray=\"\(n(dash.on)) \(n(dash.off))\"" }
            // A titled open line is a data series: a <polyline> a reader can pick out.
            if let title, paths.count == 1, !closed {
                let pts = paths[0].map { "\(n($0.x)),\(n($0.y))" }.joined(separator: " ")
                return "<polyline \(attrs) points=\"\(pts)\"><title>\(escape(title))</title></polyline>"
            }
            let d = paths.filter { !$0.isEmpty }.map { path($0, closed: closed) }.joined(separator: " ")
            let t = title.map { "<title>\(escape($0))</title>" } ?? ""
            return "<path d=\"\(d)\" \(attrs)>\(t)</path>"
        case let .fill(polygons, colour, alpha, outline):
            let d = polygons.filter { !$0.isEmpty }.map { path($0, closed: true) }.joined(separator: " ")
            let stroke = outline.map { "stroke=\"\($0.hex)\" stroke-width=\"1\"" } ?? "stroke=\"none\""
            return "<path d=\"\(d)\" fill=\"\(colour.hex)\" fill-opacity=\"\(n(alpha))\" fill-rule=\"evenodd\" \(stroke)/>"
        case let .text(text, x, y, size, colour, align, weight, vertical):
            let anchor = align == .left ? "start" : align == .centre ? "middle" : "end"
            let place = vertical ? "transform=\"translate(\(n(x)) \(n(y))) rotate(-90)\"" : "x=\"\(n(x))\" y=\"\(n(y))\""
            let bold = weight > 1.2 ? " font-weight=\"bold\"" : ""
            return "<text \(place) font-size=\"\(n(size))\" fill=\"\(colour.hex)\" text-anchor=\"\(anchor)\"\(bold)>\(escape(text))</text>"
        }
    }

    static func path(_ p: [SIMD2<Double>], closed: Bool) -> String {
        "M " + p.map { "\(n($0.x)) \(n($0.y))" }.joined(separator: " L ") + (closed ? " Z" : "")
    }

    static func n(_ x: Double) -> String { String(format: "%.2f", x) }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
