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
    /// Where the voxels hold the field, nil for everywhere; elsewhere they hold nothing
    /// meaningful, and readers must stay inside one of these boxes (`DVHEngine` checks).
    public let definedBoxes: [VoxelBox]?

    public init(_ volume: Volume<Float>) {
        self.init(volume, maxGy: Double(DoseField.largest(volume.voxels) ?? 0), definedBoxes: nil)
    }

    /// A field known only in `boxes` (its other voxels unwritten: a map built for the DVHs
    /// of a few structures does not fault in the rest of its pages), whose maximum over the
    /// whole grid is `maxGy` (histograms are laid out from it, so that a DVH is the one
    /// the whole map gives).
    public init(_ volume: Volume<Float>, maxGy: Double, definedIn boxes: [VoxelBox]) {
        self.init(volume, maxGy: maxGy, definedBoxes: boxes)
    }

    init(_ volume: Volume<Float>, maxGy: Double, definedBoxes: [VoxelBox]?) {
        self.volume = volume
        grid = volume.grid
        let (a, b, c) = grid.indexToPatient
        let det = dot(a, cross(b, c))
        inv0 = cross(b, c) / det
        inv1 = cross(c, a) / det
        inv2 = cross(a, b) / det
        self.maxGy = maxGy
        self.definedBoxes = definedBoxes
    }

    /// Whether every voxel of `box` holds the field.
    public func isDefined(in box: VoxelBox) -> Bool {
        definedBoxes.map { $0.contains { $0.contains(box) } } ?? true
    }

    /// The one value every voxel of `box` holds, or nil when they differ (or one is NaN, or
    /// the field is not known throughout the box). Row by row, stopping at the first
    /// difference.
    public func uniformValue(in box: VoxelBox) -> Float? {
        guard isDefined(in: box), all(box.lo .>= 0), all(box.hi .< grid.size) else { return nil }
        let nx = grid.nx, ny = grid.ny
        return volume.voxels.withUnsafeBufferPointer { v -> Float? in
            let first = v[(box.lo.z * ny + box.lo.y) * nx + box.lo.x]
            guard first.isFinite else { return nil }
            for k in box.lo.z...box.hi.z {
                for j in box.lo.y...box.hi.y {
                    let row = (k * ny + j) * nx
                    for i in box.lo.x...box.hi.x where v[row + i] != first { return nil }
                }
            }
            return first
        }
    }

    /// The largest value, as `Array.max()` gives it (a NaN first value gives NaN, later NaNs
    /// are passed over), eight lanes at a time.
    static func largest(_ v: [Float]) -> Float? {
        v.withUnsafeBufferPointer { b -> Float? in
            guard let first = b.first else { return nil }
            return first.isNaN ? first : largest(in: b, above: first).value
        }
    }

    /// The largest of `start` and the values of `b` above it, NaNs passed over, and whether
    /// `b` holds a NaN; eight lanes at a time (a compare-and-branch loop over a 10 MB map
    /// costs milliseconds on one core).
    public static func largest(in b: UnsafeBufferPointer<Float>, above start: Float) -> (value: Float, sawNaN: Bool) {
        guard let p = b.baseAddress else { return (start, false) }
        var acc = SIMD8<Float>(repeating: start)
        var nan = SIMDMask<SIMD8<Int32>>(repeating: false)
        var i = 0
        while i + 8 <= b.count {
            let x = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
            nan .|= x .!= x
            acc.replace(with: x, where: acc .< x)   // pointwiseMax, written out so that it inlines
            i += 8
        }
        var m = acc.max(), sawNaN = any(nan)
        while i < b.count { if m < p[i] { m = p[i] } else if p[i].isNaN { sawNaN = true }; i += 1 }
        return (m, sawNaN)
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
    /// - Precondition: the field is known everywhere (`definedBoxes` is nil): a field known
    ///   only in boxes is read through `DVHEngine`, which checks the boxes.
    @inlinable
    public func value(atIndex x: Vec3) -> Double? {
        precondition(definedBoxes == nil, "DoseField.value on a field known only in some boxes")
        return volume.voxels.withUnsafeBufferPointer { buf in
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
        // Written so that a NaN coordinate is outside too.
        guard x.x >= -0.5 && x.y >= -0.5 && x.z >= -0.5 && x.x <= Double(nx) - 0.5 && x.y <= Double(ny) - 0.5 && x.z <= Double(nz) - 0.5 else {
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
        let sxy = nx * ny
        var (value, gx, gy, gz) = interpolate(v, cell.k0 * sxy + cell.j0 * nx + cell.i0,
                                              dx: cell.i1 - cell.i0, dy: (cell.j1 - cell.j0) * nx, dz: (cell.k1 - cell.k0) * sxy,
                                              cell.f.x, cell.f.y, cell.f.z)
        // Zero along an axis clamped at a face or of size 1.
        if x.x < 0 || x.x > Double(nx - 1) || nx == 1 { gx = 0 }
        if x.y < 0 || x.y > Double(ny - 1) || ny == 1 { gy = 0 }
        if x.z < 0 || x.z > Double(nz - 1) || nz == 1 { gz = 0 }
        return (value, Vec3(gx, gy, gz))
    }

    /// The trilinear form inside one cell: value and index-space gradient at fractions
    /// (fx, fy, fz) from the corner at linear index `base`, whose neighbours along x, y, z
    /// lie `dx`, `dy`, `dz` elements further (0 on an axis of size 1). The one place this
    /// arithmetic is written: `trilinear` and the DVH kernel's interior path share it, so
    /// both give the same bits.
    @inlinable @inline(__always)
    public static func interpolate(_ v: UnsafePointer<Float>, _ base: Int, dx: Int, dy: Int, dz: Int,
                                   _ fx: Double, _ fy: Double, _ fz: Double) -> (value: Double, gx: Double, gy: Double, gz: Double) {
        // Indices of a cell inside the grid: no overflow to check.
        let p = v + base
        return interpolate(Double(p[0]), Double(p[dx]), Double(p[dy]), Double(p[dx &+ dy]),
                           Double(p[dz]), Double(p[dx &+ dz]), Double(p[dy &+ dz]), Double(p[dx &+ dy &+ dz]), fx, fy, fz)
    }

    /// The trilinear form of corner values c_ijk (i along x, j along y, k along z) at
    /// fractions (fx, fy, fz): value and gradient, for one field at one point (`Double`) or
    /// in lanes (`SIMD2<Double>`: several fields at one point, or one field at several
    /// points; each lane computed exactly as the scalar would be).
    @inlinable @inline(__always)
    public static func interpolate<T: LaneArithmetic>(_ c000: T, _ c100: T, _ c010: T, _ c110: T, _ c001: T, _ c101: T, _ c011: T, _ c111: T,
                                                      _ fx: T, _ fy: T, _ fz: T) -> (value: T, gx: T, gy: T, gz: T) {
        let c00 = c000 + (c100 - c000) * fx, c10 = c010 + (c110 - c010) * fx
        let c01 = c001 + (c101 - c001) * fx, c11 = c011 + (c111 - c011) * fx
        let c0 = c00 + (c10 - c00) * fy, c1 = c01 + (c11 - c01) * fy
        let value = c0 + (c1 - c0) * fz
        let gx = ((c100 - c000) * (1 - fy) + (c110 - c010) * fy) * (1 - fz) + ((c101 - c001) * (1 - fy) + (c111 - c011) * fy) * fz
        let gy = (c10 - c00) * (1 - fz) + (c11 - c01) * fz
        let gz = c1 - c0
        return (value, gx, gy, gz)
    }
}

/// The arithmetic of the trilinear form and the DVH kernel's spread, on one value
/// (`Double`) or on lanes (`SIMD2<Double>`): lane-wise IEEE operations, so a lane gives the
/// bits the scalar gives.
public protocol LaneArithmetic {
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    static func * (a: Self, b: Double) -> Self
    static func - (a: Double, b: Self) -> Self
    static func / (a: Self, b: Double) -> Self
    static prefix func - (a: Self) -> Self
    func squareRoot() -> Self
}

extension Double: LaneArithmetic {}
extension SIMD2: LaneArithmetic where Scalar == Double {}
