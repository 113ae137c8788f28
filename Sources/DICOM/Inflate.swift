import Base
import CZlib
import Foundation

/// Raw DEFLATE (RFC 1951) decoding through zlib, for the deflated transfer syntax (PS3.5 §A.5).
enum Inflate {
    /// Refuse to inflate beyond this, so a hostile "zip bomb" cannot exhaust memory.
    static let maximumOutput = 2 << 30

    /// Inflates a raw deflate stream (no zlib or gzip header), as wraps `inflate(3)`.
    static func raw(_ input: Data, path: String?) throws -> Data {
        var stream = z_stream()
        var status = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            throw SBRTError(.io, "zlib could not start inflating (status \(status))", file: path)
        }
        defer { inflateEnd(&stream) }
        var output = Data(count: max(4096, input.count * 4))
        var produced = 0
        let src = Data(input)
        let failure: SBRTError? = src.withUnsafeBytes { (inRaw: UnsafeRawBufferPointer) -> SBRTError? in
            stream.next_in = UnsafeMutablePointer(mutating: inRaw.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(inRaw.count)
            while true {
                if produced == output.count {
                    if output.count >= maximumOutput {
                        return SBRTError(.unsupported, "deflated data set inflates to more than \(maximumOutput >> 20) MiB; refusing", file: path)
                    }
                    output.count = min(maximumOutput, output.count * 2)
                }
                status = output.withUnsafeMutableBytes { (outRaw: UnsafeMutableRawBufferPointer) -> Int32 in
                    let out = outRaw.bindMemory(to: Bytef.self)
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = uInt(out.count - produced)
                    let r = inflate(&stream, Z_NO_FLUSH)
                    produced = out.count - Int(stream.avail_out)
                    return r
                }
                if status == Z_STREAM_END { return nil }
                if status == Z_BUF_ERROR && stream.avail_in == 0 {
                    return SBRTError(.truncated, "deflated data set is truncated (the deflate stream ends early)", file: path)
                }
                if status != Z_OK && status != Z_BUF_ERROR {
                    let msg = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                    return SBRTError(.malformed, "deflated data set is corrupt: zlib says \(msg)", file: path)
                }
            }
        }
        if let failure { throw failure }
        output.count = produced
        return output
    }

    /// Raw DEFLATE encoding, used by tests and by writers of the deflated syntax.
    static func deflateRaw(_ input: Data) -> Data {
        var stream = z_stream()
        deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                      ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        defer { deflateEnd(&stream) }
        var output = Data(count: Int(deflateBound(&stream, uLong(input.count))) + 16)
        let src = Data(input)
        src.withUnsafeBytes { (inRaw: UnsafeRawBufferPointer) in
            output.withUnsafeMutableBytes { (outRaw: UnsafeMutableRawBufferPointer) in
                stream.next_in = UnsafeMutablePointer(mutating: inRaw.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(inRaw.count)
                stream.next_out = outRaw.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(outRaw.count)
                _ = deflate(&stream, Z_FINISH)
            }
        }
        output.count = Int(stream.total_out)
        return output
    }
}
