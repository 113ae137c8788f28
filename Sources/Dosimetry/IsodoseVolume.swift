import Dispatch
import Geometry
import VoxelKit

extension DoseField {
    /// Volumes (cc) of the dose grid receiving at least each of `levelsGy`.
    ///
    /// Each voxel is a box whose dose is spread uniformly over ± the change across it
    /// (from central differences), so isodose volumes are continuous in the level rather
    /// than counted in whole voxels. Covers the whole dose grid (the planning system's
    /// calculation volume), not only the patient outline.
    /// - Complexity: O(voxels × levels), concurrent over slices.
    public func isodoseVolumesCC(_ levelsGy: [Double]) -> [Double] {
        let g = grid
        let nx = g.nx, ny = g.ny, nz = g.nz
        let voxelCC = g.voxelVolumeCC
        var perSlice = [[Double]](repeating: [Double](repeating: 0, count: levelsGy.count), count: nz)
        volume.voxels.withUnsafeBufferPointer { vb in
            let v = vb.baseAddress!
            perSlice.withUnsafeMutableBufferPointer { out in
                let o = out
                DispatchQueue.concurrentPerform(iterations: nz) { k in
                    var sums = [Double](repeating: 0, count: levelsGy.count)
                    @inline(__always) func at(_ i: Int, _ j: Int, _ k: Int) -> Double { Double(v[(k * ny + j) * nx + i]) }
                    for j in 0..<ny {
                        for i in 0..<nx {
                            let d = at(i, j, k)
                            let gx = nx > 1 ? (at(min(i + 1, nx - 1), j, k) - at(max(i - 1, 0), j, k)) / Double(min(i + 1, nx - 1) - max(i - 1, 0)) : 0
                            let gy = ny > 1 ? (at(i, min(j + 1, ny - 1), k) - at(i, max(j - 1, 0), k)) / Double(min(j + 1, ny - 1) - max(j - 1, 0)) : 0
                            let gz = nz > 1 ? (at(i, j, min(k + 1, nz - 1)) - at(i, j, max(k - 1, 0))) / Double(min(k + 1, nz - 1) - max(k - 1, 0)) : 0
                            let half = 0.5 * (gx * gx + gy * gy + gz * gz).squareRoot()
                            for (n, level) in levelsGy.enumerated() {
                                if half < 1e-9 {
                                    if d >= level { sums[n] += 1 }
                                } else {
                                    sums[n] += min(1, max(0, (d + half - level) / (2 * half)))
                                }
                            }
                        }
                    }
                    o[k] = sums
                }
            }
        }
        return levelsGy.indices.map { n in perSlice.reduce(0) { $0 + $1[n] } * voxelCC }
    }

    /// Largest dose at dose-grid voxel centres at least `distanceMM` from every voxel
    /// centre inside `shape` (prism slabs of `sliceSpacing`); nil when the grid has no
    /// voxel that far, or the shape covers no voxel centre.
    public func maxDose(beyond distanceMM: Double, of shape: PlanarShape, frame: PlaneFrame, sliceSpacing: Double) -> Double? {
        let g = grid
        var inside = [Bool](repeating: false, count: g.count)
        let planes = shape.planes
        guard !planes.isEmpty else { return nil }
        // Slabs as in prism mode.
        var slabs: [(Double, Double)] = []
        for p in planes.indices {
            let lo = p > 0 && planes[p].w - planes[p - 1].w <= 1.5 * sliceSpacing ? (planes[p].w + planes[p - 1].w) / 2 : planes[p].w - sliceSpacing / 2
            let hi = p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing ? (planes[p].w + planes[p + 1].w) / 2 : planes[p].w + sliceSpacing / 2
            slabs.append((lo, hi))
        }
        guard let bounds = shape.bounds else { return nil }
        var any = false
        for k in 0..<g.nz { for j in 0..<g.ny { for i in 0..<g.nx {
            let l = frame.local(g.position(Double(i), Double(j), Double(k)))
            if l.x < bounds.lo.x || l.y < bounds.lo.y || l.x > bounds.hi.x || l.y > bounds.hi.y { continue }
            if l.z < slabs[0].0 || l.z >= slabs[slabs.count - 1].1 { continue }
            guard let p = slabs.firstIndex(where: { l.z >= $0.0 && l.z < $0.1 }) else { continue }
            let q = SIMD2(l.x, l.y)
            var count = 0
            for poly in planes[p].polygons where PolygonCoverage.contains(poly, q) { count += 1 }
            if count % 2 == 1 { inside[g.linearIndex(i, j, k)] = true; any = true }
        } } }
        guard any else { return nil }
        let d2 = DistanceTransform.squared3D(inside, size: g.size, spacing: g.spacing)
        let limit = distanceMM * distanceMM
        var best: Float = -.infinity
        for n in 0..<g.count where d2[n] >= limit { best = max(best, volume.voxels[n]) }
        return best.isFinite ? Double(best) : nil
    }
}
