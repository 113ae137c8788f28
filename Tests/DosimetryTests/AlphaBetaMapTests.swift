import Geometry
import TestSupport
import VoxelKit
import XCTest
@testable import Dosimetry

/// `AlphaBetaMap.insideIndices` shares each grid row's edge crossings (`RowCrossings`);
/// its scalar twin is the per-voxel `evenOddInside`. They must agree voxel for voxel.
final class AlphaBetaMapTests: XCTestCase {
    /// A lobulated outline with a hole and an island inside the hole, on a few planes.
    func shape(frame: PlaneFrame) -> PlanarShape {
        func ring(_ r: (Double) -> Double, _ n: Int, _ c: SIMD2<Double>) -> [SIMD2<Double>] {
            (0..<n).map { k in
                let t = 2 * Double.pi * Double(k) / Double(n)
                return c + SIMD2(cos(t), sin(t)) * r(t)
            }
        }
        let planes = (0..<5).map { p in
            PlanarShape.Plane(w: Double(p) * 3 - 6, polygons: [
                ring({ 30 + 6 * sin(5 * $0 + Double(p)) }, 97, SIMD2(1.3, -2.1)),
                ring({ _ in 12 }, 40, SIMD2(0, 0)),
                ring({ _ in 5 }, 24, SIMD2(0.5, 0.5)),
            ])
        }
        return PlanarShape(name: "S", frame: frame, planes: planes)
    }

    /// The scalar twin: every voxel centre through `slabIndex` and `evenOddInside`.
    func bruteForce(_ s: PlanarShape, sliceSpacing: Double, grid: Grid) -> [Int] {
        let planes = s.planes
        var slabs: [(lo: Double, hi: Double)] = []
        for p in planes.indices {
            let prev = p > 0 && planes[p].w - planes[p - 1].w <= 1.5 * sliceSpacing
            let next = p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing
            slabs.append((planes[p].w - (prev ? (planes[p].w - planes[p - 1].w) / 2 : sliceSpacing / 2),
                          planes[p].w + (next ? (planes[p + 1].w - planes[p].w) / 2 : sliceSpacing / 2)))
        }
        var out: [Int] = []
        for k in 0..<grid.nz { for j in 0..<grid.ny { for i in 0..<grid.nx {
            let l = s.frame.local(grid.position(Double(i), Double(j), Double(k)))
            guard let p = AlphaBetaMap.slabIndex(slabs, l.z) else { continue }
            if AlphaBetaMap.evenOddInside(SIMD2(l.x, l.y), planes[p].polygons) { out.append(grid.linearIndex(i, j, k)) }
        } } }
        return out
    }

    /// The distinct α/β values at a structure's voxels, as the sorted set of them gives.
    func testDistinctValuesAreTheSortedSetOfTheValuesRead() {
        var g = SplitMix64(seed: 5)
        for trial in 0..<50 {
            let palette: [Float] = [3, 2, 10, 1.5, 0, -0.0, 8.5].shuffled(using: &g)
            let kinds = 1 + Int(g.next01() * Double(palette.count))
            let values = (0..<500).map { _ in palette[Int(g.next01() * Double(kinds))] }
            let indices = (0..<Int(g.next01() * 300)).map { _ in Int(g.next01() * 500) }
            XCTAssertEqual(AlphaBetaMap.distinctValues(values, at: indices).map(\.bitPattern),
                           Array(Set(indices.map { Double(values[$0]) })).sorted().map(\.bitPattern), "trial \(trial)")
        }
    }

    func testRowCrossingsEqualThePerVoxelTestOnAlignedAndObliqueGrids() {
        let frame = PlaneFrame(origin: Vec3(0, 0, 0), u: Vec3(1, 0, 0), v: Vec3(0, 1, 0), n: Vec3(0, 0, 1))
        let s = shape(frame: frame)
        // Aligned: rows along u, voxel centres landing on vertex v values too (0.5 mm steps).
        let aligned = Grid(size: SIMD3(90, 90, 8), origin: Vec3(-22, -22.5, -9), spacing: Vec3(0.5, 0.5, 2.5),
                           axisI: Vec3(1, 0, 0), axisJ: Vec3(0, 1, 0), axisK: Vec3(0, 0, 1))
        // Oblique: rotated 20° about n, so a row's centres do not share v.
        let c = cos(20 * Double.pi / 180), sn = sin(20 * Double.pi / 180)
        let oblique = Grid(size: SIMD3(60, 60, 8), origin: Vec3(-40, -20, -9), spacing: Vec3(1.1, 1.1, 2.5),
                           axisI: Vec3(c, sn, 0), axisJ: Vec3(-sn, c, 0), axisK: Vec3(0, 0, 1))
        for grid in [aligned, oblique] {
            let fast = AlphaBetaMap.insideIndices(s, sliceSpacing: 3, grid: grid)
            XCTAssertGreaterThan(fast.count, 1000)
            XCTAssertEqual(fast, bruteForce(s, sliceSpacing: 3, grid: grid))
        }
    }
}
