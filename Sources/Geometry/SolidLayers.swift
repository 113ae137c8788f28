import Base
import Dispatch

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
        let breaks = occ.breakpoints
        func section(_ w: Double) -> [Float]? {
            var buf = [Float](repeating: 0, count: lattice.count)
            let present = buf.withUnsafeMutableBufferPointer { occ.coverage(at: w, into: $0) }
            return present ? buf : nil
        }
        func trace(_ cov: [Float], _ lo: Double, _ hi: Double) -> SolidLayer? {
            let level = cov.map { 0.5 - $0 }
            let polys = level.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: lattice, toleranceMM: toleranceMM) }
            return polys.isEmpty ? nil : SolidLayer(lo: lo, hi: hi, polygons: polys)
        }
        var out: [SolidLayer?] = []
        // One breakpoint interval at a time (its definition of the cross-section does not
        // change inside it), its slabs in parallel; the ends of neighbouring slabs are shared.
        for n in 0..<max(0, breaks.count - 1) {
            let a = breaks[n], b = breaks[n + 1]
            // The rounded ends change fast near their rim: slabs a quarter as thick there.
            let isCap = b - a <= 0.51 * sliceSpacing
            let m = max(1, Checked.int(((b - a) / (isCap ? layerMM / 4 : layerMM)).rounded(.up)) ?? 1)
            let dz = (b - a) / Double(m)
            var layers = [SolidLayer?](repeating: nil, count: m)
            switch bound {
            case .centre:
                layers.withUnsafeMutableBufferPointer { o in
                    let ob = o
                    DispatchQueue.concurrentPerform(iterations: m) { k in
                        let lo = a + Double(k) * dz
                        if let c = section(lo + dz / 2) { ob[k] = trace(c, lo, lo + dz) }
                    }
                }
            case .inner, .outer:
                // The faces, just inside the interval at its two ends.
                let eps = 1e-6 * dz
                var faces = [[Float]?](repeating: nil, count: m + 1)
                faces.withUnsafeMutableBufferPointer { o in
                    let ob = o
                    DispatchQueue.concurrentPerform(iterations: m + 1) { k in
                        ob[k] = section(k == 0 ? a + eps : (k == m ? b - eps : a + Double(k) * dz))
                    }
                }
                let empty = [Float](repeating: 0, count: lattice.count)
                layers.withUnsafeMutableBufferPointer { o in
                    let ob = o
                    DispatchQueue.concurrentPerform(iterations: m) { k in
                        guard faces[k] != nil || faces[k + 1] != nil else { return }
                        let lo = a + Double(k) * dz
                        let c0 = faces[k] ?? empty, c1 = faces[k + 1] ?? empty
                        let cov = bound == .inner ? zip(c0, c1).map { min($0, $1) } : zip(c0, c1).map { max($0, $1) }
                        ob[k] = trace(cov, lo, lo + dz)
                    }
                }
            }
            out += layers
        }
        return out.compactMap { $0 }
    }
}
