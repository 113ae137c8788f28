import DICOM
import Dosimetry
import Foundation
import RTModel
import VoxelKit

/// `sbrt-bench composite DIR [--runs N]`: the re-irradiation composite on the large case.
///
/// - Makes a second course once (DIR-course2/RD.dcm): the case's RT Dose shifted by
///   (1.3, −0.7, 1.1) mm and scaled by 0.6, so the composite must resample it.
/// - Kernel: `CompositeKernel.sum` (EQD2 of two courses, uniform α/β and a per-voxel α/β
///   map) on the 2.5 mm dose grid, in GB/s of nominal traffic (reads of each course and
///   the map, one write), beside a plain triad a[i] = b[i] + s·c[i] on the same arrays.
/// - Whole process: `sbrt composite --course DIR/RD:fractions=5 --course
///   DIR-course2/RD:fractions=3 --no-report --out …` (budget 0.3 s).
struct CompositeBench {
    var dir: String
    var runs: Int

    func run() throws {
        let doseFile = try firstDose(dir)
        let second = dir.hasSuffix("/") ? String(dir.dropLast()) + "-course2" : dir + "-course2"
        let secondFile = (second as NSString).appendingPathComponent("RD.dcm")
        if !FileManager.default.fileExists(atPath: secondFile) {
            try makeSecondCourse(from: doseFile, into: second)
        }
        print(machineSummary())
        let grid = try DoseGrid(file: try DICOMFile.read(path: doseFile))
        let a = try grid.loadDose().voxels
        let b = a.map { $0 * 0.6 }
        let n = a.count
        var ab = [Float](repeating: 3, count: n)
        for i in stride(from: 0, to: n, by: 7) { ab[i] = 2 }
        var out = [Float](repeating: 0, count: n)
        print("dose grid: \(grid.grid.nx)×\(grid.grid.ny)×\(grid.grid.nz) = \(n) voxels, \(Parallel.workers) workers, runs \(runs)")

        func time(_ body: () -> Void) -> Double {
            body()   // warm-up
            var s: [Double] = []
            for _ in 0..<max(runs, 5) * 4 { let t = now(); body(); s.append(now() - t) }
            return median(s)
        }
        let uniform = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            time { out.withUnsafeMutableBufferPointer { o in
                CompositeKernel.sum(.eqd2, [CompositeTerm(dose: pa, fractions: 10), CompositeTerm(dose: pb, fractions: 5)],
                                    alphaBeta: .uniform(3), into: o)
            } }
        } }
        let mapped = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in ab.withUnsafeBufferPointer { pm in
            time { out.withUnsafeMutableBufferPointer { o in
                CompositeKernel.sum(.eqd2, [CompositeTerm(dose: pa, fractions: 10), CompositeTerm(dose: pb, fractions: 5)],
                                    alphaBeta: .map(pm), into: o)
            } }
        } } }
        let scalar = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            time { out.withUnsafeMutableBufferPointer { o in
                CompositeKernel.sumReference(.eqd2, [CompositeTerm(dose: pa, fractions: 10), CompositeTerm(dose: pb, fractions: 5)],
                                             alphaBeta: .uniform(3), into: o)
            } }
        } }
        let triad = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
            time { out.withUnsafeMutableBufferPointer { o in
                let op = o
                Parallel.forEachChunk(n, minimumChunk: 1 << 16) { _, r in
                    let x = pa.baseAddress!, y = pb.baseAddress!, z = op.baseAddress!
                    for i in r { z[i] = x[i] + 0.5 * y[i] }
                }
            } }
        } }
        func gbs(_ bytes: Int, _ s: Double) -> String { f(Double(bytes) / s / 1e9) }
        let bytes2 = CompositeKernel.bytesMoved(voxels: n, courses: 2, hasMap: false)
        let bytes3 = CompositeKernel.bytesMoved(voxels: n, courses: 2, hasMap: true)
        print("kernel  EQD2, 2 courses, uniform α/β      \(f(uniform * 1000)) ms  \(gbs(bytes2, uniform)) GB/s")
        print("kernel  EQD2, 2 courses, α/β map          \(f(mapped * 1000)) ms  \(gbs(bytes3, mapped)) GB/s")
        print("scalar  reference (Double, 1 thread)      \(f(scalar * 1000)) ms  \(gbs(bytes2, scalar)) GB/s")
        print("triad   a = b + s·c (same arrays)         \(f(triad * 1000)) ms  \(gbs(bytes2, triad)) GB/s")

        // Whole process.
        let sbrt = ((executablePath() as NSString).deletingLastPathComponent as NSString).appendingPathComponent("sbrt")
        let outPath = NSTemporaryDirectory() + "sbrt-bench-composite-\(getpid()).dcm"
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let args = ["composite", "--course", doseFile + ":fractions=5:date=2026-01-15", "--course", secondFile + ":fractions=3:date=2025-03-02",
                    "--no-report", "--out", outPath]
        var wall: [Double] = [], cpu: [Double] = [], rss: [Int] = []
        for r in 0...runs {
            let s = try spawn(sbrt, args, stdout: "/dev/null")
            guard s.status == 0 else { throw BenchError("sbrt composite exited with status \(s.status)") }
            if r > 0 { wall.append(s.wall); cpu.append(s.cpu); rss.append(s.maxRSSKB) }
        }
        let med = median(wall)
        print("process sbrt composite (2 courses, 1 resampled, RT Dose written): median \(f(med * 1000)) ms, min \(f((wall.min() ?? 0) * 1000)) ms, cpu \(f(median(cpu) * 1000)) ms, peak RSS \(f(Double(rss.max() ?? 0) / 1024)) MB, budget 300 ms: \(med <= 0.3 ? "ok" : "OVER")")
        print("command: sbrt " + args.joined(separator: " "))
        if med > 0.3 { exit(1) }
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
