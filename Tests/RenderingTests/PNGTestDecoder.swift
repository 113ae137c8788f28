import CZlib
import Foundation

/// A PNG decoded independently of libpng: chunks split and CRC-checked here, IDAT
/// inflated with zlib, and the five PNG row filters undone here.
///
/// Only what the encoder writes is supported: 8-bit samples, colour types 0, 2 and 6,
/// no interlace. Anything else is a `PNGTestDecoder.Failure`, so a test fails rather
/// than crashes.
struct DecodedPNG {
    var width: Int
    var height: Int
    var bitDepth: Int
    var colourType: Int
    var compressionMethod: Int
    var filterMethod: Int
    var interlaceMethod: Int
    /// Chunk types in file order.
    var chunkTypes: [String]
    /// tEXt (Latin-1) and iTXt (UTF-8) keyword/value pairs in file order, with the
    /// chunk type each came from.
    var text: [(chunk: String, keyword: String, value: String)]
    /// Unfiltered samples, rows top to bottom, `channels` bytes per pixel.
    var pixels: [UInt8]
    /// Filter type byte of each row.
    var rowFilters: [UInt8]

    var channels: Int { colourType == 0 ? 1 : colourType == 2 ? 3 : 4 }
}

enum PNGTestDecoder {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func decode(_ data: Data) throws -> DecodedPNG {
        let bytes = [UInt8](data)
        guard bytes.count >= 8, Array(bytes[0..<8]) == signature else { throw Failure("bad signature") }

        var chunks: [(type: String, body: [UInt8])] = []
        var at = 8
        while at < bytes.count {
            guard at + 12 <= bytes.count else { throw Failure("truncated chunk header at \(at)") }
            let length = Int(be32(bytes, at))
            guard length <= Int(Int32.max), at + 12 + length <= bytes.count else {
                throw Failure("chunk at \(at) runs past the end")
            }
            let typeBytes = Array(bytes[(at + 4)..<(at + 8)])
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw Failure("bad chunk type at \(at)")
            }
            let body = Array(bytes[(at + 8)..<(at + 8 + length)])
            let stored = be32(bytes, at + 8 + length)
            let computed = typeBytes.withUnsafeBufferPointer { t -> UInt in
                let c = crc32(0, t.baseAddress, 4)
                return body.withUnsafeBufferPointer { b in crc32(c, b.baseAddress, uInt(b.count)) }
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard UInt(stored) == computed else { throw Failure("CRC mismatch in \(type) chunk") }
            chunks.append((type, body))
            at += 12 + length
            if type == "IEND" { break }
        }
        guard at == bytes.count else { throw Failure("\(bytes.count - at) bytes after IEND") }
        guard chunks.first?.type == "IHDR", chunks.first?.body.count == 13 else { throw Failure("IHDR is not first") }
        guard chunks.last?.type == "IEND", chunks.last?.body.isEmpty == true else { throw Failure("no IEND") }

        let h = chunks[0].body
        var png = DecodedPNG(
            width: Int(be32(h, 0)), height: Int(be32(h, 4)), bitDepth: Int(h[8]), colourType: Int(h[9]),
            compressionMethod: Int(h[10]), filterMethod: Int(h[11]), interlaceMethod: Int(h[12]),
            chunkTypes: chunks.map(\.type), text: [], pixels: [], rowFilters: [])
        guard png.bitDepth == 8, [0, 2, 6].contains(png.colourType), png.interlaceMethod == 0,
              png.width > 0, png.height > 0 else {
            throw Failure("unsupported IHDR \(h)")
        }

        for chunk in chunks {
            switch chunk.type {
            case "tEXt":
                guard let nul = chunk.body.firstIndex(of: 0) else { throw Failure("tEXt without separator") }
                png.text.append(("tEXt", latin1(chunk.body[..<nul]), latin1(chunk.body[(nul + 1)...])))
            case "iTXt":
                let b = chunk.body
                guard let nul = b.firstIndex(of: 0), nul + 3 <= b.count, b[nul + 1] == 0,
                      let langEnd = b[(nul + 3)...].firstIndex(of: 0),
                      let transEnd = b[(langEnd + 1)...].firstIndex(of: 0) else {
                    throw Failure("malformed iTXt")
                }
                png.text.append(("iTXt", latin1(b[..<nul]), String(decoding: b[(transEnd + 1)...], as: UTF8.self)))
            default:
                break
            }
        }

        let idat = chunks.filter { $0.type == "IDAT" }.flatMap(\.body)
        let stride = png.width * png.channels
        let expected = png.height * (1 + stride)
        var raw = [UInt8](repeating: 0, count: expected + 1)
        var rawLength = uLongf(raw.count)
        let status = raw.withUnsafeMutableBufferPointer { out in
            idat.withUnsafeBufferPointer { src in
                uncompress(out.baseAddress, &rawLength, src.baseAddress, uLong(src.count))
            }
        }
        guard status == Z_OK else { throw Failure("zlib uncompress failed: \(status)") }
        guard Int(rawLength) == expected else { throw Failure("IDAT inflates to \(rawLength) bytes, expected \(expected)") }

        png.pixels = [UInt8](repeating: 0, count: png.height * stride)
        let bpp = png.channels
        for y in 0..<png.height {
            let filter = raw[y * (1 + stride)]
            png.rowFilters.append(filter)
            for x in 0..<stride {
                let v = raw[y * (1 + stride) + 1 + x]
                let a = x >= bpp ? Int(png.pixels[y * stride + x - bpp]) : 0
                let b = y > 0 ? Int(png.pixels[(y - 1) * stride + x]) : 0
                let c = (x >= bpp && y > 0) ? Int(png.pixels[(y - 1) * stride + x - bpp]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = a
                case 2: predictor = b
                case 3: predictor = (a + b) / 2
                case 4:
                    let p = a + b - c
                    let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predictor = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c)
                default: throw Failure("bad filter type \(filter) on row \(y)")
                }
                png.pixels[y * stride + x] = UInt8(truncatingIfNeeded: Int(v) + predictor)
            }
        }
        return png
    }

    private static func be32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    private static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}
