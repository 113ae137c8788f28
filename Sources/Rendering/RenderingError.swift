import Base

extension SBRTError {
    /// Throws unless `count == channels * width * height` with non-negative dimensions.
    static func checkBuffer(width: Int, height: Int, channels: Int, count: Int) throws {
        guard width >= 0, height >= 0 else {
            throw SBRTError(.invalidValue, "image dimensions \(width)×\(height) are negative")
        }
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = pixels.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, bytes == count else {
            throw SBRTError(.invalidValue,
                                 "a \(width)×\(height) image with \(channels) channel(s) needs \(o1 || o2 ? "more than Int.max" : String(bytes)) bytes, got \(count)")
        }
    }
}
