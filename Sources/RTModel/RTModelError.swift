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
        if let n = v.firstIndex(where: { !$0.isFinite }) {
            throw SBRTError(.invalidValue, "\(name) \(tag) holds \(v[n])\(v.count > 1 ? " (value \(n + 1) of \(v.count))" : ""), not a finite number", file: file)
        }
        return v
    }

    /// The numbers of a DS/IS attribute, each checked against `range` (docs/safety.md).
    func requireDoubles(_ tag: Tag, _ name: String, count: Int? = nil, in range: ClosedRange<Double>, unit: String, file: String?) throws -> [Double] {
        let v = try requireDoubles(tag, name, count: count, file: file)
        return try Checked.all(v, in: range, unit: unit, "\(name) \(tag)", file: file)
    }

    /// An optional number checked against `range` when present.
    func optionalDouble(_ tag: Tag, _ name: String, in range: ClosedRange<Double>, unit: String, file: String?) throws -> Double? {
        guard let v = try optionalDouble(tag, name, file: file) else { return nil }
        return try Checked.all([v], in: range, unit: unit, "\(name) \(tag)", file: file)[0]
    }

    /// Slice Thickness (0018,0050) when present and usable as a spacing
    /// (`InputLimits.spacingMM`); a present value outside that range is an error.
    func sliceThicknessMM(file: String?) throws -> Double? {
        guard contains(.sliceThickness), let values = try? doubles(.sliceThickness), let t = values.first else { return nil }
        // Zero or empty means "not stated" in exports; anything else must be a spacing.
        if t == 0 { return nil }
        return try Checked.all([t], in: InputLimits.spacingMM, unit: "mm", "Slice Thickness (0018,0050)", file: file)[0]
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
            throw SBRTError(.invalidValue, "\(name) \(tag) holds \(value), not a finite number", file: file)
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
