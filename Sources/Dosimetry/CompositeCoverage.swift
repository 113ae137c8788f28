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
/// Cost: one pass over the voxels with six neighbour reads each, for courses that do not
/// cover the whole reference grid only.
struct CourseCoverage: Sendable {
    var covered: [Float]
    var edge: [Float]

    /// Reads the NaN marks `Resampler` left at uncovered voxels of `volume`, and sets them to 0.
    init(_ volume: inout Volume<Float>) {
        let g = volume.grid, n = g.count
        let (nx, ny, nz) = (g.nx, g.ny, g.nz)
        var covered = [Float](repeating: 0, count: n)
        var edge = [Float](repeating: 0, count: n)
        volume.voxels.withUnsafeBufferPointer { v in
            for i in 0..<n where !v[i].isNaN { covered[i] = 1 }
            for k in 0..<nz { for j in 0..<ny { for i in 0..<nx {
                let p = (k * ny + j) * nx + i
                var best: Float = 0, hasOther = false
                let inside = covered[p] == 1
                func look(_ q: Int) {
                    guard (covered[q] == 1) != inside else { return }
                    hasOther = true
                    if !inside { best = max(best, v[q]) }
                }
                if i > 0 { look(p - 1) }
                if i < nx - 1 { look(p + 1) }
                if j > 0 { look(p - nx) }
                if j < ny - 1 { look(p + nx) }
                if k > 0 { look(p - nx * ny) }
                if k < nz - 1 { look(p + nx * ny) }
                if hasOther { edge[p] = inside ? v[p] : best }
            } } }
        }
        for i in 0..<n where volume.voxels[i].isNaN { volume.voxels[i] = 0 }
        self.covered = covered
        self.edge = edge
    }
}
