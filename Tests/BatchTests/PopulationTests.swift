import Base
@testable import Batch
import Foundation
import Store
import XCTest

final class PopulationTests: XCTestCase {
    /// A stored curve: volume falling linearly from `cc` at 0 Gy to 0 at `maxGy` (0.01 Gy steps).
    func row(_ key: String, cc: Double, maxGy: Double, label: String? = "SBRT_LUNG", options: String = "{}") throws -> CurveRow {
        let curve = try StoredDVH(totalVolumeCC: cc, maxDoseGy: maxGy) { d in max(0, cc * (1 - d / maxGy)) }
        return CurveRow(planKey: key, folder: "/f/" + key, patientID: nil, planLabel: label, optionsJSON: options, structure: "PTV", curve: curve)
    }

    func testQuartilesAreHyndmanFanDefinition7AsInROrNumPy() {
        // numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = [1.75, 2.5, 3.25]; R quantile(type = 7) agrees.
        XCTAssertEqual(PopulationDVH.quantile([1, 2, 3, 4], 0.25), 1.75)
        XCTAssertEqual(PopulationDVH.quantile([1, 2, 3, 4], 0.5), 2.5)
        XCTAssertEqual(PopulationDVH.quantile([1, 2, 3, 4], 0.75), 3.25)
        XCTAssertEqual(PopulationDVH.quantile([7], 0.75), 7)
        XCTAssertEqual(PopulationDVH.quantile([0, 10, 20, 30, 40], 0.25), 10)
    }

    func testTheBandIsTheQuartilesOfVolumePercentAtEachDose() throws {
        // Five plans reaching 10, 20, 30, 40 and 50 Gy: at dose d the volume % is 100·(1 − d/max).
        let maxima = [30.0, 10, 50, 20, 40]
        let rows = try maxima.enumerated().map { try row("p\($0.offset)", cc: 10 + Double($0.offset), maxGy: $0.element) }
        let bands = try PopulationDVH.bands(rows, by: .none, samples: 500)
        XCTAssertEqual(bands.count, 1)
        let b = bands[0]
        XCTAssertEqual(b.plans, 5)
        XCTAssertEqual(b.doseGy.first, 0)
        XCTAssertEqual(b.doseGy.last!, 50.01, accuracy: 1e-9, "the last stored step of the hottest plan")
        let n = 150
        let d = b.doseGy[n]
        let percents = maxima.map { max(0, 100 * (1 - d / $0)) }.sorted()
        XCTAssertEqual(b.medianPercent[n], percents[2], accuracy: 1e-4)
        XCTAssertEqual(b.q1Percent[n], percents[1], accuracy: 1e-4)
        XCTAssertEqual(b.q3Percent[n], percents[3], accuracy: 1e-4)
        XCTAssertTrue(zip(b.medianPercent, b.medianPercent.dropFirst()).allSatisfy { $0 >= $1 }, "the median of DVHs falls")
        XCTAssertTrue(zip(b.q1Percent, b.q3Percent).allSatisfy { $0 <= $1 })
        XCTAssertEqual(b.medianPercent[0], 100, accuracy: 1e-5)
    }

    func testPlansAreGroupedBySiteOrProtocol() throws {
        let rows = [try row("a", cc: 5, maxGy: 40, label: "SBRT_LUNG_R", options: #"{"protocol_id":"rtog0915"}"#),
                    try row("b", cc: 5, maxGy: 45, label: "Lung R SBRT 54Gy", options: #"{"protocol_id":"rtog0915"}"#),
                    try row("c", cc: 5, maxGy: 30, label: "LIVER-SABR", options: "{}")]
        XCTAssertEqual(try PopulationDVH.bands(rows, by: .site).map { "\($0.group) \($0.plans)" }, ["LIVER 1", "LUNG_R 2"])
        XCTAssertEqual(try PopulationDVH.bands(rows, by: .protocol).map { "\($0.group) \($0.plans)" }, ["(no protocol) 1", "rtog0915 2"])
        XCTAssertThrowsError(try PopulationDVH.bands([], by: .none)) { XCTAssertEqual(($0 as? SBRTError)?.kind, .structureNotFound) }
    }

    func testTheSiteIsThePlanLabelWithoutTechniqueAndNumberedWords() {
        XCTAssertEqual(PopulationDVH.site(planLabel: "SBRT_PELV"), "PELV")
        XCTAssertEqual(PopulationDVH.site(planLabel: "Lung R SBRT 54Gy"), "LUNG_R")
        XCTAssertEqual(PopulationDVH.site(planLabel: "spine-T7.vmat v2"), "SPINE")
        XCTAssertEqual(PopulationDVH.site(planLabel: "SBRT 5fx"), "(no site in label)")
        XCTAssertEqual(PopulationDVH.site(planLabel: nil), "(no plan label)")
        XCTAssertEqual(PopulationDVH.site(planLabel: "  "), "(no plan label)")
    }

    func testExportCSVQuotesFieldsAsRFC4180Asks() {
        let row = MetricRow(planKey: "p1-x", folder: "/data/Smith, J", patientID: "ID\"7", planLabel: "two\nlines", structure: "PTV",
                            metric: "D95%", value: 38.25, unit: "Gy", note: nil)
        let csv = BatchExport.csv([row])
        XCTAssertEqual(csv, BatchExport.columns.joined(separator: ",") + "\n"
                       + "p1-x,\"/data/Smith, J\",\"ID\"\"7\",\"two\nlines\",PTV,D95%,38.25,Gy,\n")
        XCTAssertEqual(CSV.split("p1-x,\"/data/Smith, J\",\"ID\"\"7\""), ["p1-x", "/data/Smith, J", "ID\"7"])
    }
}
