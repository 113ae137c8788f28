import Base
import Foundation
import Geometry
import VoxelKit

/// How DVHs are sampled.
public struct DVHOptions: Sendable {
    public var endCap: EndCap = .prism
    /// Supersample until a structure has at least this many samples (PlanIQ's rule, Nelms 2015).
    public var minimumSamples: Int = 40_000
    /// Largest in-plane cell, mm (the dose grid spacing caps it too).
    public var maximumCellMM: Double = 2.5
    /// Accumulate through `DVHKernel.accumulateReference` (every sample through
    /// `DoseField.trilinear`) instead of the kernel: the same numbers, slower; for tests
    /// and benchmarks.
    public var referenceKernel = false
    public init() {}
}

/// Computes DVHs of structures (or expressions on them) in a dose field.
///
/// One occupancy model serves both the volume and the dose tally (the failure mode Nelms et al., Med Phys 2015;42:4435, found when they differ):
/// each sample is a box of the structure's cell lattice × a sub-slice along the plane
/// normal, weighted by its exact polygon coverage; its dose is the trilinear dose at its
/// centre, spread uniformly over ± the dose change across the box (exact for a linear
/// field along one axis), so that the DVH does not staircase at the sample spacing. Dose
/// is also evaluated at every contour vertex (on its plane and at its slab faces) for
/// Dmin and Dmax. Parts outside the dose grid count at 0 Gy.
///
/// Stages (`dvhs`): lattice sizing (`samplingPlan`), accumulation (`accumulate`, the
/// `DVHKernel` over fixed chunks of sub-slices), reduction in chunk order (`reduce`),
/// vertex extremes (`vertexExtremes`) and the cumulative curve (`cumulativeCC`).
public struct DVHEngine: Sendable {
    public var frame: PlaneFrame
    /// Spacing of a contiguous stack of planes (the CT slice spacing), mm.
    public var sliceSpacing: Double
    public var shapes: [String: PlanarShape]
    public var dose: DoseField
    public var options: DVHOptions

    public init(frame: PlaneFrame, sliceSpacing: Double, shapes: [PlanarShape], dose: DoseField, options: DVHOptions = DVHOptions()) {
        self.frame = frame
        self.sliceSpacing = sliceSpacing
        self.shapes = Dictionary(shapes.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.dose = dose
        self.options = options
    }

    /// At most this many chunks of sub-slices per structure, and about one per this many
    /// samples: the partition depends on the structure and the lattice only, never on the
    /// core count, so results are the same on any machine.
    static let maximumChunks = 8
    static let samplesPerChunk = 131_072
    /// Contour coordinates must span less than this (mm); beyond, the data is not a patient's.
    static let maximumExtentMM = 100_000.0

    /// The DVH of a structure or expression in the engine's dose.
    /// - Throws: `SBRTError` naming the structure (unknown, no contours, no volume,
    ///   coordinates beyond any patient) or the dose (not finite).
    public func dvh(_ expression: StructureExpression, name: String? = nil) throws -> DVH {
        try dvhs(expression, name: name, doses: [dose])[0]
    }

    /// DVHs of one structure in several dose maps on the engine's dose grid, from one pass:
    /// the structure is rasterised once and every sample is placed once, then histogrammed
    /// in each map (a map of one value over the voxels the structure reads without
    /// interpolation). Each DVH equals `dvh` of an engine on that map, to the bit.
    /// - Throws: as `dvh`, and when a map is not on the engine's dose grid.
    public func dvhs(_ expression: StructureExpression, name: String? = nil, doses: [DoseField]) throws -> [DVH] {
        let label = name ?? expression.description
        guard !doses.isEmpty else { return [] }
        for d in doses {
            guard d.grid == dose.grid else { throw SBRTError(.invalidRequest, "DVHs of \(label): every dose map must be on the engine's dose grid") }
            guard d.maxGy.isFinite, d.grid.count > 0 else { throw SBRTError(.invalidValue, "DVHs of \(label): the dose grid's maximum is not a finite number") }
        }
        let layouts = doses.map { HistogramLayout(maxGy: $0.maxGy) }
        let plan = try samplingPlan(expression, label: label)
        let box = readBox(plan.leaves, plan.lattice)
        if doses.contains(where: { $0.definedBoxes != nil }), let box {
            for d in doses where !d.isDefined(in: box) {
                throw SBRTError(.invalidRequest, "DVHs of \(label): a dose map holds values only in voxels \(d.definedBoxes!.map(\.description).joined(separator: ", ")), the structure reads \(box)")
            }
        }
        // Maps of one value over every voxel the structure reads (`DVHKernel.uniformPass`).
        let uniform = options.referenceKernel ? doses.map { _ in Double.nan }
            : doses.map { d in box.flatMap { d.uniformValue(in: $0) }.map(Double.init) ?? .nan }
        return try DVHEngine.withVoxelPointers(doses) { maps in
            let partials = accumulate(plan, expression, maps: maps, uniform: uniform, layouts: layouts)
            let totals = partials.totals()
            guard totals.weight > 0 else {
                throw SBRTError(.invalidRequest, "structure \"\(label)\" has no volume (\(options.endCap.rawValue) end caps)")
            }
            let vertices = vertexExtremes(plan, expression, maps: maps)
            let sampling = DVH.Sampling(endCap: options.endCap.rawValue, cellMM: plan.geometry.h,
                                        maxSubSliceMM: plan.subSlices.map(\.dz).max() ?? 0,
                                        samples: totals.samples, vertexSamples: vertices.count)
            // Each map reduced and turned into its curve on its own (maps in parallel).
            var out = [DVH?](repeating: nil, count: doses.count)
            out.withUnsafeMutableBufferPointer { o in
                let o = o
                Parallel.forEachChunk(doses.count, minimumChunk: 1) { _, range in
                    for m in range {
                        var hist = partials.reduce(map: m)
                        // Spreading can reach past the field's extremes at a kink; no dose exceeds them.
                        hist.maxDose = min(hist.maxDose, doses[m].maxGy)
                        let minD = min(hist.minDose, vertices.minGy[m]), maxD = max(hist.maxDose, vertices.maxGy[m])
                        o[m] = DVH(name: label, volumeCC: totals.weight / DVHEngine.mm3PerCC,
                                   minGy: max(0, minD), meanGy: hist.weightedDose / totals.weight, maxGy: max(0, maxD),
                                   outsideFraction: totals.outside / totals.weight, binWidthGy: hist.layout.binWidthGy,
                                   cumulativeCC: DVHEngine.cumulativeCC(hist, weight: totals.weight), sampling: sampling,
                                   boundaryMaxGy: hist.boundaryMax.isFinite ? hist.boundaryMax : nil)
                    }
                }
            }
            return out.map { $0! }
        }
    }

    static let mm3PerCC = 1000.0
}

// MARK: - Stage 1: lattice sizing

extension DVHEngine {
    /// Where and how finely one structure is sampled.
    struct SamplingPlan {
        var leaves: [PlanarShape]
        var occupancies: [ShapeOccupancy]
        var leafIndex: [String: Int]
        var lattice: CellLattice
        var geometry: DVHLatticeGeometry
        /// Sub-slices along the normal: every breakpoint of every leaf, intervals cut to ≤ dzMax.
        var subSlices: [(w: Double, dz: Double)]
        /// Chunk c holds sub-slices `chunkStarts[c]..<chunkStarts[c + 1]` (fixed by the
        /// structure and the grids, not the core count).
        var chunkStarts: [Int]
        var chunks: Int { chunkStarts.count - 1 }
        /// Scratch coverage buffers the expression needs (`coverage(of:…)`).
        var slots: Int
    }

    /// The lattice (`sizedLattice`), each leaf's occupancy on it, the sub-slices (no thicker
    /// than the cell, half the dose grid's slice spacing or the slice spacing) and their
    /// chunks.
    func samplingPlan(_ expression: StructureExpression, label: String) throws -> SamplingPlan {
        let (leaves, lattice, volumeEstimate) = try sizedLattice(expression, label: label)
        let h = lattice.h
        let occupancies = leaves.map { ShapeOccupancy(shape: $0, lattice: lattice, endCap: options.endCap, sliceSpacing: sliceSpacing) }
        var breaks = occupancies.flatMap(\.breakpoints).sorted()
        breaks = breaks.reduce(into: [Double]()) { acc, x in if acc.last.map({ x - $0 > 1e-9 }) ?? true { acc.append(x) } }
        let dzMax = min(h, dose.grid.spacing.z / 2, sliceSpacing)
        let subSlices = ShapeOccupancy.subSlices(breaks, maximumStepMM: dzMax)
        let geometry = DVHLatticeGeometry(nu: lattice.nu, nv: lattice.nv, h: h,
                                          du: dose.indexDelta(frame.u * h), dv: dose.indexDelta(frame.v * h),
                                          uPerMM: dose.indexDelta(frame.u), vPerMM: dose.indexDelta(frame.v), nPerMM: dose.indexDelta(frame.n),
                                          size: dose.grid.size)
        let perChunk = volumeEstimate / (h * h * dzMax) / Double(DVHEngine.samplesPerChunk)
        let wanted = perChunk.isFinite ? Int(min(max(perChunk, 1), Double(DVHEngine.maximumChunks))) : DVHEngine.maximumChunks
        // Sub-slices wholly outside the dose grid cost little (no interpolation): balance on that.
        let costs = subSlices.map { s -> Double in
            let x00 = dose.index(frame.patient(lattice.u0 + h / 2, lattice.v0 + h / 2, s.w))
            return DVHKernel.entirelyOutside(geometry, x00) ? 0.05 : 1
        }
        return SamplingPlan(leaves: leaves, occupancies: occupancies,
                            leafIndex: Dictionary(uniqueKeysWithValues: leaves.enumerated().map { ($1.name, $0) }),
                            lattice: lattice, geometry: geometry, subSlices: subSlices,
                            chunkStarts: DVHEngine.balancedRuns(costs, max(1, min(wanted, subSlices.count))),
                            slots: DVHEngine.slotsNeeded(expression))
    }

    /// The box of dose voxels the DVH of `expression` reads (`dvh`, `dvhs`), nil when it
    /// reads none: every sample lies on the lattice (its cells, whose sampling points move
    /// at most half a cell), and every sample and vertex within a slice spacing of the
    /// structure's first and last plane (the end caps reach no further); the box holds
    /// the interpolation cells around that (u, v, w) box, with a voxel to spare.
    public func readBox(_ expression: StructureExpression, name: String? = nil) throws -> VoxelBox? {
        let (leaves, lattice, _) = try sizedLattice(expression, label: name ?? expression.description)
        return readBox(leaves, lattice)
    }

    func readBox(_ leaves: [PlanarShape], _ lattice: CellLattice) -> VoxelBox? {
        let ws = leaves.compactMap { s in s.planes.first.map { ($0.w, s.planes.last!.w) } }
        guard let w0 = ws.map(\.0).min(), let w1 = ws.map(\.1).max() else { return nil }
        let h = lattice.h
        var lo = Vec3(repeating: .infinity), hi = Vec3(repeating: -.infinity)
        for u in [lattice.u0 - h, lattice.u0 + Double(lattice.nu + 1) * h] {
            for v in [lattice.v0 - h, lattice.v0 + Double(lattice.nv + 1) * h] {
                for w in [w0 - 1.5 * sliceSpacing, w1 + 1.5 * sliceSpacing] {
                    let x = dose.index(frame.patient(u, v, w))
                    lo = pointwiseMin(lo, x)
                    hi = pointwiseMax(hi, x)
                }
            }
        }
        return VoxelBox(around: lo, hi, margin: 1, in: dose.grid.size)
    }

    /// The leaves of `expression`, the lattice they are sampled on and the volume estimate:
    /// cells of cbrt(volume / minimumSamples), no larger than the dose grid's in-plane
    /// spacing or `maximumCellMM` (no smaller than 0.02 mm), coarsened when the lattice
    /// would exceed 8 million cells.
    func sizedLattice(_ expression: StructureExpression, label: String) throws -> (leaves: [PlanarShape], lattice: CellLattice, volumeEstimate: Double) {
        guard sliceSpacing.isFinite, sliceSpacing > 0 else { throw SBRTError(.invalidValue, "DVH of \(label): slice spacing \(sliceSpacing) mm") }
        let leaves = try expression.names.map { n -> PlanarShape in
            guard let s = shapes[n] else { throw SBRTError(.invalidRequest, "no structure named \"\(n)\"") }
            guard !s.planes.isEmpty else { throw SBRTError(.invalidRequest, "structure \"\(n)\" has no closed contours") }
            try DVHEngine.checkExtent(s)
            return s
        }
        // Volume estimate → cell size for the sample target.
        func estimate(_ s: PlanarShape) -> Double {
            // |area|: duplicated contours cancel by even–odd, and their signed sum can be
            // negative; the estimate only sets the cell size.
            zip(s.planeAreas, s.planes.indices).reduce(0) { $0 + abs($1.0) * (options.endCap == .none && s.planes.count == 1 ? 0 : sliceSpacing) }
        }
        var volumeEstimate: Double
        if case .union = expression { volumeEstimate = leaves.reduce(0) { $0 + estimate($1) } } else { volumeEstimate = estimate(leaves[0]) }
        volumeEstimate = max(volumeEstimate, 1e-3)
        let doseInPlane = min(dose.grid.spacing.x, dose.grid.spacing.y)
        var h = min(cbrt(volumeEstimate / Double(options.minimumSamples)), options.maximumCellMM, doseInPlane)
        h = max(h, 0.02)
        var lo = SIMD2(Double.infinity, .infinity), hi = SIMD2(-Double.infinity, -.infinity)
        for s in leaves { if let b = s.bounds { lo = pointwiseMin(lo, b.lo); hi = pointwiseMax(hi, b.hi) } }
        // Keep the lattice bounded (a tiny structure combined with a huge one), and the
        // samples too: cells × sub-slices (about span / min(h, …)) at most 2·10⁸. Real
        // structures stay far below; a tiny area over a wide extent (specks far apart,
        // duplicated contours cancelling by even–odd) would otherwise take minutes.
        let wSpan = leaves.map { s in (s.planes.last?.w ?? 0) - (s.planes.first?.w ?? 0) + sliceSpacing }.max() ?? sliceSpacing
        func samples(_ h: Double) -> Double {
            ((hi.x - lo.x) / h + 4) * ((hi.y - lo.y) / h + 4) * (wSpan / min(h, dose.grid.spacing.z / 2, sliceSpacing) + 1)
        }
        while ((hi.x - lo.x) / h + 4) * ((hi.y - lo.y) / h + 4) > 8_000_000 || samples(h) > 2e8 { h *= 1.5 }
        let lattice = CellLattice(u0: lo.x - 2 * h, v0: lo.y - 2 * h, h: h,
                                  nu: Int(((hi.x - lo.x) / h).rounded(.up)) + 4, nv: Int(((hi.y - lo.y) / h).rounded(.up)) + 4)
        return (leaves, lattice, volumeEstimate)
    }

    /// Splits `costs` into `parts` contiguous runs of about equal total cost: the start of
    /// each run, and the end.
    static func balancedRuns(_ costs: [Double], _ parts: Int) -> [Int] {
        let total = costs.reduce(0, +)
        var starts = [0], prefix = 0.0, i = 0
        for c in 1..<max(1, parts) {
            let target = total * Double(c) / Double(parts)
            while i < costs.count && prefix + costs[i] / 2 < target { prefix += costs[i]; i += 1 }
            starts.append(i)
        }
        starts.append(costs.count)
        return starts
    }

    /// Refuses contours whose coordinates are not finite or span more than any patient
    /// (they would make the lattice or the sub-slices unbounded).
    static func checkExtent(_ s: PlanarShape) throws {
        var finite = true
        for p in s.planes {
            finite = finite && p.w.isFinite
            for poly in p.polygons { for q in poly { finite = finite && q.x.isFinite && q.y.isFinite } }
        }
        let wLo = s.planes.first?.w ?? 0, wHi = s.planes.last?.w ?? 0
        guard finite, let b = s.bounds, b.hi.x - b.lo.x < maximumExtentMM, b.hi.y - b.lo.y < maximumExtentMM,
              abs(wHi - wLo) < maximumExtentMM else {
            throw SBRTError(.invalidValue, "structure \"\(s.name)\": contour coordinates are not finite or span more than \(Int(maximumExtentMM / 1000)) m; the structure set is damaged")
        }
    }
}

// MARK: - Stage 2: accumulation

extension DVHEngine {
    /// Accumulates every sub-slice of `plan` into per-chunk, per-map histograms, each
    /// added into chunk 0's as soon as the chunks before it have been (`DVHPartials`).
    ///
    /// Tasks are (chunk, group of maps): a chunk is a fixed run of sub-slices; the maps are
    /// split into groups (`mapGroupStarts`; each group places the samples again) so that
    /// a few chunks still keep every core busy.
    /// Every map's histogram in a chunk receives the chunk's samples in the same order
    /// whatever the grouping, so the partials do not depend on the core count.
    func accumulate(_ plan: SamplingPlan, _ expression: StructureExpression,
                    maps: UnsafeBufferPointer<UnsafePointer<Float>>, uniform: [Double], layouts: [HistogramLayout]) -> DVHPartials {
        let partials = DVHPartials(chunks: plan.chunks, layouts: layouts,
                                   groupStarts: DVHEngine.mapGroupStarts(uniform: uniform, chunks: plan.chunks))
        let groups = partials.groups
        Parallel.forEachChunk(plan.chunks * groups, minimumChunk: 1) { _, tasks in
            for task in tasks {
                let chunk = task / groups, group = task % groups
                let range = partials.maps(ofGroup: group)
                let histograms = partials.take(chunk: chunk, maps: range)
                let totals = accumulateChunk(plan, expression, chunk: chunk, maps: UnsafeBufferPointer(rebasing: maps[range]),
                                             uniform: Array(uniform[range]), into: histograms)
                if group == 0 { partials.sampleTotals[chunk] = totals }
                partials.finished(chunk: chunk, group: group)
            }
        }
        return partials
    }

    /// How the maps are split into groups: the first map of each group, then the end.
    ///
    /// Each group places the chunk's samples (and computes their coverage) again, which
    /// costs about two maps, so a structure of one chunk takes one group per worker, and
    /// one of a few chunks enough groups for two (chunk, group) tasks per worker, handed
    /// out as workers free up (its chunks' costs differ); one of eight chunks (on up to
    /// four workers) takes its maps in one group. The groups are contiguous runs balanced
    /// on the maps that vary: each holds ⌊v/g⌋ or ⌈v/g⌉ of the v varying maps, and a map
    /// of one value (`uniform[m]` not NaN, `DVHKernel.uniformPass`: no loads, a point
    /// deposit per sample) rides with the varying map before it (or in the first group).
    /// The grouping never changes a result (`DVHPartials`).
    static func mapGroupStarts(uniform: [Double], chunks: Int, workers: Int = Parallel.workers) -> [Int] {
        let maps = uniform.count
        let varying = uniform.indices.filter { uniform[$0].isNaN }
        guard !varying.isEmpty else { return [0, maps] }
        let wanted = chunks <= 1 ? workers : (2 * workers + chunks - 1) / chunks
        let groups = max(1, min(varying.count, wanted))
        // Group g begins at its first varying map, the ⌈g·v/groups⌉-th.
        return [0] + (1..<groups).map { varying[($0 * varying.count + groups - 1) / groups] } + [maps]
    }

    /// One chunk's sub-slices through the kernel, for the given maps.
    func accumulateChunk(_ plan: SamplingPlan, _ expression: StructureExpression, chunk: Int,
                         maps: UnsafeBufferPointer<UnsafePointer<Float>>, uniform: [Double],
                         into histograms: UnsafeMutablePointer<DoseHistogram>) -> DVHSampleTotals {
        let n = plan.lattice.count, leafCount = plan.occupancies.count
        let leaves = UnsafeMutablePointer<Float>.allocate(capacity: n * leafCount)
        let slots = UnsafeMutablePointer<Float>.allocate(capacity: n * max(1, plan.slots))
        let present = UnsafeMutablePointer<Bool>.allocate(capacity: leafCount)
        let scratch = DVHKernel.Scratch(rowLength: plan.lattice.nu)
        defer { leaves.deallocate(); slots.deallocate(); present.deallocate(); scratch.deallocate() }
        var totals = DVHSampleTotals()
        let h = plan.lattice.h
        for s in plan.chunkStarts[chunk]..<plan.chunkStarts[chunk + 1] {
            let (w, dz) = plan.subSlices[s]
            for l in 0..<leafCount {
                present[l] = plan.occupancies[l].coverage(at: w, into: UnsafeMutableBufferPointer(start: leaves + l * n, count: n))
            }
            guard let cov = DVHEngine.coverage(of: expression, plan.leafIndex, present, leaves: leaves, slots: slots, 0, n) else { continue }
            let x00 = dose.index(frame.patient(plan.lattice.u0 + h / 2, plan.lattice.v0 + h / 2, w))
            if options.referenceKernel {
                DVHKernel.accumulateReference(plan.geometry, origin: x00, thickness: dz, coverage: cov, maps: maps, into: histograms, totals: &totals)
            } else {
                uniform.withUnsafeBufferPointer { u in
                    DVHKernel.accumulate(plan.geometry, origin: x00, thickness: dz, coverage: cov, maps: maps, uniform: u.baseAddress,
                                         into: histograms, totals: &totals, scratch: scratch)
                }
            }
        }
        return totals
    }

    /// Calls `body` with the voxel pointers of every map (alive for the call).
    static func withVoxelPointers<R>(_ doses: [DoseField], _ body: (UnsafeBufferPointer<UnsafePointer<Float>>) throws -> R) throws -> R {
        let pointers = UnsafeMutableBufferPointer<UnsafePointer<Float>>.allocate(capacity: doses.count)
        defer { pointers.deallocate() }
        func nest(_ k: Int) throws -> R {
            if k == doses.count { return try body(UnsafeBufferPointer(pointers)) }
            return try doses[k].volume.voxels.withUnsafeBufferPointer { buf in
                pointers[k] = buf.baseAddress!
                return try nest(k + 1)
            }
        }
        return try nest(0)
    }
}

// MARK: - Occupancy algebra

extension DVHEngine {
    /// Scratch buffers `coverage(of:…)` needs for `e`: a node writes its own slot and
    /// evaluates its right operand one slot up.
    static func slotsNeeded(_ e: StructureExpression) -> Int {
        switch e {
        case .roi: return 0
        case .union(let a, let b), .intersection(let a, let b), .difference(let a, let b), .symmetricDifference(let a, let b):
            return max(1, slotsNeeded(a), 1 + slotsNeeded(b))
        }
    }

    /// Occupancy algebra on cell fractions: union max(a, b), intersection min(a, b),
    /// difference max(0, a − b), symmetric difference |a − b|. Exact where at most one
    /// boundary crosses a cell and for nested structures; an approximation only in cells
    /// that two boundaries cross (a thin band at the sampling resolution).
    ///
    /// The result lies in a leaf's buffer or in slot `s` of `slots` (`n` values each);
    /// nil when the expression is empty at this sub-slice.
    static func coverage(of e: StructureExpression, _ index: [String: Int], _ present: UnsafePointer<Bool>,
                         leaves: UnsafeMutablePointer<Float>, slots: UnsafeMutablePointer<Float>, _ s: Int, _ n: Int) -> UnsafePointer<Float>? {
        func operands(_ a: StructureExpression, _ b: StructureExpression) -> (UnsafePointer<Float>?, UnsafePointer<Float>?) {
            (coverage(of: a, index, present, leaves: leaves, slots: slots, s, n), coverage(of: b, index, present, leaves: leaves, slots: slots, s + 1, n))
        }
        let out = slots + s * n
        // Every node returns a leaf's buffer or its own slot; a lone right operand in the
        // slot above is moved down, as the caller reuses that slot.
        func alone(_ x: UnsafePointer<Float>) -> UnsafePointer<Float> {
            guard x == UnsafePointer(out + n) else { return x }
            out.update(from: x, count: n)
            return UnsafePointer(out)
        }
        switch e {
        case .roi(let name):
            let l = index[name]!
            return present[l] ? UnsafePointer(leaves + l * n) : nil
        case .union(let a, let b):
            let (x, y) = operands(a, b)
            guard let x else { return y.map(alone) }
            guard let y else { return alone(x) }
            for i in 0..<n { out[i] = min(1, max(x[i], y[i])) }
        case .intersection(let a, let b):
            let (x, y) = operands(a, b)
            guard let x, let y else { return nil }
            for i in 0..<n { out[i] = min(x[i], y[i]) }
        case .difference(let a, let b):
            let (x, y) = operands(a, b)
            guard let x else { return nil }
            guard let y else { return alone(x) }
            for i in 0..<n { out[i] = max(0, x[i] - y[i]) }
        case .symmetricDifference(let a, let b):
            let (x, y) = operands(a, b)
            guard let x else { return y.map(alone) }
            guard let y else { return alone(x) }
            for i in 0..<n { out[i] = max(x[i], y[i]) - min(x[i], y[i]) }
        }
        return UnsafePointer(out)
    }
}

// MARK: - Stage 3: reduction

/// The per-chunk, per-map histograms and per-chunk totals of one accumulation.
///
/// Chunks are summed in chunk order, so the rounding, and the result, do not depend on
/// the thread count. The sum is streamed: a chunk's histograms of a group of maps are
/// taken from `HistogramStore` when its task starts, and added into chunk 0's (slot by
/// slot where they hold something) and given back as soon as every earlier chunk of that
/// group has been — the same additions in the same order as summing at the end, with
/// a few chunks' histograms alive instead of all of them (a structure with many samples
/// in a composite report's dozen maps took eight chunks × a dozen histograms of 1–3 MB,
/// faulted in fresh, where now the pages of the few given back are written again).
final class DVHPartials: @unchecked Sendable {
    let chunks: Int, maps: Int, groups: Int
    let layouts: [HistogramLayout]
    /// The first map of each group, then the end.
    let groupStarts: [Int]
    /// `histograms[chunk * maps + m]`, initialised by `take` and, for chunks after the
    /// first, deinitialised when added into chunk 0's.
    let histograms: UnsafeMutablePointer<DoseHistogram>
    let sampleTotals: UnsafeMutablePointer<DVHSampleTotals>
    /// Per group (under `locks[g]`): which chunks are finished (`finishedChunks[g * chunks
    /// + c]`) and the next chunk to add. Whether each histogram is initialised (`live`,
    /// written by its own task or under its group's lock). Raw storage: threads write
    /// disjoint elements.
    private let finishedChunks: UnsafeMutablePointer<Bool>
    private let nextChunk: UnsafeMutablePointer<Int>
    private let live: UnsafeMutablePointer<Bool>
    private let locks: [NSLock]

    /// `groupStarts`: the first map of each group of maps, then the end (`DVHEngine.mapGroupStarts`).
    init(chunks: Int, layouts: [HistogramLayout], groupStarts: [Int]) {
        precondition(groupStarts.count >= 2 && groupStarts.first == 0 && groupStarts.last == layouts.count
                     && (layouts.isEmpty || zip(groupStarts, groupStarts.dropFirst()).allSatisfy { $0 < $1 }),
                     "map groups must be non-empty runs covering every map")
        self.chunks = chunks
        self.layouts = layouts
        self.groupStarts = groupStarts
        self.groups = groupStarts.count - 1
        maps = layouts.count
        histograms = .allocate(capacity: chunks * layouts.count)
        sampleTotals = .allocate(capacity: chunks)
        sampleTotals.initialize(repeating: DVHSampleTotals(), count: chunks)
        finishedChunks = .allocate(capacity: self.groups * chunks)
        finishedChunks.initialize(repeating: false, count: self.groups * chunks)
        nextChunk = .allocate(capacity: self.groups)
        nextChunk.initialize(repeating: 1, count: self.groups)
        live = .allocate(capacity: chunks * layouts.count)
        live.initialize(repeating: false, count: chunks * layouts.count)
        locks = (0..<self.groups).map { _ in NSLock() }
    }

    deinit {
        for k in 0..<(chunks * maps) where live[k] {
            histograms[k].deallocate()
            (histograms + k).deinitialize(count: 1)
        }
        histograms.deallocate()
        sampleTotals.deallocate()
        finishedChunks.deallocate()
        nextChunk.deallocate()
        live.deallocate()
    }

    /// The maps of group `g`: a contiguous range.
    func maps(ofGroup g: Int) -> Range<Int> { groupStarts[g]..<groupStarts[g + 1] }

    /// Fresh histograms for chunk `c` and the maps `range`; a pointer to the first.
    func take(chunk c: Int, maps range: Range<Int>) -> UnsafeMutablePointer<DoseHistogram> {
        for m in range {
            (histograms + c * maps + m).initialize(to: DoseHistogram(layouts[m]))
            live[c * maps + m] = true   // each slot is written by its own task only
        }
        return histograms + c * maps + range.lowerBound
    }

    /// Records that chunk `c` of group `g` is accumulated, and adds into chunk 0's every
    /// chunk of the group that is finished and follows only added ones.
    func finished(chunk c: Int, group g: Int) {
        locks[g].lock()
        defer { locks[g].unlock() }
        let done = finishedChunks + g * chunks
        done[c] = true
        guard done[0] else { return }
        while nextChunk[g] < chunks, done[nextChunk[g]] {
            for m in maps(ofGroup: g) { add(chunk: nextChunk[g], map: m) }
            nextChunk[g] += 1
        }
    }

    /// Adds chunk `c`'s histogram of map `m` into chunk 0's and gives its storage back.
    private func add(chunk c: Int, map m: Int) {
        var acc = histograms[m]
        let p = histograms[c * maps + m]
        acc.add(p)
        histograms[m] = acc
        p.deallocate()
        (histograms + c * maps + m).deinitialize(count: 1)
        live[c * maps + m] = false
    }

    /// Samples, weight and outside weight over all chunks.
    func totals() -> DVHSampleTotals {
        var t = DVHSampleTotals()
        for c in 0..<chunks {
            t.samples += sampleTotals[c].samples
            t.weight += sampleTotals[c].weight
            t.outside += sampleTotals[c].outside
        }
        return t
    }

    /// Map `m`'s histogram over all chunks (chunk 0's storage, every later chunk added
    /// into it by `finished`).
    func reduce(map m: Int) -> DoseHistogram {
        precondition(live[m] && (chunks < 2 || !live[(chunks - 1) * maps + m]), "DVH chunks not all added")
        return histograms[m]
    }
}

// MARK: - Stage 4: vertex extremes

extension DVHEngine {
    /// The dose at every contour vertex of a single ROI, on its plane and (prism and none
    /// end caps) at its slab faces, per map, for Dmin and Dmax (vertices bound the extremes a coarse lattice would miss; Nelms et al. 2015); ±∞
    /// for an expression. `count` is the number of vertex positions inside the dose grid.
    func vertexExtremes(_ plan: SamplingPlan, _ expression: StructureExpression,
                        maps: UnsafeBufferPointer<UnsafePointer<Float>>) -> (minGy: [Double], maxGy: [Double], count: Int) {
        let m = maps.count
        guard case .roi = expression, let occ = plan.occupancies.first else {
            return ([Double](repeating: .infinity, count: m), [Double](repeating: -.infinity, count: m), 0)
        }
        let planes = occ.shape.planes
        let parts = Parallel.chunkCount(planes.count, minimumChunk: 16)
        // Per part: m minima, m maxima; min, max and counts do not depend on the order.
        var lows = [Double](repeating: .infinity, count: parts * m), highs = [Double](repeating: -.infinity, count: parts * m)
        var counts = [Int](repeating: 0, count: parts)
        let faces = options.endCap != .interpolated
        let size = dose.grid.size
        lows.withUnsafeMutableBufferPointer { lo in highs.withUnsafeMutableBufferPointer { hi in counts.withUnsafeMutableBufferPointer { cnt in
            let (lo, hi, cnt) = (lo, hi, cnt)
            Parallel.forEachChunk(planes.count, minimumChunk: 16) { part, range in
                for p in range {
                    let ws = (planes[p].w, occ.slabs[p].lo, occ.slabs[p].hi)
                    for poly in planes[p].polygons {
                        for q in poly {
                            for f in 0..<(faces ? 3 : 1) {
                                let w = f == 0 ? ws.0 : (f == 1 ? ws.1 : ws.2)
                                let x = dose.index(frame.patient(q.x, q.y, w))
                                guard let cell = DoseField.cell(size, x) else { continue }
                                cnt[part] += 1
                                // DoseField.trilinear's value: the cell found once, each map interpolated.
                                let base = cell.k0 * size.x * size.y + cell.j0 * size.x + cell.i0
                                let (dx, dy, dz) = (cell.i1 - cell.i0, (cell.j1 - cell.j0) * size.x, (cell.k1 - cell.k0) * size.x * size.y)
                                for k in 0..<m {
                                    let d = DoseField.interpolate(maps[k], base, dx: dx, dy: dy, dz: dz, cell.f.x, cell.f.y, cell.f.z).value
                                    lo[part * m + k] = min(lo[part * m + k], d)
                                    hi[part * m + k] = max(hi[part * m + k], d)
                                }
                            }
                        }
                    }
                }
            }
        } } }
        var minGy = [Double](repeating: .infinity, count: m), maxGy = [Double](repeating: -.infinity, count: m)
        for part in 0..<parts {
            for k in 0..<m { minGy[k] = min(minGy[k], lows[part * m + k]); maxGy[k] = max(maxGy[k], highs[part * m + k]) }
        }
        return (minGy, maxGy, counts.reduce(0, +))
    }
}

// MARK: - Stage 5: the cumulative curve

extension DVHEngine {
    /// The cumulative DVH (cc) at every bin edge j: C(j) = weight − mass below edge j, where
    /// the mass below the edges is the double prefix sum of the density steps (`ramps`)
    /// plus the prefix sum of the point masses. Computed up to just past the highest slot
    /// written (beyond it the curve is 0 up to rounding); trailing zeros above the maximum
    /// are trimmed, keeping one zero edge.
    static func cumulativeCC(_ hist: DoseHistogram, weight: Double) -> [Double] {
        let last = max(0, min(hist.layout.bins, hist.highestSlot + 1))
        var cc = [Double](unsafeUninitializedCapacity: last + 1) { out, count in
            var slope = 0.0, ramp = 0.0, step = 0.0
            for j in 0...last {
                // ramp_j = Σ_{m<j} e_m, e_m = Σ_{l≤m} ramps[l]
                step += hist.points[j]
                out[j] = max(0, weight - (ramp + step)) / mm3PerCC
                slope += hist.ramps[j]
                ramp += slope
            }
            count = last + 1
        }
        if let lastPositive = cc.lastIndex(where: { $0 > 0 }), lastPositive + 2 < cc.count { cc.removeSubrange((lastPositive + 2)...) }
        return cc
    }
}
