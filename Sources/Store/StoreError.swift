import Base

/// A failure inside the store, finer than `SBRTError`: the kind decides whether a
/// transaction is retried (`conflict`) and how a failure is worded. Internal: the
/// public API throws `SBRTError` (`sbrtError`), of kind `.database` for everything the
/// database reports, `.invalidValue` for a value out of its domain, `.invalidRequest`
/// for an unusable location.
struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    enum Kind: String, Sendable {
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

    var kind: Kind
    var message: String
    /// The SQLite file or the PostgreSQL URL (password removed).
    var file: String?
    /// The SQLite extended result code or the PostgreSQL SQLSTATE, when there is one.
    var code: String?

    init(_ kind: Kind, _ message: String, file: String? = nil, code: String? = nil) {
        self.kind = kind
        self.message = message
        self.file = file
        self.code = code
    }

    var description: String {
        var s = ""
        if let file { s += file + ": " }
        s += message
        if let code { s += " (\(code))" }
        return s
    }

    /// The error as the rest of sbrt sees it.
    var sbrtError: SBRTError {
        let text = message + (code.map { " (\($0))" } ?? "")
        switch kind {
        case .invalidLocation: return SBRTError(.invalidRequest, text, file: file)
        case .invalidValue: return SBRTError(.invalidValue, text, file: file)
        default: return SBRTError(.database, text, file: file)
        }
    }

    /// Runs `body`, turning a `StoreError` it throws into its `SBRTError`.
    static func converted<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as StoreError { throw e.sbrtError }
    }
}
