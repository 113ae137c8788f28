import Dosimetry
import PlanReview
import Reports
import XCTest

final class DVHComparisonTests: XCTestCase {
    func testGoldenExportAgreesAndAOnePercentDoseChangeIsCaught() throws {
        let golden = try DVHSet.load(fixture("golden/dvh/pelvis.csv"))
        let same = DVHComparison.run(baseline: golden, current: try DVHSet.load(fixture("pelvis")), options: .init())
        XCTAssertTrue(same.passed, ReportText.comparison(same))
        XCTAssertTrue(same.structures.allSatisfy { $0.agreementPercent == 100 })
        XCTAssertEqual(same.structures.count, 7)

        let dir = try scaledPelvis(1.01, name: "onepercent")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let changed = DVHComparison.run(baseline: golden, current: try DVHSet.load(dir), options: .init())
        XCTAssertFalse(changed.passed)
        let ptv = try XCTUnwrap(changed.structures.first { $0.name == "PTV" })
        XCTAssertFalse(ptv.passed)
        let d95 = try XCTUnwrap(ptv.quantities.first { $0.name == "D95%" })
        XCTAssertEqual(d95.difference! / d95.baseline!, 0.01, accuracy: 0.001, "D95 moves by 1 %")
        XCTAssertEqual(ptv.quantities.first { $0.name == "volume" }?.withinTolerance, true, "volumes do not change")
        XCTAssertLessThan(ptv.agreementPercent!, 95)
    }

    func testCSVParsingStatisticsAndMissingStructures() throws {
        let csv = "structure,dose_gy,volume_cc,volume_pct\nA,0,10,100\nA,1,10,100\nA,2,0,0\n\"B,x\",0,5,100\n\"B,x\",1,0,0\n"
        let s = try DVHSet.parseCSV(csv, path: "t.csv")
        XCTAssertEqual(s.entries.map(\.name), ["A", "B,x"])
        // Saved on Windows (CRLF), the same table: it was read as one line and came out empty.
        let crlf = try DVHSet.parseCSV(csv.replacingOccurrences(of: "\n", with: "\r\n"), path: "w.csv")
        XCTAssertEqual(crlf.entries.map(\.name), ["A", "B,x"])
        XCTAssertEqual(crlf.entries.map(\.d95Gy), s.entries.map(\.d95Gy))
        let a = s.entries[0]
        XCTAssertEqual(a.volumeCC, 10)
        XCTAssertEqual(a.meanGy!, 1.5, accuracy: 1e-12, "∫V dD / V0 with trapezoids")
        XCTAssertEqual(a.maxGy, 2)
        XCTAssertEqual(a.d95Gy!, 1.05, accuracy: 1e-12)
        let only = try DVHSet.parseCSV("structure,dose_gy,volume_cc,volume_pct\nA,0,10,100\nA,1,10,100\nA,2,0,0\n", path: "u.csv")
        let r = DVHComparison.run(baseline: s, current: only, options: .init())
        XCTAssertEqual(r.onlyInBaseline, ["B,x"])
        XCTAssertFalse(r.passed)
        XCTAssertThrowsError(try DVHSet.parseCSV("x,y\n", path: "bad.csv")) { e in XCTAssertTrue("\(e)".contains("bad.csv:1"), "\(e)") }
        XCTAssertEqual(DoseTolerance.parse("1%"), .percent(1))
        XCTAssertEqual(DoseTolerance.parse("0.1 Gy"), .gy(0.1))
        XCTAssertNil(DoseTolerance.parse("abc"))
    }
}
