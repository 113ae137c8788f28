import CohortMaker
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `sbrt-bench batch DIR [--plans N] [--runs N] [--postgres URL]`: `sbrt batch` on a cohort
/// of distinct plans against running `sbrt dvh` plan by plan.
///
/// - Makes the cohort once (DIR/cohort, `CohortMaker`: copies of the fixture plans with
///   fresh UIDs and doses scaled by 0.92–1.08; default 60 plans).
/// - Times, N times each after one warm-up (warm page cache): `sbrt dvh PLAN` for every
///   plan, one process after another (what a script around `sbrt dvh` does); `sbrt batch
///   DIR/cohort --db NEW.sqlite --jobs 1` and `--jobs 2` into a new file each time; and with
///   `--postgres URL` the same into a new database there (`psql` creates it).
/// - Prints plans per second, seconds per plan, the --jobs 2 speed-up, the database size
///   per plan and the load average (the machine is shared: a speed-up measured under load
///   means little). Budgets: `sbrt batch --jobs 1` at least as fast per plan as `sbrt dvh`
///   plan by plan, and `--jobs 2` at least 1.8 times `--jobs 1` on two or more cores. Exits 1
///   when a median misses its budget.
struct BatchBench {
    var dir: String
    var plans: Int
    var runs: Int
    var postgres: String?

    static let fixtures = ["pelvis", "pelvis_mr", "variants/hfp", "variants/oblique"]

    func run() throws {
        let sbrt = ((executablePath() as NSString).deletingLastPathComponent as NSString).appendingPathComponent("sbrt")
        guard FileManager.default.isExecutableFile(atPath: sbrt) else { throw BenchError("no sbrt binary next to sbrt-bench; build with `swift build -c release`") }
        let cohort = try makeCohort()
        let folders = try planFolders(cohort)
        print(machineSummary())
        print("cohort: \(cohort), \(folders.count) plans from \(Self.fixtures.joined(separator: ", ")), \(megabytes(cohort)) MB")
        print("runs: \(runs) per row after 1 warm-up (warm page cache); load average before: \(loadAverage())")
        var rows: [(String, [Double], Int?)] = []
        rows.append(("sbrt dvh PLAN, plan by plan", try timeRuns { try dvhPlanByPlan(sbrt, folders) }, nil))
        var size = 0
        for jobs in [1, 2] {
            let samples = try timeRuns {
                let db = dir + "/bench-\(jobs).sqlite"
                try removeDatabase(db)
                let t = try batch(sbrt, cohort, db: db, jobs: jobs)
                size = fileSize(db) + fileSize(db + "-wal")
                return t
            }
            rows.append(("sbrt batch --jobs \(jobs) (SQLite)", samples, size))
        }
        if let postgres {
            for jobs in [1, 2] {
                rows.append(("sbrt batch --jobs \(jobs) (PostgreSQL)", try timeRuns { try batch(sbrt, cohort, db: try freshDatabase(postgres), jobs: jobs) }, nil))
            }
        }
        print("load average after: \(loadAverage())\n")
        report(rows, plans: folders.count)
    }

    /// Prints the table and the budgets; exits 1 when one is missed.
    func report(_ rows: [(String, [Double], Int?)], plans: Int) {
        print("what                                        median s   plans/s   s/plan   DB bytes/plan")
        for (name, samples, size) in rows {
            let m = median(samples)
            let sizeText = size.map { String($0 / plans) } ?? "-"
            print(name.padding(toLength: 42, withPad: " ", startingAt: 0) + "  " + f(m, 2).leftPad(8) + "  " + f(Double(plans) / m, 1).leftPad(8)
                  + "  " + f(m / Double(plans), 3).leftPad(7) + "  " + sizeText.leftPad(14))
        }
        let dvh = median(rows[0].1), one = median(rows[1].1), two = median(rows[2].1)
        let speedup = one / two
        print("\nsbrt batch --jobs 1 vs sbrt dvh plan by plan: \(f(dvh / one, 2))× faster per plan (budget ≥ 1×): \(one <= dvh ? "ok" : "OVER")")
        let cores = ProcessInfo.processInfo.activeProcessorCount
        print("sbrt batch --jobs 2 vs --jobs 1: \(f(speedup, 2))× (budget ≥ 1.8× on ≥ 2 cores; \(cores) here): \(speedup >= 1.8 || cores < 2 ? "ok" : "OVER")")
        if one > dvh || (speedup < 1.8 && cores >= 2) { exit(1) }
    }

    /// DIR/cohort, made once (DIR/cohort/.complete marks a finished cohort).
    func makeCohort() throws -> String {
        let cohort = dir + "/cohort"
        let marker = cohort + "/.complete-\(plans)"
        if FileManager.default.fileExists(atPath: marker) { return cohort }
        try? FileManager.default.removeItem(atPath: cohort)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = Self.fixtures.map { root.appendingPathComponent("Fixtures/" + $0).path }
        let t = now()
        try CohortMaker.make(fixtures: sources, count: plans, into: cohort, salt: "sbrt-bench-batch")
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
        print("made the cohort in \(f(now() - t, 1)) s")
        return cohort
    }

    /// The plan folders of the cohort (patient folder / fixture name).
    func planFolders(_ cohort: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: cohort).filter { !$0.hasPrefix(".") }.sorted().flatMap { patient in
            try FileManager.default.contentsOfDirectory(atPath: cohort + "/" + patient).sorted().map { cohort + "/" + patient + "/" + $0 }
        }
    }

    /// Median over `runs` after a warm-up.
    func timeRuns(_ body: () throws -> Double) throws -> [Double] {
        _ = try body()
        return try (0..<runs).map { _ in try body() }
    }

    func dvhPlanByPlan(_ sbrt: String, _ folders: [String]) throws -> Double {
        let t = now()
        for p in folders {
            let r = try spawn(sbrt, ["dvh", p], stdout: "/dev/null")
            guard r.status == 0 else { throw BenchError("sbrt dvh \(p) exited with status \(r.status)") }
        }
        return now() - t
    }

    func batch(_ sbrt: String, _ cohort: String, db: String, jobs: Int) throws -> Double {
        let r = try spawn(sbrt, ["batch", cohort, "--db", db, "--jobs", String(jobs), "--quiet"], stdout: "/dev/null")
        guard r.status == 0 else { throw BenchError("sbrt batch --jobs \(jobs) exited with status \(r.status)") }
        return r.wall
    }

    func removeDatabase(_ db: String) throws {
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
    }

    /// A new database on the server of `url` (`postgresql://…/postgres`), made with psql.
    func freshDatabase(_ url: String) throws -> String {
        let name = "sbrt_bench_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
        let r = try spawn("/usr/bin/psql", [url, "-qAtc", "CREATE DATABASE \(name)"], stdout: "/dev/null")
        guard r.status == 0 else { throw BenchError("psql could not create database \(name)") }
        guard let slash = url.range(of: "/", options: .backwards) else { throw BenchError("\(url) names no database") }
        return String(url[..<slash.upperBound]) + name
    }

    func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// The 1, 5 and 15 minute load averages (/proc/loadavg).
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
}
