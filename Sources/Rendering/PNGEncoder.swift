import Base
import CLibPNG
import CPNGShim
import Foundation

/// Encodes images as PNG files through libpng.
///
/// - Output: 8-bit samples, no interlace; colour type 0 (grey) for `GrayImage`, 2 (RGB)
///   for an opaque `RGBAImage` when `dropAlphaIfOpaque`, else 6 (RGBA).
/// - Metadata: a `Software` = `sbrt` text chunk first (unless the caller gives its own
///   `Software`), then the caller's pairs in order. A value whose characters all lie in
///   Latin-1 is written as tEXt (Latin-1 bytes), any other as uncompressed iTXt (UTF-8).
///   Keywords must be 1–79 printable Latin-1 characters without leading, trailing or
///   consecutive spaces, as PNG requires; values must not contain NUL.
/// - Determinism: the same image and text give the same bytes. No tIME chunk, no
///   gamma or colour-space chunks; zlib level 6 with the filtered strategy, and every
///   row filtered with libpng's fixed per-row heuristic over all five filter types.
///   The bytes depend on the libpng and zlib versions, not on time, host or threads.
/// - Errors: libpng reports errors by longjmp, which must never cross a Swift frame.
///   Every input is validated here first (dimensions 1…2^31 − 1, buffer length, text),
///   so that libpng has nothing to refuse; every libpng call that could still fail
///   (out of memory) goes through a setjmp guard in `CPNGShim`, whose failure comes
///   back as `SBRTError.encoder`. The write callback only appends to a Swift
///   buffer and never reports an error to libpng.
public enum PNGEncoder {
    /// zlib compression level used for every file (0 = store … 9 = smallest).
    public static let compressionLevel: Int32 = 6

    /// How hard to compress: `.standard` (zlib level 6, the best of libpng's five row
    /// filters per row) for files; `.fast` (zlib level 1, the Paeth filter on every row)
    /// for images embedded in a report, about a third of the CPU time for files some
    /// 10–30 % larger. Both are deterministic and decode to the same pixels.
    public enum Compression: Sendable {
        case standard, fast

        var level: Int32 { self == .standard ? PNGEncoder.compressionLevel : 1 }
        var filters: Int32 { self == .standard ? PNGEncoder.allFilters : 0x80 }
    }

    /// The largest width or height PNG allows: 2^31 − 1 pixels.
    public static let maximumSide = Int(Int32.max)

    /// The PNG bytes of `image`.
    ///
    /// - Parameters:
    ///   - text: keyword/value pairs written as tEXt (or iTXt) chunks, in order,
    ///     after `Software` = `sbrt`; e.g. `[("Source", "RD.1.2.3.dcm")]`.
    ///   - dropAlphaIfOpaque: write RGB (colour type 2) when every alpha is 255;
    ///     when false, or when any pixel is translucent, write RGBA (colour type 6).
    /// - Throws: `SBRTError` (`.invalidImage`, `.invalidText`, `.encoder`).
    /// - Complexity: O(width × height); copies the pixels once when dropping alpha.
    public static func encode(_ image: RGBAImage, text: [(String, String)] = [],
                              dropAlphaIfOpaque: Bool = true, compression: Compression = .standard) throws -> Data {
        try checkDimensions(width: image.width, height: image.height)
        try SBRTError.checkBuffer(width: image.width, height: image.height, channels: 4,
                                       count: image.pixels.count)
        let chunks = try textChunks(text)
        if dropAlphaIfOpaque && image.isOpaque {
            let rgb = stripAlpha(image.pixels)
            return try rgb.withUnsafeBufferPointer {
                try encodeRows($0, width: image.width, height: image.height, colour: .rgb, text: chunks, compression: compression)
            }
        }
        return try image.pixels.withUnsafeBufferPointer {
            try encodeRows($0, width: image.width, height: image.height, colour: .rgba, text: chunks, compression: compression)
        }
    }

    /// The PNG bytes of `image` as 8-bit greyscale (colour type 0).
    ///
    /// - Parameter text: as for the RGBA overload.
    /// - Throws: `SBRTError` (`.invalidImage`, `.invalidText`, `.encoder`).
    public static func encode(_ image: GrayImage, text: [(String, String)] = []) throws -> Data {
        try checkDimensions(width: image.width, height: image.height)
        try SBRTError.checkBuffer(width: image.width, height: image.height, channels: 1,
                                       count: image.pixels.count)
        let chunks = try textChunks(text)
        return try image.pixels.withUnsafeBufferPointer {
            try encodeRows($0, width: image.width, height: image.height, colour: .grey, text: chunks)
        }
    }

    /// Encodes `image` and writes it to `path` atomically: the bytes go to a temporary
    /// file in the same folder, which rename(2) then moves into place, so readers see
    /// either the old file or the complete new one, never a part.
    ///
    /// - Throws: `SBRTError` as for `encode`, or `.io` naming `path`.
    public static func write(_ image: RGBAImage, to path: String, text: [(String, String)] = [],
                             dropAlphaIfOpaque: Bool = true) throws {
        let data: Data
        do {
            data = try encode(image, text: text, dropAlphaIfOpaque: dropAlphaIfOpaque)
        } catch let error as SBRTError {
            throw error.inFile(path)
        }
        try OutputFiles.write(data, to: path)
    }

    /// Encodes the greyscale `image` and writes it to `path` atomically (see the RGBA
    /// overload).
    ///
    /// - Throws: `SBRTError` as for `encode`, or `.io` naming `path`.
    public static func write(_ image: GrayImage, to path: String, text: [(String, String)] = []) throws {
        let data: Data
        do {
            data = try encode(image, text: text)
        } catch let error as SBRTError {
            throw error.inFile(path)
        }
        try OutputFiles.write(data, to: path)
    }

    // MARK: - Validation

    /// PNG colour types written here (PNG specification, table 11.1).
    enum ColourType: Int32 {
        case grey = 0
        case rgb = 2
        case rgba = 6

        var channels: Int {
            switch self {
            case .grey: return 1
            case .rgb: return 3
            case .rgba: return 4
            }
        }
    }

    /// One text chunk, validated and converted to the bytes PNG stores.
    struct TextChunk: Equatable {
        /// Latin-1 keyword bytes.
        var keyword: [UInt8]
        /// Latin-1 bytes for tEXt, UTF-8 bytes for iTXt.
        var value: [UInt8]
        /// Whether the value needs iTXt (a character outside Latin-1).
        var international: Bool
    }

    /// Throws unless both sides are within 1…2^31 − 1, as the PNG IHDR requires.
    static func checkDimensions(width: Int, height: Int) throws {
        guard (1...maximumSide).contains(width), (1...maximumSide).contains(height) else {
            throw SBRTError(.invalidValue,
                                 "a PNG must be 1 to \(maximumSide) pixels on each side; this image is \(width)×\(height)")
        }
    }

    /// The text chunks to write: `Software` = `sbrt` unless given, then `pairs`.
    static func textChunks(_ pairs: [(String, String)]) throws -> [TextChunk] {
        var all = pairs
        if !pairs.contains(where: { $0.0 == "Software" }) {
            all.insert(("Software", "sbrt"), at: 0)
        }
        return try all.map { key, value in
            let keyword = try keywordBytes(key)
            guard !value.unicodeScalars.contains("\0") else {
                throw SBRTError(.invalidValue, "PNG text \"\(key)\" must not contain a NUL character")
            }
            if value.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
                return TextChunk(keyword: keyword, value: value.unicodeScalars.map { UInt8($0.value) },
                                 international: false)
            }
            return TextChunk(keyword: keyword, value: Array(value.utf8), international: true)
        }
    }

    /// Latin-1 bytes of a PNG keyword, or a thrown `.invalidText` saying what is wrong.
    static func keywordBytes(_ key: String) throws -> [UInt8] {
        let scalars = Array(key.unicodeScalars)
        guard (1...79).contains(scalars.count) else {
            throw SBRTError(.invalidValue, "PNG keyword \"\(key)\" must be 1 to 79 characters long")
        }
        for s in scalars where !((32...126).contains(s.value) || (161...255).contains(s.value)) {
            throw SBRTError(.invalidValue,
                                 "PNG keyword \"\(key)\" contains U+\(String(s.value, radix: 16, uppercase: true)), which is not printable Latin-1")
        }
        guard scalars.first != " ", scalars.last != " ", !key.contains("  ") else {
            throw SBRTError(.invalidValue,
                                 "PNG keyword \"\(key)\" must not have leading, trailing or consecutive spaces")
        }
        return scalars.map { UInt8($0.value) }
    }

    /// RGB bytes of RGBA bytes (every fourth byte dropped).
    static func stripAlpha(_ rgba: [UInt8]) -> [UInt8] {
        let count = rgba.count / 4
        return [UInt8](unsafeUninitializedCapacity: count * 3) { out, initialized in
            rgba.withUnsafeBufferPointer { src in
                for p in 0..<count {
                    out[3 * p] = src[4 * p]
                    out[3 * p + 1] = src[4 * p + 1]
                    out[3 * p + 2] = src[4 * p + 2]
                }
            }
            initialized = count * 3
        }
    }

    // MARK: - libpng

    /// Runs libpng over validated, tightly packed rows (`width * channels` bytes each).
    private static func encodeRows(_ pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int,
                                   colour: ColourType, text: [TextChunk], compression: Compression = .standard) throws -> Data {
        let rowBytes = width * colour.channels
        precondition(pixels.count == rowBytes * height, "validated before")

        let sink = UnsafeMutablePointer<sbrt_png_error_sink>.allocate(capacity: 1)
        sink.initialize(to: sbrt_png_error_sink())
        defer { sink.deallocate() }

        var png = sbrt_png_create_write_struct(sink)
        guard png != nil else {
            throw SBRTError(.io, "libpng could not start (out of memory or library version mismatch)")
        }
        var info = png_create_info_struct(png)
        defer { png_destroy_write_struct(&png, &info) }
        guard info != nil else {
            throw SBRTError(.io, "libpng could not start (out of memory)")
        }

        func check(_ ok: Int32, _ step: String) throws {
            guard ok != 0 else {
                let message = withUnsafeBytes(of: sink.pointee.message) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                throw SBRTError(.io, "libpng failed in \(step): \(message.isEmpty ? "unknown error" : message)")
            }
        }

        let output = OutputBuffer()
        output.bytes.reserveCapacity(pixels.count / 2 + 1024)
        // `output` outlives every libpng call below: the struct is destroyed by the
        // defer above, which runs before `output` goes out of scope.
        png_set_write_fn(png, Unmanaged.passUnretained(output).toOpaque(), pngWrite, pngFlush)

        try check(sbrt_png_configure(png, compression.level, Z_FILTERED, compression.filters), "configuration")
        try check(sbrt_png_set_IHDR(png, info, png_uint_32(width), png_uint_32(height), 8, colour.rawValue),
                  "png_set_IHDR")

        if !text.isEmpty {
            var cStrings: [UnsafeMutablePointer<CChar>] = []
            defer { cStrings.forEach { $0.deallocate() } }
            func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
                let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                for (i, b) in bytes.enumerated() { p[i] = CChar(bitPattern: b) }
                p[bytes.count] = 0
                cStrings.append(p)
                return p
            }
            var entries: [png_text] = text.map { chunk in
                var entry = png_text()
                entry.compression = chunk.international ? PNG_ITXT_COMPRESSION_NONE : PNG_TEXT_COMPRESSION_NONE
                entry.key = cString(chunk.keyword)
                entry.text = cString(chunk.value)
                entry.text_length = chunk.value.count
                if chunk.international {
                    entry.itxt_length = chunk.value.count
                    entry.lang = cString([])
                    entry.lang_key = cString([])
                }
                return entry
            }
            try check(sbrt_png_set_text(png, info, &entries, Int32(entries.count)), "png_set_text")
        }

        try check(sbrt_png_write_info(png, info), "png_write_info")

        // libpng copies each row before filtering it, so the rows are only read.
        let base = UnsafeMutablePointer(mutating: pixels.baseAddress!)
        var rows = [UnsafeMutablePointer<UInt8>?](unsafeUninitializedCapacity: height) { buffer, initialized in
            for y in 0..<height { buffer[y] = base + y * rowBytes }
            initialized = height
        }
        try rows.withUnsafeMutableBufferPointer { rowPointers in
            try check(sbrt_png_write_rows(png, rowPointers.baseAddress, png_uint_32(height)), "png_write_rows")
        }
        try check(sbrt_png_write_end(png, info), "png_write_end")
        return Data(output.bytes)
    }

    /// PNG_ALL_FILTERS: none, sub, up, average and Paeth, chosen per row by libpng.
    fileprivate static let allFilters: Int32 = 0x08 | 0x10 | 0x20 | 0x40 | 0x80
}

/// The growing byte buffer that libpng's write callback appends to.
private final class OutputBuffer {
    var bytes: [UInt8] = []
}

/// libpng write callback: appends to the `OutputBuffer` behind the io pointer.
/// Never fails and never calls png_error (see `PNGEncoder`).
private let pngWrite: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt8>?, Int) -> Void = { png, data, length in
    guard let data, length > 0, let io = png_get_io_ptr(png) else { return }
    let output = Unmanaged<OutputBuffer>.fromOpaque(io).takeUnretainedValue()
    output.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: length))
}

/// libpng flush callback: nothing to flush in memory. (Passing NULL would make libpng
/// call fflush on the io pointer as if it were a FILE *.)
private let pngFlush: @convention(c) (OpaquePointer?) -> Void = { _ in }
