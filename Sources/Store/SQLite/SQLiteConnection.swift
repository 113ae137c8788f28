import CSQLite
import Foundation

/// `SQLITE_TRANSIENT`: tells `sqlite3_bind_text`/`_blob` to copy the bytes before returning
/// (the C macro is a cast of -1 to a destructor pointer, which Swift does not import).
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// One SQLite connection (`sqlite3 *`) through the C API of Debian's libsqlite3.
///
/// Opened in WAL mode with a busy timeout and foreign keys on. Prepared statements are
/// cached by SQL text. Not thread-safe: one thread at a time (see `DatabaseConnection`).
final class SQLiteConnection: DatabaseConnection {
    let dialect = SQLDialect.sqlite
    let displayName: String
    private var handle: OpaquePointer?
    private var cache: [String: SQLiteStatement] = [:]

    /// Opens (and with `create`, creates) the database file at `path`
    /// (`sqlite3_open_v2`), then sets the busy timeout (`sqlite3_busy_timeout`) and
    /// extended result codes (`sqlite3_extended_result_codes`).
    init(path: String, readOnly: Bool, busyTimeoutMS: Int32) throws {
        displayName = path
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw StoreError(.connection, "cannot open the SQLite database: \(message)", file: path, code: "SQLite \(rc)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMS)
    }

    deinit { close() }

    /// Finalises cached statements and closes the connection (`sqlite3_close_v2`).
    func close() {
        cache.removeAll()
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// The error SQLite reports for result code `rc` (`sqlite3_errmsg`), with a kind.
    func error(_ rc: Int32, _ context: String) -> StoreError {
        let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
        let kind: StoreError.Kind
        switch rc & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_NOTADB, SQLITE_CORRUPT: kind = .connection
        case SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_PERM: kind = .connection
        default: kind = .database
        }
        return StoreError(kind, "\(context): \(message)", file: displayName, code: "SQLite \(rc)")
    }

    /// Compiles `sql` (`sqlite3_prepare_v2`), or returns the cached statement reset.
    private func statement(_ sql: String) throws -> SQLiteStatement {
        if let s = cache[sql] {
            s.reset()
            return s
        }
        guard let handle else { throw StoreError(.connection, "the database is closed", file: displayName) }
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else { throw error(rc, "cannot prepare \(statementSummary(sql))") }
        let s = SQLiteStatement(stmt, connection: self)
        if cache.count >= 128 { cache.removeAll() }
        cache[sql] = s
        return s
    }

    func execute(_ sql: String, _ arguments: [DatabaseValue]) throws {
        let s = try statement(sql)
        defer { s.reset() }
        try s.bind(arguments)
        while try s.step() {}
    }

    func query(_ sql: String, _ arguments: [DatabaseValue]) throws -> [Row] {
        let s = try statement(sql)
        defer { s.reset() }
        try s.bind(arguments)
        let columns = s.columnNames()
        var rows: [Row] = []
        while try s.step() {
            rows.append(Row(values: (0..<Int32(columns.count)).map { s.column($0) }, columns: columns))
        }
        return rows
    }

    /// Whether the connection is outside any transaction (`sqlite3_get_autocommit`).
    var isAutocommit: Bool { handle.map { sqlite3_get_autocommit($0) != 0 } ?? true }
}

/// One prepared statement (`sqlite3_stmt *`), finalised on deinit (`sqlite3_finalize`).
final class SQLiteStatement {
    private let stmt: OpaquePointer
    private unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }

    deinit { sqlite3_finalize(stmt) }

    /// Clears the previous run (`sqlite3_reset`, `sqlite3_clear_bindings`).
    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    /// Binds `values` to parameters 1… (`sqlite3_bind_int64`, `_double`, `_text`,
    /// `_blob64`, `_null`); text and bytes are copied (SQLITE_TRANSIENT).
    func bind(_ values: [DatabaseValue]) throws {
        let expected = Int(sqlite3_bind_parameter_count(stmt))
        guard expected == values.count else {
            throw StoreError(.database, "statement has \(expected) parameters, \(values.count) values given", file: connection.displayName)
        }
        for (n, value) in values.enumerated() {
            let i = Int32(n + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(stmt, i)
            case .integer(let v): rc = sqlite3_bind_int64(stmt, i, v)
            case .real(let v): rc = sqlite3_bind_double(stmt, i, v)
            case .text(let s): rc = sqlite3_bind_text(stmt, i, s, -1, sqliteTransient)
            case .blob(let b):
                rc = b.withUnsafeBytes { p in
                    // A zero-length blob still needs a non-NULL pointer, or SQLite binds NULL.
                    sqlite3_bind_blob64(stmt, i, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64(b.count), sqliteTransient)
                }
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, "cannot bind parameter \(i)") }
        }
    }

    /// Runs the statement one step (`sqlite3_step`): true when a row is ready.
    func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let sql = sqlite3_sql(stmt).map { String(cString: $0) } ?? ""
            throw connection.error(rc, "\(statementSummary(sql)) failed")
        }
    }

    /// Result column names (`sqlite3_column_name`).
    func columnNames() -> [String] {
        (0..<sqlite3_column_count(stmt)).map { String(cString: sqlite3_column_name(stmt, $0)) }
    }

    /// The value of column `i` of the current row (`sqlite3_column_type`, then
    /// `sqlite3_column_int64`, `_double`, `_text` or `_blob` with `_bytes`).
    func column(_ i: Int32) -> DatabaseValue {
        switch sqlite3_column_type(stmt, i) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(stmt, i))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(stmt, i))
        case SQLITE_TEXT:
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard let p = sqlite3_column_text(stmt, i) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
        case SQLITE_BLOB:
            let n = Int(sqlite3_column_bytes(stmt, i))
            guard let p = sqlite3_column_blob(stmt, i), n > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
        default: return .null
        }
    }
}
