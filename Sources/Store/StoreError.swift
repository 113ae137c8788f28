/// Why the plan store could not open, read or write its database.
///
/// The shape follows the project's error convention (a kind a caller can act on, the
/// file or database at fault, a message in words a user can act on). When `SBRTError`
/// (module `Base`) lands on main, this type converts into it.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The location is not a usable SQLite path or PostgreSQL URL.
        case invalidLocation = "invalid-location"
        /// The database could not be opened or the server could not be reached.
        case connection
        /// The database holds another schema, or a newer one than this sbrt knows.
        case schema
        /// A value handed to the store is out of its domain (non-finite number, NUL in text…).
        case invalidValue = "invalid-value"
        /// A stored value cannot be decoded (wrong type, corrupt DVH curve).
        case corruptData = "corrupt-data"
        /// Another writer held the database for longer than the busy timeout.
        case busy
        /// A transaction was aborted by the server to keep concurrent writers serialisable
        /// (PostgreSQL SQLSTATE 40001, 40P01); the store retries these before giving up.
        case conflict
        /// Any other failure reported by SQLite or PostgreSQL.
        case database
    }

    public var kind: Kind
    public var message: String
    /// The SQLite file or the PostgreSQL URL (password removed).
    public var file: String?
    /// The SQLite extended result code or the PostgreSQL SQLSTATE, when there is one.
    public var code: String?

    public init(_ kind: Kind, _ message: String, file: String? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.code = code
    }

    public var description: String {
        var s = ""
        if let file { s += file + ": " }
        s += message
        if let code { s += " (\(code))" }
        return s
    }

    /// The same error, attributed to `file` unless it already names one.
    func inFile(_ path: String) -> StoreError {
        var copy = self
        if copy.file == nil { copy.file = path }
        return copy
    }
}
