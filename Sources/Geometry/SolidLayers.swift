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
        var pieces: [(Double, Double)] = []
        for n in 0..<max(0, breaks.count - 1) {
            let a = breaks[n], b = breaks[n + 1]
            // The rounded ends change fast near their rim: slabs half as thick there.
            let isCap = b - a <= 0.51 * sliceSpacing
            let m = max(1, Int(((b - a) / (isCap ? layerMM / 2 : layerMM)).rounded(.up)))
            let dz = (b - a) / Double(m)
            for k in 0..<m { pieces.append((a + Double(k) * dz, a + Double(k + 1) * dz)) }
        }
        func section(_ w: Double) -> [Float]? {
            var buf = [Float](repeating: 0, count: lattice.count)
            let present = buf.withUnsafeMutableBufferPointer { occ.coverage(at: w, into: $0) }
            return present ? buf : nil
        }
        var out = [SolidLayer?](repeating: nil, count: pieces.count)
        out.withUnsafeMutableBufferPointer { o in
            let ob = o
            DispatchQueue.concurrentPerform(iterations: pieces.count) { n in
                let (lo, hi) = pieces[n]
                var cov: [Float]
                switch bound {
                case .centre:
                    guard let c = section((lo + hi) / 2) else { return }
                    cov = c
                case .inner, .outer:
                    // Just inside the slab, so that each end reads the slab's own interval.
                    let eps = 1e-6 * (hi - lo)
                    let a = section(lo + eps), b = section(hi - eps)
                    guard a != nil || b != nil else { return }
                    let ca = a ?? [Float](repeating: 0, count: lattice.count), cb = b ?? [Float](repeating: 0, count: lattice.count)
                    cov = bound == .inner ? zip(ca, cb).map { min($0, $1) } : zip(ca, cb).map { max($0, $1) }
                }
                for i in cov.indices { cov[i] = 0.5 - cov[i] }
                let polys = cov.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: lattice, toleranceMM: toleranceMM) }
                if !polys.isEmpty { ob[n] = SolidLayer(lo: lo, hi: hi, polygons: polys) }
            }
        }
        return out.compactMap { $0 }
    }
}
