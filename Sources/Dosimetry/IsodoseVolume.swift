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
                Parallel.forEach(nz) { k in
                    var sums = [Double](repeating: 0, count: levelsGy.count)
                    @inline(__always) func at(_ i: Int, _ j: Int, _ k: Int) -> Double { Double(v[(k * ny + j) * nx + i]) }
                    for j in 0..<ny {
                        for i in 0..<nx {
                            let d = at(i, j, k)
                            let half = DoseField.halfSpread(at, i, j, k, nx, ny, nz)
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
        let inside = centreMask(of: shape, frame: frame, sliceSpacing: sliceSpacing)
        guard inside.contains(true) else { return nil }
        let g = grid
        let d2 = DistanceTransform.squared3D(inside, size: g.size, spacing: g.spacing)
        let limit = distanceMM * distanceMM
        var best: Float = -.infinity
        for n in 0..<g.count where d2[n] >= limit { best = max(best, volume.voxels[n]) }
        return best.isFinite ? Double(best) : nil
    }
}
