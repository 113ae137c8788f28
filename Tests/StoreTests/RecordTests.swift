import Foundation
import XCTest
import Base
@testable import Store

final class PlanKeyTests: XCTestCase {
    func testSHA256MatchesTheFIPSExamples() {
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testTheKeyIsStableAndDependsOnEveryInput() {
        let key = PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.1", "1.2.3.2"], structureSetSOPInstanceUID: "1.2.4",
                               optionsJSON: #"{"end_cap":"prism"}"#, sbrtVersion: "0.3.0")
        // Pinned: a change of this value changes every stored key (bump PlanKey.scheme).
        XCTAssertEqual(key, PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.2", "1.2.3.1"], structureSetSOPInstanceUID: "1.2.4",
                                         optionsJSON: #"{"end_cap":"prism"}"#, sbrtVersion: "0.3.0"))
        XCTAssertEqual(key, "p1-" + SHA256.hex(Array("scheme 15:sbrt.plan-key/1\ndose 7:1.2.3.1\ndose 7:1.2.3.2\nstructure-set 5:1.2.4\noptions 19:{\"end_cap\":\"prism\"}\nsbrt 5:0.3.0\n".utf8)))
        let others = [
            PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.1"], structureSetSOPInstanceUID: "1.2.4", optionsJSON: #"{"end_cap":"prism"}"#, sbrtVersion: "0.3.0"),
            PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.1", "1.2.3.2"], structureSetSOPInstanceUID: "1.2.5", optionsJSON: #"{"end_cap":"prism"}"#, sbrtVersion: "0.3.0"),
            PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.1", "1.2.3.2"], structureSetSOPInstanceUID: "1.2.4", optionsJSON: #"{"end_cap":"none"}"#, sbrtVersion: "0.3.0"),
            PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.1", "1.2.3.2"], structureSetSOPInstanceUID: "1.2.4", optionsJSON: #"{"end_cap":"prism"}"#, sbrtVersion: "0.3.1"),
            // Length prefixes: moving text between fields cannot collide.
            PlanKey.make(doseSOPInstanceUIDs: ["1.2.3.1", "1.2.3.2"], structureSetSOPInstanceUID: "1.2.4\noptions 0:", optionsJSON: "", sbrtVersion: "0.3.0"),
        ]
        XCTAssertEqual(Set(others + [key]).count, 6)
    }

    func testCanonicalJSONSortsKeys() throws {
        struct Options: Encodable { var metrics = ["D95%"]; var endCap = "prism"; var dir = "a/b"; var rxGy = 0.1 + 0.2 }
        XCTAssertEqual(try PlanKey.canonicalJSON(Options()), #"{"dir":"a/b","end_cap":"prism","metrics":["D95%"],"rx_gy":0.30000000000000004}"#)
        XCTAssertThrowsError(try PlanKey.canonicalJSON(Options(rxGy: .nan))) { XCTAssertEqual(($0 as? SBRTError)?.kind, .invalidValue) }
    }
}

final class StoredDVHTests: XCTestCase {
    func testTheEncodingIsLittleEndianFloat32AndRoundTrips() throws {
        let curve = try StoredDVH(binWidthGy: 0.01, totalVolumeCC: 2.5, cumulativeCC: [2.5, 1, Float.leastNonzeroMagnitude, 0])
        XCTAssertEqual(curve.encoded(), [0, 0, 0x20, 0x40, 0, 0, 0x80, 0x3f, 1, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try StoredDVH.decode(encoding: "f32le", bytes: curve.encoded(), bins: 4, binWidthGy: 0.01, totalVolumeCC: 2.5), curve)
        XCTAssertThrowsError(try StoredDVH.decode(encoding: "f32le", bytes: [0, 0, 0], bins: 1, binWidthGy: 0.01, totalVolumeCC: 1)) {
            XCTAssertEqual(($0 as? SBRTError)?.kind, .database)
        }
        XCTAssertThrowsError(try StoredDVH.decode(encoding: "zstd", bytes: [], bins: 0, binWidthGy: 0.01, totalVolumeCC: 1))
        XCTAssertThrowsError(try StoredDVH.decode(encoding: "f32le", bytes: [0, 0, 0xc0, 0x7f], bins: 1, binWidthGy: 0.01, totalVolumeCC: 1)) {
            XCTAssertEqual(($0 as? SBRTError)?.kind, .database, "a NaN volume is corrupt")
        }
    }

    func testSamplingFollowsTheCSVStepsAndInterpolates() throws {
        // A linear cumulative DVH: 10 cc at 0 Gy falling to 0 at 2 Gy.
        let curve = try StoredDVH(totalVolumeCC: 10, maxDoseGy: 2.0) { max(0, 10 - 5 * $0) }
        XCTAssertEqual(curve.cumulativeCC.count, 202, "0 … 2.01 Gy: floor(2/0.01) + 2 steps")
        XCTAssertEqual(curve.cumulativeCC[100], 5)
        XCTAssertEqual(curve.volumeCC(atLeast: 0.505), 7.475, accuracy: 1e-5)
        XCTAssertEqual(curve.volumeCC(atLeast: -1), 10)
        XCTAssertEqual(curve.volumeCC(atLeast: 50), 0)
        XCTAssertThrowsError(try StoredDVH(totalVolumeCC: 1, maxDoseGy: 1e300) { _ in 0 }) {
            XCTAssertEqual(($0 as? SBRTError)?.kind, .tooLarge, "an absurd maximum dose cannot ask for unbounded memory")
        }
        XCTAssertThrowsError(try StoredDVH(totalVolumeCC: 1, maxDoseGy: .nan) { _ in 0 })
        XCTAssertThrowsError(try StoredDVH(binWidthGy: 0, totalVolumeCC: 1, cumulativeCC: []))
        XCTAssertThrowsError(try StoredDVH(binWidthGy: 0.01, totalVolumeCC: 1, cumulativeCC: [1, -1]))
    }
}

final class StoreLocationTests: XCTestCase {
    func testPathsAndURLsAreTold() throws {
        XCTAssertEqual(try StoreLocation(parsing: "cohort.sqlite"), .sqlite(path: "cohort.sqlite"))
        XCTAssertEqual(try StoreLocation(parsing: "/data/c:d.db"), .sqlite(path: "/data/c:d.db"))
        XCTAssertEqual(try StoreLocation(parsing: "postgresql://sbrt@db.example:5433/physics"), .postgres(url: "postgresql://sbrt@db.example:5433/physics"))
        XCTAssertEqual(try StoreLocation(parsing: "postgres://sbrt@db/physics"), .postgres(url: "postgres://sbrt@db/physics"))
        for bad in ["", "mysql://u@h/db", "postgresql:///db"] {
            XCTAssertThrowsError(try StoreLocation(parsing: bad), bad) { XCTAssertEqual(($0 as? SBRTError)?.kind, .invalidRequest) }
        }
    }

    func testPasswordsNeverReachAMessage() throws {
        let l = try StoreLocation(parsing: "postgresql://sbrt:s3cret@db:5432/physics?sslmode=require&password=other")
        XCTAssertEqual(l.description, "postgresql://sbrt:***@db:5432/physics?sslmode=require&password=***")
        XCTAssertThrowsError(try PlanStore.open(.postgres(url: "postgresql://sbrt:s3cret@127.0.0.1:1/physics?connect_timeout=2"))) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .database)
            XCTAssertFalse("\(e)".contains("s3cret"), "\(e)")
        }
    }
}
