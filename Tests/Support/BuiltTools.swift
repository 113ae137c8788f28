import Foundation

/// The executables of the package (sbrt, sbrt-store-probe…) as built beside the test
/// bundle, run as processes by the end-to-end tests.
public enum BuiltTools {
    /// The repository root (this file is Tests/Support/BuiltTools.swift).
    public static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built executable `name`: beside the test bundle, else in .build/debug.
    public static func url(_ name: String) -> URL {
        let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        var dir = bundle.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path) {
            dir = repository.appendingPathComponent(".build/debug")
        }
        return dir.appendingPathComponent(name)
    }

    /// Runs `name args…` to its end; returns the exit status and what it printed.
    public static func run(_ name: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = url(name)
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes at once: a child that fills one while the other is read would block.
        let errors = ErrorText()
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let e = errors.data
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// Standard error of a child, read on another thread.
private final class ErrorText: @unchecked Sendable {
    var data = Data()
}
