import Base
import DICOM

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
        } catch let e as SBRTError {
            throw SBRTError(.invalidValue, "\(name) \(tag): \(e.message)", file: file)
        }
        guard let v = values, !v.isEmpty else {
            throw SBRTError(.invalidValue, "missing \(name) \(tag)", file: file)
        }
        if let count, v.count != count {
            throw SBRTError(.invalidValue, "\(name) \(tag) has \(v.count) values where \(count) are required", file: file)
        }
        guard v.allSatisfy({ $0.isFinite }) else {
            throw SBRTError(.invalidValue, "\(name) \(tag) holds a non-finite number", file: file)
        }
        return v
    }

    func requireInt(_ tag: Tag, _ name: String, file: String?) throws -> Int {
        let v = try requireDoubles(tag, name, count: nil, file: file)[0]
        guard v == v.rounded(), abs(v) < 1e9 else {
            throw SBRTError(.invalidValue, "\(name) \(tag) is \(v), not an integer", file: file)
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
        } catch let e as SBRTError {
            throw SBRTError(.invalidValue, "\(name) \(tag): \(e.message)", file: file)
        }
        if let value, !value.isFinite {
            throw SBRTError(.invalidValue, "\(name) \(tag) holds a non-finite number", file: file)
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
