import Base
import Foundation
import Geometry
import VoxelKit

/// Target-level isodose geometry on a dose grid, for plans with one or several lesions.
///
/// - A target's **voxels** are the dose voxel centres inside it (prism slabs, even-odd
///   over its polygons; expressions combine their ROIs' voxel sets with the same
///   operators). A target holding no voxel centre uses the voxel nearest its vertices'
///   centroid.
/// - **Lesions**: targets whose bounding boxes overlap belong to one lesion (a GTV and
///   its PTV); unions of several lesions (`PTV_All`, `GTV1+GTV2`) join no lesion.
/// - The **isodose volume of a target** at a level is the part of the isodose volume
///   (each voxel's dose spread over ± the change across it, as `isodoseVolumesCC`)
///   connected (6-neighbour) to the target's voxels. When it is also connected to
///   another lesion's target, the two isodose volumes have merged: the value covers both
///   and `merged` names the other targets.
/// - **D2cm of a target**: the largest dose at voxel centres ≥ 20 mm from every voxel of
///   the target and no nearer to any other lesion's target than to this one (each
///   lesion's fall-off is its own).
public final class TargetIsodose: @unchecked Sendable {
    public struct Target: Sendable {
        public var name: String
        /// Dose voxel centres inside the target.
        public var voxels: [Bool]
        /// Bounding box (patient mm) of the target's contour points.
        public var lower: Vec3, upper: Vec3
        public var isUnion: Bool

        public init(name: String, voxels: [Bool], lower: Vec3, upper: Vec3, isUnion: Bool) {
            self.name = name
            self.voxels = voxels
            self.lower = lower
            self.upper = upper
            self.isUnion = isUnion
        }
    }

    /// An isodose volume connected to a target.
    public struct Connected: Sendable, Equatable {
        public var volumeCC: Double
        /// Targets of other lesions whose isodose volume at this level is the same one.
        public var merged: [String]
    }

    public let field: DoseField
    public let targets: [Target]
    /// Lesion number of each target (−1 for unions).
    public let lesion: [Int]
    private var components: [Double: (labels: [Int32], fractions: [Float])] = [:]
    private let lock = NSLock()

    public init(field: DoseField, targets: [Target]) {
        self.field = field
        self.targets = targets
        lesion = TargetIsodose.lesions(targets)
    }

    /// Groups non-union targets whose bounding boxes overlap (transitively) into lesions.
    static func lesions(_ t: [Target]) -> [Int] {
        var parent = Array(t.indices)
        func root(_ a: Int) -> Int { var a = a; while parent[a] != a { a = parent[a] }; return a }
        for a in t.indices where !t[a].isUnion {
            for b in t.indices where b > a && !t[b].isUnion {
                let overlap = (0..<3).allSatisfy { t[a].lower[$0] <= t[b].upper[$0] && t[b].lower[$0] <= t[a].upper[$0] }
                if overlap { parent[root(b)] = root(a) }
            }
        }
        var numbers: [Int: Int] = [:]
        var out: [Int] = []
        for a in t.indices {
            guard !t[a].isUnion else { out.append(-1); continue }
            let r = root(a)
            if numbers[r] == nil { numbers[r] = numbers.count }
            out.append(numbers[r]!)
        }
        return out
    }

    func index(of name: String) -> Int? { targets.firstIndex { $0.name == name } }

    /// Whether targets `a` and `b` belong to different lesions (unions belong to none).
    func differentLesions(_ a: Int, _ b: Int) -> Bool { lesion[a] >= 0 && lesion[b] >= 0 && lesion[a] != lesion[b] }

    /// The isodose volume at `levelGy` connected to target `name`; nil for an unknown target.
    public func connected(_ name: String, levelGy: Double) -> Connected? {
        guard let t = index(of: name) else { return nil }
        let (labels, fractions) = labelled(levelGy)
        let mine = labelSet(t, labels)
        var volume = 0.0
        for v in labels.indices where labels[v] > 0 && mine.contains(labels[v]) { volume += Double(fractions[v]) }
        var merged: [String] = []
        for u in targets.indices where u != t && differentLesions(t, u) && !labelSet(u, labels).isDisjoint(with: mine) {
            merged.append(targets[u].name)
        }
        return Connected(volumeCC: volume * field.grid.voxelVolumeCC, merged: merged)
    }

    /// Component labels touched by target `t`'s voxels.
    func labelSet(_ t: Int, _ labels: [Int32]) -> Set<Int32> {
        var s = Set<Int32>()
        for v in targets[t].voxels.indices where targets[t].voxels[v] && labels[v] > 0 { s.insert(labels[v]) }
        return s
    }

    /// D2cm of target `name` in Gy (see the type's documentation); nil when no voxel
    /// qualifies or the target is unknown.
    public func d2cmGy(_ name: String, distanceMM: Double = 20) -> Double? {
        guard let t = index(of: name) else { return nil }
        let g = field.grid
        let mine = DistanceTransform.squared3D(targets[t].voxels, size: g.size, spacing: g.spacing)
        let others = targets.indices.filter { differentLesions(t, $0) }.map {
            DistanceTransform.squared3D(targets[$0].voxels, size: g.size, spacing: g.spacing)
        }
        let limit = distanceMM * distanceMM
        var best: Float = -.infinity
        field.volume.voxels.withUnsafeBufferPointer { dose in
            for n in 0..<g.count where mine[n] >= limit && others.allSatisfy({ $0[n] >= mine[n] }) { best = max(best, dose[n]) }
        }
        return best.isFinite ? Double(best) : nil
    }

    /// Labels (1…) of the 6-connected components of the voxels contributing to the
    /// isodose volume at `levelGy`, and each voxel's contribution; computed once per level.
    func labelled(_ levelGy: Double) -> (labels: [Int32], fractions: [Float]) {
        lock.lock()
        defer { lock.unlock() }
        if let c = components[levelGy] { return c }
        let f = field.isodoseFractions(levelGy)
        let c = (TargetIsodose.label(f.map { $0 > 0 }, size: field.grid.size), f)
        components[levelGy] = c
        return c
    }

    /// 6-connected component labels (1…) of the true cells of `mask`; 0 elsewhere.
    /// - Complexity: O(cells), one breadth-first pass.
    static func label(_ mask: [Bool], size: SIMD3<Int>) -> [Int32] {
        let nx = size.x, ny = size.y, nz = size.z
        var labels = [Int32](repeating: 0, count: mask.count)
        var queue: [Int] = []
        var next: Int32 = 0
        for seed in mask.indices where mask[seed] && labels[seed] == 0 {
            next += 1
            labels[seed] = next
            queue.removeAll(keepingCapacity: true)
            queue.append(seed)
            var head = 0
            while head < queue.count {
                let v = queue[head]
                head += 1
                let i = v % nx, j = (v / nx) % ny, k = v / (nx * ny)
                @inline(__always) func visit(_ ok: Bool, _ w: Int) {
                    if ok && mask[w] && labels[w] == 0 { labels[w] = next; queue.append(w) }
                }
                visit(i > 0, v - 1)
                visit(i + 1 < nx, v + 1)
                visit(j > 0, v - nx)
                visit(j + 1 < ny, v + nx)
                visit(k > 0, v - nx * ny)
                visit(k + 1 < nz, v + nx * ny)
            }
        }
        return labels
    }
}

extension DoseField {
    /// Each voxel's contribution (0–1 of its volume) to the isodose volume at `levelGy`:
    /// its dose spread uniformly over ± half the change across it (central differences),
    /// the same rule as `isodoseVolumesCC`.
    /// - Complexity: O(voxels), concurrent over slices.
    public func isodoseFractions(_ levelGy: Double) -> [Float] {
        let g = grid
        let nx = g.nx, ny = g.ny, nz = g.nz
        var out = [Float](repeating: 0, count: g.count)
        volume.voxels.withUnsafeBufferPointer { vb in
            out.withUnsafeMutableBufferPointer { ob in
                let v = vb.baseAddress!, o = ob
                Parallel.forEach(nz) { k in
                    @inline(__always) func at(_ i: Int, _ j: Int, _ k: Int) -> Double { Double(v[(k * ny + j) * nx + i]) }
                    for j in 0..<ny {
                        for i in 0..<nx {
                            let d = at(i, j, k)
                            let half = DoseField.halfSpread(at, i, j, k, nx, ny, nz)
                            let f = half < 1e-9 ? (d >= levelGy ? 1 : 0) : min(1, max(0, (d + half - levelGy) / (2 * half)))
                            o[(k * ny + j) * nx + i] = Float(f)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Half the dose change across voxel (i, j, k): ½ |∇D| from central differences
    /// (one-sided at faces; zero along an axis of one voxel).
    @inline(__always)
    static func halfSpread(_ at: (Int, Int, Int) -> Double, _ i: Int, _ j: Int, _ k: Int, _ nx: Int, _ ny: Int, _ nz: Int) -> Double {
        let gx = nx > 1 ? (at(min(i + 1, nx - 1), j, k) - at(max(i - 1, 0), j, k)) / Double(min(i + 1, nx - 1) - max(i - 1, 0)) : 0
        let gy = ny > 1 ? (at(i, min(j + 1, ny - 1), k) - at(i, max(j - 1, 0), k)) / Double(min(j + 1, ny - 1) - max(j - 1, 0)) : 0
        let gz = nz > 1 ? (at(i, j, min(k + 1, nz - 1)) - at(i, j, max(k - 1, 0))) / Double(min(k + 1, nz - 1) - max(k - 1, 0)) : 0
        return 0.5 * (gx * gx + gy * gy + gz * gz).squareRoot()
    }

    /// Dose voxel centres inside `shape` (prism slabs of `sliceSpacing` around its planes,
    /// even-odd over each plane's polygons).
    /// - Complexity: O(voxels in the shape's bounding box × polygon vertices).
    public func centreMask(of shape: PlanarShape, frame: PlaneFrame, sliceSpacing: Double) -> [Bool] {
        let g = grid
        var inside = [Bool](repeating: false, count: g.count)
        let planes = shape.planes
        guard !planes.isEmpty, let bounds = shape.bounds else { return inside }
        var slabs: [(Double, Double)] = []
        for p in planes.indices {
            let lo = p > 0 && planes[p].w - planes[p - 1].w <= 1.5 * sliceSpacing ? (planes[p].w + planes[p - 1].w) / 2 : planes[p].w - sliceSpacing / 2
            let hi = p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing ? (planes[p].w + planes[p + 1].w) / 2 : planes[p].w + sliceSpacing / 2
            slabs.append((lo, hi))
        }
        for k in 0..<g.nz { for j in 0..<g.ny { for i in 0..<g.nx {
            let l = frame.local(g.position(Double(i), Double(j), Double(k)))
            if l.x < bounds.lo.x || l.y < bounds.lo.y || l.x > bounds.hi.x || l.y > bounds.hi.y { continue }
            if l.z < slabs[0].0 || l.z >= slabs[slabs.count - 1].1 { continue }
            guard let p = slabs.firstIndex(where: { l.z >= $0.0 && l.z < $0.1 }) else { continue }
            let q = SIMD2(l.x, l.y)
            var count = 0
            for poly in planes[p].polygons where PolygonCoverage.contains(poly, q) { count += 1 }
            if count % 2 == 1 { inside[g.linearIndex(i, j, k)] = true }
        } } }
        return inside
    }
}
