import Base
import Foundation

/// The protocols shipped with sbrt and the user's protocol files.
///
/// Shipped files live in `Sources/PlanReview/Protocols` and are copied by SwiftPM into the
/// resource bundle `sbrt_PlanReview.resources/Protocols` beside the executable (debug,
/// release and test builds). A binary installed elsewhere looks, in order, in
/// `<executable dir>/sbrt_PlanReview.resources/Protocols`,
/// `<executable dir>/../share/sbrt/Protocols`, and the source tree it was built from.
/// The bundle is located by hand rather than through `Bundle.module`, whose accessor
/// stops the process when the bundle is missing.
public struct ProtocolLibrary: Sendable {
    /// Folders searched for `<id>.toml`, first match wins.
    public var folders: [String]

    public init(folders: [String]) { self.folders = folders }

    /// The default search folders for an executable at `executablePath`.
    public static func shipped(executablePath: String) -> ProtocolLibrary {
        let exeDir = (URL(fileURLWithPath: executablePath).resolvingSymlinksInPath().deletingLastPathComponent()).path
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Protocols").path
        let candidates = [
            exeDir + "/sbrt_PlanReview.resources/Protocols",
            exeDir + "/sbrt_PlanReview.resources",
            exeDir + "/../share/sbrt/Protocols",
            source,
        ]
        let fm = FileManager.default
        var found: [String] = []
        for c in candidates {
            var isDir: ObjCBool = false
            if fm.fileExists(atPath: c + "/tg101.toml", isDirectory: &isDir) { found.append(c); break }
        }
        return ProtocolLibrary(folders: found)
    }

    /// A protocol summary for `sbrt protocols`.
    public struct Entry: Sendable, Codable {
        public var id: String
        public var aliases: [String]
        public var name: String
        public var source: String
        public var mark: String
        public var fractions: [Int]
        public var constraints: Int
        public var prescriptions: Int
        public var eligibilityRules: Int
        public var includes: [String]
        public var path: String
    }

    /// Every shipped protocol, sorted by id.
    /// - Throws: `SBRTError` when a shipped file does not parse, or none is found.
    public func list() throws -> [Entry] {
        guard let dir = folders.first else { throw SBRTError(.invalidProtocol, "the shipped protocols were not found (looked beside the executable and in the source tree)") }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".toml") }.sorted()
        return try files.map { f in
            let p = try load(path: dir + "/" + f)
            return Entry(id: p.id, aliases: p.aliases, name: p.name, source: p.provenance.source, mark: p.provenance.mark,
                         fractions: p.fractionColumns, constraints: p.constraints.count, prescriptions: p.prescriptions.count,
                         eligibilityRules: p.eligibility.count, includes: p.included, path: p.path)
        }
    }

    /// A shipped protocol by id or alias (case-insensitive), or a protocol file by path
    /// (anything containing "/" or ending in ".toml").
    /// - Throws: `SBRTError` naming what was looked for and what exists.
    public func load(_ nameOrPath: String) throws -> ReviewProtocol {
        guard let path = locate(nameOrPath) else {
            let known = ((try? list()) ?? []).map(\.id)
            throw SBRTError(.invalidProtocol, "no protocol \"\(nameOrPath)\" (shipped: \(known.joined(separator: ", ")); or give a file path ending in .toml)")
        }
        return try load(path: path)
    }

    /// The file of a shipped protocol by id or alias (case-insensitive), or `nameOrPath`
    /// itself when it is a path (contains "/" or ends in ".toml"); nil for an unknown name.
    func locate(_ nameOrPath: String) -> String? {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") { return nameOrPath }
        let key = nameOrPath.lowercased()
        for dir in folders {
            let direct = dir + "/" + key + ".toml"
            if FileManager.default.fileExists(atPath: direct) { return direct }
        }
        return ((try? list()) ?? []).first { $0.aliases.map { $0.lowercased() }.contains(key) }?.path
    }

    /// A trial's eligibility rules: a shipped protocol with `[[eligibility]]` rows by id or
    /// alias, or a protocol file by path.
    /// - Throws: `SBRTError` (`.invalidProtocol`) naming the shipped protocols that have
    ///   eligibility rules when the name is unknown or its protocol has none.
    public func loadEligibility(_ nameOrPath: String) throws -> ReviewProtocol {
        // Only for a message: every shipped file is parsed to list those with rules.
        func shipped() -> String {
            ((try? list()) ?? []).filter { $0.eligibilityRules > 0 }
                .map { e in e.aliases.first.map { "\($0) (\(e.id))" } ?? e.id }.joined(separator: ", ")
        }
        guard let path = locate(nameOrPath) else {
            throw SBRTError(.invalidProtocol, "no trial eligibility \"\(nameOrPath)\" (shipped: \(shipped()); or a protocol file with [[eligibility]] rows)")
        }
        let proto = try load(path: path)
        guard !proto.eligibility.isEmpty else {
            // A shipped file's path is an install detail: only a file the user gave is named.
            throw SBRTError(.invalidProtocol, "protocol \(proto.id) has no eligibility rules (shipped with them: \(shipped()))",
                            file: path == nameOrPath ? proto.path : nil)
        }
        return proto
    }

    /// Reads a protocol file, resolving its includes among the shipped protocols.
    public func load(path: String, depth: Int = 0) throws -> ReviewProtocol {
        guard depth < 8 else { throw SBRTError(.invalidProtocol, "\(path): includes nested more than 8 deep (a cycle?)") }
        let text: String
        text = try InputFiles.readText(path)
        return try ReviewProtocol.parse(text, path: path) { id in
            let key = id.lowercased()
            for dir in folders {
                let direct = dir + "/" + key + ".toml"
                if FileManager.default.fileExists(atPath: direct) { return try load(path: direct, depth: depth + 1) }
            }
            let sibling = (URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(key + ".toml")).path
            if FileManager.default.fileExists(atPath: sibling) { return try load(path: sibling, depth: depth + 1) }
            throw SBRTError(.invalidProtocol, "\(path): include \"\(id)\": no such protocol")
        }
    }
}
