import ArgumentParser
import Base
#if canImport(Glibc)
import Glibc
#endif
import Batch
import Dosimetry
import Foundation
import Geometry
import PlanReview
import Store
import VoxelKit

extension SBRT {
    struct BatchCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "batch",
            abstract: "DVHs, metrics and verdicts of a cohort of plans into SQLite or PostgreSQL.",
            discussion: """
                Finds every plan under the PATHs (any tree of patients, courses and plans, or a
                text manifest of folders), computes each structure's cumulative DVH, the
                metrics, the target indices and (with --protocol) the verdicts, and writes each
                plan in one transaction. Plans already stored with the same inputs and options
                are skipped (--rescan recomputes them). A plan that cannot be reviewed is
                recorded in the failures table with its kind; the run goes on and exits 1 at
                the end, as it does when (with --protocol) a plan's review is not per protocol
                (a deviation, or incomplete). --shard K/N takes a deterministic share, for the
                N workers of a Slurm array or a Kubernetes Indexed Job writing one PostgreSQL
                database.

                Examples:
                  sbrt batch /data/export --db cohort.sqlite
                  sbrt batch list.txt --db postgresql://sbrt@db/cohort --protocol tg101
                  sbrt batch /data/export --db postgresql://sbrt@db/cohort --shard 3/8
                  sbrt batch export --db cohort.sqlite --structure PTV --out ptv.csv
                  sbrt render --population --db cohort.sqlite --structure PTV \\
                      --by site --out band.png
                See docs/batch.md.
                """,
            subcommands: [Run.self, Export.self],
            defaultSubcommand: Run.self
        )
    }
}

/// The value of --db as a store location; a SQLite file is noted as an input, so that no
/// output of the run is ever written over it.
func storeLocation(_ text: String) throws -> StoreLocation {
    let location = try StoreLocation(parsing: text)
    if case .sqlite(let path) = location { InputFiles.note(path) }
    return location
}

extension SBRT.BatchCommand {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Review every plan under the paths into the database (the default subcommand: `sbrt batch PATH… --db …`)."
        )

        @Argument(help: "Folders (searched recursively), DICOM files, or text manifests listing folders (one per line, # comments).")
        var paths: [String]

        @Option(help: "The database: a SQLite file (created if missing) or postgresql://user@host[:port]/database.")
        var db: String

        @Option(help: "Comma-separated metrics for every structure, e.g. \"D95%,D2cc,V20Gy[%],Dmean\".")
        var metrics: String = "D98%,D95%,D50%,D2%,D0.035cc,V100%[%]"

        @Option(name: .customLong("protocol"), help: "Also check every plan against a protocol: a shipped one (see `sbrt protocols`) or a file (.toml).")
        var protocolName: String?

        @Option(help: "End caps: prism (default), none, interpolated.")
        var endCap: EndCap = .prism

        @Option(help: "Plans computed at the same time (default: the number of cores).")
        var jobs: Int = Parallel.cores

        @Option(help: ArgumentHelp("This worker's share of the plans, K of N (1-based), e.g. 3/8.", valueName: "K/N"))
        var shard: String = "1/1"

        @Flag(help: "Recompute and rewrite plans that are already stored.")
        var rescan = false

        @Flag(help: "No progress and no summary on standard error.")
        var quiet = false

        func validate() throws {
            guard !paths.isEmpty else { throw ValidationError("give at least one PATH (a folder, DICOM file or manifest)") }
            guard (1...256).contains(jobs) else { throw ValidationError("--jobs must be 1 to 256") }
            do { _ = try Shard(parsing: shard) } catch let e as SBRTError { throw ValidationError("--shard: \(e.message)") }
        }

        func run() throws {
            keepFreedMemoryInProcess()
            var request = BatchRequest(roots: paths, metrics: try parseMetrics(metrics), sbrtVersion: SBRT.version)
            request.endCap = endCap
            request.jobs = jobs
            request.shard = try Shard(parsing: shard)
            request.rescan = rescan
            if let protocolName {
                let library = shippedProtocols()
                let proto = try library.load(protocolName)
                request.review = (proto, try ProtocolFingerprint.of(proto, library: library))
            }
            let location = try storeLocation(db)
            let store = try PlanStore.open(location)
            defer { store.close() }
            let reporter = ProgressLine(enabled: !quiet && isatty(STDERR_FILENO) == 1)
            let summary = try BatchRun.run(request, store: store, progress: { reporter.show($0) })
            reporter.clear()
            if !quiet {
                for (plan, outcome) in summary.outcomes {
                    switch outcome {
                    case .failed(let f): printError("failed: \(plan.folder): \(f.kind): \(f.message)")
                    case .duplicate(_, let first): printError("duplicate: \(plan.folder): duplicate export of \(first)")
                    case .stored, .skipped: break
                    }
                }
                printError(summaryLine(summary, request, location))
            }
            let openReviews = try request.review.map { review in try reviewsNotPassed(summary, store, protocolID: review.0.id) } ?? 0
            if summary.hasFailures || openReviews > 0 { throw ExitCode(1) }
        }

        /// How many plans of this run (stored now or before) have a review of `protocolID`
        /// that is not per protocol (a deviation, or incomplete); said on standard error.
        func reviewsNotPassed(_ summary: BatchSummary, _ store: PlanStore, protocolID: String) throws -> Int {
            var keys = Set<String>()
            for (_, outcome) in summary.outcomes {
                switch outcome {
                case .stored(let k), .skipped(let k): keys.insert(k)
                case .failed, .duplicate: break
                }
            }
            let reviews = try store.reviewRows(protocolID: protocolID).filter { keys.contains($0.planKey) }
            let open = reviews.filter { Overall(rawValue: $0.review.overall)?.passes != true }
            if !quiet && !reviews.isEmpty {
                let byOutcome = Dictionary(grouping: reviews, by: \.review.overall).map { "\($0.value.count) \($0.key)" }.sorted()
                printError("reviews against \(protocolID): " + byOutcome.joined(separator: ", ")
                           + (open.isEmpty ? "" : " (the plan_reviews view has each one's reason)"))
            }
            return open.count
        }

        func summaryLine(_ s: BatchSummary, _ r: BatchRequest, _ location: StoreLocation) -> String {
            let computed = s.stored + s.failed
            let rate = s.seconds > 0 && computed > 0 ? String(format: ", %.2f plans/s", Double(computed) / s.seconds) : ""
            let shardText = r.shard.count > 1 ? " (shard \(r.shard): \(s.inShard))" : ""
            return "sbrt batch: \(s.discovered) plan(s) found\(shardText): \(s.stored) stored, \(s.skipped) already stored, "
                + "\(s.failed) failed, \(s.duplicates) duplicate export(s), \(s.unreadableFiles) unreadable file(s); "
                + String(format: "%.1f s", s.seconds) + rate + " → \(location)"
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export",
            abstract: "The metric values of a batch database as CSV or JSON.",
            discussion: """
                CSV: plan_key, folder, patient_id, plan_label, structure, metric, value, unit,
                note (RFC 4180 quoting). JSON (schema sbrt.batch-export/1): the same rows under
                "metrics", the overall outcome of each protocol review under "reviews" and the
                recorded failures under "failures". Rows are ordered by folder, plan key,
                structure and metric. See docs/batch.md.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case csv, json }

        @Option(help: "The database: a SQLite file or postgresql://user@host[:port]/database.")
        var db: String

        @Option(help: "csv or json.")
        var format: Format = .csv

        @Option(help: "Only this structure (ASCII case ignored).")
        var structure: String?

        @Option(help: "Only this metric, as it was requested (e.g. D95%).")
        var metric: String?

        @Option(help: "Write to this file (atomically) instead of standard output.")
        var out: String?

        func run() throws {
            let store = try PlanStore.open(try storeLocation(db), readOnly: true)
            defer { store.close() }
            try OutputFiles.validate(out.map { [$0] } ?? [])
            let rows = try store.metricRows(structure: structure, metric: metric)
            let text: String
            switch format {
            case .csv: text = BatchExport.csv(rows)
            case .json:
                text = try BatchExport.json(rows, reviews: try store.reviewRows(), failures: try store.failures(),
                                            database: store.location.description,
                                            structure: structure, metric: metric)
            }
            if let out {
                try OutputFiles.write(text, to: out)
                printError("\(out): \(rows.count) metric value(s)")
            } else {
                print(text, terminator: "")
            }
        }
    }
}

/// Keeps memory freed by one plan for the next instead of returning it to the kernel.
///
/// Every plan allocates and frees the same large buffers (the DVH engine's per-chunk
/// histograms, the dose and shape arrays, 0.1–30 MB each). glibc serves blocks above its
/// mmap threshold with fresh `mmap`s and trims the heap top above 128 kB, so each plan
/// page-faulted its buffers in again: 390 000 minor faults and 1.3 s of system time for
/// the 60-plan benchmark cohort (docs/performance.md). With the mmap threshold at 64 MiB
/// and the trim threshold at 256 MiB the buffers are reused: 16 000 faults, 0.25 s, and
/// the peak resident set grows from 77 to 93 MB. Not needed for one-plan commands.
///
/// `mallopt` is declared in `<malloc.h>`, which the Glibc module does not import: it is
/// looked up with `dlsym`; the parameters are glibc's `M_TRIM_THRESHOLD` (−1) and
/// `M_MMAP_THRESHOLD` (−3). Elsewhere (another C library) nothing happens.
func keepFreedMemoryInProcess() {
    #if canImport(Glibc)
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    _ = mallopt(-3, 64 << 20)
    _ = mallopt(-1, 256 << 20)
    #endif
}

/// Parses --metrics, naming the option in the error.
func parseMetrics(_ text: String) throws -> [Metric] {
    do { return try Metric.parseList(text) } catch let e as Metric.ParseError { throw SBRTError(.invalidRequest, "--metrics: \(e.description)") }
}

/// The progress line of `sbrt batch` on a terminal: plans done of total, rate, ETA,
/// redrawn in place at most five times a second.
final class ProgressLine: @unchecked Sendable {
    private let enabled: Bool
    private let lock = NSLock()
    private var last = Date.distantPast
    private var drawn = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: BatchProgress) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        guard p.done == p.total || now.timeIntervalSince(last) >= 0.2 else { return }
        last = now
        var line = "\(p.done)/\(p.total) plans (\(p.stored) stored, \(p.skipped) skipped, \(p.failed) failed"
            + (p.duplicates > 0 ? ", \(p.duplicates) duplicate" : "") + ")"
        if let rate = p.plansPerSecond { line += String(format: ", %.2f plans/s", rate) }
        if let eta = p.etaSeconds, p.done < p.total { line += ", ETA " + Self.duration(eta) }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        drawn = true
    }

    /// Ends the line, so that what follows starts on its own.
    func clear() {
        lock.lock(); defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }

    /// h:mm:ss or m:ss.
    static func duration(_ seconds: Double) -> String {
        let s = Int(min(max(0, seconds), 8_640_000).rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
