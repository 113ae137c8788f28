import DICOM
import Dosimetry
import Foundation
import RTModel
import VoxelKit

/// `sbrt-bench composite DIR [--runs N]`: the re-irradiation composite on the large case.
///
/// - Makes a second course once (DIR-course2/RD.dcm): the case's RT Dose shifted by
///   (1.3, −0.7, 1.1) mm and scaled by 0.6, so the composite must resample it.
/// - Whole processes: `sbrt composite --course DIR/RD:fractions=5 --course
///   DIR-course2/RD:fractions=3 --out …`, with `--no-report` and with `--structures DIR`
///   (the per-structure report); budget 0.3 s each.
/// - Kernel: `CompositeKernel.sum` (EQD2 of two courses, uniform α/β and a per-voxel α/β
///   map) on the 2.5 mm dose grid, in GB/s of nominal traffic (reads of each course and
///   the map, one write), beside a plain triad a[i] = b[i] + s·c[i] on the same arrays.
/// - Memory bandwidth: the same triad on 3 × 128 MiB, beyond the caches.
struct CompositeBench {
    var dir: String
    var runs: Int

    /// The second course's folder, next to the case.
    var secondCourseFolder: String { dir.hasSuffix("/") ? String(dir.dropLast()) + "-course2" : dir + "-course2" }
    var secondCourseFile: String { (secondCourseFolder as NSString).appendingPathComponent("RD.dcm") }

    /// The case's RT Dose and the second course's (made once).
    func courses() throws -> (first: String, second: String) {
        let doseFile = try firstDose(dir)
        if !FileManager.default.fileExists(atPath: secondCourseFile) {
            try makeSecondCourse(from: doseFile, into: secondCourseFolder)
        }
        return (doseFile, secondCourseFile)
    }

    func run() throws {
        let (doseFile, secondFile) = try courses()
        print(machineSummary())
        // Whole processes first, while this process is small (see Runner.run).
        let sbrt = ((executablePath() as NSString).deletingLastPathComponent as NSString).appendingPathComponent("sbrt")
        let outPath = NSTemporaryDirectory() + "sbrt-bench-composite-\(getpid()).dcm"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let courseArgs = ["--course", doseFile + ":fractions=5:date=2026-01-15", "--course", secondFile + ":fractions=3:date=2025-03-02"]
        var failed = false
        for (what, extra) in [("no report", ["--no-report"]), ("report of 6 structures", ["--structures", dir])] {
            let args = ["composite"] + courseArgs + extra + ["--out", outPath]
            var wall: [Double] = [], cpu: [Double] = [], rss: [Int] = []
            for r in 0...runs {
                let s = try spawn(sbrt, args, stdout: "/dev/null")
                // 1 is the composite's verdict on its flags (raised or not evaluable).
                guard s.status == 0 || s.status == 1 else { throw BenchError("sbrt composite exited with status \(s.status)") }
                if r > 0 { wall.append(s.wall); cpu.append(s.cpu); rss.append(s.maxRSSKB) }
            }
            let med = median(wall)
            failed = failed || med > 0.3
            print("process sbrt composite (2 courses, 1 resampled, RT Dose written, \(what)): median \(f(med * 1000)) ms, min \(f((wall.min() ?? 0) * 1000)) ms, cpu \(f(median(cpu) * 1000)) ms, peak RSS \(f(Double(rss.max() ?? 0) / 1024)) MB, budget 300 ms: \(med <= 0.3 ? "ok" : "OVER")")
            print("command: sbrt " + args.joined(separator: " "))
        }
        try kernels(doseFile)
        bandwidth()
        if failed { exit(1) }
    }

    /// Median of `max(runs, 5) × 4` calls after one warm-up.
    func time(_ body: () -> Void) -> Double {
        body()
        var s: [Double] = []
        for _ in 0..<max(runs, 5) * 4 { let t = now(); body(); s.append(now() - t) }
        return median(s)
    }

    /// The conversion-and-sum kernel, its scalar reference and a triad on the same arrays.
    func kernels(_ doseFile: String) throws {
        let grid = try DoseGrid(file: try DICOMFile.read(path: doseFile))
        let a = try grid.loadDose().voxels
        let b = a.map { $0 * 0.6 }
        let n = a.count
        var ab = [Float](repeating: 3, count: n)
        for i in stride(from: 0, to: n, by: 7) { ab[i] = 2 }
        var out = [Float](repeating: 0, count: n)
        print("dose grid: \(grid.grid.nx)×\(grid.grid.ny)×\(grid.grid.nz) = \(n) voxels, \(Parallel.workers) workers, runs \(runs)")
        func terms(_ pa: UnsafeBufferPointer<Float>, _ pb: UnsafeBufferPointer<Float>) -> [CompositeTerm] {
            [CompositeTerm(dose: pa, fractions: 10), CompositeTerm(dose: pb, fractions: 5)]
        }
        let uniform = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            time { out.withUnsafeMutableBufferPointer { CompositeKernel.sum(.eqd2, terms(pa, pb), alphaBeta: .uniform(3), into: $0) } }
        } }
        let mapped = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in ab.withUnsafeBufferPointer { pm in
            time { out.withUnsafeMutableBufferPointer { CompositeKernel.sum(.eqd2, terms(pa, pb), alphaBeta: .map(pm), into: $0) } }
        } } }
        let scalar = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            time { out.withUnsafeMutableBufferPointer { CompositeKernel.sumReference(.eqd2, terms(pa, pb), alphaBeta: .uniform(3), into: $0) } }
        } }
        let triad = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            time { out.withUnsafeMutableBufferPointer { o in Self.triad(o, pa, pb, threads: Parallel.workers) } }
        } }
        func gbs(_ bytes: Int, _ s: Double) -> String { f(Double(bytes) / s / 1e9) }
        let bytes2 = CompositeKernel.bytesMoved(voxels: n, courses: 2, hasMap: false)
        let bytes3 = CompositeKernel.bytesMoved(voxels: n, courses: 2, hasMap: true)
        print("kernel  EQD2, 2 courses, uniform α/β      \(f(uniform * 1000)) ms  \(gbs(bytes2, uniform)) GB/s")
        print("kernel  EQD2, 2 courses, α/β map          \(f(mapped * 1000)) ms  \(gbs(bytes3, mapped)) GB/s")
        print("scalar  reference (Double, 1 thread)      \(f(scalar * 1000)) ms  \(gbs(bytes2, scalar)) GB/s")
        print("triad   a = b + s·c (same 30 MB, in cache) \(f(triad * 1000)) ms  \(gbs(bytes2, triad)) GB/s")
    }

    /// The memory-bandwidth reference: a triad on three arrays of 128 MiB each, 12 times
    /// the 32 MiB last-level cache, on one core and on every core. GB/s of nominal traffic
    /// (two reads and one write per element; the write's line is also read unless the
    /// store bypasses the cache, so the bus moves up to 4/3 of it).
    func bandwidth() {
        let n = 32 << 20
        let x = [Float](repeating: 1, count: n), y = [Float](repeating: 2, count: n)
        var z = [Float](repeating: 0, count: n)
        let bytes = 3 * n * MemoryLayout<Float>.size
        for threads in [1, Parallel.workers] {
            let t = x.withUnsafeBufferPointer { px in y.withUnsafeBufferPointer { py in
                time { z.withUnsafeMutableBufferPointer { Self.triad($0, px, py, threads: threads) } }
            } }
            print("triad   a = b + s·c on 3 × 128 MiB (beyond the L3), \(threads) thread\(threads == 1 ? "" : "s")  \(f(t * 1000)) ms  \(f(Double(bytes) / t / 1e9)) GB/s")
        }
        precondition(z[n / 2] == 2, "triad result")
    }

    /// z = x + 0.5·y over `threads` contiguous chunks.
    static func triad(_ z: UnsafeMutableBufferPointer<Float>, _ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, threads: Int) {
        let n = z.count
        let px = x.baseAddress!, py = y.baseAddress!, pz = z.baseAddress!
        if threads == 1 {
            for i in 0..<n { pz[i] = px[i] + 0.5 * py[i] }
            return
        }
        Parallel.forEachChunk(n, minimumChunk: 1 << 16) { _, r in
            for i in r { pz[i] = px[i] + 0.5 * py[i] }
        }
    }

    func firstDose(_ dir: String) throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        for name in names {
            let p = (dir as NSString).appendingPathComponent(name)
            guard let f = try? DICOMFile.read(path: p) else { continue }
            if f.sopClassUID == SOPClass.rtDose { return p }
        }
        throw BenchError("no RT Dose in \(dir); run `sbrt-bench generate \(dir)` first")
    }

    /// Writes the case's dose × 0.6 on a grid shifted by (1.3, −0.7, 1.1) mm.
    func makeSecondCourse(from path: String, into dir: String) throws {
        let file = try DICOMFile.read(path: path)
        let d = try DoseGrid(file: file)
        var v = try d.loadDose()
        v.voxels = v.voxels.map { $0 * 0.6 }
        v.grid.origin += Vec3(1.3, -0.7, 1.1)
        let q = DoseWriter.quantise(v.voxels)
        let ds = try DoseWriter.dataSet(grid: v.grid, quantised: q, template: file.dataSet, frameOfReferenceUID: d.frameOfReferenceUID ?? UID.generate(),
                                        description: .init(doseType: "PHYSICAL", summationType: "PLAN", seriesDescription: "bench second course",
                                                           doseComment: "0.6 x the case dose, shifted", imageComments: "sbrt-bench", referencedPlanUIDs: []))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try DoseWriter.write(ds, to: (dir as NSString).appendingPathComponent("RD.dcm"))
    }
}
