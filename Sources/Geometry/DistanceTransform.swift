import VoxelKit

/// Exact Euclidean distance transforms (Felzenszwalb & Huttenlocher, Theory of Computing
/// 2012;8:415–428): separable 1D lower-envelope passes, linear time, anisotropic spacing.
public enum DistanceTransform {
    /// In place: `f[i]` (squared distances, +∞ for "no feature") becomes
    /// min_j (f[j] + (spacing·(i − j))²), over `count` values `stride` apart.
    /// `v`, `z` are scratch buffers of at least count and count + 1 elements.
    /// - Complexity: O(count).
    @inlinable
    public static func squaredPass(_ f: UnsafeMutablePointer<Double>, count n: Int, stride: Int, spacing: Double,
                                   scratchF: UnsafeMutablePointer<Double>, v: UnsafeMutablePointer<Int>, z: UnsafeMutablePointer<Double>) {
        let s2 = spacing * spacing
        var k = -1
        for q in 0..<n {
            let fq = f[q * stride]
            scratchF[q] = fq
            if fq == .infinity { continue }
            if k < 0 {
                k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity
                continue
            }
            while true {
                let p = v[k]
                let s = ((fq + s2 * Double(q * q)) - (scratchF[p] + s2 * Double(p * p))) / (2 * s2 * Double(q - p))
                if s <= z[k] {
                    k -= 1
                    if k < 0 { break }
                } else {
                    k += 1; v[k] = q; z[k] = s; z[k + 1] = .infinity
                    break
                }
            }
            if k < 0 { k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity }
        }
        if k < 0 { return }  // no feature on this line: all stay +∞
        var j = 0
        for q in 0..<n {
            while z[j + 1] < Double(q) { j += 1 }
            let d = Double(q - v[j])
            f[q * stride] = s2 * d * d + scratchF[v[j]]
        }
    }

    /// Squared distance (mm²) from each cell centre of an `nu × nv` grid to the nearest
    /// cell centre where `feature` is true; +∞ when there is none.
    public static func squared2D(_ feature: [Bool], nu: Int, nv: Int, hu: Double, hv: Double) -> [Double] {
        var f = feature.map { $0 ? 0.0 : Double.infinity }
        let m = max(nu, nv)
        let scratch = UnsafeMutablePointer<Double>.allocate(capacity: m)
        let v = UnsafeMutablePointer<Int>.allocate(capacity: m)
        let z = UnsafeMutablePointer<Double>.allocate(capacity: m + 1)
        defer { scratch.deallocate(); v.deallocate(); z.deallocate() }
        f.withUnsafeMutableBufferPointer { buf in
            let b = buf.baseAddress!
            for j in 0..<nv { squaredPass(b + j * nu, count: nu, stride: 1, spacing: hu, scratchF: scratch, v: v, z: z) }
            for i in 0..<nu { squaredPass(b + i, count: nv, stride: nu, spacing: hv, scratchF: scratch, v: v, z: z) }
        }
        return f
    }
}

extension DistanceTransform {
    /// Squared Euclidean distance (mm²) from each voxel centre of an orthogonal grid of
    /// `size` and `spacing` to the nearest voxel centre where `feature` is true (+∞ when
    /// none). Lines of each pass run concurrently.
    /// - Complexity: O(voxels).
    public static func squared3D(_ feature: [Bool], size: SIMD3<Int>, spacing: SIMD3<Double>) -> [Double] {
        var f = feature.map { $0 ? 0.0 : Double.infinity }
        let nx = size.x, ny = size.y, nz = size.z
        f.withUnsafeMutableBufferPointer { buf in
            let b = buf.baseAddress!
            func pass(lines: Int, count: Int, stride: Int, spacing: Double, start: @escaping (Int) -> Int) {
                Parallel.forEachChunk(lines) { _, range in
                    let scratch = UnsafeMutablePointer<Double>.allocate(capacity: count)
                    let v = UnsafeMutablePointer<Int>.allocate(capacity: count)
                    let z = UnsafeMutablePointer<Double>.allocate(capacity: count + 1)
                    defer { scratch.deallocate(); v.deallocate(); z.deallocate() }
                    for line in range {
                        squaredPass(b + start(line), count: count, stride: stride, spacing: spacing, scratchF: scratch, v: v, z: z)
                    }
                }
            }
            pass(lines: ny * nz, count: nx, stride: 1, spacing: spacing.x) { $0 * nx }
            pass(lines: nx * nz, count: ny, stride: nx, spacing: spacing.y) { l in (l / nx) * nx * ny + l % nx }
            pass(lines: nx * ny, count: nz, stride: nx * ny, spacing: spacing.z) { $0 }
        }
        return f
    }
}
