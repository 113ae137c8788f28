import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit

/// `sbrt-bench dvh DIR [--runs N]`: the DVH engine in process, per structure of the case:
/// the kernel (`DVHKernel.accumulate`) against its scalar reference
/// (`DVHKernel.accumulateReference`, `DVHOptions.referenceKernel`), minimum and median
/// of N runs after a warm-up, ns per sample, and whether the two DVHs are identical; then
/// the multi-map pass (`DVHEngine.dvhs`) against one `dvh` per map.
struct DVHBench {
    var dir: String
    var runs: Int

    func run() throws {
        let folder = try StudyFolder.load(dir)
        guard let ss = folder.structureSets.first, let doseGrid = folder.doses.first else {
            throw BenchError("\(dir): no structure set or dose; run `sbrt-bench generate \(dir)` first")
        }
        let ct = folder.imageSeries(for: ss)
        let frame = ct.map { PlaneFrame(grid: $0.grid) } ?? .patient
        let shapes = ss.rois.map { PlanarShape(roi: $0, frame: frame) }
        let field = DoseField(try doseGrid.loadDose())
        let slice = ct?.grid.spacing.z ?? 2
        var reference = DVHOptions()
        reference.referenceKernel = true
        let fast = DVHEngine(frame: frame, sliceSpacing: slice, shapes: shapes, dose: field)
        let slow = DVHEngine(frame: frame, sliceSpacing: slice, shapes: shapes, dose: field, options: reference)
        print(machineSummary())
        print("case: \(dir); dose grid \(field.grid.nx)×\(field.grid.ny)×\(field.grid.nz); \(Parallel.workers) workers; runs \(runs) after 1 warm-up (min and median, ms)")
        print(pad("structure", 12) + pad("samples", 10, right: true) + pad("kernel min", 12, right: true) + pad("median", 9, right: true)
              + pad("ns/sample", 11, right: true) + pad("reference min", 15, right: true) + pad("median", 9, right: true) + "  same DVH")
        var totalFast = 0.0, totalSlow = 0.0
        for shape in shapes where !shape.planes.isEmpty {
            let e = StructureExpression.roi(shape.name)
            let (a, tf) = try timed { try fast.dvh(e) }
            let (b, ts) = try timed { try slow.dvh(e) }
            totalFast += tf.min; totalSlow += ts.min
            let same = a.cumulativeCC == b.cumulativeCC && a.meanGy == b.meanGy && a.volumeCC == b.volumeCC && a.minGy == b.minGy && a.maxGy == b.maxGy
            print(pad(shape.name, 12) + pad("\(a.sampling.samples)", 10, right: true) + pad(f(tf.min * 1000, 2), 12, right: true)
                  + pad(f(tf.median * 1000, 2), 9, right: true) + pad(f(tf.min * 1e9 / Double(max(1, a.sampling.samples)), 1), 11, right: true)
                  + pad(f(ts.min * 1000, 2), 15, right: true) + pad(f(ts.median * 1000, 2), 9, right: true) + "  " + (same ? "identical" : "DIFFERENT"))
        }
        print("all structures: kernel \(f(totalFast * 1000, 1)) ms, reference \(f(totalSlow * 1000, 1)) ms (sums of minima)")

        // Several maps in one pass (as the composite report does) against one pass per map.
        let maps = [field, scaled(field, 0.6), scaled(field, 1.7), scaled(field, 2.9)]
        for name in ["PTV", "Lung_L"] where shapes.contains(where: { $0.name == name }) {
            let e = StructureExpression.roi(name)
            let (multi, tm) = try timed { try fast.dvhs(e, doses: maps) }
            let (single, t1) = try timed { try maps.map { m -> DVH in var g = fast; g.dose = m; return try g.dvh(e) } }
            let same = zip(multi, single).allSatisfy { $0.cumulativeCC == $1.cumulativeCC && $0.meanGy == $1.meanGy && $0.maxGy == $1.maxGy }
            print("\(name), \(maps.count) maps: one pass (dvhs) \(f(tm.min * 1000, 2)) ms, one dvh per map \(f(t1.min * 1000, 2)) ms, " + (same ? "identical" : "DIFFERENT"))
        }
    }

    func scaled(_ f: DoseField, _ k: Float) -> DoseField { DoseField(Volume(grid: f.grid, voxels: f.volume.voxels.map { $0 * k })) }

    func timed<T>(_ body: () throws -> T) throws -> (T, (min: Double, median: Double)) {
        var result = try body()   // warm-up
        var s: [Double] = []
        for _ in 0..<max(1, runs) {
            let t = now()
            result = try body()
            s.append(now() - t)
        }
        return (result, (s.min() ?? 0, median(s)))
    }

    func pad(_ s: String, _ n: Int, right: Bool = false) -> String {
        let fill = String(repeating: " ", count: max(0, n - s.count))
        return right ? fill + s : s + fill
    }
}
