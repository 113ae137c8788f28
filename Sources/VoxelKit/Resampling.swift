import Foundation

/// Trilinear resampling of a volume onto another grid, through a rigid (or affine) transform.
///
/// Geometry: a target voxel centre p (reference patient coordinates) is taken to the
/// source's coordinates by `sourceFromTarget` (the inverse of the registration that maps
/// source → reference), then to a continuous source index through the source grid's full
/// direction cosines. Both grids may have any orientation. Because the whole chain is
/// affine, the source index advances by a constant step along each target row.
///
/// Edges follow `DoseField`: within half a voxel beyond the outermost source centres the
/// value is that of the nearest face; further out the target voxel is "outside", set to 0,
/// and counted in `outsideCount`.
public enum Resampler {
    public struct Result: Sendable {
        public var volume: Volume<Float>
        /// Target voxels whose centre falls outside the source grid (set to the outside value, 0 by default).
        public var outsideCount: Int
        /// Fraction (0–1) of target voxels inside the source grid.
        public var coverage: Double { volume.grid.count == 0 ? 1 : 1 - Double(outsideCount) / Double(volume.grid.count) }
        /// Whether the source was copied voxel for voxel (same grid, identity transform).
        public var copied: Bool
    }

    /// Resamples `source` onto `target`. `sourceFromTarget` maps reference (target)
    /// patient coordinates to source patient coordinates; nil for the same frame.
    /// Target voxels outside the source get `outside` (0; NaN marks them for a picture).
    /// - Complexity: O(target voxels), split over z-slabs across cores.
    public static func resample(_ source: Volume<Float>, onto target: Grid, sourceFromTarget: RigidTransform? = nil,
                                outside outsideValue: Float = 0) -> Result {
        let t = sourceFromTarget ?? .identity
        if t.isIdentity && sameLattice(source.grid, target) {
            return Result(volume: Volume(grid: target, voxels: source.voxels), outsideCount: 0, copied: true)
        }
        let (b0, di, dj, dk) = indexMap(source.grid, target, t)
        let n = target.count
        let nx = target.nx, ny = target.ny, nz = target.nz
        var outsidePerSlice = [Int](repeating: 0, count: max(1, nz))
        let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            HugePages.advise(buffer)   // a dose grid onto another: often tens of MB, first written here
            let dst = buffer.baseAddress!
            source.voxels.withUnsafeBufferPointer { src in
                let sp = src.baseAddress!
                let size = source.grid.size
                let sxy = size.x * size.y
                let xMax = Double(size.x - 1), yMax = Double(size.y - 1), zMax = Double(size.z - 1)
                outsidePerSlice.withUnsafeMutableBufferPointer { counts in
                    let c = counts
                    Parallel.forEachChunk(nz) { _, slices in
                        for k in slices {
                            var outside = 0
                            for j in 0..<ny {
                                let rowStart = b0 + dj * Double(j) + dk * Double(k)
                                let base = (k * ny + j) * nx
                                for i in 0..<nx {
                                    // The position in scalars (the same sums as rowStart + di·i);
                                    // inside the source's interior, the cell `sample` would
                                    // find without its clamps.
                                    let x = rowStart.x + di.x * Double(i), y = rowStart.y + di.y * Double(i), z = rowStart.z + di.z * Double(i)
                                    if x >= 0 && x < xMax && y >= 0 && y < yMax && z >= 0 && z < zMax {
                                        let i0 = Int(x), j0 = Int(y), k0 = Int(z)
                                        dst[base + i] = interpolate(sp, k0 &* sxy &+ j0 &* size.x &+ i0, size.x, sxy,
                                                                    Float(x - Double(i0)), Float(y - Double(j0)), Float(z - Double(k0)))
                                    } else if let v = sample(sp, size, Vec3(x, y, z)) {
                                        dst[base + i] = v
                                    } else {
                                        dst[base + i] = outsideValue
                                        outside += 1
                                    }
                                }
                            }
                            c[k] = outside
                        }
                    }
                }
            }
            initialized = n
        }
        return Result(volume: Volume(grid: target, voxels: out), outsideCount: outsidePerSlice.reduce(0, +), copied: false)
    }

    /// The plain reference: one voxel at a time, each through the full patient-space chain.
    public static func resampleReference(_ source: Volume<Float>, onto target: Grid, sourceFromTarget: RigidTransform? = nil) -> Result {
        let t = sourceFromTarget ?? .identity
        var out = [Float](repeating: 0, count: target.count)
        var outside = 0
        source.voxels.withUnsafeBufferPointer { src in
            for k in 0..<target.nz { for j in 0..<target.ny { for i in 0..<target.nx {
                let p = t.apply(target.position(Double(i), Double(j), Double(k)))
                let x = source.grid.continuousIndex(of: p)
                if let v = DoseField.trilinear(src.baseAddress!, source.grid.size, x)?.value {
                    out[target.linearIndex(i, j, k)] = Float(v)
                } else {
                    outside += 1
                }
            } } }
        }
        return Result(volume: Volume(grid: target, voxels: out), outsideCount: outside, copied: false)
    }

    /// Whether two grids sample the same points (sizes equal, centres within 1e-4 mm).
    public static func sameLattice(_ a: Grid, _ b: Grid, toleranceMM: Double = 1e-4) -> Bool {
        guard a.size == b.size else { return false }
        let corners = [(0, 0, 0), (a.nx - 1, 0, 0), (0, a.ny - 1, 0), (0, 0, a.nz - 1)]
        return corners.allSatisfy { c in
            length(a.position(Double(c.0), Double(c.1), Double(c.2)) - b.position(Double(c.0), Double(c.1), Double(c.2))) <= toleranceMM
        }
    }

    /// Source continuous index of target voxel (i, j, k) = b0 + i·di + j·dj + k·dk.
    static func indexMap(_ source: Grid, _ target: Grid, _ t: RigidTransform) -> (Vec3, Vec3, Vec3, Vec3) {
        let o = source.continuousIndex(of: t.apply(target.origin))
        let (a, b, c) = target.indexToPatient
        func delta(_ v: Vec3) -> Vec3 { source.continuousIndex(of: source.origin + t.applyLinear(v)) }
        return (o, delta(a), delta(b), delta(c))
    }

    /// Trilinear value at continuous index `x` with DoseField's edge rule; nil outside.
    @inline(__always)
    static func sample(_ v: UnsafePointer<Float>, _ size: SIMD3<Int>, _ x: Vec3) -> Float? {
        guard let cell = DoseField.cell(size, x) else { return nil }
        let nx = size.x, ny = size.y
        let (i0, j0, k0, i1, j1, k1) = (cell.i0, cell.j0, cell.k0, cell.i1, cell.j1, cell.k1)
        let fx = Float(cell.f.x), fy = Float(cell.f.y), fz = Float(cell.f.z)
        let sxy = nx * ny
        let r00 = k0 * sxy + j0 * nx, r10 = k0 * sxy + j1 * nx, r01 = k1 * sxy + j0 * nx, r11 = k1 * sxy + j1 * nx
        let c00 = v[r00 + i0] + (v[r00 + i1] - v[r00 + i0]) * fx
        let c10 = v[r10 + i0] + (v[r10 + i1] - v[r10 + i0]) * fx
        let c01 = v[r01 + i0] + (v[r01 + i1] - v[r01 + i0]) * fx
        let c11 = v[r11 + i0] + (v[r11 + i1] - v[r11 + i0]) * fx
        let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
        return c0 + (c1 - c0) * fz
    }

    /// `sample`'s arithmetic inside the grid: the cell at linear index `base` (its
    /// neighbours one element, a row and a plane further), fractions (fx, fy, fz).
    @inline(__always)
    static func interpolate(_ v: UnsafePointer<Float>, _ base: Int, _ nx: Int, _ sxy: Int, _ fx: Float, _ fy: Float, _ fz: Float) -> Float {
        let p = v + base
        let c00 = p[0] + (p[1] - p[0]) * fx
        let c10 = p[nx] + (p[nx &+ 1] - p[nx]) * fx
        let c01 = p[sxy] + (p[sxy &+ 1] - p[sxy]) * fx
        let c11 = p[sxy &+ nx] + (p[sxy &+ nx &+ 1] - p[sxy &+ nx]) * fx
        let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
        return c0 + (c1 - c0) * fz
    }
}
