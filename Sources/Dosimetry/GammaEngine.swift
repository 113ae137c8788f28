import Base
import Foundation
import VoxelKit

/// γ at every evaluated reference point, with the search's bookkeeping.
public struct GammaMap: Sendable {
    /// γ per reference voxel, on the reference grid; `GammaEngine.notEvaluated` (−1) at
    /// points below the cutoff; `maxGamma` where no γ below it exists. A point passes when
    /// its value is ≤ 1 (values are rounded so that this agrees with the Double search).
    public var gamma: Volume<Float>
    /// The dose that global criteria and the cutoff are percentages of, Gy.
    public var normalisationGy: Double
    /// Reference points with a dose below this (Gy) are not evaluated.
    public var cutoffGy: Double
    public var evaluatedPoints: Int
    /// Points whose pass/fail the search could not settle (depth or work limit, γ ≈ 1).
    public var undecidedPoints: Int
    /// Evaluated reference points lying outside the evaluated grid (beyond half a voxel
    /// past its outermost centres); they are searched like the others.
    public var outsideEvaluatedGrid: Int
    /// The largest certified error of a reported γ over all points (γ̂ − √(lower bound)).
    public var largestErrorBound: Double
    /// Boxes examined in all (cost figure).
    public var boxes: Int
}

/// 3D gamma (Low et al. 1998) of a reference dose against an evaluated dose, both on one
/// frame of reference, on any grids.
///
/// Every reference voxel centre with dose ≥ the cutoff is a point; its γ is the exact
/// minimum over the evaluated dose's trilinear interpolation (`GammaKernel`), within
/// `options.tolerance`. Work is split over reference z-slabs with `Parallel`, in ranges
/// of about equal numbers of points; each point's γ depends on nothing else, so the map
/// is the same whatever the thread count.
public enum GammaEngine {
    public static let notEvaluated: Float = -1

    /// Runs the search at every reference point.
    /// - Throws: `SBRTError` when the evaluated grid's axes are not orthonormal or a
    ///   spacing is not positive, or the normalisation dose is not positive.
    public static func run(reference: Volume<Float>, evaluated: Volume<Float>, options: GammaOptions,
                           normalisationGy: Double) throws -> GammaMap {
        let eg = evaluated.grid
        try checkSearchable(eg)
        guard normalisationGy > 0, normalisationGy.isFinite else {
            throw SBRTError(.invalidRequest, "gamma normalisation dose is \(normalisationGy) Gy; it must be positive")
        }
        let dd = options.criteria.dosePercent / 100
        let cutoff = options.thresholdPercent / 100 * normalisationGy
        let rg = reference.grid
        let o = eg.continuousIndex(of: rg.position(0, 0, 0))
        let di = eg.continuousIndex(of: rg.position(1, 0, 0)) - o
        let dj = eg.continuousIndex(of: rg.position(0, 1, 0)) - o
        let dk = eg.continuousIndex(of: rg.position(0, 0, 1)) - o
        let slabs = balancedSlabs(reference, cutoffGy: cutoff, parts: Parallel.workers * 4)
        var tallies = [Tally](repeating: Tally(), count: max(1, slabs.count))
        var out = [Float](repeating: notEvaluated, count: rg.count)
        reference.voxels.withUnsafeBufferPointer { ref in
            evaluated.voxels.withUnsafeBufferPointer { ev in
                out.withUnsafeMutableBufferPointer { dst in
                    tallies.withUnsafeMutableBufferPointer { tb in
                        let space = GammaSearchSpace(dose: ev, size: eg.size, spacingMM: eg.spacing, distanceMM: options.criteria.distanceMM)
                        let job = Job(space: space, ref: ref, out: dst, size: rg.size, origin: o, di: di, dj: dj, dk: dk,
                                      cutoffGy: cutoff, criterion: dd, globalGy: dd * normalisationGy, local: options.local,
                                      maxGamma: options.maxGamma, epsilon: options.tolerance)
                        let tallyBuffer = tb
                        Parallel.forEachChunk(slabs.count) { _, parts in
                            for p in parts { tallyBuffer[p] = job.run(slabs[p]) }
                        }
                    }
                }
            }
        }
        let total = tallies.reduce(Tally()) { $0.merged($1) }
        return GammaMap(gamma: Volume(grid: rg, voxels: out), normalisationGy: normalisationGy, cutoffGy: cutoff,
                        evaluatedPoints: total.points, undecidedPoints: total.undecided, outsideEvaluatedGrid: total.outside,
                        largestErrorBound: total.largestError, boxes: total.boxes)
    }

    /// Contiguous ranges of reference z-slabs holding about equal numbers of points to
    /// evaluate (the work), at most `parts` of them, covering every slab in order.
    static func balancedSlabs(_ reference: Volume<Float>, cutoffGy: Double, parts: Int) -> [Range<Int>] {
        let g = reference.grid
        var perSlab = [Int](repeating: 0, count: g.nz)
        reference.voxels.withUnsafeBufferPointer { v in
            for k in 0..<g.nz {
                var n = 0
                for i in (k * g.sliceCount)..<((k + 1) * g.sliceCount) where Double(v[i]) >= cutoffGy { n += 1 }
                perSlab[k] = n
            }
        }
        let total = perSlab.reduce(0, +)
        var ranges: [Range<Int>] = []
        var start = 0, acc = 0
        for k in 0..<g.nz {
            acc += perSlab[k]
            let due = Double(total) * Double(ranges.count + 1) / Double(max(1, parts))
            if Double(acc) >= due || k == g.nz - 1 {
                ranges.append(start..<(k + 1))
                start = k + 1
            }
        }
        return ranges
    }

    /// The search needs an orthonormal, finite grid with positive spacing.
    static func checkSearchable(_ g: Grid) throws {
        let axes = [g.axisI, g.axisJ, g.axisK]
        guard g.spacing.x > 0, g.spacing.y > 0, g.spacing.z > 0, g.spacing.x.isFinite, g.spacing.y.isFinite, g.spacing.z.isFinite else {
            throw SBRTError(.invalidValue, "the evaluated dose grid has spacing \(g.spacing.x) × \(g.spacing.y) × \(g.spacing.z) mm; gamma needs positive spacings")
        }
        for a in axes where abs(length(a) - 1) > 1e-4 {
            throw SBRTError(.invalidValue, "the evaluated dose grid has a direction cosine of length \(length(a)); gamma needs unit axes")
        }
        guard abs(dot(axes[0], axes[1])) < 1e-4, abs(dot(axes[0], axes[2])) < 1e-4, abs(dot(axes[1], axes[2])) < 1e-4 else {
            throw SBRTError(.unsupported, "the evaluated dose grid's axes are not orthogonal (sheared grid); gamma needs an orthogonal grid")
        }
    }

    /// Per-chunk counts, merged in chunk order.
    struct Tally {
        var points = 0, undecided = 0, outside = 0, boxes = 0
        var largestError = 0.0

        func merged(_ o: Tally) -> Tally {
            Tally(points: points + o.points, undecided: undecided + o.undecided, outside: outside + o.outside,
                  boxes: boxes + o.boxes, largestError: max(largestError, o.largestError))
        }
    }

    /// One run's constants; `run` does a range of reference slabs.
    struct Job: @unchecked Sendable {
        let space: GammaSearchSpace
        let ref: UnsafeBufferPointer<Float>
        let out: UnsafeMutableBufferPointer<Float>
        let size: SIMD3<Int>
        let origin: Vec3, di: Vec3, dj: Vec3, dk: Vec3
        let cutoffGy: Double, criterion: Double, globalGy: Double
        let local: Bool
        let maxGamma: Double, epsilon: Double

        func run(_ slabs: Range<Int>) -> Tally {
            var tally = Tally()
            withUnsafeTemporaryAllocation(of: GammaBox.self, capacity: GammaKernel.stackCapacity) { stack in
                let s = stack.baseAddress!
                for k in slabs {
                    for j in 0..<size.y {
                        let row = (k * size.y + j) * size.x
                        let rowStart = origin + dj * Double(j) + dk * Double(k)
                        for i in 0..<size.x {
                            let dr = Double(ref[row + i])
                            guard dr >= cutoffGy, !local || dr > 0 else { continue }
                            let rho = rowStart + di * Double(i)
                            let deltaGy = local ? criterion * dr : globalGy
                            let r = GammaKernel.search(space, at: rho, targetGy: dr, inverseCriterionGy: 1 / deltaGy,
                                                       maxGamma: maxGamma, epsilon: epsilon, stack: s)
                            out[row + i] = GammaEngine.stored(r, maxGamma: maxGamma)
                            tally.points += 1
                            tally.boxes += r.nodes
                            if r.undecided { tally.undecided += 1 }
                            if !space.contains(rho) { tally.outside += 1 }
                            if r.attained { tally.largestError = max(tally.largestError, r.gammaSquared.squareRoot() - r.lowerBound.squareRoot()) }
                        }
                    }
                }
            }
            return tally
        }
    }

    /// The map value of a point: √U as Float, nudged above 1 when U > 1 rounds to 1, so
    /// that "value ≤ 1" is the pass decision; `maxGamma` when nothing was found.
    static func stored(_ r: GammaPointResult, maxGamma: Double) -> Float {
        guard r.attained else { return Float(maxGamma) }
        let g = Float(r.gammaSquared.squareRoot())
        return r.gammaSquared > 1 && g <= 1 ? Float(1).nextUp : g
    }
}
