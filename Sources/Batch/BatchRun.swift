import Base
import Foundation
import RTModel
import Store
import VoxelKit

/// Where a run is: plans done of the shard's total, what became of them, and the pace.
public struct BatchProgress: Sendable {
    /// Plans of this shard finished (stored, skipped or failed) and their total.
    public var done: Int
    public var total: Int
    public var stored: Int
    public var skipped: Int
    public var failed: Int
    /// Plans found to be another copy of a plan of this run while they were worked.
    public var duplicates: Int
    public var elapsedSeconds: Double
    /// Plans computed (stored or failed, not skipped) per second so far; nil before the first.
    public var plansPerSecond: Double?
    /// Seconds left at that rate; nil before the first plan is computed.
    public var etaSeconds: Double?
}

/// What a run did.
public struct BatchSummary: Sendable {
    /// Plans discovered in the tree, and those in this run's shard.
    public var discovered: Int
    public var inShard: Int
    public var stored: Int
    public var skipped: Int
    /// Plans of the shard that failed (recorded in `failures`).
    public var failed: Int
    /// Plans that are another copy of a plan of this run (same plan key: the same doses
    /// and structure set), stored once under the first copy's folder.
    public var duplicates: Int
    /// DICOM files that could not be read and folder entries that could not be listed
    /// (recorded in `failures`).
    public var unreadableFiles: Int
    public var seconds: Double
    /// Every plan's outcome, in plan-id order.
    public var outcomes: [(plan: DiscoveredPlan, outcome: PlanOutcome)]

    /// Whether anything failed (the CLI exits 1).
    public var hasFailures: Bool { failed > 0 || unreadableFiles > 0 }
}

/// `sbrt batch`: discovers the plans under the roots, takes the shard's share, skips
/// plans already stored, works one copy of a plan found twice, computes the others `jobs` at a time and writes each in one
/// transaction; a plan that fails is recorded in `failures` and the run goes on.
///
/// Parallelism: `jobs` worker threads each take the next plan; `Parallel.workerLimit` is
/// set to `cores / jobs` for the run (restored after), so the loops inside each plan use
/// their share of the cores. Outcomes do not depend on `jobs`: each plan's rows are
/// computed from its own files alone.
public enum BatchRun {
    /// - Parameter progress: called after each plan (from a worker thread, one call at a time).
    /// - Throws: `SBRTError` when discovery fails (a root that does not exist, an
    ///   unreadable manifest) or when the store can record neither a plan nor its failure
    ///   (a lost connection): the run stops; plans already written stay.
    public static func run(_ request: BatchRequest, store: PlanStore,
                           progress: (@Sendable (BatchProgress) -> Void)? = nil) throws -> BatchSummary {
        let start = Date()
        let discovery = try PlanDiscovery.discover(request.roots)
        let mine = discovery.plans.filter { request.shard.contains($0) }
        let context = RunContext(request: request, optionsJSON: try request.optionsJSON(), store: store,
                                 storedAtStart: request.rescan ? [] : try storedKeys(store), claims: KeyClaims())
        // A plan found twice (the same export copied into two folders: the same doses and
        // structure set, so one key) is worked once: the first copy (by plan id); the
        // others are duplicates of it.
        var seen: [String: String] = [:]
        let copies: [PlanOutcome?] = mine.map { p in
            guard let key = PlanJob(plan: p, context: context).expectedKey() else { return nil }
            if let first = seen[key] { return .duplicate(planKey: key, of: first) }
            seen[key] = p.folder
            return nil
        }
        let unique = zip(mine, copies).filter { $1 == nil }.map(\.0)
        var worked = try work(unique, context, start: Date(), progress: progress).makeIterator()
        let outcomes = copies.map { $0 ?? worked.next()! }
        try recordUnreadable(discovery, store)
        var summary = BatchSummary(discovered: discovery.plans.count, inShard: mine.count, stored: 0, skipped: 0, failed: 0,
                                   duplicates: 0, unreadableFiles: discovery.unreadable.count, seconds: 0, outcomes: [])
        for (plan, outcome) in zip(mine, outcomes) {
            switch outcome {
            case .stored: summary.stored += 1
            case .skipped: summary.skipped += 1
            case .failed: summary.failed += 1
            case .duplicate: summary.duplicates += 1
            }
            summary.outcomes.append((plan, outcome))
        }
        summary.seconds = Date().timeIntervalSince(start)
        return summary
    }

    /// The stored plans a run skips: all but those computed with a protocol before the
    /// store kept the review's overall outcome (they are computed again, to get it).
    static func storedKeys(_ store: PlanStore) throws -> Set<String> {
        try store.storedPlanKeys().subtracting(try store.planKeysLackingReview())
    }

    /// Runs `plans` on `jobs` threads; returns the outcomes in the plans' order.
    static func work(_ plans: [DiscoveredPlan], _ context: RunContext, start: Date,
                     progress: (@Sendable (BatchProgress) -> Void)?) throws -> [PlanOutcome] {
        let jobs = max(1, min(context.request.jobs, plans.count))
        let previousLimit = Parallel.workerLimit
        Parallel.workerLimit = max(1, Parallel.cores / jobs)
        defer { Parallel.workerLimit = previousLimit }
        let board = Board(total: plans.count, start: start)
        let group = DispatchGroup()
        for _ in 0..<jobs {
            group.enter()
            let thread = Thread {
                defer { group.leave() }
                while let n = board.next() {
                    let outcome = PlanJob(plan: plans[n], context: context).run()
                    var recordError: SBRTError?
                    if case .failed(let f) = outcome {
                        do { try context.store.recordFailure(f) } catch let e as SBRTError { recordError = e } catch {}
                    }
                    board.finish(n, outcome, recordError: recordError, progress: progress)
                }
            }
            // Plan workers do the loops of their plan; 8 MiB stacks as the main thread.
            thread.stackSize = 8 << 20
            thread.start()
        }
        group.wait()
        return try board.results()
    }

    /// Records every unreadable DICOM file and folder entry (each shard records all: the
    /// upsert keeps one row each), and removes failures of files that are now read as part
    /// of a plan and of folders that can now be listed.
    static func recordUnreadable(_ d: Discovery, _ store: PlanStore) throws {
        for e in d.unreadable {
            let file = e.file ?? ""
            try store.recordFailure(FailureRecord(folder: (file as NSString).deletingLastPathComponent, kind: e.kind.rawValue,
                                                  message: e.description, file: e.file))
        }
        let defining = Set(d.plans.map(\.definingFile))
        let readable = Set(d.plans.flatMap(\.files)).subtracting(defining)
        let stale = try store.failures().filter { f in
            guard f.planKey == nil, let file = f.file else { return false }
            return readable.contains(file) || canList(file)
        }
        try store.removeFailures(keys: stale.map(\.failureKey))
    }
}

extension BatchRun {
    /// Whether `path` is a folder that can be listed now (a folder's failure is then stale).
    static func canList(_ path: String) -> Bool {
        guard let dir = opendir(path) else { return false }
        closedir(dir)
        return true
    }
}

/// The shared state of a run's workers: the next plan to take, the outcomes, the counts.
final class Board: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private var outcomes: [PlanOutcome?]
    private var counts = (stored: 0, skipped: 0, failed: 0, duplicates: 0, computed: 0)
    private var abort: SBRTError?
    private let start: Date

    init(total: Int, start: Date) {
        outcomes = Array(repeating: nil, count: total)
        self.start = start
    }

    /// The index of the next plan to work, or nil when none is left or the run stops.
    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard abort == nil, nextIndex < outcomes.count else { return nil }
        nextIndex += 1
        return nextIndex - 1
    }

    /// Notes an outcome and reports progress. A failure that could not be recorded stops
    /// the run (the store is unusable).
    func finish(_ n: Int, _ outcome: PlanOutcome, recordError: SBRTError?, progress: (@Sendable (BatchProgress) -> Void)?) {
        lock.lock(); defer { lock.unlock() }
        outcomes[n] = outcome
        switch outcome {
        case .stored: counts.stored += 1; counts.computed += 1
        case .skipped: counts.skipped += 1
        case .failed: counts.failed += 1; counts.computed += 1
        case .duplicate: counts.duplicates += 1
        }
        if let recordError, abort == nil { abort = recordError }
        guard let progress else { return }
        let done = counts.stored + counts.skipped + counts.failed + counts.duplicates
        let elapsed = Date().timeIntervalSince(start)
        let rate = counts.computed > 0 && elapsed > 0 ? Double(counts.computed) / elapsed : nil
        progress(BatchProgress(done: done, total: outcomes.count, stored: counts.stored, skipped: counts.skipped,
                               failed: counts.failed, duplicates: counts.duplicates, elapsedSeconds: elapsed, plansPerSecond: rate,
                               etaSeconds: rate.map { Double(outcomes.count - done) / $0 }))
    }

    /// The outcomes in plan order.
    /// - Throws: the store error that stopped the run.
    func results() throws -> [PlanOutcome] {
        lock.lock(); defer { lock.unlock() }
        if let abort { throw abort }
        return outcomes.map { $0! }
    }
}

/// The plan keys the plans of a run have reached, with the folder that reached each
/// first: a plan whose resolved key another plan of the run already holds is a duplicate
/// of it (a copy discovery could not tell apart before resolving).
final class KeyClaims: @unchecked Sendable {
    private let lock = NSLock()
    private var folders: [String: String] = [:]

    /// Claims `key` for `folder`; returns the folder that holds it already, if another.
    func claim(_ key: String, folder: String) -> String? {
        lock.lock(); defer { lock.unlock() }
        if let first = folders[key], first != folder { return first }
        folders[key] = folder
        return nil
    }
}
