import Base

/// A point or vector in patient coordinates (DICOM LPS), millimetres.
public typealias Vec3 = SIMD3<Double>

@inlinable public func dot(_ a: Vec3, _ b: Vec3) -> Double { (a * b).sum() }
@inlinable public func cross(_ a: Vec3, _ b: Vec3) -> Vec3 {
    Vec3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
@inlinable public func length(_ a: Vec3) -> Double { dot(a, a).squareRoot() }
@inlinable public func normalize(_ a: Vec3) -> Vec3 { a / length(a) }

/// A regular 3D sampling lattice in patient space.
///
/// Voxel (i, j, k) — i fastest in memory, then j, then k — has its centre at
/// `origin + i·spacing.x·axisI + j·spacing.y·axisJ + k·spacing.z·axisK`.
/// For an image, `axisI` is the row direction (along a row, increasing column),
/// `axisJ` the column direction, and `axisK` the direction of increasing slice index.
/// Nothing assumes the axes are aligned with patient axes or that `axisK` points
/// to the head: feet-first, prone, decubitus and oblique grids are all grids.
public struct Grid: Equatable, Sendable, CustomStringConvertible {
    public var size: SIMD3<Int>
    public var origin: Vec3
    public var spacing: Vec3
    public var axisI: Vec3
    public var axisJ: Vec3
    public var axisK: Vec3

    public init(size: SIMD3<Int>, origin: Vec3, spacing: Vec3,
                axisI: Vec3 = Vec3(1, 0, 0), axisJ: Vec3 = Vec3(0, 1, 0), axisK: Vec3 = Vec3(0, 0, 1)) {
        self.size = size
        self.origin = origin
        self.spacing = spacing
        self.axisI = axisI
        self.axisJ = axisJ
        self.axisK = axisK
    }

    public var nx: Int { size.x }
    public var ny: Int { size.y }
    public var nz: Int { size.z }
    public var count: Int { size.x * size.y * size.z }
    public var sliceCount: Int { size.x * size.y }

    /// Volume of one voxel in cm³.
    public var voxelVolumeCC: Double {
        abs(dot(cross(axisI * spacing.x, axisJ * spacing.y), axisK * spacing.z)) / 1000
    }

    @inlinable
    public func linearIndex(_ i: Int, _ j: Int, _ k: Int) -> Int { (k * size.y + j) * size.x + i }

    /// Patient position of the centre of voxel (i, j, k); fractional indices allowed.
    @inlinable
    public func position(_ i: Double, _ j: Double, _ k: Double) -> Vec3 {
        origin + axisI * (i * spacing.x) + axisJ * (j * spacing.y) + axisK * (k * spacing.z)
    }

    /// The 3×3 matrix taking index offsets to patient offsets (columns = scaled axes).
    public var indexToPatient: (Vec3, Vec3, Vec3) {
        (axisI * spacing.x, axisJ * spacing.y, axisK * spacing.z)
    }

    /// Continuous (i, j, k) index of a patient point: the inverse of `position`.
    /// Works for any non-degenerate axes, orthogonal or not.
    public func continuousIndex(of p: Vec3) -> Vec3 {
        let (a, b, c) = indexToPatient
        let d = p - origin
        let det = dot(a, cross(b, c))
        // Cramer's rule.
        return Vec3(dot(d, cross(b, c)) / det, dot(a, cross(d, c)) / det, dot(a, cross(b, d)) / det)
    }

    /// Whether a continuous index lies within the sampled lattice (between the first and
    /// last voxel centres along every axis, with `tolerance` in index units).
    public func containsIndex(_ x: Vec3, tolerance: Double = 1e-6) -> Bool {
        x.x >= -tolerance && x.y >= -tolerance && x.z >= -tolerance &&
            x.x <= Double(size.x - 1) + tolerance && x.y <= Double(size.y - 1) + tolerance &&
            x.z <= Double(size.z - 1) + tolerance
    }

    /// Patient-space axis-aligned box spanning all voxel centres.
    public var centreBounds: (min: Vec3, max: Vec3) {
        var lo = Vec3(repeating: .infinity), hi = Vec3(repeating: -.infinity)
        for ci in [0, size.x - 1] { for cj in [0, size.y - 1] { for ck in [0, size.z - 1] {
            let p = position(Double(ci), Double(cj), Double(ck))
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        } } }
        return (lo, hi)
    }

    /// Whether the axes are parallel to the patient axes (each axis has one non-zero cosine).
    public func isAxisAligned(tolerance: Double = 1e-4) -> Bool {
        [axisI, axisJ, axisK].allSatisfy { a in
            let m = Vec3(abs(a.x), abs(a.y), abs(a.z))
            return (m.x > 1 - tolerance && m.y < tolerance && m.z < tolerance) ||
                (m.y > 1 - tolerance && m.x < tolerance && m.z < tolerance) ||
                (m.z > 1 - tolerance && m.x < tolerance && m.y < tolerance)
        }
    }

    public var description: String {
        "\(size.x)×\(size.y)×\(size.z) at \(spacing.x)×\(spacing.y)×\(spacing.z) mm, origin (\(origin.x), \(origin.y), \(origin.z))"
    }
}

/// A scalar field sampled on a `Grid`, stored contiguously with i fastest.
public struct Volume<Element>: Sendable where Element: Sendable {
    public var grid: Grid
    public var voxels: [Element]

    public init(grid: Grid, voxels: [Element]) {
        precondition(voxels.count == grid.count, "voxel count \(voxels.count) does not match grid \(grid.count)")
        self.grid = grid
        self.voxels = voxels
    }

    public init(grid: Grid, repeating value: Element) {
        self.grid = grid
        self.voxels = [Element](repeating: value, count: grid.count)
    }

    @inlinable
    public subscript(i: Int, j: Int, k: Int) -> Element {
        get { voxels[grid.linearIndex(i, j, k)] }
        set { voxels[grid.linearIndex(i, j, k)] = newValue }
    }
}

/// A box of voxels of a grid: indices `lo...hi` on each axis (inclusive, lo ≤ hi).
public struct VoxelBox: Sendable, Equatable, CustomStringConvertible {
    public var lo: SIMD3<Int>, hi: SIMD3<Int>

    public init(lo: SIMD3<Int>, hi: SIMD3<Int>) {
        precondition(lo.x <= hi.x && lo.y <= hi.y && lo.z <= hi.z, "empty voxel box")
        self.lo = lo
        self.hi = hi
    }

    /// The voxels of `size` within `margin` voxels of the continuous indices [a, b] (per
    /// axis, a ≤ b), or nil when none is (NaN bounds give nil).
    public init?(around a: Vec3, _ b: Vec3, margin: Int, in size: SIMD3<Int>) {
        func axis(_ lo: Double, _ hi: Double, _ n: Int) -> (Int, Int)? {
            guard lo <= hi, hi >= -Double(margin) - 1, lo <= Double(n + margin) else { return nil }
            let l = max(0, Checked.clamped(lo.rounded(.down)) - margin), h = min(n - 1, Checked.clamped(hi.rounded(.down)) + 1 + margin)
            return l <= h ? (l, h) : nil
        }
        guard let x = axis(a.x, b.x, size.x), let y = axis(a.y, b.y, size.y), let z = axis(a.z, b.z, size.z) else { return nil }
        lo = SIMD3(x.0, y.0, z.0)
        hi = SIMD3(x.1, y.1, z.1)
    }

    public func contains(_ other: VoxelBox) -> Bool {
        all(lo .<= other.lo) && all(other.hi .<= hi)
    }

    public var description: String { "[\(lo.x)…\(hi.x), \(lo.y)…\(hi.y), \(lo.z)…\(hi.z)]" }
}

/// The voxels of a few boxes, row by row: per row (k · ny + j) of a grid, the range of i
/// it holds (the hull of the boxes' ranges on that row; empty when none crosses it).
public struct VoxelRows: Sendable {
    public let size: SIMD3<Int>
    public let rows: [Range<Int>]

    public init(_ boxes: [VoxelBox], in size: SIMD3<Int>) {
        var rows = [Range<Int>](repeating: 0..<0, count: size.y * size.z)
        for b in boxes {
            for k in b.lo.z...b.hi.z {
                for j in b.lo.y...b.hi.y {
                    let r = rows[k * size.y + j], add = b.lo.x..<(b.hi.x + 1)
                    rows[k * size.y + j] = r.isEmpty ? add : min(r.lowerBound, add.lowerBound)..<max(r.upperBound, add.upperBound)
                }
            }
        }
        self.size = size
        self.rows = rows
    }
}

extension VoxelRows {
    /// Faults in, plane by plane, the pages of `buffer` (a grid's voxels, `size.x` per row)
    /// from the first to the last voxel the rows hold in the plane (`HugePages.populate`:
    /// one system call per plane instead of a trap per 4 KiB page), for a buffer about to
    /// be written in these rows only, too sparsely for huge pages.
    public func populate<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
        let (nx, ny) = (size.x, size.y)
        precondition(buffer.count >= nx * rows.count, "buffer of \(buffer.count) voxels for rows of \(nx * rows.count)")
        Parallel.forEach(size.z) { k in
            let plane = rows[(k * ny)..<((k + 1) * ny)]
            guard let first = plane.firstIndex(where: { !$0.isEmpty }), let last = plane.lastIndex(where: { !$0.isEmpty }) else { return }
            let lo = first * nx + rows[first].lowerBound, hi = last * nx + rows[last].upperBound
            HugePages.populate(UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buffer[lo..<hi])))
        }
    }
}
