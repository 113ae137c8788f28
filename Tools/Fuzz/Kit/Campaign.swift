import DICOM
import Dispatch
import Foundation

/// A bounded fuzzing campaign of the command-line tool over the committed fixtures.
///
/// Mutant `n` of seed `s` is made by a generator seeded from (s, n) alone, so it is the
/// same whatever the number of workers or the time budget; a finding names its seed and
/// number, and is written out with its file so that it can be replayed as a test.
public struct Campaign {
    public struct Options {
        public var seed: UInt64 = 14
        public var seconds: Double = 60
        public var workers = 2
        /// Per command.
        public var timeout: Double = 20
        public var sbrt: String
        public var fixturesRoot: String
        /// Where findings are written (one folder each), if anywhere.
        public var findings: String?
        /// Fixture folders (relative to `fixturesRoot`) to draw seeds from.
        public var fixtures: [String]
        public var log: (String) -> Void = { _ in }
        public init(sbrt: String, fixturesRoot: String, fixtures: [String]) {
            self.sbrt = sbrt
            self.fixturesRoot = fixturesRoot
            self.fixtures = fixtures
        }
    }

    public struct Statistics: Sendable {
        public var mutants = 0
        public var commandRuns = 0
        public var exits: [Int32: Int] = [:]
        public var findings: [FuzzCase] = []
        public var seconds = 0.0
    }

    public var options: Options
    public init(_ options: Options) { self.options = options }

    /// The DICOM files of every fixture folder, as (fixture, file relative to it).
    func seeds() -> [(String, String)] {
        var out: [(String, String)] = []
        for f in options.fixtures {
            let root = (options.fixturesRoot as NSString).appendingPathComponent(f)
            let e = FileManager.default.enumerator(atPath: root)
            while let rel = e?.nextObject() as? String {
                let name = (rel as NSString).lastPathComponent
                guard ["CT.", "MR.", "PT.", "RS.", "RD.", "RP.", "REG", "RAW"].contains(where: name.hasPrefix) else { continue }
                out.append((f, rel))
            }
        }
        // CT slices are many and alike: keep every structure set, dose and plan, and CT
        // slices in proportion, so that each kind of file is mutated often.
        return out.sorted { $0.0 + $0.1 < $1.0 + $1.1 }
    }

    /// Mutant number `n`: which file, its mutated bytes, and what was done.
    public func mutant(_ n: Int, seeds: [(String, String)]) throws -> (FuzzCase, Data)? {
        var m = Mutator(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(n))
        // Structure sets and doses twice as often as images, plans and registrations.
        let kind = m.pick(["CT.", "MR.", "RS.", "RS.", "RD.", "RD.", "RP.", "REG"])
        let pool = seeds.filter { ($0.1 as NSString).lastPathComponent.hasPrefix(kind) }
        guard !pool.isEmpty else { return nil }
        let (fixture, file) = m.pick(pool)
        let path = ((options.fixturesRoot as NSString).appendingPathComponent(fixture) as NSString).appendingPathComponent(file)
        var ds = try DICOMFile.read(path: path).dataSet
        var done = m.mutate(&ds)
        // Some mutations cannot be encoded (bytes re-typed as a sequence): no mutant then.
        guard var data = try? DICOMWriter.encodeFile(ds) else { return nil }
        if m.chance(0.25) { done.append(m.mutateBytes(&data)) }
        let c = FuzzCase(fixture: fixture, file: file, mutations: done, commands: FuzzCase.commands(forFile: file),
                         seed: options.seed, mutant: n)
        return (c, data)
    }

    /// Runs mutants until the time budget is spent.
    public func run() throws -> Statistics {
        let seeds = self.seeds()
        let start = Date()
        let lock = NSLock()
        var stats = Statistics()
        var next = 0
        var failure: Error?
        DispatchQueue.concurrentPerform(iterations: max(1, options.workers)) { _ in
            while Date().timeIntervalSince(start) < options.seconds {
                lock.lock(); let n = next; next += 1; lock.unlock()
                do {
                    guard let (c, data) = try mutant(n, seeds: seeds) else { continue }
                    let runs = try c.run(mutant: data, fixturesRoot: options.fixturesRoot, sbrt: options.sbrt, timeout: options.timeout)
                    let bad = runs.filter { !$0.problems.isEmpty }
                    lock.lock()
                    stats.mutants += 1
                    stats.commandRuns += runs.count
                    for r in runs { stats.exits[r.status ?? -(r.signal ?? 99), default: 0] += 1 }
                    lock.unlock()
                    guard !bad.isEmpty else { continue }
                    var found = c
                    found.commands = bad.map { r in c.commands[runs.firstIndex { $0.arguments == r.arguments } ?? 0] }
                    found.problems = bad.map { "\($0.arguments.first ?? ""): \($0.problems.joined(separator: "; ")) — \(Self.gist($0.err))" }
                    try record(found, data)
                    lock.lock(); stats.findings.append(found); lock.unlock()
                    options.log("finding: mutant \(n) \(c.fixture)/\(c.file): \(found.mutations.joined(separator: "; ")) → \(found.problems.joined(separator: " | "))")
                } catch {
                    lock.lock(); failure = failure ?? error; lock.unlock()
                    return
                }
            }
        }
        if let failure { throw failure }
        stats.seconds = Date().timeIntervalSince(start)
        return stats
    }

    /// The line of a program's standard error that says what happened.
    static func gist(_ err: String) -> String {
        let lines = err.split(separator: "\n").map(String.init)
        return lines.first { $0.localizedCaseInsensitiveContains("error") } ?? lines.last ?? ""
    }

    /// Writes a finding as `FINDINGS/seedS-mutantN/{case.json, mutant.dcm}`.
    func record(_ c: FuzzCase, _ data: Data) throws {
        guard let root = options.findings else { return }
        let dir = (root as NSString).appendingPathComponent("seed\(c.seed ?? 0)-mutant\(c.mutant ?? 0)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("mutant.dcm")))
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try (enc.encode(c) + Data("\n".utf8)).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent("case.json")))
    }
}
