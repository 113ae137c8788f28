/// Why a file could not be read or written as DICOM.
///
/// Every message names the problem in words a user can act on; `file` and `offset`
/// say where. The CLI prints `description` and exits with code 2.
public struct DICOMError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The file has neither a Part 10 header nor the shape of a raw data set.
        case notDICOM
        /// The data ends before a header or value it announced.
        case truncated
        /// A length, VR, tag or nesting that the standard does not allow.
        case malformed
        /// A transfer syntax or encoding this codec does not decode.
        case unsupported
        /// An attribute the caller needs is absent.
        case missingAttribute
        /// An attribute is present but its value cannot be used.
        case invalidValue
        /// The file system refused a read or a write.
        case io
    }

    public var kind: Kind
    public var message: String
    public var file: String?
    public var offset: Int?

    public init(_ kind: Kind, _ message: String, file: String? = nil, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.offset = offset
    }

    /// The same error, attributed to `file` unless it already names one.
    public func inFile(_ path: String) -> DICOMError {
        var copy = self
        if copy.file == nil { copy.file = path }
        return copy
    }

    public var description: String {
        var s = ""
        if let file { s += file + ": " }
        s += message
        if let offset { s += " (at byte \(offset))" }
        return s
    }
}
