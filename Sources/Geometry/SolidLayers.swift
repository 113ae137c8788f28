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

    /// The solid of `EndCap.interpolated` (shape-based interpolation of signed distances
    /// between contiguous planes, rounded ends half a slice beyond the end planes), as thin
    /// slabs of at most `layerMM`, each the interpolated cross-section at its centre traced
    /// on `lattice`.
    public func interpolatedLayers(sliceSpacing: Double, lattice: CellLattice, layerMM: Double, toleranceMM: Double) -> [SolidLayer] {
        let occ = ShapeOccupancy(shape: self, lattice: lattice, endCap: .interpolated, sliceSpacing: sliceSpacing)
        let breaks = occ.breakpoints
        var out: [SolidLayer] = []
        var buf = [Float](repeating: 0, count: lattice.count)
        for n in 0..<max(0, breaks.count - 1) {
            let a = breaks[n], b = breaks[n + 1]
            // The rounded ends change fast near their rim: slabs half as thick there.
            let isCap = b - a <= 0.51 * sliceSpacing
            let m = max(1, Int(((b - a) / (isCap ? layerMM / 2 : layerMM)).rounded(.up)))
            let dz = (b - a) / Double(m)
            for k in 0..<m {
                let lo = a + Double(k) * dz, hi = lo + dz, mid = (lo + hi) / 2
                let present = buf.withUnsafeMutableBufferPointer { occ.coverage(at: mid, into: $0) }
                guard present else { continue }
                for i in buf.indices { buf[i] = 0.5 - buf[i] }
                let polys = buf.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: lattice, toleranceMM: toleranceMM) }
                if !polys.isEmpty { out.append(SolidLayer(lo: lo, hi: hi, polygons: polys)) }
            }
        }
        return out
    }
}
