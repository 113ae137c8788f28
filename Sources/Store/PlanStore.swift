import Base
import Foundation

/// The database of `sbrt batch`: plans, their structures, DVHs, metrics, indices and
/// verdicts, and failures, in a SQLite file or a PostgreSQL database.
///
/// ## Concurrency rules
/// - A `PlanStore` holds **one** connection. Its methods take an internal lock, so one
///   store may be shared by all worker threads of a process (`--jobs N`): compute
///   plans in parallel, write them through the one store. A method never runs two
///   statements at once on the connection.
/// - Every `write(_:)` is **one transaction**: the plan row is upserted (which locks
///   it), its child rows deleted and inserted again, its failure rows cleared, then
///   COMMIT. A process killed at any moment leaves the plan either absent or complete
///   (SQLite's WAL and PostgreSQL both discard an uncommitted transaction).
/// - **SQLite**: WAL journal (readers never block the writer), `synchronous=NORMAL`,
///   foreign keys on, busy timeout (default 60 s). Write transactions start with
///   `BEGIN IMMEDIATE`, so several processes writing one file queue at BEGIN instead of
///   dead-locking half-way. One writer connection per process; use PostgreSQL rather
///   than SQLite on a network file system or for shards on several machines.
/// - **PostgreSQL**: READ COMMITTED transactions. Writers of different plans never touch
///   the same rows. Two writers of the same plan serialise on the plan row's upsert
///   (`INSERT … ON CONFLICT (plan_key) DO UPDATE`): the second waits for the first to
///   commit, then replaces its child rows, so exactly one copy remains. A transaction
///   the server aborts as a serialisation failure or deadlock (40001, 40P01) is retried
///   up to `maximumAttempts` times.
public final class PlanStore: @unchecked Sendable {
    public let location: StoreLocation
    /// The schema version of the open database.
    public private(set) var schemaVersion: Int = 0
    /// How many times a write transaction is tried when the server aborts it as a conflict.
    public static let maximumAttempts = 5

    let connection: DatabaseConnection
    private let lock = NSLock()

    /// Opens (and migrates) the store at `location`.
    ///
    /// - Parameters:
    ///   - readOnly: open without writing: no file is created, no migration runs, and the
    ///     database must already hold an sbrt schema (for `sbrt batch export`).
    ///   - busyTimeoutMS: SQLite only: how long a write waits for another writer's lock.
    /// - Throws: `SBRTError` of kind `.database` when the file cannot be opened or is not
    ///   a SQLite database, the server cannot be reached, or the database holds a newer
    ///   schema than this sbrt or (read-only) no sbrt schema; `.io` for a read-only open
    ///   of a missing file; `.outputPath` when the path is a folder.
    public static func open(_ location: StoreLocation, readOnly: Bool = false, busyTimeoutMS: Int32 = 60_000) throws -> PlanStore {
        try StoreError.converted { try openConnection(location, readOnly: readOnly, busyTimeoutMS: busyTimeoutMS) }
    }

    private static func openConnection(_ location: StoreLocation, readOnly: Bool, busyTimeoutMS: Int32) throws -> PlanStore {
        let connection: DatabaseConnection
        switch location {
        case .sqlite(let path):
            if readOnly && !FileManager.default.fileExists(atPath: path) {
                throw SBRTError(.io, "no such database file", file: path)
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw SBRTError(.outputPath, "is a folder, not a database file", file: path)
            }
            let sqlite = try SQLiteConnection(path: path, readOnly: readOnly, busyTimeoutMS: busyTimeoutMS)
            try configure(sqlite, readOnly: readOnly, busyTimeoutMS: busyTimeoutMS)
            connection = sqlite
        case .postgres(let url):
            connection = try PostgresConnection(url: url, displayName: location.description)
        }
        let store = PlanStore(location: location, connection: connection)
        do {
            store.schemaVersion = readOnly ? try store.checkSchema() : try store.migrate()
        } catch {
            connection.close()
            throw error
        }
        return store
    }

    init(location: StoreLocation, connection: DatabaseConnection) {
        self.location = location
        self.connection = connection
    }

    deinit { connection.close() }

    /// Closes the connection. Further calls throw.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        connection.close()
    }

    /// SQLite connection settings: WAL journal, NORMAL sync, foreign keys.
    private static func configure(_ c: SQLiteConnection, readOnly: Bool, busyTimeoutMS: Int32) throws {
        do {
            try c.execute("PRAGMA foreign_keys = ON")
            if !readOnly {
                let mode = try switchToWAL(c, busyTimeoutMS: busyTimeoutMS)
                guard mode?.lowercased() == "wal" else {
                    throw StoreError(.connection, "SQLite refused WAL journal mode (got \(mode ?? "nothing"))", file: c.displayName)
                }
                try c.execute("PRAGMA synchronous = NORMAL")
            }
            // Touch the schema: a file that is not a database fails here, not later.
            _ = try c.query("SELECT count(*) FROM sqlite_master")
        } catch let e as StoreError {
            c.close()
            if e.code?.hasPrefix("SQLite 26") == true {
                throw StoreError(.connection, "not a SQLite database", file: c.displayName, code: e.code)
            }
            throw e
        }
    }

    /// `PRAGMA journal_mode = WAL`, retried while another process holds the file.
    ///
    /// Two processes creating one file both read it (a shared lock) and then need an
    /// exclusive lock to change the journal mode; SQLite answers one of them BUSY at
    /// once, without calling the busy handler (it would deadlock). So the switch is
    /// retried here, every 5–20 ms, until the busy timeout has passed.
    private static func switchToWAL(_ c: SQLiteConnection, busyTimeoutMS: Int32) throws -> String? {
        let deadline = Date().addingTimeInterval(Double(max(busyTimeoutMS, 0)) / 1000)
        var pause = 0.005
        while true {
            do {
                return try c.query("PRAGMA journal_mode = WAL").first.map { try $0.text(0) }
            } catch let e as StoreError where e.kind == .busy && Date() < deadline {
                Thread.sleep(forTimeInterval: pause)
                pause = min(pause * 2, 0.02)
            }
        }
    }

    /// Runs `body` holding the store's lock; a `StoreError` leaves as its `SBRTError`.
    func locked<T>(_ body: () throws -> T) throws -> T {
        lock.lock()
        defer { lock.unlock() }
        return try StoreError.converted(body)
    }

    // MARK: Transactions

    /// Runs `body` in one write transaction and commits it; rolls back on any error.
    /// A `.conflict` abort (PostgreSQL 40001/40P01) is retried up to `maximumAttempts`.
    /// Call with the lock held.
    func writeTransaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        var attempt = 1
        while true {
            try connection.execute(connection.dialect.beginWrite)
            do {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch let e as StoreError {
                rollback()
                if e.kind == .conflict && attempt < Self.maximumAttempts {
                    attempt += 1
                    continue
                }
                throw e
            } catch {
                rollback()
                throw error
            }
        }
    }

    /// Rolls back the open transaction, if any; a failure to do so is ignored (SQLite
    /// has already rolled back after some errors; a lost PostgreSQL session has too).
    private func rollback() {
        if let s = connection as? SQLiteConnection, s.isAutocommit { return }
        try? connection.execute("ROLLBACK")
    }

    // MARK: Schema

    /// Creates or upgrades the schema to `Schema.latestVersion`; returns it.
    private func migrate() throws -> Int {
        try locked {
            try writeTransaction { c in
                if c.dialect == .postgres {
                    try c.execute("SELECT pg_advisory_xact_lock(?)", [.integer(Schema.advisoryLockKey)])
                }
                try c.execute(Schema.createSchemaTable(c.dialect))
                let current = try currentVersion(c)
                guard current <= Schema.latestVersion else { throw newerSchema(current) }
                for m in Schema.migrations where m.version > current {
                    for sql in m.statements(c.dialect) { try c.execute(sql) }
                    try c.execute("INSERT INTO sbrt_schema (version, description, applied_at) VALUES (?, ?, ?)",
                                  [.integer(Int64(m.version)), .text(m.description), .text(Timestamp.text(Date()))])
                }
                return Schema.latestVersion
            }
        }
    }

    /// The version of an existing schema, for read-only use.
    private func checkSchema() throws -> Int {
        try locked {
            let exists: Bool
            switch connection.dialect {
            case .sqlite:
                exists = try !connection.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sbrt_schema'").isEmpty
            case .postgres:
                exists = try connection.query("SELECT to_regclass('sbrt_schema') IS NOT NULL").first?.int(0) == 1
            }
            guard exists else { throw StoreError(.schema, "not an sbrt batch database (no sbrt_schema table)", file: location.description) }
            let current = try currentVersion(connection)
            guard current <= Schema.latestVersion else { throw newerSchema(current) }
            guard current >= 1 else { throw StoreError(.schema, "the sbrt batch schema is empty", file: location.description) }
            return current
        }
    }

    private func currentVersion(_ c: DatabaseConnection) throws -> Int {
        try c.query("SELECT max(version) FROM sbrt_schema").first?.optionalInt(0) ?? 0
    }

    private func newerSchema(_ v: Int) -> StoreError {
        StoreError(.schema, "the database has schema version \(v); this sbrt knows versions up to \(Schema.latestVersion): use a newer sbrt",
                   file: location.description)
    }
}

/// Times as stored: ISO 8601 UTC text to the millisecond (`2026-11-20T09:41:07.123Z`).
enum Timestamp {
    private static let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func text(_ date: Date) -> String { style.format(date) }

    static func date(_ text: String) throws -> Date {
        do { return try style.parse(text) } catch {
            throw StoreError(.corruptData, "\"\(text)\" is not an ISO 8601 time")
        }
    }
}
