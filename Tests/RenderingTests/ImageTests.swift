import Base
import XCTest
@testable import Rendering

/// `RGBAImage` and `GrayImage` store row-major, top-row-first bytes and address them
/// by (column, row).
final class ImageTests: XCTestCase {

    func testFillSetsEveryPixel() {
        let image = RGBAImage(width: 3, height: 2, fill: SIMD4(10, 20, 30, 40))
        XCTAssertEqual(image.pixels.count, 24)
        XCTAssertEqual(image.pixels, [UInt8]((0..<6).flatMap { _ in [10, 20, 30, 40] as [UInt8] }))
        XCTAssertEqual(GrayImage(width: 4, height: 3, fill: 7).pixels, [UInt8](repeating: 7, count: 12))
    }

    func testDefaultFillIsOpaqueBlack() {
        let image = RGBAImage(width: 2, height: 2)
        XCTAssertEqual(image[x: 1, y: 1], SIMD4(0, 0, 0, 255))
        XCTAssertTrue(image.isOpaque)
    }

    func testPixelAddressIsRowMajorTopRowFirst() {
        var image = RGBAImage(width: 3, height: 2)
        image[x: 2, y: 1] = SIMD4(1, 2, 3, 4)
        XCTAssertEqual(Array(image.pixels[20..<24]), [1, 2, 3, 4])
        XCTAssertEqual(image[x: 2, y: 1], SIMD4(1, 2, 3, 4))
        XCTAssertFalse(image.isOpaque)

        var grey = GrayImage(width: 3, height: 2)
        grey[x: 1, y: 1] = 9
        XCTAssertEqual(grey.pixels, [0, 0, 0, 0, 9, 0])
        XCTAssertEqual(grey[x: 1, y: 1], 9)
    }

    func testInitFromPixelsChecksTheLength() throws {
        XCTAssertNoThrow(try RGBAImage(width: 2, height: 1, pixels: [1, 2, 3, 4, 5, 6, 7, 8]))
        XCTAssertThrowsError(try RGBAImage(width: 2, height: 1, pixels: [1, 2, 3])) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue)
        }
        XCTAssertThrowsError(try GrayImage(width: -1, height: 1, pixels: [])) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue)
        }
        XCTAssertThrowsError(try GrayImage(width: Int.max, height: 3, pixels: [])) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue)
        }
    }
}
