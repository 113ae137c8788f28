import Foundation
import VoxelKit
import XCTest

/// `HugePages`' hints change how memory is backed, never what it holds.
final class HugePagesTests: XCTestCase {
    /// Populating pages keeps what they hold (written before or fresh and zero), at an
    /// unaligned start and end, and on an empty buffer.
    func testPopulateKeepsTheContents() {
        let count = 3 * 4096 + 123
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: count + 17, alignment: 16)
        defer { raw.deallocate() }
        let bytes = UnsafeMutableRawBufferPointer(rebasing: raw[17...])
        for i in 0..<count { bytes[i] = UInt8(truncatingIfNeeded: i &* 31 &+ 7) }
        HugePages.populate(bytes)
        XCTAssertTrue((0..<count).allSatisfy { bytes[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        // Fresh anonymous memory reads zero after populating, and takes writes.
        let fresh = [Float](unsafeUninitializedCapacity: 1 << 20) { out, n in
            HugePages.populate(UnsafeMutableRawBufferPointer(out))
            for i in 0..<out.count { out[i] = Float(i % 7) }
            n = out.count
        }
        XCTAssertEqual(fresh[6], 6)
        XCTAssertEqual(fresh[(1 << 20) - 1], Float(((1 << 20) - 1) % 7))
        HugePages.populate(UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }

    /// Populating a grid's rows keeps what the buffer holds, in the rows and between them.
    func testRowsPopulateKeepsTheContents() {
        let size = SIMD3(300, 40, 3)
        let rows = VoxelRows([VoxelBox(lo: SIMD3(10, 5, 0), hi: SIMD3(250, 30, 1))], in: size)
        var voxels = (0..<(size.x * size.y * size.z)).map { Float($0 % 1013) }
        voxels.withUnsafeMutableBufferPointer { rows.populate($0) }
        XCTAssertTrue(voxels.indices.allSatisfy { voxels[$0] == Float($0 % 1013) })
    }
}
