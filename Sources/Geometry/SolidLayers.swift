import Base
import Foundation
import VoxelKit

/// A solid as a stack of slabs: polygons P (in-plane, mm) extruded over [lo, hi) along w.
public struct SolidLayer: Sendable {
    public var lo: Double
    public var hi: Double
    public var polygons: [[SIMD2<Double>]]

    public init(lo: Double, hi: Double, polygons: [[SIMD2<Double>]]) {
        self.lo = lo
        self.hi = hi
        self.polygons = polygons
    }

    /// Distance from w to [lo, hi] along w, signed: negative below, positive above, 0 within.
    @inlinable
    public func offset(_ w: Double) -> Double { w < lo ? w - lo : (w > hi ? w - hi : 0) }
}

extension PlanarShape {
    /// The prism stack of the shape (the slabs of `ShapeOccupancy` in prism mode): each
    /// plane extruded half way to its contiguous neighbours (gap ≤ 1.5 slices) and half a
    /// slice beyond the ends of each contiguous run.
    public func prismLayers(sliceSpacing: Double) -> [SolidLayer] {
        var out: [SolidLayer] = []
        for p in planes.indices {
            let hasPrev = p > 0 && planes[p].w - planes[p - 1].w <= 1.5 * sliceSpacing
            let hasNext = p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing
            let below = hasPrev ? (planes[p].w - planes[p - 1].w) / 2 : sliceSpacing / 2
            let above = hasNext ? (planes[p + 1].w - planes[p].w) / 2 : sliceSpacing / 2
            out.append(SolidLayer(lo: planes[p].w - below, hi: planes[p].w + above, polygons: planes[p].polygons))
        }
        return out
    }

    /// Which solid a stack of thin slabs stands for, when the cross-section changes within a slab.
    public enum SlabBound: Sendable {
        /// Each slab holds the cross-section at its centre.
        case centre
        /// Each slab holds the intersection of the cross-sections at its two ends: the
        /// stack lies inside the solid and touches its surface at every slab boundary, so
        /// distances to it from outside (growth) are out by second-order terms only.
        case inner
        /// Each slab holds the union of its end cross-sections: the stack contains the
        /// solid and touches it at every slab boundary (for distances from inside: contraction).
        case outer
    }

    /// The solid of `EndCap.interpolated` (shape-based interpolation of signed distances
    /// between contiguous planes, rounded ends), as thin slabs of at most `layerMM` (half
    /// that in the ends), each traced on `lattice`; `bound` says which cross-section a slab holds.
    public func interpolatedLayers(sliceSpacing: Double, lattice: CellLattice, layerMM: Double, toleranceMM: Double, bound: SlabBound = .centre) -> [SolidLayer] {
        let occ = ShapeOccupancy(shape: self, lattice: lattice, endCap: .interpolated, sliceSpacing: sliceSpacing)
        return InterpolatedSlabs(occ, layerMM: layerMM, toleranceMM: toleranceMM).layers(bound)
    }
}

/// The thin slabs of an interpolated solid (`EndCap.interpolated`) on the lattice of its
/// occupancy: every breakpoint interval cut into slabs of at most `layerMM` (a quarter of
/// that in the rounded ends, which change fast near their rim), each traced.
public final class InterpolatedSlabs: @unchecked Sendable {
    public let occupancy: ShapeOccupancy
    public let toleranceMM: Double
    /// The slabs' extents in w, in order, and the breakpoint interval each belongs to.
    public let bounds: [(lo: Double, hi: Double, interval: Int)]
    /// Per slab, its thickness as cut (lo + step = hi), and the end of its interval.
    private let step: [Double], intervalEnd: [Double]
    private var centreCache: [Int: [[SIMD2<Double>]]] = [:]
    private let lock = NSLock()

    public init(_ occupancy: ShapeOccupancy, layerMM: Double, toleranceMM: Double) {
        self.occupancy = occupancy
        self.toleranceMM = toleranceMM
        let breaks = occupancy.breakpoints, spacing = occupancy.sliceSpacing
        var bounds: [(Double, Double, Int)] = [], step: [Double] = [], ends: [Double] = []
        for n in 0..<max(0, breaks.count - 1) {
            let a = breaks[n], b = breaks[n + 1]
            // The rounded ends change fast near their rim: slabs a quarter as thick there.
            let isCap = b - a <= 0.51 * spacing
            let m = max(1, Checked.int(((b - a) / (isCap ? layerMM / 4 : layerMM)).rounded(.up)) ?? 1)
            let dz = (b - a) / Double(m)
            for k in 0..<m {
                let lo = a + Double(k) * dz
                bounds.append((lo, lo + dz, n))
                step.append(dz)
                ends.append(b)
            }
        }
        self.bounds = bounds
        self.step = step
        intervalEnd = ends
    }

    /// The coverage of the cross-section at w (nil where the solid is empty).
    private func section(_ w: Double) -> [Float]? {
        let n = occupancy.lattice.count
        var present = false
        // `coverage` writes every cell when it returns true.
        let buf = [Float](unsafeUninitializedCapacity: n) { b, count in
            present = occupancy.coverage(at: w, into: b)
            if !present { b.initialize(repeating: 0) }
            count = n
        }
        return present ? buf : nil
    }

    /// The polygons of a coverage field's 0.5 level.
    private func trace(_ cov: [Float]) -> [[SIMD2<Double>]] {
        let level = cov.map { 0.5 - $0 }
        return level.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: occupancy.lattice, toleranceMM: toleranceMM) }
    }

    /// Index of the slab holding w (lo ≤ w < hi), if any.
    public func index(containing w: Double) -> Int? {
        var lo = 0, hi = bounds.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if bounds[mid].hi <= w { lo = mid + 1 } else { hi = mid }
        }
        return lo < bounds.count && bounds[lo].lo <= w && w < bounds[lo].hi ? lo : nil
    }

    /// Slab k's cross-section at its centre (`SlabBound.centre`), traced once and kept.
    public func centrePolygons(_ k: Int) -> [[SIMD2<Double>]] {
        lock.lock()
        if let p = centreCache[k] { lock.unlock(); return p }
        lock.unlock()
        let polygons = section(bounds[k].lo + step[k] / 2).map(trace) ?? []
        lock.lock()
        centreCache[k] = polygons
        lock.unlock()
        return polygons
    }

    /// Every slab of the kind `bound`, empty ones left out.
    public func layers(_ bound: PlanarShape.SlabBound) -> [SolidLayer] {
        var out = [SolidLayer?](repeating: nil, count: bounds.count)
        switch bound {
        case .centre:
            out.withUnsafeMutableBufferPointer { o in
                let ob = o
                Parallel.forEachChunk(bounds.count) { _, range in
                    for k in range {
                        let polys = self.centrePolygons(k)
                        if !polys.isEmpty { ob[k] = SolidLayer(lo: self.bounds[k].lo, hi: self.bounds[k].hi, polygons: polys) }
                    }
                }
            }
        case .inner, .outer:
            out.withUnsafeMutableBufferPointer { o in
                let ob = o
                Parallel.forEachChunk(bounds.count) { _, range in self.boundedLayers(range, bound, into: ob) }
            }
        }
        return out.compactMap { $0 }
    }

    /// The `.inner` or `.outer` slabs of `range` (contiguous), into `out`: each slab's
    /// level is 0.5 − min (or max) of the coverage at its two faces, taken just inside its
    /// breakpoint interval at the interval's ends (1e-6 of a slab), and traced. The faces are
    /// computed in turn into two buffers: a slab's upper face is the next slab's lower face
    /// within an interval (the same w), so each face is computed once per chunk, and no
    /// section outlives the slab after it (no stored sections, no fresh pages per face).
    private func boundedLayers(_ range: Range<Int>, _ bound: PlanarShape.SlabBound, into out: UnsafeMutableBufferPointer<SolidLayer?>) {
        let cells = occupancy.lattice.count
        var lower = UnsafeMutableBufferPointer<Float>.allocate(capacity: cells)
        var upper = UnsafeMutableBufferPointer<Float>.allocate(capacity: cells)
        let level = UnsafeMutableBufferPointer<Float>.allocate(capacity: cells)
        defer { lower.deallocate(); upper.deallocate(); level.deallocate() }
        // Coverage 0 where a face is empty: the intersection is empty, the union the other face.
        var lowerPresent = false, carried = false
        for k in range {
            let b = bounds[k], eps = 1e-6 * step[k]
            let first = k == 0 || bounds[k - 1].interval != b.interval
            let last = k + 1 == bounds.count || bounds[k + 1].interval != b.interval
            if !carried { lowerPresent = section(first ? b.lo + eps : b.lo, into: lower) }
            let upperPresent = section(last ? intervalEnd[k] - eps : bounds[k + 1].lo, into: upper)
            if lowerPresent || upperPresent {
                if bound == .inner {
                    for i in 0..<cells { level[i] = 0.5 - min(lower[i], upper[i]) }
                } else {
                    for i in 0..<cells { level[i] = 0.5 - max(lower[i], upper[i]) }
                }
                let polys = ContourTracer.trace(UnsafeBufferPointer(level), lattice: occupancy.lattice, toleranceMM: toleranceMM)
                if !polys.isEmpty { out[k] = SolidLayer(lo: b.lo, hi: b.hi, polygons: polys) }
            }
            // The upper face is the next slab's lower face unless the interval ends here.
            swap(&lower, &upper)
            lowerPresent = upperPresent
            carried = !last
        }
    }

    /// The coverage at w into `out` (0 everywhere where the solid is empty); whether the
    /// solid is present there.
    private func section(_ w: Double, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        // `coverage` writes every cell when it returns true.
        if occupancy.coverage(at: w, into: out) { return true }
        out.initialize(repeating: 0)
        return false
    }
}
