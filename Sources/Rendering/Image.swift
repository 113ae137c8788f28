import Base
/// An 8-bit RGBA raster image: `width × height` pixels, 4 bytes each.
///
/// - Layout: row-major, top row first; pixel (x, y) — column x from the left, row y
///   from the top — starts at byte `4 * (y * width + x)` and holds red, green, blue,
///   alpha in that order.
/// - Alpha is straight (not premultiplied): 0 is fully transparent, 255 opaque, as in
///   PNG. Colour values are sRGB-encoded bytes; nothing here converts colour spaces.
/// - Image coordinates are pixels on the screen, not patient millimetres; a slice view
///   states how it maps one to the other.
public struct RGBAImage: Equatable, Sendable {
    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `4 * width * height` bytes, RGBA per pixel, rows top to bottom.
    ///
    /// Writable so that kernels can fill it through a buffer pointer; the encoder
    /// throws if its count no longer matches the dimensions.
    public var pixels: [UInt8]

    /// An image of `width × height` pixels, each set to `fill` (RGBA, default opaque black).
    ///
    /// - Precondition: `width >= 0`, `height >= 0`, and the byte count fits in `Int`.
    public init(width: Int, height: Int, fill: SIMD4<UInt8> = SIMD4(0, 0, 0, 255)) {
        precondition(width >= 0 && height >= 0, "image dimensions must not be negative")
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        precondition(!overflow && count <= Int.max / 4, "image too large")
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: count * 4)
        if fill != .zero {
            pixels.withUnsafeMutableBufferPointer { buffer in
                for p in 0..<count {
                    buffer[4 * p] = fill.x
                    buffer[4 * p + 1] = fill.y
                    buffer[4 * p + 2] = fill.z
                    buffer[4 * p + 3] = fill.w
                }
            }
        }
        self.pixels = pixels
    }

    /// An image over existing RGBA bytes (layout as for `pixels`).
    ///
    /// - Throws: `SBRTError.invalidImage` if a dimension is negative or
    ///   `pixels.count != 4 * width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        try SBRTError.checkBuffer(width: width, height: height, channels: 4, count: pixels.count)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The RGBA value of the pixel in column `x`, row `y` (from the top).
    ///
    /// - Precondition: `0 <= x < width`, `0 <= y < height`.
    public subscript(x x: Int, y y: Int) -> SIMD4<UInt8> {
        get {
            let o = offset(x, y)
            return SIMD4(pixels[o], pixels[o + 1], pixels[o + 2], pixels[o + 3])
        }
        set {
            let o = offset(x, y)
            pixels[o] = newValue.x
            pixels[o + 1] = newValue.y
            pixels[o + 2] = newValue.z
            pixels[o + 3] = newValue.w
        }
    }

    /// Whether every pixel has alpha 255.
    public var isOpaque: Bool {
        pixels.withUnsafeBufferPointer { buffer in
            var p = 3
            while p < buffer.count {
                if buffer[p] != 255 { return false }
                p += 4
            }
            return true
        }
    }

    @inline(__always)
    private func offset(_ x: Int, _ y: Int) -> Int {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height) image")
        return 4 * (y * width + x)
    }
}

/// An 8-bit greyscale raster image: `width × height` pixels, 1 byte each.
///
/// - Layout: row-major, top row first; pixel (x, y) is byte `y * width + x`.
/// - 0 is black, 255 white; values are display-encoded bytes (no gamma conversion).
public struct GrayImage: Equatable, Sendable {
    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// `width * height` bytes, one per pixel, rows top to bottom.
    ///
    /// Writable so that kernels can fill it through a buffer pointer; the encoder
    /// throws if its count no longer matches the dimensions.
    public var pixels: [UInt8]

    /// An image of `width × height` pixels, each set to `fill` (default black).
    ///
    /// - Precondition: `width >= 0`, `height >= 0`, and the pixel count fits in `Int`.
    public init(width: Int, height: Int, fill: UInt8 = 0) {
        precondition(width >= 0 && height >= 0, "image dimensions must not be negative")
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        precondition(!overflow, "image too large")
        self.width = width
        self.height = height
        self.pixels = [UInt8](repeating: fill, count: count)
    }

    /// An image over existing grey bytes (layout as for `pixels`).
    ///
    /// - Throws: `SBRTError.invalidImage` if a dimension is negative or
    ///   `pixels.count != width * height`.
    public init(width: Int, height: Int, pixels: [UInt8]) throws {
        try SBRTError.checkBuffer(width: width, height: height, channels: 1, count: pixels.count)
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The grey value of the pixel in column `x`, row `y` (from the top).
    ///
    /// - Precondition: `0 <= x < width`, `0 <= y < height`.
    public subscript(x x: Int, y y: Int) -> UInt8 {
        get { pixels[offset(x, y)] }
        set { pixels[offset(x, y)] = newValue }
    }

    @inline(__always)
    private func offset(_ x: Int, _ y: Int) -> Int {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) outside \(width)×\(height) image")
        return y * width + x
    }
}
