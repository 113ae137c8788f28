/// A dose grid seen as a continuous field: trilinear interpolation between voxel
/// centres, with its gradient.
///
/// Points within half a voxel outside the outermost centres take the value at the
/// nearest face (the grid's voxels extend half a spacing beyond their centres);
/// points further out are outside the grid.
public struct DoseField: Sendable {
    public let volume: Volume<Float>
    public let grid: Grid
    /// Rows of the inverse of the index→patient matrix: index offset = inv · patient offset.
    @usableFromInline let inv0: Vec3, inv1: Vec3, inv2: Vec3
    public let maxGy: Double

    public init(_ volume: Volume<Float>) {
        self.volume = volume
        grid = volume.grid
        let (a, b, c) = grid.indexToPatient
        let det = dot(a, cross(b, c))
        inv0 = cross(b, c) / det
        inv1 = cross(c, a) / det
        inv2 = cross(a, b) / det
        maxGy = Double(volume.voxels.max() ?? 0)
    }

    /// Continuous index of a patient point.
    @inlinable
    public func index(_ p: Vec3) -> Vec3 {
        let d = p - grid.origin
        return Vec3(dot(inv0, d), dot(inv1, d), dot(inv2, d))
    }

    /// Index-space change for a patient-space displacement.
    @inlinable
    public func indexDelta(_ d: Vec3) -> Vec3 { Vec3(dot(inv0, d), dot(inv1, d), dot(inv2, d)) }

    /// Dose at a continuous index, or nil outside the grid (beyond half a voxel).
    @inlinable
    public func value(atIndex x: Vec3) -> Double? {
        volume.voxels.withUnsafeBufferPointer { buf in
            DoseField.trilinear(buf.baseAddress!, grid.size, x)?.value
        }
    }

    /// Dose at a patient point, or nil outside the grid.
    public func value(at p: Vec3) -> Double? { value(atIndex: index(p)) }

    /// The interpolation cell of continuous index `x` under the edge rule: the lower and
    /// upper voxel indices per axis and the fractions between them; nil beyond half a voxel
    /// outside the grid. Points between the outermost centre and the face clamp to the face.
    @inlinable @inline(__always)
    public static func cell(_ size: SIMD3<Int>, _ x: Vec3) -> (i0: Int, j0: Int, k0: Int, i1: Int, j1: Int, k1: Int, f: Vec3)? {
        let nx = size.x, ny = size.y, nz = size.z
        if x.x < -0.5 || x.y < -0.5 || x.z < -0.5 || x.x > Double(nx) - 0.5 || x.y > Double(ny) - 0.5 || x.z > Double(nz) - 0.5 {
            return nil
        }
        let cx = min(max(x.x, 0), Double(nx - 1)), cy = min(max(x.y, 0), Double(ny - 1)), cz = min(max(x.z, 0), Double(nz - 1))
        var i0 = Int(cx), j0 = Int(cy), k0 = Int(cz)
        if i0 >= nx - 1 { i0 = max(0, nx - 2) }
        if j0 >= ny - 1 { j0 = max(0, ny - 2) }
        if k0 >= nz - 1 { k0 = max(0, nz - 2) }
        return (i0, j0, k0, min(i0 + 1, nx - 1), min(j0 + 1, ny - 1), min(k0 + 1, nz - 1),
                Vec3(cx - Double(i0), cy - Double(j0), cz - Double(k0)))
    }

    /// Trilinear value and index-space gradient at `x`; nil outside [−½, n−½] on any axis.
    @inlinable @inline(__always)
    public static func trilinear(_ v: UnsafePointer<Float>, _ size: SIMD3<Int>, _ x: Vec3) -> (value: Double, gradient: Vec3)? {
        guard let cell = DoseField.cell(size, x) else { return nil }
        let nx = size.x, ny = size.y, nz = size.z
        let (i0, j0, k0, i1, j1, k1) = (cell.i0, cell.j0, cell.k0, cell.i1, cell.j1, cell.k1)
        let fx = cell.f.x, fy = cell.f.y, fz = cell.f.z
        let sxy = nx * ny
        @inline(__always) func at(_ i: Int, _ j: Int, _ k: Int) -> Double { Double(v[k * sxy + j * nx + i]) }
        let c000 = at(i0, j0, k0), c100 = at(i1, j0, k0), c010 = at(i0, j1, k0), c110 = at(i1, j1, k0)
        let c001 = at(i0, j0, k1), c101 = at(i1, j0, k1), c011 = at(i0, j1, k1), c111 = at(i1, j1, k1)
        let c00 = c000 + (c100 - c000) * fx, c10 = c010 + (c110 - c010) * fx
        let c01 = c001 + (c101 - c001) * fx, c11 = c011 + (c111 - c011) * fx
        let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
        let value = c0 + (c1 - c0) * fz
        // Gradient of the trilinear form; zero along an axis clamped at a face or of size 1.
        var gx = ((c100 - c000) * (1 - fy) + (c110 - c010) * fy) * (1 - fz) + ((c101 - c001) * (1 - fy) + (c111 - c011) * fy) * fz
        var gy = (c10 - c00) * (1 - fz) + (c11 - c01) * fz
        var gz = c1 - c0
        if x.x < 0 || x.x > Double(nx - 1) || nx == 1 { gx = 0 }
        if x.y < 0 || x.y > Double(ny - 1) || ny == 1 { gy = 0 }
        if x.z < 0 || x.z > Double(nz - 1) || nz == 1 { gz = 0 }
        return (value, Vec3(gx, gy, gz))
    }
}
