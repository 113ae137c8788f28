/// The SQL spoken by a backend where SQLite and PostgreSQL differ.
///
/// Statements are written once, with `?` placeholders; a PostgreSQL connection numbers
/// them `$1, $2, …` when it prepares them. Only type names, collations and the
/// transaction opener differ between the two; every value is bound, never spliced.
enum SQLDialect: Sendable {
    case sqlite
    case postgres

    /// Column type of a 64-bit integer.
    var integer: String { self == .sqlite ? "INTEGER" : "BIGINT" }
    /// Column type of an IEEE-754 double.
    var real: String { self == .sqlite ? "REAL" : "DOUBLE PRECISION" }
    /// Column type of a byte string.
    var blob: String { self == .sqlite ? "BLOB" : "BYTEA" }
    /// Table option: SQLite checks column types only in STRICT tables.
    var tableSuffix: String { self == .sqlite ? " STRICT" : "" }
    /// Collation that orders text by its bytes (UTF-8 code points) on both backends,
    /// so exports come out in the same order whatever the server's locale.
    var bytewiseCollation: String { self == .sqlite ? "BINARY" : "\"C\"" }
    /// Opens a write transaction. SQLite takes the write lock at once (IMMEDIATE), so a
    /// writer waits for the lock at BEGIN, never half-way through (no upgrade deadlock).
    var beginWrite: String { self == .sqlite ? "BEGIN IMMEDIATE" : "BEGIN" }
}

/// One open connection to a SQLite file or a PostgreSQL database.
///
/// Concurrency: a connection is used by one thread at a time (`PlanStore` serialises
/// its calls with a lock). Nothing here is shared between connections.
protocol DatabaseConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// What to print for the database in messages (a path, or a URL without password).
    var displayName: String { get }
    /// Runs one statement with bound parameters; any rows it returns are dropped.
    func execute(_ sql: String, _ arguments: [DatabaseValue]) throws
    /// Runs one statement with bound parameters and returns its rows.
    func query(_ sql: String, _ arguments: [DatabaseValue]) throws -> [Row]
    /// Closes the connection; an open transaction is rolled back by the backend.
    func close()
}

extension DatabaseConnection {
    func execute(_ sql: String) throws { try execute(sql, []) }
    func query(_ sql: String) throws -> [Row] { try query(sql, []) }
}

/// The first words of a statement, for error messages (values are never in the text).
func statementSummary(_ sql: String) -> String {
    let words = sql.split(whereSeparator: { $0 == " " || $0 == "\n" }).prefix(4)
    return "\"" + words.joined(separator: " ") + " …\""
}
