import Foundation

/// A running `sbrt-store-probe` (built beside the test bundle), whose stdout lines are
/// collected as they come so a test can act on "writing I" / "wrote I MS".
final class ProbeProcess: @unchecked Sendable {
    let process = Process()
    private let condition = NSCondition()
    private var lines: [String] = []
    private var ended = false
    private let errors = Pipe()

    static var executable: URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        var dir = bundle.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sbrt-store-probe").path) {
            dir = packageRoot.appendingPathComponent(".build/debug")
        }
        return dir.appendingPathComponent("sbrt-store-probe")
    }

    /// Starts `sbrt-store-probe write DB FIRST COUNT extra…`.
    init(db: String, first: Int, count: Int, _ extra: [String] = []) throws {
        process.executableURL = Self.executable
        process.arguments = ["write", db, String(first), String(count)] + extra
        let out = Pipe()
        process.standardOutput = out
        process.standardError = errors
        try process.run()
        let handle = out.fileHandleForReading
        Thread.detachNewThread { [self] in
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let nl = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    condition.lock(); lines.append(line); condition.broadcast(); condition.unlock()
                }
            }
            condition.lock(); ended = true; condition.broadcast(); condition.unlock()
        }
    }

    /// Waits until a line starting with `prefix` has been printed; returns it, or nil
    /// when the process ended or `timeout` passed first.
    func waitForLine(startingWith prefix: String, timeout: TimeInterval = 120) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let l = lines.first(where: { $0.hasPrefix(prefix) }) { return l }
            if ended || !condition.wait(until: deadline) { return lines.first { $0.hasPrefix(prefix) } }
        }
    }

    var output: [String] {
        condition.lock()
        defer { condition.unlock() }
        return lines
    }

    /// Kills the process at once (SIGKILL: no handler, no cleanup) and reaps it.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for a normal end; returns the exit status and stderr.
    func finish() -> (status: Int32, err: String) {
        let e = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: e, as: UTF8.self))
    }
}

/// The repository root.
let packageRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
