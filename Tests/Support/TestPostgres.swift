import Foundation
import XCTest
import Base
@testable import Store

let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The PostgreSQL server of the store's tests: the one named by `SBRT_TEST_POSTGRES_URL`
/// (set by `Tools/pg/with-postgres.sh`, which `.ci/run` wraps the suite in), or else one
/// started here once per test process with `Tools/pg/pg-server.sh` and stopped when the
/// test bundle finishes. A test that needs it FAILS when it cannot be started.
enum TestPostgres {
    private static let lock = NSLock()
    private static var started: Result<String, Error>?
    private static var counter = 0

    /// The server's URL (database `postgres`), starting the server on first use.
    static func serverURL() throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if started == nil { started = Result { try start() } }
        return try started!.get()
    }

    private static func start() throws -> String {
        if let url = ProcessInfo.processInfo.environment["SBRT_TEST_POSTGRES_URL"], !url.isEmpty { return url }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-pg-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let script = packageRoot.appendingPathComponent("Tools/pg/pg-server.sh").path
        let r = try run(script, ["start", dir, String(getpid())])
        guard r.status == 0, let url = r.out.split(separator: "\n").last.map(String.init), url.hasPrefix("postgresql://") else {
            throw SBRTError(.database, "Tools/pg/pg-server.sh could not start PostgreSQL (exit \(r.status)): \(r.err)")
        }
        XCTestObservationCenter.shared.addTestObserver(ServerStopper(script: script, dir: dir))
        return url
    }

    /// A new, empty database on the test server; returns its URL.
    static func freshDatabase() throws -> String {
        let server = try serverURL()
        let name: String = {
            lock.lock()
            defer { lock.unlock() }
            counter += 1
            return "sbrt_test_\(getpid())_\(counter)"
        }()
        let admin = try PostgresConnection(url: server, displayName: "test server")
        defer { admin.close() }
        // An identifier made here from a counter, not a value: CREATE DATABASE takes no parameters.
        try admin.execute("CREATE DATABASE \(name)")
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)")
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
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

/// Stops the server started for this test process when the test bundle finishes.
private final class ServerStopper: NSObject, XCTestObservation {
    let script: String, dir: String
    init(script: String, dir: String) {
        self.script = script
        self.dir = dir
    }
    func testBundleDidFinish(_ testBundle: Bundle) {
        _ = try? TestPostgres.run(script, ["stop", dir])
    }
}
