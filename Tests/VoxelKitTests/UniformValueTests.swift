import XCTest
@testable import VoxelKit

final class UniformValueTests: XCTestCase {
    func grid(_ size: SIMD3<Int>) -> Grid {
        Grid(size: size, origin: Vec3(0, 0, 0), spacing: Vec3(1, 1, 1))
    }

    /// The one value of a box, nil where any voxel of it differs, is NaN or lies outside
    /// the field's known boxes; voxels outside the box do not matter.
    func testUniformValueOfABox() {
        let size = SIMD3(6, 5, 4)
        var voxels = [Float](repeating: 2.5, count: 120)
        voxels[0] = 9   // outside the box below
        let box = VoxelBox(lo: SIMD3(1, 1, 1), hi: SIMD3(4, 3, 2))
        XCTAssertEqual(DoseField(Volume(grid: grid(size), voxels: voxels)).uniformValue(in: box), 2.5)
        XCTAssertNil(DoseField(Volume(grid: grid(size), voxels: voxels)).uniformValue(in: VoxelBox(lo: SIMD3(0, 0, 0), hi: SIMD3(1, 1, 1))))
        var last = voxels
        last[(2 * 5 + 3) * 6 + 4] = 2.5000002   // the box's last voxel
        XCTAssertNil(DoseField(Volume(grid: grid(size), voxels: last)).uniformValue(in: box))
        var nan = voxels
        nan[(1 * 5 + 1) * 6 + 1] = .nan          // the box's first voxel
        XCTAssertNil(DoseField(Volume(grid: grid(size), voxels: nan)).uniformValue(in: box))
        // Zeros of both signs are one value (the trilinear form of either is +0); an
        // infinite voxel is never one.
        var zeros = [Float](repeating: 0, count: 120)
        zeros[(1 * 5 + 1) * 6 + 1] = -0.0
        zeros[(2 * 5 + 2) * 6 + 3] = -0.0
        XCTAssertEqual(DoseField(Volume(grid: grid(size), voxels: zeros)).uniformValue(in: box), 0)
        var infinite = voxels
        infinite[(1 * 5 + 1) * 6 + 1] = .infinity
        XCTAssertNil(DoseField(Volume(grid: grid(size), voxels: infinite), maxGy: 2.5, definedIn: [box]).uniformValue(in: box))
        let partial = DoseField(Volume(grid: grid(size), voxels: voxels), maxGy: 2.5, definedIn: [VoxelBox(lo: SIMD3(1, 1, 1), hi: SIMD3(4, 3, 1))])
        XCTAssertNil(partial.uniformValue(in: box))
        XCTAssertEqual(partial.uniformValue(in: VoxelBox(lo: SIMD3(1, 1, 1), hi: SIMD3(2, 2, 1))), 2.5)
    }
}
