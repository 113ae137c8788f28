import DICOM

/// Why DICOM objects could not be turned into a CT image, structure set, dose grid or plan.
public struct RTModelError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var file: String?

    public init(_ message: String, file: String? = nil) {
        self.message = message
        self.file = file
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }
}

/// A doubt about the data that does not stop the work but must be shown to the user.
public struct Warning: Sendable, Codable, Equatable, CustomStringConvertible {
    /// A stable identifier, e.g. `missing-ct-slices`, `contour-off-plane` (documented in docs/info.md).
    public var kind: String
    public var message: String
    /// Files concerned (may be empty).
    public var files: [String]

    public init(kind: String, message: String, files: [String] = []) {
        self.kind = kind
        self.message = message
        self.files = files
    }

    public var description: String { "[\(kind)] \(message)" }
}

extension DataSet {
    /// The numbers of a DS/IS attribute, or an error naming the attribute and file.
    func requireDoubles(_ tag: Tag, _ name: String, count: Int? = nil, file: String?) throws -> [Double] {
        let values: [Double]?
        do {
            values = try doubles(tag)
        } catch let e as DICOMError {
            throw RTModelError("\(name) \(tag): \(e.message)", file: file)
        }
        guard let v = values, !v.isEmpty else {
            throw RTModelError("missing \(name) \(tag)", file: file)
        }
        if let count, v.count != count {
            throw RTModelError("\(name) \(tag) has \(v.count) values where \(count) are required", file: file)
        }
        guard v.allSatisfy({ $0.isFinite }) else {
            throw RTModelError("\(name) \(tag) holds a non-finite number", file: file)
        }
        return v
    }

    func requireInt(_ tag: Tag, _ name: String, file: String?) throws -> Int {
        let v = try requireDoubles(tag, name, count: nil, file: file)[0]
        guard v == v.rounded(), abs(v) < 1e9 else {
            throw RTModelError("\(name) \(tag) is \(v), not an integer", file: file)
        }
        return Int(v)
    }

    /// An optional number; a present but unreadable or non-finite value (a DS such as
    /// `1e400` parses as infinity) is an error, not nil.
    func optionalDouble(_ tag: Tag, _ name: String, file: String?) throws -> Double? {
        guard contains(tag) else { return nil }
        let value: Double?
        do {
            value = try double(tag)
        } catch let e as DICOMError {
            throw RTModelError("\(name) \(tag): \(e.message)", file: file)
        }
        if let value, !value.isFinite {
            throw RTModelError("\(name) \(tag) holds a non-finite number", file: file)
        }
        return value
    }

    /// An unsigned 16-bit attribute (Rows, Columns, BitsAllocated…), tolerating IS encodings.
    func requireUInt16(_ tag: Tag, _ name: String, file: String?) throws -> Int {
        if let e = self[tag], e.vr == .US || e.vr == .UN || e.vr == .SS, let v = uint16(tag) {
            return Int(v)
        }
        return try requireInt(tag, name, file: file)
    }
}
