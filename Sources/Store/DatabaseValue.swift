/// One value bound to a statement parameter or read from a result column.
///
/// The storage classes both backends share: 64-bit integers, IEEE-754 doubles (stored
/// and read back bit for bit), UTF-8 text, bytes, and NULL.
enum DatabaseValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    init(_ v: String?) { self = v.map { .text($0) } ?? .null }
    init(_ v: Double?) { self = v.map { .real($0) } ?? .null }
    init(_ v: Int?) { self = v.map { .integer(Int64($0)) } ?? .null }

    var isNull: Bool { self == .null }
}

/// Typed reading of one result row, with errors that name the column.
struct Row {
    var values: [DatabaseValue]
    var columns: [String]

    subscript(_ i: Int) -> DatabaseValue { values[i] }

    private func mismatch(_ i: Int, _ expected: String) -> StoreError {
        StoreError(.corruptData, "column \(columns[i]) holds \(values[i]) where \(expected) was expected")
    }

    func text(_ i: Int) throws -> String {
        if case .text(let s) = values[i] { return s }
        throw mismatch(i, "text")
    }

    func optionalText(_ i: Int) throws -> String? {
        values[i].isNull ? nil : try text(i)
    }

    func double(_ i: Int) throws -> Double {
        switch values[i] {
        case .real(let d): return d
        // SQLite may hand back an integral REAL as an integer in expressions.
        case .integer(let n): return Double(n)
        default: throw mismatch(i, "a number")
        }
    }

    func optionalDouble(_ i: Int) throws -> Double? {
        values[i].isNull ? nil : try double(i)
    }

    func int(_ i: Int) throws -> Int {
        if case .integer(let n) = values[i], let v = Int(exactly: n) { return v }
        throw mismatch(i, "an integer")
    }

    func optionalInt(_ i: Int) throws -> Int? {
        values[i].isNull ? nil : try int(i)
    }

    func blob(_ i: Int) throws -> [UInt8] {
        if case .blob(let b) = values[i] { return b }
        throw mismatch(i, "bytes")
    }
}
