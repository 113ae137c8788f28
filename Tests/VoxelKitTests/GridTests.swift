import VoxelKit
import XCTest

final class GridTests: XCTestCase {
    func testContinuousIndexInvertsPositionForObliqueAnisotropicGrids() {
        let a = 10.0 * Double.pi / 180
        let g = Grid(size: SIMD3(7, 5, 4), origin: Vec3(-12.5, 30, 4),
                     spacing: Vec3(0.98, 1.3, 2.5),
                     axisI: Vec3(cos(a), sin(a), 0), axisJ: Vec3(-sin(a), cos(a), 0), axisK: Vec3(0, 0, -1))
        for (i, j, k) in [(0.0, 0.0, 0.0), (6.0, 4.0, 3.0), (2.5, 1.25, 0.75)] {
            let p = g.position(i, j, k)
            let x = g.continuousIndex(of: p)
            XCTAssertEqual(x.x, i, accuracy: 1e-9)
            XCTAssertEqual(x.y, j, accuracy: 1e-9)
            XCTAssertEqual(x.z, k, accuracy: 1e-9)
        }
        XCTAssertEqual(g.voxelVolumeCC, 0.98 * 1.3 * 2.5 / 1000, accuracy: 1e-12)
        XCTAssertFalse(g.isAxisAligned())
        XCTAssertTrue(Grid(size: SIMD3(1, 1, 1), origin: .zero, spacing: Vec3(1, 1, 1), axisI: Vec3(-1, 0, 0)).isAxisAligned())
    }

    func testMemoryLayoutIsXFastestThenYThenZ() {
        let g = Grid(size: SIMD3(4, 3, 2), origin: .zero, spacing: Vec3(1, 1, 1))
        XCTAssertEqual(g.linearIndex(1, 0, 0), 1)
        XCTAssertEqual(g.linearIndex(0, 1, 0), 4)
        XCTAssertEqual(g.linearIndex(0, 0, 1), 12)
        var v = Volume<Int>(grid: g, repeating: 0)
        v[3, 2, 1] = 7
        XCTAssertEqual(v.voxels[23], 7)
    }

    func testParallelChunksCoverEveryIndexOnce() {
        var seen = [Int](repeating: 0, count: 1001)
        seen.withUnsafeMutableBufferPointer { buf in
            let b = buf
            Parallel.forEachChunk(1001) { _, range in for i in range { b[i] += 1 } }
        }
        XCTAssertTrue(seen.allSatisfy { $0 == 1 })
    }

    /// `forEachDynamic` visits every index of its order once, on workers numbered below
    /// `Parallel.workers`; an empty order calls nothing.
    func testParallelDynamicVisitsEveryIndexOnceOnNumberedWorkers() {
        let order = (0..<300).map { ($0 * 7) % 300 }  // a permutation (7 and 300 are coprime)
        var seen = [Int](repeating: 0, count: 300), workers = [Int](repeating: -1, count: 300)
        seen.withUnsafeMutableBufferPointer { s in workers.withUnsafeMutableBufferPointer { w in
            let (sb, wb) = (s, w)
            Parallel.forEachDynamic(order) { worker, index in sb[index] += 1; wb[index] = worker }
        } }
        XCTAssertTrue(seen.allSatisfy { $0 == 1 })
        XCTAssertTrue(workers.allSatisfy { $0 >= 0 && $0 < Parallel.workers })
        var called = false
        Parallel.forEachDynamic([]) { _, _ in called = true }
        XCTAssertFalse(called)
    }
}
