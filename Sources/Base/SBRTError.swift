/// The one error shape of sbrt: a kind a caller can act on, the file (or element,
/// structure, option) at fault, and a message in words a user can act on.
///
/// Every library module throws `SBRTError`; the CLI catches it once (exit 2) and the
/// batch command records `kind` in its failures table. Messages never name a CLI flag:
/// the library says what is missing ("the plan states no fraction count"), the CLI says
/// how to give it.
public struct SBRTError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What went wrong, in classes a caller can act on. The raw values are stable: the
    /// batch command stores them (docs/batch.md).
    public enum Kind: String, Sendable, Codable, CaseIterable {
        // Reading files.
        /// The file has neither a Part 10 header nor the shape of a raw data set.
        case notDICOM = "not-dicom"
        /// The data ends before a header or value it announced.
        case truncated
        /// A length, VR, tag or nesting that the standard does not allow.
        case malformed
        /// A transfer syntax, encoding or object this program does not handle.
        case unsupported
        /// An attribute the caller needs is absent.
        case missingAttribute = "missing-attribute"
        /// A value is present but cannot be used (absurd number, wrong count, not finite).
        case invalidValue = "invalid-value"
        /// The file system refused a read or a write.
        case io

        // Resolving a study (which images, structures, plan and doses belong together).
        /// No image series where one is needed.
        case noImages = "no-images"
        /// No RT Structure Set where one is needed.
        case noStructureSet = "no-structure-set"
        /// No RT Dose for the plan.
        case noDose = "no-dose"
        /// No RT Plan where one is needed.
        case noPlan = "no-plan"
        /// Several candidates (plans, structure sets) and nothing says which one.
        case ambiguous
        /// Objects on different frames of reference without a registration.
        case frameOfReference = "frame-of-reference"
        /// A dose whose type, units or summation cannot serve the request as it stands.
        case doseType = "dose-type"
        /// The beam doses of a plan are incomplete (a beam's dose is not in the folder).
        case missingBeamDose = "missing-beam-dose"

        // Structures, protocols, requests.
        /// A structure named in a request or expression is not in the structure set.
        case structureNotFound = "structure-not-found"
        /// A structure has no usable contours (no closed planar contour, empty result).
        case emptyStructure = "empty-structure"
        /// A structure lies wholly outside the dose grid.
        case structureOutsideDose = "structure-outside-dose-grid"
        /// A protocol or mapping file that cannot be used.
        case invalidProtocol = "invalid-protocol"
        /// A request the library cannot honour (a value out of range, a bad expression).
        case invalidRequest = "invalid-request"
        /// An output path that would overwrite an input, is a folder, or is given twice.
        case outputPath = "output-path"
        /// A size (grid, lattice, table) over the limit this program allocates.
        case tooLarge = "too-large"
        /// A database refused a connection, a statement or a transaction.
        case database
    }

    public var kind: Kind
    public var message: String
    /// The file at fault, if any.
    public var file: String?
    /// Byte offset in `file`, for codec errors.
    public var offset: Int?

    public init(_ kind: Kind, _ message: String, file: String? = nil, offset: Int? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.offset = offset
    }

    /// The same error, attributed to `file` unless it already names one.
    public func inFile(_ path: String) -> SBRTError {
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
