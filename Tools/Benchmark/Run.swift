import DICOM
import Foundation
import RTModel

#if canImport(Glibc)
import Glibc
#endif

/// `sbrt-bench run DIR [--runs N]`: times each loading stage in this process and the
/// whole processes of `processJobs` (info, load, dvh, check, render, expand, composite
/// with and without its report, gamma global and local, and the margin jobs on
/// DIR-irregular, `marginJobs`), N times each after one unmeasured warm-up run (so the
/// page cache is warm: these are warm-cache numbers), and prints medians, minima and
/// maxima beside the budgets. Exits 1 when a median misses its budget.
struct Runner {
    var dir: String
    var runs: Int

    struct Row {
        var name: String
        var samples: [Double]          // seconds
        var budget: Double?            // seconds
        var peakRSSKB: [Int] = []      // spawned processes only
        var cpu: [Double] = []         // spawned processes only: user + system seconds
    }

    func run() throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: dir) else {
            throw BenchError("\(dir) does not exist; run `sbrt-bench generate \(dir)` first")
        }
        let binDir = (executablePath() as NSString).deletingLastPathComponent
        let sbrt = (binDir as NSString).appendingPathComponent("sbrt")
        let me = executablePath()
        guard fm.isExecutableFile(atPath: sbrt) else {
            throw BenchError("no sbrt binary next to sbrt-bench (\(sbrt)); build with `swift build -c release --static-swift-stdlib`")
        }
        #if DEBUG
        FileHandle.standardError.write(Data("sbrt-bench: warning: this is a debug build; numbers mean little. Use `swift build -c release --static-swift-stdlib`.\n".utf8))
        #endif

        print(machineSummary())
        print("sbrt: \(sbrt), \(linkage(of: sbrt))")
        print("case: \(dir)")
        print("runs: \(runs) per stage after 1 warm-up (warm page cache)")

        // Whole processes first, while this process is still small: posix_spawn starts the
        // child in this process's address space (CLONE_VM) until it execs, and Linux counts
        // that address space's high-water mark in the child's ru_maxrss.
        let tmp = NSTemporaryDirectory() + "sbrt-bench-\(getpid())"
        try fm.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: tmp) }
        let jobs = try processJobs(sbrt: sbrt, me: me, tmp: tmp)
        var rows = jobs.map { Row(name: "process: " + $0.name, samples: [], budget: $0.budget) }
        var loadLines: [String] = []
        for r in 0...runs {
            for (k, job) in jobs.enumerated() {
                let s = try spawn(job.path, job.args, stdout: job.stdout)
                guard job.okStatuses.contains(s.status) else { throw BenchError("\(job.name) exited with status \(s.status)") }
                guard r > 0 else { continue }
                rows[k].samples.append(s.wall); rows[k].peakRSSKB.append(s.maxRSSKB); rows[k].cpu.append(s.cpu)
                if job.path == me { loadLines.append((try? String(contentsOfFile: job.stdout, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") }
            }
        }

        let (stages, caseLine) = try inProcessStages()
        print(caseLine + "\n")
        printTable(stages + rows)
        if let last = loadLines.last { print("\nlast `sbrt-bench load` report: \(last)") }
        print("\ncommands (sbrt = \(sbrt)):")
        for job in jobs { print("  \(job.name): \((job.path as NSString).lastPathComponent) \(job.args.joined(separator: " "))") }
        let failed = rows.filter { r in r.budget.map { median(r.samples) > $0 } ?? false }
        if failed.isEmpty {
            print("\nall budgets met")
        } else {
            print("\nOVER BUDGET: " + failed.map(\.name).joined(separator: "; "))
            exit(1)
        }
    }

    /// The in-process stages (scan and parse, volumes, inventory, the structure set), `runs`
    /// times after a warm-up, and the line describing the case.
    func inProcessStages() throws -> (rows: [Row], caseLine: String) {
        var scan = Row(name: "scan + parse (StudyFolder.load)", samples: [], budget: nil)
        var image = Row(name: "image volume (ImageSeries.loadValues)", samples: [], budget: nil)
        var dose = Row(name: "dose volume (DoseGrid.loadDose)", samples: [], budget: nil)
        var inv = Row(name: "inventory (Inventory(folder), incl. value ranges)", samples: [], budget: nil)
        var ssParse = Row(name: "  RTSTRUCT file parse (DICOMFile.read)", samples: [], budget: nil)
        var ssModel = Row(name: "  RTSTRUCT model (StructureSet(file:))", samples: [], budget: nil)
        var caseLine = ""
        for r in 0...runs {
            let keep = r > 0
            var t = now()
            let folder = try StudyFolder.load(dir)
            if keep { scan.samples.append(now() - t) }
            if r == 0 {
                let images = folder.imageSeries.first
                caseLine = "files: \(folder.scan.files.count) DICOM (\(folder.imageSeries.reduce(0) { $0 + $1.slices.count }) images"
                    + (images.map { " \($0.columns)×\($0.rows)" } ?? "") + ", \(folder.structureSets.count) RTSTRUCT with "
                    + "\(folder.structureSets.reduce(0) { $0 + $1.rois.count }) ROIs / "
                    + "\(folder.structureSets.reduce(0) { $0 + $1.rois.reduce(0) { $0 + $1.contours.reduce(0) { $0 + $1.points.count } } }) points, "
                    + "\(folder.doses.count) RTDOSE" + (folder.doses.first.map { " \($0.grid.nx)×\($0.grid.ny)×\($0.grid.nz)" } ?? "")
                    + ", \(folder.plans.count) RTPLAN), \(megabytes(dir)) MB on disk"
            }
            t = now()
            for series in folder.imageSeries { _ = try series.loadValues() }
            if keep { image.samples.append(now() - t) }
            t = now()
            for d in folder.doses { _ = try d.loadDose() }
            if keep { dose.samples.append(now() - t) }
            t = now()
            _ = try Inventory(folder)
            if keep { inv.samples.append(now() - t) }
            for ss in folder.structureSets {
                t = now()
                let file = try DICOMFile.read(path: ss.path)
                if keep { ssParse.samples.append(now() - t) }
                t = now()
                _ = try StructureSet(file: file)
                if keep { ssModel.samples.append(now() - t) }
            }
        }
        return ([scan, image, dose, inv, ssParse, ssModel], caseLine)
    }

    /// A whole process the runner times: its command, budget and the exit statuses that
    /// count as success.
    struct ProcessJob {
        var name: String
        var path: String
        var args: [String]
        var budget: Double
        var stdout = "/dev/null"
        var okStatuses: Set<Int32> = [0]
    }

    /// The processes timed, with their budgets (docs/performance.md). The composites use
    /// the case's dose as the newest course and `DIR-course2/RD.dcm` (made once, as
    /// `sbrt-bench composite` does) as the prior one.
    func processJobs(sbrt: String, me: String, tmp: String) throws -> [ProcessJob] {
        let composite = CompositeBench(dir: dir, runs: runs)
        if !FileManager.default.fileExists(atPath: composite.secondCourseFile) {
            // Made in a child, so that this process stays small (see `run`).
            let s = try spawn(me, ["course2", dir], stdout: "/dev/null")
            guard s.status == 0 else { throw BenchError("sbrt-bench course2 \(dir) exited with status \(s.status)") }
        }
        let (doseFile, secondFile) = try composite.courses()
        let gammaPair = try GammaPair.files(dir)
        let courses = ["--course", doseFile + ":fractions=5:date=2026-01-15", "--course", secondFile + ":fractions=3:date=2025-03-02"]
        return [
            ProcessJob(name: "sbrt info DIR", path: sbrt, args: ["info", dir], budget: 0.3),
            ProcessJob(name: "sbrt-bench load DIR (scan+HU+dose+structures)", path: me, args: ["load", dir], budget: 0.5, stdout: tmp + "/load.txt"),
            ProcessJob(name: "sbrt dvh DIR (all structures, default metrics)", path: sbrt, args: ["dvh", dir], budget: 0.15),
            // Exit 1 is a verdict (a major deviation), not a failure of the run.
            ProcessJob(name: "sbrt check DIR --protocol tg101 (verdict table)", path: sbrt, args: ["check", dir, "--protocol", "tg101"], budget: 1.0, okStatuses: [0, 1]),
            // Issue 13: the review with its HTML figures within 1.5 × a plain `sbrt dvh` (0.15 s).
            ProcessJob(name: "sbrt check DIR --protocol tg101 --html (review, DVH plot, 2 slices)", path: sbrt,
                       args: ["check", dir, "--protocol", "tg101", "--html", tmp + "/review.html"], budget: 0.225, okStatuses: [0, 1]),
            ProcessJob(name: "sbrt render DIR --figure (slice + DVH PNG)", path: sbrt, args: ["render", dir, "--figure", "--out", tmp + "/figure.png"], budget: 1.0),
            ProcessJob(name: "sbrt expand DIR --from GTV --margin 5 --out RS (PTV, RTSTRUCT out)", path: sbrt,
                       args: ["expand", dir, "--from", "GTV", "--margin", "5", "--name", "PTV_bench", "--out", tmp + "/expand.dcm"], budget: 1.0),
            // Exit 1 is the composite's verdict on its re-irradiation flags, not a failure.
            ProcessJob(name: "sbrt composite 2 courses --no-report (RT Dose out)", path: sbrt,
                       args: ["composite"] + courses + ["--no-report", "--out", tmp + "/composite.dcm"], budget: 0.3, okStatuses: [0, 1]),
            ProcessJob(name: "sbrt composite 2 courses --structures DIR (report of 6 structures)", path: sbrt,
                       args: ["composite"] + courses + ["--structures", dir, "--out", tmp + "/composite-report.dcm", "--report", tmp + "/composite-report.json"],
                       budget: 0.3, okStatuses: [0, 1]),
            ProcessJob(name: "sbrt gamma RD RD-shifted-1.02 --criteria 2%/1mm (global)", path: sbrt,
                       args: GammaPair.arguments(gammaPair, local: false), budget: 0.4),
            ProcessJob(name: "sbrt gamma … --criteria 2%/1mm --local", path: sbrt, args: GammaPair.arguments(gammaPair, local: true), budget: 0.4),
        ] + (try marginJobs(sbrt: sbrt, tmp: tmp))
    }

    /// `sbrt expand` on the irregular-target case (`IrregularCase`, DIR-irregular, made once)
    /// with margins of 5, 10 and 20 mm and a 0:20 ring, default (interpolated) source, RT
    /// Structure Set written; each with a whole-process budget of 0.25 s (issue 13: cost
    /// O(cells), not edges × (reach / cell)²).
    func marginJobs(sbrt: String, tmp: String) throws -> [ProcessJob] {
        let irregular = IrregularCase.folder(besides: dir)
        try IrregularCase.generate(into: irregular)
        return [["--margin", "5"], ["--margin", "10"], ["--margin", "20"], ["--ring", "0:20"]].map { job in
            ProcessJob(name: "sbrt expand IRREGULAR --from GTV \(job.joined(separator: " ")) --out RS", path: sbrt,
                       args: ["expand", irregular, "--from", "GTV"] + job + ["--name", "X_bench", "--out", tmp + "/margin.dcm"],
                       budget: 0.25)
        }
    }

    func printTable(_ rows: [Row]) {
        let w = rows.map(\.name.count).max() ?? 10
        func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return right ? fill + s : s + fill
        }
        print(pad("stage", w) + "  " + pad("median ms", 10, right: true) + pad("min", 9, right: true)
              + pad("max", 9, right: true) + pad("budget", 9, right: true) + pad("peak RSS MB", 13, right: true) + "  note")
        print(String(repeating: "-", count: w + 2 + 10 + 9 * 3 + 13 + 12))
        for r in rows {
            let med = median(r.samples)
            var line = pad(r.name, w) + "  " + pad(f(med * 1000), 10, right: true)
                + pad(f((r.samples.min() ?? 0) * 1000), 9, right: true)
                + pad(f((r.samples.max() ?? 0) * 1000), 9, right: true)
                + pad(r.budget.map { f($0 * 1000, 0) } ?? "-", 9, right: true)
            let rss = r.peakRSSKB.isEmpty ? "-" : f(Double(r.peakRSSKB.max()!) / 1024)
            line += pad(rss, 13, right: true)
            var note = r.cpu.isEmpty ? "" : "cpu (user+sys) median \(f(median(r.cpu) * 1000)) ms"
            if let b = r.budget { note = (med <= b ? "ok" : "OVER") + (note.isEmpty ? "" : ", " + note) }
            print(line + "  " + note)
        }
    }
}

func median(_ v: [Double]) -> Double {
    guard !v.isEmpty else { return 0 }
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

struct SpawnResult {
    var status: Int32
    var wall: Double
    /// User + system CPU seconds of the child.
    var cpu: Double
    /// Peak resident set of the child (ru_maxrss, kB on Linux).
    var maxRSSKB: Int
}

/// Runs `path args…` with stdout redirected to `stdout`, waits with wait4 so the
/// child's own rusage (peak RSS, CPU) is known, and times it from spawn to reap.
func spawn(_ path: String, _ args: [String], stdout: String) throws -> SpawnResult {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let t0 = now()
    let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
    guard rc == 0 else { throw BenchError("cannot start \(path): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    var usage = rusage()
    while wait4(pid, &status, 0, &usage) < 0 {
        if errno != EINTR { throw BenchError("wait4 failed: \(String(cString: strerror(errno)))") }
    }
    let wall = now() - t0
    let exited = (status & 0x7f) == 0
    let code: Int32 = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) * 1e-6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) * 1e-6
    return SpawnResult(status: code, wall: wall, cpu: cpu, maxRSSKB: usage.ru_maxrss)
}

/// How the `sbrt` binary at `path` was linked, for a run's header: a binary that loads
/// the Swift runtime as a shared library names it in its dynamic string table, which lies
/// in the file's first megabyte; one built with `--static-swift-stdlib` does not name it
/// (a heuristic, checked on both builds here; `ldd` says it for certain).
func linkage(of path: String) -> String {
    guard let file = FileHandle(forReadingAtPath: path) else { return "unreadable" }
    defer { try? file.close() }
    let head = (try? file.read(upToCount: 1 << 20)) ?? Data()
    let size = (try? file.seekToEnd()).map { String(format: "%.1f MB", Double($0) / 1e6) } ?? "size unknown"
    let shared = head.range(of: Data("libswiftCore.so".utf8)) != nil
    return size + (shared ? ", Swift runtime in shared libraries (built without --static-swift-stdlib)" : ", Swift runtime linked in (--static-swift-stdlib)")
}

/// This executable's path (/proc/self/exe, else argv[0]).
func executablePath() -> String {
    if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
    return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
}

/// Total size of the regular files under `dir`, MB, one decimal.
func megabytes(_ dir: String) -> String {
    var total = 0
    if let e = FileManager.default.enumerator(atPath: dir) {
        while let rel = e.nextObject() as? String {
            if let size = e.fileAttributes?[.size] as? NSNumber { total += size.intValue }
            _ = rel
        }
    }
    return f(Double(total) / 1_048_576)
}

/// nproc, CPU model and RAM, for the report.
func machineSummary() -> String {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
        .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?" } ?? "?"
    let meminfo = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
    let memKB = meminfo.split(separator: "\n").first { $0.hasPrefix("MemTotal:") }
        .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") } ?? 0
    return "machine: \(ProcessInfo.processInfo.activeProcessorCount) CPUs (\(model)), \(f(Double(memKB) / 1_048_576)) GiB RAM"
}
