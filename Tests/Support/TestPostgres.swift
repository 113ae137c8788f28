import Foundation

/// The PostgreSQL server of the tests (StoreTests, BatchTests): the one named by
/// `SBRT_TEST_POSTGRES_URL` (set by `Tools/pg/with-postgres.sh`, which `.ci/run` wraps the
/// suite in), or else one started here once per test process with `Tools/pg/pg-server.sh`,
/// whose watchdog stops it when the test process ends. A test that needs it FAILS when it
/// cannot be started.
public enum TestPostgres {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<String, Error>?
    nonisolated(unsafe) private static var counter = 0

    static var repository: URL { BuiltTools.repository }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The server's URL (database `postgres`), starting the server on first use.
    public static func serverURL() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if started == nil { started = Result { try start() } }
        return try started!.get()
    }

    private static func start() throws -> String {
        if let url = ProcessInfo.processInfo.environment["SBRT_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let script = repository.appendingPathComponent("Tools/pg/pg-server.sh").path
        // With this process as the owner, the script's watchdog stops the server and removes
        // its folder when the test process ends.
        let r = try run(script, ["start", dir, String(getpid())])
        guard r.status == 0, let url = r.out.split(separator: "\n").last.map(String.init), url.hasPrefix("postgresql://") else {
            throw Failure(description: "Tools/pg/pg-server.sh could not start PostgreSQL (exit \(r.status)): \(r.err)")
        }
        return url
    }

    /// A new, empty database on the test server (made with `psql`); returns its URL.
    public static func freshDatabase() throws -> String {
        let server = try serverURL()
        let name: String = {
            lock.lock()
            defer { lock.unlock() }
            counter += 1
            return "sbrt_test_\(getpid())_\(counter)"
        }()
        // An identifier made here from a counter, not a value: CREATE DATABASE takes no parameters.
        let r = try run(psql(), [server, "-v", "ON_ERROR_STOP=1", "-qAtc", "CREATE DATABASE \(name)"])
        guard r.status == 0 else { throw Failure(description: "psql could not create database \(name): \(r.err)") }
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }

    /// `psql` on the PATH, else in the newest PostgreSQL bin folder of Debian's packages.
    static func psql() throws -> String {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        let folders = path + ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .sorted { $0.compare($1, options: .numeric) == .orderedDescending }.map { "/usr/lib/postgresql/\($0)/bin" }
        for f in folders where FileManager.default.isExecutableFile(atPath: f + "/psql") { return f + "/psql" }
        throw Failure(description: "psql not found (install Debian's postgresql-client)")
    }

    public static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
