import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Geometry
import RTModel
import VoxelKit

/// `sbrt-bench margin-kernels DIR [--runs N]`: the margin engine's kernels in this process,
/// on the irregular target (DIR-irregular, `IrregularCase`), release build.
///
/// - The growth stack of the GTV's interpolated solid (the slabs a margin measures from),
///   on the engine's lattice for a 20 mm margin.
/// - `NearestSegments` on every slab's window (outside, capped at the reach), against the
///   edge splat it replaced (`PlaneField.boundaryGauge2`, every edge onto every cell within
///   reach), both summed over all slabs; and the exact signed distance of every contour
///   plane (`PlaneField.signedDistance`).
/// - The whole engine (`MarginEngine.evaluate`) for 5, 10 and 20 mm, with its stages.
struct MarginKernelBench {
    var dir: String
    var runs: Int

    func run() throws {
        let caseDir = IrregularCase.folder(besides: dir)
        try IrregularCase.generate(into: caseDir)
        let folder = try StudyFolder.load(caseDir)
        guard let ss = folder.structureSets.first, let ct = folder.imageSeries.first,
              let roi = ss.rois.first(where: { $0.name == "GTV" }) else { throw BenchError("\(caseDir): no CT, structure set or GTV") }
        let frame = PlaneFrame(grid: ct.grid)
        let gtv = PlanarShape(roi: roi, frame: frame)
        let spacing = ct.grid.spacing.z
        guard let b = gtv.bounds else { throw BenchError("GTV has no contours") }
        print(machineSummary())
        print("case: \(caseDir), GTV \(gtv.planes.count) planes, \(gtv.planes.reduce(0) { $0 + $1.polygons.reduce(0) { $0 + $1.count } }) points, \(Parallel.workers) workers, runs \(runs)")

        // The engine's lattice for a 20 mm margin: bounds + 20 mm + 3 cells, 0.5 mm cells.
        let h = 0.5, reach = 20 + 3 * h
        let lattice = CellLattice(u0: b.lo.x - 20 - 3 * h, v0: b.lo.y - 20 - 3 * h, h: h,
                                  nu: Int(((b.hi.x - b.lo.x + 40) / h).rounded(.up)) + 7,
                                  nv: Int(((b.hi.y - b.lo.y + 40) / h).rounded(.up)) + 7)
        let t = now()
        let slabs = gtv.interpolatedLayers(sliceSpacing: spacing, lattice: lattice, layerMM: 0.5, toleranceMM: 0.01 / 3, bound: .inner)
        let stackTime = now() - t  // wall, 2 workers
        let edges = slabs.reduce(0) { $0 + $1.polygons.reduce(0) { $0 + $1.count } }
        let windows = slabs.map { CellWindow.around($0.polygons, lattice: lattice, reachMM: reach)! }
        let cells = windows.reduce(0) { $0 + $1.count }
        print("lattice \(lattice.nu)×\(lattice.nv), growth stack: \(slabs.count) slabs, \(edges) edges, \(cells) window cells (built in \(f(stackTime * 1000)) ms)")
        let masks = slabs.map { PlaneField.insideMask($0.polygons, lattice: lattice) }
        let tables = slabs.map { EdgeTable($0.polygons) }

        // Single-thread kernels are timed in thread CPU time (the machine may be shared).
        func best(_ body: () -> Void) -> Double {
            var s: [Double] = []
            for _ in 0...runs { let t0 = threadCPU(); body(); s.append(threadCPU() - t0) }
            return s.dropFirst().min() ?? 0
        }
        let propagated = best {
            for k in slabs.indices {
                _ = NearestSegments(edges: tables[k], lattice: lattice, window: windows[k], side: .outside, inside: masks[k],
                                    maximumGauge2: Float(reach * reach))
            }
        }
        let splatSlabs = stride(from: 0, to: slabs.count, by: 10).map { $0 }
        let splat = best {
            for k in splatSlabs {
                _ = PlaneField.boundaryGauge2(slabs[k].polygons, lattice: lattice, radii: FrameRadii(uniform: 20), reachMM: reach)
            }
        } * Double(slabs.count) / Double(splatSlabs.count)
        let planes = best {
            for p in gtv.planes { _ = PlaneField.signedDistance(p.polygons, lattice: lattice) }
        }
        print("kernel  NearestSegments, all \(slabs.count) slabs (1 thread)      \(f(propagated * 1000)) ms  \(f(Double(cells) / propagated / 1e6)) M cells/s")
        print("scalar  edge splat within 21.5 mm (1 thread, from 1 slab in 10) \(f(splat * 1000)) ms  (\(f(splat / propagated, 1))×)")
        print("kernel  signed distance, \(gtv.planes.count) contour planes (1 thread)  \(f(planes * 1000)) ms  \(f(Double(lattice.count * gtv.planes.count) / planes / 1e6)) M cells/s")

        let origin = dot(ct.grid.origin, frame.n)
        let outputPlanes = ct.slices.map { $0.offset - origin }
        for m in [5.0, 10, 20] {
            var options = MarginOptions()
            options.endCap = .interpolated
            let engine = MarginEngine(frame: frame, sliceSpacing: spacing, shapes: [gtv], outputPlanes: outputPlanes, options: options)
            var result: MarginResult?
            var walls: [Double] = [], cpus: [Double] = []
            for r in 0...runs {
                let (w0, c0) = (now(), processCPU())
                result = try? engine.evaluate(.expansion(.roi("GTV"), DirectionalMargin(uniformMM: m)))
                if r > 0 { walls.append(now() - w0); cpus.append(processCPU() - c0) }
            }
            let stages = (result?.timings ?? []).map { "\($0.stage) \(f($0.seconds * 1000))" }.joined(separator: ", ")
            print("engine  GTV+\(Int(m)) mm: wall \(f(median(walls) * 1000)) ms, CPU \(f(median(cpus) * 1000)) ms (last run: \(stages) ms)")
        }
    }
}

/// CPU seconds of the calling thread.
func threadCPU() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// User + system CPU seconds of this process (all threads).
func processCPU() -> Double {
    var u = rusage()
    getrusage(__rusage_who_t(0), &u)  // RUSAGE_SELF
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
}
