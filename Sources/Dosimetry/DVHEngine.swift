import Base
import Dispatch
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
    public init() {}
}

/// Computes DVHs of structures (or expressions on them) in a dose field.
///
/// One occupancy model serves both the volume and the dose tally (domain.md §8 rule 1):
/// each sample is a box of the structure's cell lattice × a sub-slice along the plane
/// normal, weighted by its exact polygon coverage; its dose is the trilinear dose at its
/// centre, spread uniformly over ± the dose change across the box (exact for a linear
/// field along one axis), so that the DVH does not staircase at the sample spacing. Dose
/// is also evaluated at every contour vertex (on its plane and at its slab faces) for
/// Dmin and Dmax. Parts outside the dose grid count at 0 Gy.
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

    /// Number of independent work chunks: fixed, so results do not depend on core count.
    static let chunks = 8

    public func dvh(_ expression: StructureExpression, name: String? = nil) throws -> DVH {
        let leaves = try expression.names.map { n -> PlanarShape in
            guard let s = shapes[n] else { throw SBRTError(.invalidRequest, "no structure named \"\(n)\"") }
            guard !s.planes.isEmpty else { throw SBRTError(.invalidRequest, "structure \"\(n)\" has no closed contours") }
            return s
        }
        // Volume estimate → cell size for the sample target.
        func estimate(_ s: PlanarShape) -> Double {
            zip(s.planeAreas, s.planes.indices).reduce(0) { $0 + $1.0 * (options.endCap == .none && s.planes.count == 1 ? 0 : sliceSpacing) }
        }
        var volumeEstimate: Double
        if case .union = expression { volumeEstimate = leaves.reduce(0) { $0 + estimate($1) } } else { volumeEstimate = estimate(leaves[0]) }
        volumeEstimate = max(volumeEstimate, 1e-3)
        let doseInPlane = min(dose.grid.spacing.x, dose.grid.spacing.y)
        var h = min(cbrt(volumeEstimate / Double(options.minimumSamples)), options.maximumCellMM, doseInPlane)
        h = max(h, 0.02)
        var lo = SIMD2(Double.infinity, .infinity), hi = SIMD2(-Double.infinity, -.infinity)
        for s in leaves { if let b = s.bounds { lo = pointwiseMin(lo, b.lo); hi = pointwiseMax(hi, b.hi) } }
        // Keep the lattice bounded (a tiny structure combined with a huge one).
        while ((hi.x - lo.x) / h + 4) * ((hi.y - lo.y) / h + 4) > 8_000_000 { h *= 1.5 }
        let lattice = CellLattice(u0: lo.x - 2 * h, v0: lo.y - 2 * h, h: h,
                                  nu: Int(((hi.x - lo.x) / h).rounded(.up)) + 4, nv: Int(((hi.y - lo.y) / h).rounded(.up)) + 4)
        let occupancies = leaves.map { ShapeOccupancy(shape: $0, lattice: lattice, endCap: options.endCap, sliceSpacing: sliceSpacing) }
        let leafIndex = Dictionary(uniqueKeysWithValues: leaves.enumerated().map { ($1.name, $0) })

        // Sub-slices: every breakpoint of every leaf, intervals subdivided to ≤ dzMax.
        var breaks = occupancies.flatMap(\.breakpoints).sorted()
        breaks = breaks.reduce(into: [Double]()) { acc, x in if acc.last.map({ x - $0 > 1e-9 }) ?? true { acc.append(x) } }
        let subSlices = ShapeOccupancy.subSlices(breaks, maximumStepMM: min(h, dose.grid.spacing.z / 2, sliceSpacing))

        let top = max(dose.maxGy, 1e-6) * 1.0001
        let binWidth = max(0.0005, top / 200_000)
        let bins = Int((top / binWidth).rounded(.up)) + 2

        // Index-space steps of the lattice.
        let du = dose.indexDelta(frame.u * h), dv = dose.indexDelta(frame.v * h)
        let uPerMM = dose.indexDelta(frame.u), vPerMM = dose.indexDelta(frame.v), nPerMM = dose.indexDelta(frame.n)
        let cellVolume = h * h

        struct Partial {
            var ramps: [Double]
            var points: [Double]
            var weight = 0.0, weightedDose = 0.0, outside = 0.0
            var minDose = Double.infinity, maxDose = -Double.infinity
            var boundaryMax = -Double.infinity
            var samples = 0
        }
        let chunkCount = min(DVHEngine.chunks, max(1, subSlices.count))
        var partials = [Partial?](repeating: nil, count: chunkCount)
        let size = dose.grid.size
        partials.withUnsafeMutableBufferPointer { outBuf in
            let out = outBuf
            dose.volume.voxels.withUnsafeBufferPointer { doseBuf in
                let dp = doseBuf.baseAddress!
                DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                    var part = Partial(ramps: [], points: [])
                    // The histogram arrays are written through pointers in the sample loop.
                    let rampPtr = UnsafeMutablePointer<Double>.allocate(capacity: bins + 2)
                    let pointPtr = UnsafeMutablePointer<Double>.allocate(capacity: bins + 2)
                    rampPtr.initialize(repeating: 0, count: bins + 2)
                    pointPtr.initialize(repeating: 0, count: bins + 2)
                    defer { rampPtr.deallocate(); pointPtr.deallocate() }
                    let leafBuffers = UnsafeMutableBufferPointer<Float>.allocate(capacity: lattice.count * occupancies.count)
                    let scratch = UnsafeMutableBufferPointer<Float>.allocate(capacity: lattice.count * 2)
                    defer { leafBuffers.deallocate(); scratch.deallocate() }
                    let lo = subSlices.count * chunk / chunkCount, hiIdx = subSlices.count * (chunk + 1) / chunkCount
                    var present = [Bool](repeating: false, count: occupancies.count)
                    for s in lo..<hiIdx {
                        let (w, dz) = subSlices[s]
                        for (l, occ) in occupancies.enumerated() {
                            present[l] = occ.coverage(at: w, into: UnsafeMutableBufferPointer(rebasing: leafBuffers[(l * lattice.count)..<((l + 1) * lattice.count)]))
                        }
                        guard let cov = DVHEngine.combine(expression, leafIndex, present, leafBuffers, lattice.count, scratch) else { continue }
                        let origin = frame.patient(lattice.u0 + h / 2, lattice.v0 + h / 2, w)
                        let x00 = dose.index(origin)
                        let volumeFactor = cellVolume * dz
                        for j in 0..<lattice.nv {
                            let rowStart = x00 + dv * Double(j)
                            let rowBase = j * lattice.nu
                            for i in 0..<lattice.nu {
                                let c = Double(cov[rowBase + i])
                                if c <= 0 { continue }
                                let wgt = c * volumeFactor
                                part.samples += 1
                                part.weight += wgt
                                // A partly covered cell is sampled at the centroid of its covered part:
                                // for a straight boundary with inward normal m (from the coverage
                                // gradient), (1 − c)·h/2 from the centre along m; its box is c·h thick
                                // along m and h along the boundary.
                                var x = rowStart + du * Double(i)
                                var mu = 0.0, mv = 0.0
                                if c < 1 {
                                    let left = i > 0 ? Double(cov[rowBase + i - 1]) : 0, right = i + 1 < lattice.nu ? Double(cov[rowBase + i + 1]) : 0
                                    let down = j > 0 ? Double(cov[rowBase - lattice.nu + i]) : 0, up = j + 1 < lattice.nv ? Double(cov[rowBase + lattice.nu + i]) : 0
                                    let gu = right - left, gv = up - down
                                    let norm = (gu * gu + gv * gv).squareRoot()
                                    if norm > 1e-9 {
                                        mu = gu / norm; mv = gv / norm
                                        let shift = (1 - c) * h / 2
                                        x += uPerMM * (mu * shift) + vPerMM * (mv * shift)
                                    }
                                }
                                guard let (d, g) = DoseField.trilinear(dp, size, x) else {
                                    part.outside += wgt
                                    pointPtr[1] += wgt
                                    part.minDose = min(part.minDose, 0)
                                    part.maxDose = max(part.maxDose, 0)
                                    continue
                                }
                                part.weightedDose += wgt * d
                                if DVHEngine.inOuterLayer(x, size) { part.boundaryMax = max(part.boundaryMax, d) }
                                // Dose change across the box, per axis (Gy), combined to match the variance.
                                let gu = dot(g, uPerMM), gv = dot(g, vPerMM)
                                let an = dot(g, nPerMM) * dz / 2
                                var half: Double
                                if c < 1 && (mu != 0 || mv != 0) {
                                    let across = (gu * mu + gv * mv) * c * h / 2, along = (-gu * mv + gv * mu) * h / 2
                                    half = (across * across + along * along + an * an).squareRoot()
                                } else {
                                    let side = c < 1 ? c.squareRoot() * h : h
                                    let au = gu * side / 2, av = gv * side / 2
                                    half = (au * au + av * av + an * an).squareRoot()
                                }
                                DVHEngine.addUniform(rampPtr, pointPtr, d - half, d + half, wgt, binWidth, bins, top)
                                if c >= 1 {
                                    part.minDose = min(part.minDose, d - half)
                                    part.maxDose = max(part.maxDose, d + half)
                                } else if c >= 0.5 {
                                    part.minDose = min(part.minDose, d)
                                    part.maxDose = max(part.maxDose, d)
                                }
                            }
                        }
                    }
                    part.ramps = Array(UnsafeBufferPointer(start: rampPtr, count: bins + 2))
                    part.points = Array(UnsafeBufferPointer(start: pointPtr, count: bins + 2))
                    out[chunk] = part
                }
            }
        }
        // Reduce in chunk order (deterministic).
        var ramps = [Double](repeating: 0, count: bins + 2), points = [Double](repeating: 0, count: bins + 2)
        var weight = 0.0, weighted = 0.0, outside = 0.0, minD = Double.infinity, maxD = -Double.infinity, samples = 0
        var boundaryMax = -Double.infinity
        for p in partials {
            guard let p else { continue }
            for n in 0..<(bins + 2) { ramps[n] += p.ramps[n]; points[n] += p.points[n] }
            weight += p.weight; weighted += p.weightedDose; outside += p.outside
            minD = min(minD, p.minDose); maxD = max(maxD, p.maxDose); samples += p.samples
            boundaryMax = max(boundaryMax, p.boundaryMax)
        }
        // Spreading can reach past the field's extremes at a kink; no dose exceeds them.
        maxD = min(maxD, dose.maxGy)
        guard weight > 0 else {
            throw SBRTError(.invalidRequest, "structure \"\(name ?? expression.description)\" has no volume (\(options.endCap.rawValue) end caps)")
        }
        // Dose at contour vertices, for Dmin and Dmax of a single structure.
        var vertexCount = 0
        if case .roi = expression, let occ = occupancies.first {
            for (p, plane) in occ.shape.planes.enumerated() {
                var ws = [plane.w]
                if options.endCap != .interpolated { ws += [occ.slabs[p].lo, occ.slabs[p].hi] }
                for poly in plane.polygons {
                    for q in poly {
                        for w in ws {
                            if let d = dose.value(at: frame.patient(q.x, q.y, w)) {
                                minD = min(minD, d); maxD = max(maxD, d); vertexCount += 1
                            }
                        }
                    }
                }
            }
        }
        // Cumulative: C(edge j) = mass below edge j.
        var cumulative = [Double](repeating: 0, count: bins + 1)
        var slope = 0.0, ramp = 0.0, step = 0.0
        for j in 0...bins {
            // r_j = Σ_{m<j} e_m, e_m = Σ_{l≤m} ramps[l]
            step += points[j]
            cumulative[j] = weight - (ramp + step)
            slope += ramps[j]
            ramp += slope
        }
        let mm3PerCC = 1000.0
        var cc = cumulative.map { max(0, $0) / mm3PerCC }
        // Trim trailing zeros above the maximum (keep one zero edge).
        if let last = cc.lastIndex(where: { $0 > 0 }), last + 2 < cc.count { cc.removeSubrange((last + 2)...) }
        return DVH(name: name ?? expression.description, volumeCC: weight / mm3PerCC,
                   minGy: max(0, minD), meanGy: weighted / weight, maxGy: max(0, maxD),
                   outsideFraction: outside / weight, binWidthGy: binWidth, cumulativeCC: cc,
                   sampling: DVH.Sampling(endCap: options.endCap.rawValue, cellMM: h,
                                          maxSubSliceMM: subSlices.map(\.dz).max() ?? 0,
                                          samples: samples, vertexSamples: vertexCount),
                   boundaryMaxGy: boundaryMax.isFinite ? boundaryMax : nil)
    }

    /// Whether continuous index `x` lies in the grid's outermost voxel layer: within one
    /// voxel of a face on some axis (index < ½ or > n − 3⁄2), inside the grid.
    @inline(__always)
    static func inOuterLayer(_ x: Vec3, _ size: SIMD3<Int>) -> Bool {
        x.x < 0.5 || x.y < 0.5 || x.z < 0.5 || x.x > Double(size.x) - 1.5 || x.y > Double(size.y) - 1.5 || x.z > Double(size.z) - 1.5
    }

    /// Adds mass `w` spread uniformly over [a, b] (a point mass when b − a is tiny).
    @inline(__always)
    static func addUniform(_ ramps: UnsafeMutablePointer<Double>, _ points: UnsafeMutablePointer<Double>, _ a0: Double, _ b0: Double, _ w: Double, _ delta: Double, _ bins: Int, _ top: Double) {
        let a = min(max(a0, 0), top), b = min(max(b0, 0), top)
        if b - a < delta * 1e-3 {
            let k = Int(a / delta)
            points[min(k + 1, bins + 1)] += w
            return
        }
        let s = w / (b - a)
        let xa = a / delta, xb = b / delta
        let ka = Int(xa), kb = Int(xb)
        let fa = xa - Double(ka), fb = xb - Double(kb)
        ramps[ka] += s * delta * (1 - fa)
        ramps[ka + 1] += s * delta * fa
        ramps[kb] -= s * delta * (1 - fb)
        ramps[kb + 1] -= s * delta * fb
    }

    /// Combines leaf coverages per the expression; nil when the result is empty.
    static func combine(_ e: StructureExpression, _ index: [String: Int], _ present: [Bool],
                        _ leaves: UnsafeMutableBufferPointer<Float>, _ n: Int, _ scratch: UnsafeMutableBufferPointer<Float>) -> UnsafeBufferPointer<Float>? {
        switch e {
        case .roi(let name):
            let l = index[name]!
            return present[l] ? UnsafeBufferPointer(rebasing: leaves[(l * n)..<((l + 1) * n)]) : nil
        default:
            // General case: evaluate into owned arrays, copy into scratch.
            guard let values = evaluate(e, index, present, leaves, n) else { return nil }
            let dst = UnsafeMutableBufferPointer(rebasing: scratch[0..<n])
            _ = dst.initialize(from: values)
            return UnsafeBufferPointer(dst)
        }
    }

    /// Occupancy algebra on cell fractions: union max(a, b), intersection min(a, b),
    /// difference max(0, a − b), symmetric difference |a − b|. Exact where at most one
    /// boundary crosses a cell and for nested structures; an approximation only in cells
    /// that two boundaries cross (a thin band at the sampling resolution).
    static func evaluate(_ e: StructureExpression, _ index: [String: Int], _ present: [Bool],
                         _ leaves: UnsafeMutableBufferPointer<Float>, _ n: Int) -> [Float]? {
        switch e {
        case .roi(let name):
            let l = index[name]!
            return present[l] ? Array(leaves[(l * n)..<((l + 1) * n)]) : nil
        case .union(let a, let b):
            let x = evaluate(a, index, present, leaves, n), y = evaluate(b, index, present, leaves, n)
            guard let x else { return y }
            guard let y else { return x }
            return zip(x, y).map { min(1, max($0, $1)) }
        case .intersection(let a, let b):
            guard let x = evaluate(a, index, present, leaves, n), let y = evaluate(b, index, present, leaves, n) else { return nil }
            return zip(x, y).map { min($0, $1) }
        case .difference(let a, let b):
            guard let x = evaluate(a, index, present, leaves, n) else { return nil }
            guard let y = evaluate(b, index, present, leaves, n) else { return x }
            return zip(x, y).map { max(0, $0 - $1) }
        case .symmetricDifference(let a, let b):
            let x = evaluate(a, index, present, leaves, n), y = evaluate(b, index, present, leaves, n)
            guard let x else { return y }
            guard let y else { return x }
            return zip(x, y).map { max($0, $1) - min($0, $1) }
        }
    }
}
