import CLibPQ
import Foundation

/// One PostgreSQL connection (`PGconn *`) through the C API of Debian's libpq.
///
/// Every statement goes through `PQexecParams` with **binary** parameters and results:
/// a double travels as its 8 IEEE-754 bytes, so values round-trip bit for bit whatever
/// the server's `extra_float_digits`. Not thread-safe: one thread at a time.
final class PostgresConnection: DatabaseConnection {
    let dialect = SQLDialect.postgres
    let displayName: String
    private var handle: OpaquePointer?
    private let pq: LibPQ
    /// `?`-placeholder SQL → `$n`-placeholder SQL, converted once per text.
    private var numbered: [String: String] = [:]

    /// Connects to `url` (`PQconnectdbParams` with the URL expanded as `dbname`, a
    /// 10 s `connect_timeout` and UTF-8 client encoding unless the URL says otherwise),
    /// checks `PQstatus`, and silences server notices (`PQsetNoticeProcessor`): the
    /// library never prints.
    init(url: String, displayName: String) throws {
        self.displayName = displayName
        do { pq = try LibPQ.load() } catch { throw StoreError(error.kind, error.message, file: displayName) }
        let keys = ["connect_timeout", "client_encoding", "application_name", "dbname"]
        let values = ["10", "UTF8", "sbrt", url]
        let conn = Self.withCStrings(keys) { k in
            Self.withCStrings(values) { v in pq.connectdbParams(k, v, 1) }
        }
        guard let conn else {
            throw StoreError(.connection, "cannot allocate a PostgreSQL connection", file: displayName)
        }
        guard pq.status(conn) == CONNECTION_OK else {
            let message = Self.trimmed(pq.errorMessage(conn))
            pq.finish(conn)
            throw StoreError(.connection, "cannot connect to PostgreSQL: \(message)", file: displayName)
        }
        _ = pq.setNoticeProcessor(conn, { _, _ in }, nil)
        handle = conn
    }

    deinit { close() }

    /// Ends the session (`PQfinish`); the server rolls back an open transaction.
    func close() {
        if let handle { pq.finish(handle) }
        handle = nil
    }

    func execute(_ sql: String, _ arguments: [DatabaseValue]) throws {
        pq.clear(try run(sql, arguments))
    }

    func query(_ sql: String, _ arguments: [DatabaseValue]) throws -> [Row] {
        let result = try run(sql, arguments)
        defer { pq.clear(result) }
        let nrows = pq.ntuples(result), ncols = pq.nfields(result)
        let columns = (0..<ncols).map { c in pq.fname(result, c).map { String(cString: $0) } ?? "" }
        var rows: [Row] = []
        rows.reserveCapacity(Int(nrows))
        for r in 0..<nrows {
            var values: [DatabaseValue] = []
            for c in 0..<ncols { values.append(try decode(result, r, c, column: columns[Int(c)])) }
            rows.append(Row(values: values, columns: columns))
        }
        return rows
    }

    /// Sends one statement with binary parameters (`PQexecParams`, result format 1) and
    /// checks `PQresultStatus`. The caller owns (and `PQclear`s) the result.
    private func run(_ sql: String, _ arguments: [DatabaseValue]) throws -> OpaquePointer {
        guard let handle else { throw StoreError(.connection, "the database is closed", file: displayName) }
        let text = numberedSQL(sql)
        let p = try PostgresParameters(arguments)
        let result = p.bytes.withUnsafeBufferPointer { buf -> OpaquePointer? in
            let base = UnsafeRawPointer(buf.baseAddress!)
            let pointers: [UnsafePointer<CChar>?] = p.offsets.map { o in
                o.map { base.advanced(by: $0).assumingMemoryBound(to: CChar.self) }
            }
            return pq.execParams(handle, text, Int32(arguments.count), p.types, pointers, p.lengths, p.formats, 1)
        }
        guard let result else {
            throw StoreError(.connection, "PostgreSQL: \(Self.trimmed(pq.errorMessage(handle)))", file: displayName)
        }
        let status = pq.resultStatus(result)
        guard status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK else {
            defer { pq.clear(result) }
            throw error(result, sql)
        }
        return result
    }

    /// The server's error for a failed statement (`PQresultErrorMessage`, SQLSTATE from
    /// `PQresultErrorField(PG_DIAG_SQLSTATE)`), with a kind.
    private func error(_ result: OpaquePointer, _ sql: String) -> StoreError {
        let state = pq.resultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let message = Self.trimmed(pq.resultErrorMessage(result))
        let kind: StoreError.Kind
        switch state {
        case "40001", "40P01": kind = .conflict
        case .some(let s) where s.hasPrefix("08") || s == "57P01": kind = .connection
        default: kind = handle.map { pq.status($0) == CONNECTION_OK } == false ? .connection : .database
        }
        return StoreError(kind, "\(statementSummary(sql)) failed: \(message)", file: displayName, code: state)
    }

    /// Decodes one binary result field (`PQgetisnull`, `PQftype`, `PQgetvalue`, `PQgetlength`).
    private func decode(_ result: OpaquePointer, _ r: Int32, _ c: Int32, column: String) throws -> DatabaseValue {
        if pq.getisnull(result, r, c) != 0 { return .null }
        let n = Int(pq.getlength(result, r, c))
        let bytes = UnsafeRawBufferPointer(start: pq.getvalue(result, r, c), count: n)
        let oid = pq.ftype(result, c)
        func bigEndian(_ width: Int) throws -> UInt64 {
            guard n == width else { throw StoreError(.corruptData, "column \(column): \(n) bytes for a \(width)-byte value", file: displayName) }
            return bytes.reduce(0) { $0 << 8 | UInt64($1) }
        }
        switch oid {
        case 16: return .integer(Int64(try bigEndian(1)))
        case 21: return .integer(Int64(Int16(truncatingIfNeeded: try bigEndian(2))))
        case 23: return .integer(Int64(Int32(truncatingIfNeeded: try bigEndian(4))))
        case 20: return .integer(Int64(bitPattern: try bigEndian(8)))
        case 700: return .real(Double(Float(bitPattern: UInt32(try bigEndian(4)))))
        case 701: return .real(Double(bitPattern: try bigEndian(8)))
        case 17: return .blob(Array(bytes))
        case 25, 1043, 1042, 19, 705: return .text(String(decoding: bytes, as: UTF8.self))
        default:
            throw StoreError(.corruptData, "column \(column) has PostgreSQL type OID \(oid), which the store does not read", file: displayName)
        }
    }

    /// `sql` with its `?` placeholders numbered `$1, $2, …` (quoted text left alone).
    func numberedSQL(_ sql: String) -> String {
        if let s = numbered[sql] { return s }
        var out = "", n = 0
        var quote: Character?
        for ch in sql {
            if let q = quote {
                if ch == q { quote = nil }
                out.append(ch)
            } else if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
            } else if ch == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(ch)
            }
        }
        numbered[sql] = out
        return out
    }

    static func trimmed(_ p: UnsafePointer<CChar>?) -> String {
        p.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    }

    /// Calls `body` with a NULL-terminated array of C strings (for `PQconnectdbParams`).
    static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}

/// Parameters in PostgreSQL's binary wire format: one byte buffer with an offset,
/// length, type OID and format code (1 = binary) per parameter.
struct PostgresParameters {
    var bytes: [UInt8] = [0]   // never empty, so the buffer has a base address
    var offsets: [Int?] = []
    var lengths: [Int32] = []
    var types: [Oid] = []
    var formats: [Int32] = []

    init(_ values: [DatabaseValue]) throws {
        for v in values {
            let start = bytes.count
            switch v {
            case .null:
                offsets.append(nil); lengths.append(0); types.append(0); formats.append(1)
                continue
            case .integer(let n): append(UInt64(bitPattern: n), oid: 20)
            case .real(let d): append(d.bitPattern, oid: 701)
            case .text(let s):
                guard !s.utf8.contains(0) else { throw StoreError(.invalidValue, "text with a NUL character cannot be stored") }
                bytes += Array(s.utf8); types.append(25)
            case .blob(let b): bytes += b; types.append(17)
            }
            guard bytes.count - start <= Int(Int32.max) else { throw StoreError(.invalidValue, "a value of \(bytes.count - start) bytes is too large") }
            offsets.append(start); lengths.append(Int32(bytes.count - start)); formats.append(1)
        }
    }

    private mutating func append(_ bits: UInt64, oid: Oid) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        types.append(oid)
    }
}
