import Foundation
import XCTest
@testable import DICOM

/// UIDs under the `2.25.` root (PS3.5 §B.2): decimal renderings of UUIDs.
final class UIDTests: XCTestCase {

    func testGeneratedUIDsAreValidUniqueAndShortEnough() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let uid = UID.generate()
            XCTAssertTrue(uid.hasPrefix("2.25."), uid)
            XCTAssertTrue(UID.isValid(uid), uid)
            XCTAssertLessThanOrEqual(uid.utf8.count, 64, uid)
            XCTAssertLessThanOrEqual(uid.utf8.count, 44, "2.25. + at most 39 digits")
            seen.insert(uid)
        }
        XCTAssertEqual(seen.count, 1000)
    }

    func testDecimalOf128BitNumbers() {
        XCTAssertEqual(UID.decimal(hi: 0, lo: 0), "0")
        XCTAssertEqual(UID.decimal(hi: 0, lo: 42), "42")
        XCTAssertEqual(UID.decimal(hi: 0, lo: UInt64.max), "18446744073709551615")
        XCTAssertEqual(UID.decimal(hi: 1, lo: 0), "18446744073709551616")
        XCTAssertEqual(UID.decimal(hi: 1, lo: 1), "18446744073709551617")
        XCTAssertEqual(UID.decimal(hi: UInt64.max, lo: UInt64.max), "340282366920938463463374607431768211455")
        XCTAssertEqual(UID.decimal(hi: 0x8000_0000_0000_0000, lo: 0), "170141183460469231731687303715884105728")
        // 10^20 = 5 · 2^64 + 7766279631452241920
        XCTAssertEqual(UID.decimal(hi: 5, lo: 7_766_279_631_452_241_920), "100000000000000000000")
    }

    func testUIDOfAKnownUUID() throws {
        // The example of ISO/IEC 9834-8 / PS3.5 §B.2.
        let uuid = try XCTUnwrap(UUID(uuidString: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"))
        XCTAssertEqual(UID.fromUUID(uuid), "2.25.329800735698586629295641978511506172918")
        let zero = try XCTUnwrap(UUID(uuidString: "00000000-0000-0000-0000-000000000000"))
        XCTAssertEqual(UID.fromUUID(zero), "2.25.0")
    }

    func testValidity() {
        XCTAssertTrue(UID.isValid("1.2.840.10008.1.2.1"))
        XCTAssertTrue(UID.isValid("2.25.0"))
        XCTAssertTrue(UID.isValid(String(repeating: "1.", count: 31) + "12"))     // 64 characters
        XCTAssertFalse(UID.isValid(String(repeating: "1.", count: 32) + "1"))     // 65 characters
        XCTAssertFalse(UID.isValid(""))
        XCTAssertFalse(UID.isValid("1.02.3"), "no leading zeros")
        XCTAssertFalse(UID.isValid("1..2"))
        XCTAssertFalse(UID.isValid(".1.2"))
        XCTAssertFalse(UID.isValid("1.2."))
        XCTAssertFalse(UID.isValid("1.2.a"))
        XCTAssertFalse(UID.isValid("1.2.3 "))
        XCTAssertFalse(UID.isValid("1.2.٣"), "only ASCII digits")
    }
}
