import Base
import Geometry

/// An sRGB colour, 8 bits per channel.
public struct Colour: Equatable, Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public init(_ rgb: SIMD3<UInt8>) { self.init(rgb.x, rgb.y, rgb.z) }

    public static let black = Colour(0, 0, 0)
    public static let white = Colour(255, 255, 255)

    /// Relative luminance (Rec. 709 weights on the encoded values), 0–1.
    public var luminance: Double { (0.2126 * Double(r) + 0.7152 * Double(g) + 0.0722 * Double(b)) / 255 }

    /// This colour mixed with `other`: `t` = 0 gives self, 1 gives `other`.
    public func mixed(with other: Colour, _ t: Double) -> Colour {
        func m(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
        return Colour(m(r, other.r), m(g, other.g), m(b, other.b))
    }

    /// `#rrggbb`, for SVG.
    public var hex: String {
        let digits = Array("0123456789abcdef")
        return "#" + [r, g, b].map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined()
    }
}

/// Horizontal alignment of text relative to its anchor point.
public enum TextAlignment: Sendable { case left, centre, right }

/// A raster canvas for figures: anti-aliased strokes of any width, filled polygons,
/// translucent fills and text in the embedded stroke font, composited over an opaque
/// background.
///
/// - Coordinates: pixels, x right, y down; pixel (i, j) covers [i, i+1) × [j, j+1), its
///   centre is (i + ½, j + ½).
/// - Anti-aliasing: a stroke of width w covers a pixel by `clamp(w/2 + ½ − d, 0, 1)`,
///   d the distance from the pixel centre to the path (round caps and joins); a filled
///   polygon covers a pixel by its exact area fraction (`PolygonCoverage`). All strokes
///   of one call are combined by maximum before compositing, so joins and overlapping
///   strokes of one colour are not darkened twice.
/// - Compositing: `dst + (src − dst) × alpha × coverage` on the 8-bit sRGB values,
///   rounded to nearest; deterministic, whatever the thread count (drawing is serial).
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    /// RGBA bytes, always opaque, rows top to bottom.
    public private(set) var pixels: [UInt8]
    /// Scratch coverage, `width × height`, zero outside a draw call.
    private var mask: [Float]

    public init(width: Int, height: Int, background: Colour = .black) {
        precondition(width > 0 && height > 0, "canvas must have pixels")
        self.width = width
        self.height = height
        var px = [UInt8](repeating: 255, count: width * height * 4)
        for p in 0..<(width * height) {
            px[4 * p] = background.r
            px[4 * p + 1] = background.g
            px[4 * p + 2] = background.b
        }
        pixels = px
        mask = [Float](repeating: 0, count: width * height)
    }

    /// The canvas as an opaque RGBA image.
    public var image: RGBAImage { try! RGBAImage(width: width, height: height, pixels: pixels) }

    /// The colour of pixel (x, y).
    public func colour(x: Int, y: Int) -> Colour {
        let o = 4 * (y * width + x)
        return Colour(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    // MARK: Fills

    /// Fills the axis-aligned rectangle [x, x+w) × [y, y+h) (fractional edges are
    /// anti-aliased) with `colour` at `alpha`.
    public mutating func fillRect(x: Double, y: Double, width w: Double, height h: Double, colour: Colour, alpha: Double = 1) {
        fillPolygons([[SIMD2(x, y), SIMD2(x + w, y), SIMD2(x + w, y + h), SIMD2(x, y + h)]], colour: colour, alpha: alpha)
    }

    /// Fills the even-odd union of `polygons` (pixel coordinates) with `colour` at `alpha`,
    /// each pixel weighted by its exact covered area.
    public mutating func fillPolygons(_ polygons: [[SIMD2<Double>]], colour: Colour, alpha: Double = 1) {
        var lo = SIMD2(Double.infinity, .infinity), hi = -lo
        for poly in polygons { for p in poly { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p) } }
        guard lo.x < hi.x, lo.y < hi.y else { return }
        let x0 = max(0, Checked.clamped(lo.x.rounded(.down))), y0 = max(0, Checked.clamped(lo.y.rounded(.down)))
        let x1 = min(width, Checked.clamped(hi.x.rounded(.up))), y1 = min(height, Checked.clamped(hi.y.rounded(.up)))
        guard x0 < x1, y0 < y1 else { return }
        // Clip to the canvas box (the rasteriser needs its lattice to contain the polygons).
        let clipped = polygons.map { $0.map { SIMD2(min(max($0.x, Double(x0)), Double(x1)), min(max($0.y, Double(y0)), Double(y1))) } }
        let lattice = CellLattice(u0: Double(x0), v0: Double(y0), h: 1, nu: x1 - x0, nv: y1 - y0)
        let cover = PolygonCoverage.rasterize(clipped, on: lattice)
        for j in 0..<(y1 - y0) {
            for i in 0..<(x1 - x0) {
                let c = cover[j * lattice.nu + i]
                if c > 0 { blend(x0 + i, y0 + j, colour, alpha * Double(c)) }
            }
        }
    }

    // MARK: Strokes

    /// Strokes each path (a polyline; `closed` joins its last point to its first) with
    /// round caps and joins, `lineWidth` px wide, in `colour` at `alpha`. With `dash`
    /// (on, off lengths in px) the paths are dashed along their length.
    public mutating func stroke(_ paths: [[SIMD2<Double>]], closed: Bool = false, lineWidth: Double,
                                colour: Colour, alpha: Double = 1, dash: (on: Double, off: Double)? = nil) {
        var segments: [(SIMD2<Double>, SIMD2<Double>)] = []
        for path in paths where !path.isEmpty {
            var pts = path
            if closed && path.count > 2 { pts.append(path[0]) }
            if pts.count == 1 { segments.append((pts[0], pts[0])); continue }
            if let dash {
                segments += Canvas.dashed(pts, on: dash.on, off: dash.off)
            } else {
                for n in 0..<(pts.count - 1) { segments.append((pts[n], pts[n + 1])) }
            }
        }
        strokeSegments(segments, lineWidth: lineWidth, colour: colour, alpha: alpha)
    }

    /// Splits a polyline into dash segments.
    static func dashed(_ pts: [SIMD2<Double>], on: Double, off: Double) -> [(SIMD2<Double>, SIMD2<Double>)] {
        var out: [(SIMD2<Double>, SIMD2<Double>)] = []
        var phase = 0.0 // position within the on+off period
        let period = on + off
        for n in 0..<(pts.count - 1) {
            let a = pts[n], b = pts[n + 1]
            let len = ((b - a) * (b - a)).sum().squareRoot()
            guard len > 0 else { continue }
            var t = 0.0
            while t < len {
                let inOn = phase < on
                let step = min(len - t, inOn ? on - phase : period - phase)
                if inOn { out.append((a + (b - a) * (t / len), a + (b - a) * ((t + step) / len))) }
                t += step
                phase += step
                if phase >= period - 1e-9 { phase = 0 }
            }
        }
        return out
    }

    /// Strokes segments into the coverage mask (maximum), then composites once.
    mutating func strokeSegments(_ segments: [(SIMD2<Double>, SIMD2<Double>)], lineWidth: Double, colour: Colour, alpha: Double) {
        guard !segments.isEmpty else { return }
        // Lines thinner than a pixel are drawn one pixel wide at proportionally less opacity.
        let halfWidth = max(lineWidth, 1) / 2
        let opacity = Float(min(lineWidth, 1))
        let reach = halfWidth + 0.5
        var bx0 = width, by0 = height, bx1 = -1, by1 = -1
        let w = width, h = height
        mask.withUnsafeMutableBufferPointer { m in
            for (a, b) in segments {
                let x0 = max(0, Checked.clamped((min(a.x, b.x) - reach).rounded(.down)))
                let x1 = min(w - 1, Checked.clamped((max(a.x, b.x) + reach).rounded(.up)))
                let y0 = max(0, Checked.clamped((min(a.y, b.y) - reach).rounded(.down)))
                let y1 = min(h - 1, Checked.clamped((max(a.y, b.y) + reach).rounded(.up)))
                guard x0 <= x1, y0 <= y1 else { continue }
                bx0 = min(bx0, x0); by0 = min(by0, y0); bx1 = max(bx1, x1); by1 = max(by1, y1)
                let d = b - a
                let len2 = (d * d).sum()
                let inv = len2 > 0 ? 1 / len2 : 0
                for y in y0...y1 {
                    let py = Double(y) + 0.5
                    for x in x0...x1 {
                        let px = Double(x) + 0.5
                        let ax = px - a.x, ay = py - a.y
                        let t = min(1, max(0, (ax * d.x + ay * d.y) * inv))
                        let ex = ax - t * d.x, ey = ay - t * d.y
                        let dist = (ex * ex + ey * ey).squareRoot()
                        let c = Float(min(1, max(0, reach - dist))) * opacity
                        let o = y * w + x
                        if c > m[o] { m[o] = c }
                    }
                }
            }
        }
        compositeMask(x0: bx0, y0: by0, x1: bx1, y1: by1, colour: colour, alpha: alpha)
    }

    /// Composites the mask over the box, then clears it there.
    private mutating func compositeMask(x0: Int, y0: Int, x1: Int, y1: Int, colour: Colour, alpha: Double) {
        guard x0 <= x1, y0 <= y1 else { return }
        let w = width
        let a = Float(alpha)
        let src = SIMD3<Float>(Float(colour.r), Float(colour.g), Float(colour.b))
        mask.withUnsafeMutableBufferPointer { m in
            pixels.withUnsafeMutableBufferPointer { px in
                for y in y0...y1 {
                    for x in x0...x1 {
                        let o = y * w + x
                        let c = m[o]
                        guard c > 0 else { continue }
                        m[o] = 0
                        let t = c * a
                        let p = 4 * o
                        for ch in 0..<3 {
                            let d = Float(px[p + ch])
                            px[p + ch] = UInt8(min(255, max(0, (d + (src[ch] - d) * t).rounded())))
                        }
                    }
                }
            }
        }
    }

    /// Blends one pixel towards `colour` by `t` (0–1).
    @inline(__always)
    mutating func blend(_ x: Int, _ y: Int, _ colour: Colour, _ t: Double) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let p = 4 * (y * width + x)
        func mix(_ d: UInt8, _ s: UInt8) -> UInt8 {
            UInt8(min(255, max(0, (Double(d) + (Double(s) - Double(d)) * t).rounded())))
        }
        pixels[p] = mix(pixels[p], colour.r)
        pixels[p + 1] = mix(pixels[p + 1], colour.g)
        pixels[p + 2] = mix(pixels[p + 2], colour.b)
    }

    // MARK: Text

    /// Draws `text` in the stroke font with its baseline at `y`, anchored at `x`
    /// according to `align`; `size` is px per em (capitals are 10/14 of it), `weight`
    /// scales the stroke width (1 regular, about 1.5 bold). Returns the text's width.
    @discardableResult
    public mutating func text(_ text: String, x: Double, y: Double, size: Double, colour: Colour,
                              align: TextAlignment = .left, weight: Double = 1, alpha: Double = 1) -> Double {
        let w = StrokeFont.width(text, size: size)
        let left: Double
        switch align {
        case .left: left = x
        case .centre: left = x - w / 2
        case .right: left = x - w
        }
        let paths = StrokeFont.paths(text, x: left, y: y, size: size)
        stroke(paths, lineWidth: Canvas.strokeWidth(size: size) * weight, colour: colour, alpha: alpha)
        return w
    }

    /// Stroke width of text at `size` px per em.
    public static func strokeWidth(size: Double) -> Double { max(0.9, size * 0.085) }

    /// Draws text with a dark (or light) halo first, so it reads over any image.
    public mutating func haloText(_ s: String, x: Double, y: Double, size: Double, colour: Colour,
                                  halo: Colour = .black, align: TextAlignment = .left, weight: Double = 1) {
        let w = StrokeFont.width(s, size: size)
        let left: Double = align == .left ? x : align == .centre ? x - w / 2 : x - w
        let paths = StrokeFont.paths(s, x: left, y: y, size: size)
        let sw = Canvas.strokeWidth(size: size) * weight
        stroke(paths, lineWidth: sw + max(2, size * 0.16), colour: halo, alpha: 0.75)
        stroke(paths, lineWidth: sw, colour: colour)
    }

    // MARK: Images

    /// Copies `image` (opaque pixels) with its top-left corner at (x, y), clipped.
    public mutating func draw(_ image: RGBAImage, x: Int, y: Int) {
        for j in 0..<image.height {
            let ty = y + j
            guard ty >= 0, ty < height else { continue }
            for i in 0..<image.width {
                let tx = x + i
                guard tx >= 0, tx < width else { continue }
                let s = 4 * (j * image.width + i), d = 4 * (ty * width + tx)
                pixels[d] = image.pixels[s]
                pixels[d + 1] = image.pixels[s + 1]
                pixels[d + 2] = image.pixels[s + 2]
            }
        }
    }

    /// Replaces the pixels with `rgba` (opaque, same size); used by image kernels.
    public mutating func withPixels<R>(_ body: (UnsafeMutableBufferPointer<UInt8>) -> R) -> R {
        pixels.withUnsafeMutableBufferPointer { body($0) }
    }
}
