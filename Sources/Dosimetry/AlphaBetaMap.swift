import Base
import Foundation
import Geometry
import VoxelKit

/// Per-voxel α/β on the reference grid from structure membership (typical values: 10 Gy
/// tumour, 3 Gy late-responding tissue, 2 Gy cord and CNS — Jones & Grant, Clin Oncol
/// 2014, doi 10.1016/j.clon.2014.04.027; Sahgal et al., IJROBP 2012;82:107).
///
/// - A voxel belongs to a structure when its **centre** lies inside it: even-odd inside
///   the polygons of the plane whose slab holds the centre, slabs as the `prism` end cap
///   of `sbrt dvh` (each plane extends half-way to its neighbours and half a slice beyond
///   the first and last plane of each contiguous run).
/// - Voxels in no listed structure take the default α/β.
/// - **Overlaps: the lowest α/β wins.** It is the conservative choice for normal tissue:
///   a lower α/β always gives a higher BED, and a higher EQD2 wherever the dose per
///   fraction exceeds 2 Gy (∂EQD2/∂(α/β) = D(2 − d)/(2 + α/β)²). A tumour value (10 Gy)
///   therefore never overrides a cord value (2 Gy) where the two overlap.
public enum AlphaBetaMap {
    public struct Assignment: Sendable {
        public var shape: PlanarShape
        public var alphaBeta: Double
        public init(shape: PlanarShape, alphaBeta: Double) {
            self.shape = shape
            self.alphaBeta = alphaBeta
        }
    }

    public struct Result: Sendable {
        /// α/β (Gy) per voxel of the grid.
        public var values: [Float]
        /// Voxels whose centre lies in each assignment's structure (same order).
        public var voxelCounts: [Int]
        /// Voxels where the assignment's value is the one used (it won every overlap).
        public var winningCounts: [Int]
    }

    public static func build(grid: Grid, defaultAlphaBeta: Double, assignments: [Assignment], sliceSpacing: Double) -> Result {
        var values = FreshVoxels.filled(Float(defaultAlphaBeta), count: grid.count)
        var inside = [Int](repeating: 0, count: assignments.count)
        // The assignment each voxel took, for the voxels inside any (a few thousand, where
        // the map has millions).
        var owner: [Int: Int32] = [:]
        for (a, asg) in assignments.enumerated() {
            let mask = insideIndices(asg.shape, sliceSpacing: sliceSpacing, grid: grid)
            inside[a] = mask.count
            for v in mask where owner[v] == nil || Double(values[v]) > asg.alphaBeta {
                values[v] = Float(asg.alphaBeta)
                owner[v] = Int32(a)
            }
        }
        var winning = [Int](repeating: 0, count: assignments.count)
        for o in owner.values { winning[Int(o)] += 1 }
        return Result(values: values, voxelCounts: inside, winningCounts: winning)
    }

    /// The distinct values of `values` at `indices`, increasing: what `Set` of them gives,
    /// sorted, found by a scan that compares each value with the previous one and with the
    /// few distinct ones seen (an α/β map holds one value per assignment and the default),
    /// instead of hashing every voxel of a large organ.
    public static func distinctValues(_ values: [Float], at indices: [Int]) -> [Double] {
        var seen: [Float] = [], last: Float?
        for i in indices {
            let x = values[i]
            if x == last { continue }
            if !seen.contains(x) { seen.append(x) }
            last = x
        }
        return seen.map(Double.init).sorted()
    }

    /// Linear indices of the voxels of `grid` whose centre lies inside `shape`, increasing.
    /// - Complexity: O(voxels in the shape's bounding box × crossings of a row, + rows ×
    ///   edges of one plane) on a grid whose rows run along the planes' u axis (a row's
    ///   voxel centres share v; `RowCrossings`), O(voxels × edges) on an oblique one.
    public static func insideIndices(_ shape: PlanarShape, sliceSpacing: Double, grid: Grid) -> [Int] {
        let planes = shape.planes
        guard !planes.isEmpty, let b = shape.bounds else { return [] }
        // Slabs (prism end caps).
        var slabs: [(lo: Double, hi: Double)] = []
        for p in planes.indices {
            let prev = p > 0 && planes[p].w - planes[p - 1].w <= 1.5 * sliceSpacing
            let next = p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing
            let below = prev ? (planes[p].w - planes[p - 1].w) / 2 : sliceSpacing / 2
            let above = next ? (planes[p + 1].w - planes[p].w) / 2 : sliceSpacing / 2
            slabs.append((planes[p].w - below, planes[p].w + above))
        }
        let planeBounds = planes.map { pl -> (SIMD2<Double>, SIMD2<Double>) in
            var lo = SIMD2(Double.infinity, .infinity), hi = -lo
            for poly in pl.polygons { for q in poly { lo = pointwiseMin(lo, q); hi = pointwiseMax(hi, q) } }
            return (lo, hi)
        }
        // Index-space bounding box of the shape's (u, v, w) box.
        let frame = shape.frame
        var ilo = Vec3(repeating: .infinity), ihi = Vec3(repeating: -.infinity)
        for u in [b.lo.x, b.hi.x] { for v in [b.lo.y, b.hi.y] { for w in [slabs.first!.lo, slabs.last!.hi] {
            let x = grid.continuousIndex(of: frame.patient(u, v, w))
            ilo = pointwiseMin(ilo, x); ihi = pointwiseMax(ihi, x)
        } } }
        let i0 = max(0, Checked.clamped(ilo.x.rounded(.down))), i1 = min(grid.nx - 1, Checked.clamped(ihi.x.rounded(.up)))
        let j0 = max(0, Checked.clamped(ilo.y.rounded(.down))), j1 = min(grid.ny - 1, Checked.clamped(ihi.y.rounded(.up)))
        let k0 = max(0, Checked.clamped(ilo.z.rounded(.down))), k1 = min(grid.nz - 1, Checked.clamped(ihi.z.rounded(.up)))
        guard i0 <= i1, j0 <= j1, k0 <= k1 else { return [] }
        var perSlice = [[Int]](repeating: [], count: k1 - k0 + 1)
        perSlice.withUnsafeMutableBufferPointer { out in
            let o = out
            Parallel.forEachChunk(k1 - k0 + 1) { _, ks in
                for kk in ks {
                    let k = kk + k0
                    var found: [Int] = []
                    var row = RowCrossings()
                    for j in j0...j1 {
                        for i in i0...i1 {
                            let l = frame.local(grid.position(Double(i), Double(j), Double(k)))
                            guard let p = slabIndex(slabs, l.z) else { continue }
                            let (lo, hi) = planeBounds[p]
                            if l.x < lo.x || l.x > hi.x || l.y < lo.y || l.y > hi.y { continue }
                            if row.inside(SIMD2(l.x, l.y), plane: p, planes[p].polygons) { found.append(grid.linearIndex(i, j, k)) }
                        }
                    }
                    o[kk] = found
                }
            }
        }
        return perSlice.flatMap { $0 }
    }

    /// The slab holding w (half-open [lo, hi)), by binary search; nil outside every slab.
    static func slabIndex(_ slabs: [(lo: Double, hi: Double)], _ w: Double) -> Int? {
        var lo = 0, hi = slabs.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if slabs[mid].hi <= w { lo = mid + 1 } else { hi = mid }
        }
        return lo < slabs.count && w >= slabs[lo].lo && w < slabs[lo].hi ? lo : nil
    }

    /// The even-odd test of `evenOddInside` for many points, sharing the work of points on
    /// one line v = const of one plane: the u of every edge crossing of that line, computed
    /// with `PolygonCoverage.contains`'s expression, is kept, and a point is inside when an
    /// odd number of them lie right of it — the same comparisons `contains` makes, so the
    /// same answer to the bit. A point on another plane or line recomputes the crossings.
    /// - Complexity: O(edges of the plane) per line, O(crossings) per point.
    struct RowCrossings {
        private var plane = -1
        private var v = Double.nan
        private var us: [Double] = []

        mutating func inside(_ q: SIMD2<Double>, plane p: Int, _ polygons: [[SIMD2<Double>]]) -> Bool {
            if p != plane || q.y != v {
                plane = p
                v = q.y
                us.removeAll(keepingCapacity: true)
                for poly in polygons {
                    var j = poly.count - 1
                    for i in 0..<poly.count {
                        let a = poly[i], b = poly[j]
                        if (a.y > q.y) != (b.y > q.y) { us.append(a.x + (q.y - a.y) * (b.x - a.x) / (b.y - a.y)) }
                        j = i
                    }
                }
            }
            var odd = false
            for u in us where q.x < u { odd.toggle() }
            return odd
        }
    }

    /// Even-odd point-in-polygons test: holes cut out, islands add.
    static func evenOddInside(_ q: SIMD2<Double>, _ polygons: [[SIMD2<Double>]]) -> Bool {
        polygons.reduce(false) { $0 != PolygonCoverage.contains($1, q) }
    }
}
