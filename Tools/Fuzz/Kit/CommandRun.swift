import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One run of a program with a time limit and an address-space limit, and how it ended.
public struct CommandRun: Sendable {
    public var arguments: [String]
    /// The exit status, when the program exited.
    public var status: Int32?
    /// The signal that ended the program, when one did.
    public var signal: Int32?
    /// Whether the program was killed for running past its time limit.
    public var timedOut: Bool
    public var out: String
    public var err: String
    public var seconds: Double
    /// Peak resident memory, KiB.
    public var maxRSSKiB: Int

    /// Runs `executable` with `arguments`, killing it after `timeout` seconds; its address
    /// space is limited to `memoryLimitMiB` (an allocation beyond fails, which a Swift
    /// program reports as a trap). Standard output and error go through temporary files,
    /// so a chatty program cannot block on a full pipe.
    public init(_ executable: String, _ arguments: [String], timeout: Double = 20, memoryLimitMiB: Int = 4096,
                environment: [String: String] = [:]) throws {
        self.arguments = arguments
        let tmp = NSTemporaryDirectory()
        let tag = UUID().uuidString
        let outPath = (tmp as NSString).appendingPathComponent("sbrt-run-\(tag).out")
        let errPath = (tmp as NSString).appendingPathComponent("sbrt-run-\(tag).err")
        defer { unlink(outPath); unlink(errPath) }
        // The shell sets the limit, then execs the program (same process, so wait4 sees it).
        let argv = ["/bin/sh", "-c", "ulimit -v \(memoryLimitMiB * 1024) && exec \"$0\" \"$@\"", executable] + arguments
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        for (k, v) in environment { env[k] = v }
        let start = Date()
        let pid = try Self.spawn(argv, env: env.map { "\($0.key)=\($0.value)" }, stdout: outPath, stderr: errPath)
        var statusWord: Int32 = 0
        var usage = rusage()
        var killed = false
        while true {
            let r = wait4(pid, &statusWord, WNOHANG, &usage)
            if r == pid { break }
            if r < 0 && errno != EINTR { break }
            if !killed && Date().timeIntervalSince(start) > timeout {
                kill(pid, SIGKILL)
                killed = true
            }
            usleep(5_000)
        }
        seconds = Date().timeIntervalSince(start)
        timedOut = killed
        maxRSSKiB = Int(usage.ru_maxrss)
        let termSig = statusWord & 0x7F
        if termSig == 0 {
            status = (statusWord >> 8) & 0xFF
            signal = nil
        } else {
            status = nil
            signal = termSig
        }
        out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
    }

    static func spawn(_ argv: [String], env: [String], stdout: String, stderr: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        return pid
    }

    /// Whether the run ended the way sbrt promises: exit 0, 1 or 2, in time, no signal.
    public var endedCleanly: Bool { !timedOut && signal == nil && status.map { (0...2).contains($0) } == true }

    /// What is wrong with the run, in words; empty when nothing is. Beyond the exit, the
    /// promises about messages: exit 2 says what is wrong on standard error, no framework
    /// error codes or decoder dumps, and no `nan` printed as a result.
    public var problems: [String] {
        var p: [String] = []
        if timedOut { p.append(String(format: "timed out after %.0f s", seconds)) }
        if let signal { p.append("ended by signal \(signal)\(signal == SIGKILL && !timedOut ? " (probably out of memory)" : "")") }
        if let status, !(0...2).contains(status) { p.append("exit status \(status)") }
        if status == 2 && err.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { p.append("exit 2 without a message") }
        for marker in ["NSCocoaErrorDomain", "Error Domain=", "DecodingError", "Fatal error", "Swift runtime failure"]
        where err.contains(marker) || out.contains(marker) {
            p.append("message contains \"\(marker)\"")
        }
        // A message may quote a bad value ("holds \"nan\""); a result never shows one.
        if Self.printsNaN(out) || err.contains("-nan") || err.contains("−nan") { p.append("prints nan") }
        return p
    }

    /// Whether `text` holds `nan` as a number (a word on its own, `-nan`, `−nan`), outside
    /// double quotes (a message may quote the bad token of a file: `holds "NaN"`).
    static func printsNaN(_ text: String) -> Bool {
        var unquoted = ""
        var quoted = false
        for c in text {
            if c == "\"" { quoted.toggle(); continue }
            if c == "\n" { quoted = false }
            if !quoted { unquoted.append(c) }
        }
        for word in unquoted.split(whereSeparator: { !$0.isLetter && $0 != "-" && $0 != "−" }) {
            let w = word.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "-−"))
            if w == "nan" { return true }
        }
        return false
    }

    /// A one-line summary for logs.
    public var summary: String {
        let end = timedOut ? "timeout" : signal.map { "signal \($0)" } ?? "exit \(status ?? -1)"
        return String(format: "%@ in %.2f s, %d MiB", end, seconds, maxRSSKiB / 1024)
    }
}
