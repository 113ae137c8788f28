import Foundation
import VoxelKit

/// Where one course's dose grid, registered and resampled, covers the reference grid: the
/// composite counts the course at 0 Gy elsewhere, so a structure's number from that course
/// is known only as far as the rule of `GridCoverageRule` allows.
///
/// Two maps on the reference grid, read through the same DVH sampling as the doses:
/// - `covered`: 1 at voxels inside the course's grid, 0 outside. A structure's mean of
///   it is the fraction of its volume the course covers (samples outside the reference
///   grid count 0, i.e. uncovered); one minus it, the fraction outside.
/// - `edge`: the course's dose in its outermost covered voxel layer (covered voxels with
///   an uncovered face neighbour), and at the uncovered voxels next to them the largest
///   of their covered neighbours' doses, 0 elsewhere. A structure's maximum of it is the
///   dose at the course grid's boundary inside the structure (`DVH.boundaryMaxGy`'s
///   counterpart); setting the outer layer too keeps trilinear sampling between the two
///   layers from diluting it.
///
/// Cost: three passes over the voxels (marks, edge with six neighbour reads, clearing),
/// concurrent over planes, for courses that do not cover the whole reference grid only.
struct CourseCoverage: Sendable {
    var covered: [Float]
    var edge: [Float]

    /// Reads the NaN marks `Resampler` left at uncovered voxels of `volume` into the two
    /// maps when `mapping` (nil otherwise), and sets the marked voxels to 0.
    static func take(_ volume: inout Volume<Float>, mapping: Bool) -> CourseCoverage? {
        let coverage = mapping ? CourseCoverage(volume) : nil
        volume.voxels.withUnsafeMutableBufferPointer { vb in
            let v = vb
            Parallel.forEachChunk(v.count, minimumChunk: 65_536) { _, range in
                for i in range where v[i].isNaN { v[i] = 0 }
            }
        }
        return coverage
    }

    /// The two maps of `volume`, whose uncovered voxels are NaN.
    init(_ volume: Volume<Float>) {
        let g = volume.grid, n = g.count
        let (nx, ny) = (g.nx, g.ny)
        var edge = FreshVoxels.filled(Float(0), count: n)
        let covered: [Float] = volume.voxels.withUnsafeBufferPointer { vb in
            let v = vb
            return FreshVoxels.make(count: n, minimumChunk: 65_536) { (range, c: UnsafeMutableBufferPointer<Float>) in
                for i in range { c[i] = v[i].isNaN ? 0 : 1 }
            }
        }
        volume.voxels.withUnsafeBufferPointer { vb in
            covered.withUnsafeBufferPointer { cb in
                edge.withUnsafeMutableBufferPointer { eb in
                    let v = vb, c = cb, e = eb
                    Parallel.forEach(g.nz) { k in Self.edgePlane(k, nx: nx, ny: ny, nz: g.nz, v, c, e) }
                }
            }
        }
        self.covered = covered
        self.edge = edge
    }

    /// The edge map on plane `k`: at a covered voxel with an uncovered face neighbour its
    /// own dose, at an uncovered voxel with covered face neighbours the largest of theirs.
    static func edgePlane(_ k: Int, nx: Int, ny: Int, nz: Int, _ v: UnsafeBufferPointer<Float>,
                          _ c: UnsafeBufferPointer<Float>, _ e: UnsafeMutableBufferPointer<Float>) {
        let plane = nx * ny
        let interiorPlane = k > 0 && k < nz - 1
        for j in 0..<ny {
            for i in 0..<nx {
                let p = (k * ny + j) * nx + i
                // Most voxels share their state with all six face neighbours: nothing to
                // set (the general test below would find no other state either).
                if interiorPlane && i > 0 && i < nx - 1 && j > 0 && j < ny - 1 {
                    let s = c[p]
                    if c[p - 1] == s && c[p + 1] == s && c[p - nx] == s && c[p + nx] == s && c[p - plane] == s && c[p + plane] == s { continue }
                }
                let inside = c[p] == 1
                var best: Float = 0, hasOther = false
                @inline(__always) func look(_ q: Int) {
                    guard (c[q] == 1) != inside else { return }
                    hasOther = true
                    if !inside { best = max(best, v[q]) }
                }
                if i > 0 { look(p - 1) }
                if i < nx - 1 { look(p + 1) }
                if j > 0 { look(p - nx) }
                if j < ny - 1 { look(p + nx) }
                if k > 0 { look(p - nx * ny) }
                if k < nz - 1 { look(p + nx * ny) }
                if hasOther { e[p] = inside ? v[p] : best }
            }
        }
    }
}
