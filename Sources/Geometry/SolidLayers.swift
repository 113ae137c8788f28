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
            // The faces of the slabs, just inside each breakpoint interval at its two ends
            // (neighbouring slabs of an interval share a face).
            let faces = faceSections()
            let cells = occupancy.lattice.count
            out.withUnsafeMutableBufferPointer { o in
                let ob = o
                Parallel.forEachChunk(bounds.count) { _, range in
                    let level = UnsafeMutableBufferPointer<Float>.allocate(capacity: cells)
                    defer { level.deallocate() }
                    // Coverage 0 where a face is empty: the intersection is empty, the union the other face.
                    let zero = [Float](repeating: 0, count: cells)
                    for k in range {
                        guard faces[k].0 != nil || faces[k].1 != nil else { continue }
                        (faces[k].0 ?? zero).withUnsafeBufferPointer { c0 in (faces[k].1 ?? zero).withUnsafeBufferPointer { c1 in
                            if bound == .inner {
                                for i in 0..<cells { level[i] = 0.5 - min(c0[i], c1[i]) }
                            } else {
                                for i in 0..<cells { level[i] = 0.5 - max(c0[i], c1[i]) }
                            }
                        } }
                        let polys = ContourTracer.trace(UnsafeBufferPointer(level), lattice: self.occupancy.lattice, toleranceMM: self.toleranceMM)
                        if !polys.isEmpty { ob[k] = SolidLayer(lo: self.bounds[k].lo, hi: self.bounds[k].hi, polygons: polys) }
                    }
                }
            }
        }
        return out.compactMap { $0 }
    }

    /// The coverage at the two faces of every slab: faces shared within a breakpoint
    /// interval, taken just inside the interval at its ends (1e-6 of a slab).
    private func faceSections() -> [([Float]?, [Float]?)] {
        // Face positions: per slab, its lower face, and the upper face of the last slab of each interval.
        var positions: [Double] = []
        var lowerFace: [Int] = [], upperFace: [Int] = []
        for (k, b) in bounds.enumerated() {
            let eps = 1e-6 * step[k]
            let first = k == 0 || bounds[k - 1].interval != b.interval
            let last = k + 1 == bounds.count || bounds[k + 1].interval != b.interval
            lowerFace.append(positions.count)
            positions.append(first ? b.lo + eps : b.lo)
            upperFace.append(positions.count)
            if last { positions.append(intervalEnd[k] - eps) }
        }
        var sections = [[Float]?](repeating: nil, count: positions.count)
        sections.withUnsafeMutableBufferPointer { o in
            let ob = o
            Parallel.forEachChunk(positions.count) { _, range in
                for n in range { ob[n] = self.section(positions[n]) }
            }
        }
        return bounds.indices.map { (sections[lowerFace[$0]], sections[upperFace[$0]]) }
    }
}
