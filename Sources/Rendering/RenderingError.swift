/// Why an image could not be built, encoded or written.
///
/// Every message says what was wrong in words a user can act on; `file` names the
/// output when there is one. The CLI prints `description` and exits with code 2.
public struct RenderingError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Dimensions or pixel buffer that no PNG can hold (zero or negative size, a
        /// side over 2^31 − 1, a buffer whose length does not match the dimensions).
        case invalidImage
        /// A text chunk keyword or value that PNG does not allow.
        case invalidText
        /// libpng refused to encode; the message is libpng's.
        case encoder
        /// The file system refused a write or the final rename.
        case io
        /// A figure that cannot be drawn as asked: a slice outside the CT, % isodose
        /// levels without a prescription, an unknown structure, no CT or dose to draw.
        case invalidRequest
    }

    public var kind: Kind
    public var message: String
    public var file: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
    }

    /// The same error, attributed to `file` unless it already names one.
    public func inFile(_ path: String) -> RenderingError {
        var copy = self
        if copy.file == nil { copy.file = path }
        return copy
    }

    public var description: String {
        (file.map { $0 + ": " } ?? "") + message
    }

    /// Throws unless `count == channels * width * height` with non-negative dimensions.
    static func checkBuffer(width: Int, height: Int, channels: Int, count: Int) throws {
        guard width >= 0, height >= 0 else {
            throw RenderingError(.invalidImage, "image dimensions \(width)×\(height) are negative")
        }
        let (pixels, o1) = width.multipliedReportingOverflow(by: height)
        let (bytes, o2) = pixels.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, bytes == count else {
            throw RenderingError(.invalidImage,
                                 "a \(width)×\(height) image with \(channels) channel(s) needs \(o1 || o2 ? "more than Int.max" : String(bytes)) bytes, got \(count)")
        }
    }
}
