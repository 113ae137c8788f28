import Dosimetry
import Foundation
import PlanReview
import RTModel
import XCTest

/// The review's rules with known answers: per-target indices against numpy
/// (Tools/fixtures/review.py), conflicting sources, the grid-coverage rule, the overall
/// verdict, the prescription rules and the fracture flag.
final class ReviewRulesTests: XCTestCase {
    func expectedTargets(_ name: String) throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("review/\(name)/expected.json")))
        let json = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (json["plans"] as! [[String: Any]])[0]["targets"] as! [String: [String: Any]]
    }

    /// PIV, PIV50, CI, R50, GI and D2cm per target equal numpy's (same documented rule:
    /// isodose volumes connected to the target, D2cm within the lesion's own neighbourhood);
    /// merged 50 % isodose volumes are said so.
    func testTargetIndicesPerLesionMatchNumpy() throws {
        for name in ["two_lesions", "merged_lesions"] {
            let truth = try expectedTargets(name)
            let study = try ResolvedStudy.resolve(fixture("review/" + name), StudyRequest())
            var req = DVHRequest()
            req.structures = ["GTV1", "PTV1", "GTV2", "PTV2", "PTV_All"]
            req.metrics = try Metric.parseList("CI,R50,GI,D2cm")
            let a = try DVHAnalysis.run(study, req)
            for e in a.report.structures {
                let t = try XCTUnwrap(truth[e.name], e.name)
                func value(_ m: String) -> Double { e.metrics.first { $0.metric == m }!.value! }
                func num(_ k: String) -> Double { (t[k] as! NSNumber).doubleValue }
                XCTAssertEqual(e.volumeCC, num("tv_cc"), accuracy: 2e-3 * num("tv_cc"), "\(name) \(e.name) volume")
                XCTAssertEqual(value("CI"), num("ci"), accuracy: 2e-3 * num("ci"), "\(name) \(e.name) CI")
                XCTAssertEqual(value("R50"), num("r50"), accuracy: 2e-3 * num("r50"), "\(name) \(e.name) R50")
                XCTAssertEqual(value("GI"), num("gi"), accuracy: 1e-4 * num("gi"), "\(name) \(e.name) GI")
                XCTAssertEqual(value("D2cm"), num("d2cm_pct"), accuracy: 1e-3, "\(name) \(e.name) D2cm")
                let merged = !(t["merged_piv50"] as! [String]).isEmpty
                let note = e.metrics.first { $0.metric == "R50" }!.note ?? ""
                XCTAssertEqual(note.contains("merges with that of"), merged, "\(name) \(e.name): \(note)")
                XCTAssertFalse(e.metrics.first { $0.metric == "CI" }!.note?.contains("merges") == true, "the 100 % isodose volumes stay apart")
            }
        }
    }

    func testIndicesAreForTargetsOnly() throws {
        let study = try ResolvedStudy.resolve(fixture("pelvis"), StudyRequest())
        var req = DVHRequest()
        req.structures = ["BODY", "PTV", "Rectum"]
        req.targets = ["Rectum"]
        req.metrics = try Metric.parseList("HI,CI,D95%")
        let a = try DVHAnalysis.run(study, req)
        let body = a.report.structures[0].metrics
        XCTAssertNil(body[0].value)
        XCTAssertTrue(body[0].note!.hasPrefix("not a target"))
        XCTAssertNil(body[1].value)
        XCTAssertNotNil(body[2].value, "DVH metrics stay for every structure")
        XCTAssertNotNil(a.report.structures[1].metrics[1].value, "PTV is a target by type")
        XCTAssertNotNil(a.report.structures[2].metrics[1].value, "Rectum named as a target")
    }

    /// Where sources conflict both versions are checked and the stricter verdict counts.
    func testConflictingSourcesCheckTheStricterAndShowBoth() throws {
        let study = try ResolvedStudy.resolve(fixture("pelvis"), StudyRequest())
        var req = DVHRequest()
        req.structures = ["Rectum"]
        let rectumMax = try DVHAnalysis.run(study, req).dvhs[0].maxGy
        let dir = NSTemporaryDirectory() + "sbrt-conflict-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // (primary limit, alternative limit, verdict, the limit shown, its mark)
        let cases: [(Double, Double, Verdict, Double, String)] = [
            (rectumMax + 1, rectumMax - 1, .majorDeviation, rectumMax - 1, "[NV]"),
            (rectumMax - 1, rectumMax + 1, .majorDeviation, rectumMax - 1, "[S]"),
            (rectumMax + 1, rectumMax + 2, .perProtocol, rectumMax + 1, "[S]"),
        ]
        for (primary, alternative, verdict, shown, mark) in cases {
            let text = """
            [protocol]
            id = "conflict"
            name = "Conflict"
            source = "test"
            mark = "[D]"
            [[constraint]]
            structure = "Rectum"
            constraint = "Dmax[Gy] <= \(primary)"
            source = "source A"
            mark = "[S]"
            alternative = "Dmax[Gy] <= \(alternative)"
            alternative_source = "source B"
            alternative_mark = "[NV]"
            """
            let path = dir + "/conflict.toml"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let (r, _) = try PlanCheck.run(study, try library().load(path), CheckRequest())
            let row = try XCTUnwrap(r.rows.first)
            XCTAssertEqual(row.verdict, verdict, "\(primary) vs \(alternative)")
            XCTAssertEqual(row.limit!, shown, accuracy: 1e-9)
            XCTAssertTrue(row.note?.contains("source A") == true && row.note?.contains("source B") == true, row.note ?? "")
            XCTAssertEqual(row.mark, mark)
        }
    }

    func testGridCoverageRuleThreshold() {
        func dvh(outside: Double, boundary: Double?) -> DVH {
            DVH(name: "X", volumeCC: 10, minGy: 0, meanGy: 1, maxGy: 2, outsideFraction: outside, binWidthGy: 0.01, cumulativeCC: [10, 0],
                sampling: .init(endCap: "prism", cellMM: 1, maxSubSliceMM: 1, samples: 1, vertexSamples: 0), boundaryMaxGy: boundary)
        }
        XCTAssertEqual(GridCoverageRule.assess(dvh(outside: 0, boundary: 30), structure: "X", referenceDoseGy: 20), .inside)
        guard case .notEvaluable(let whole) = GridCoverageRule.assess(dvh(outside: 1, boundary: nil), structure: "X", referenceDoseGy: 20) else { return XCTFail() }
        XCTAssertTrue(whole.contains("wholly outside"))
        guard case .negligible = GridCoverageRule.assess(dvh(outside: 0.3, boundary: 1.99), structure: "X", referenceDoseGy: 20) else { return XCTFail("9.95 % is negligible") }
        guard case .notEvaluable = GridCoverageRule.assess(dvh(outside: 0.3, boundary: 2.0), structure: "X", referenceDoseGy: 20) else { return XCTFail("10 % is not") }
        guard case .notEvaluable = GridCoverageRule.assess(dvh(outside: 0.3, boundary: nil), structure: "X", referenceDoseGy: 20) else { return XCTFail("no boundary sample") }
        XCTAssertEqual(GridCoverageRule.assess(dvh(outside: 0.0004, boundary: 30), structure: "X", referenceDoseGy: 20), .inside)
        let v20 = try! Metric.parse("V20Gy[%]"), cv = try! Metric.parse("CV13.5Gy[cc]"), d = try! Metric.parse("Dmax[%]"), r50 = try! Metric.parse("R50")
        XCTAssertEqual(GridCoverageRule.referenceDoseGy(v20, limit: 10, rx: 50), 20)
        XCTAssertEqual(GridCoverageRule.referenceDoseGy(cv, limit: 1000, rx: nil), 13.5)
        XCTAssertEqual(GridCoverageRule.referenceDoseGy(d, limit: 110, rx: 40)!, 44, accuracy: 1e-12)
        XCTAssertEqual(GridCoverageRule.referenceDoseGy(r50, limit: 4, rx: 40), 20)
    }

    func testVertebralFractureFlagIncludes24Gy() {
        XCTAssertTrue(VertebralFractureRisk.isHighestRisk(dosePerFractionGy: 24))
        XCTAssertTrue(VertebralFractureRisk.isHighestRisk(dosePerFractionGy: 27))
        XCTAssertFalse(VertebralFractureRisk.isHighestRisk(dosePerFractionGy: 23.99))
        XCTAssertTrue(StructureClass(name: "VB_T12").vertebra && StructureClass(name: "T12").vertebra && StructureClass(name: "Vertebra_L3").vertebra)
        XCTAssertFalse(StructureClass(name: "Rectum").vertebra)
    }

    /// NCT01763970: 40 Gy / 5 fx per protocol at every eligible age; 35 Gy / 5 fx an
    /// accepted option under 10, never a deviation there; 35 at 10 or older a deviation.
    func testNCT01763970PrescriptionsByAge() throws {
        let proto = try library().load("nct01763970")
        func row(_ rx: Double, _ age: Double?) throws -> CheckReport.Row {
            var req = StudyRequest()
            req.rxGy = rx
            req.ageYears = age
            let s = try ResolvedStudy.resolve(fixture("review/age15"), req)
            return try XCTUnwrap(try PlanCheck.run(s, proto, CheckRequest()).0.rows.first { $0.structure == "prescription" })
        }
        XCTAssertEqual(try row(40, 7).verdict, .perProtocol)
        XCTAssertTrue(try row(40, 7).note?.contains("35 Gy / 5 fx is an accepted option") == true)
        XCTAssertEqual(try row(35, 7).verdict, .perProtocol)
        XCTAssertTrue(try row(35, 7).note?.contains("an accepted option under age 10") == true)
        XCTAssertEqual(try row(40, 15).verdict, .perProtocol)
        XCTAssertEqual(try row(35, 15).verdict, .majorDeviation)
        XCTAssertEqual(try row(35, 4).verdict, .perProtocol)
    }

    /// Eligibility counts lesions, not unions, and lists what DICOM cannot tell.
    func testEligibilityCountsLesionsAndListsWhatItCannotCheck() throws {
        let s = try ResolvedStudy.resolve(fixture("review/two_lesions"), StudyRequest())
        let r = try Eligibility.run(s, try library().load("nct01763970"), EligibilityRequest())
        XCTAssertEqual(r.lesions.map(\.name), ["GTV1", "GTV2"])
        XCTAssertTrue(r.notes.contains { $0.contains("GTV_All (a union)") }, "\(r.notes)")
        let outcomes = Dictionary(uniqueKeysWithValues: r.rules.map { ($0.rule, $0.outcome) })
        for rule in ["histology", "prior-rt-to-site", "resectability"] { XCTAssertEqual(outcomes[rule], .notChecked, rule) }
        XCTAssertEqual(outcomes["age"], .eligible)
        XCTAssertEqual(r.age, 12)
        XCTAssertEqual(r.overall, .meets)
        // 24 Gy in one fraction with a vertebral body contoured: flagged (24 Gy itself included).
        let v = try ResolvedStudy.resolve(fixture("review/vertebral"), StudyRequest())
        let rv = try Eligibility.run(v, try library().load("nct01763970"), EligibilityRequest())
        XCTAssertEqual(rv.rules.first { $0.rule == "vertebral-fracture" }?.outcome, .flag)
        XCTAssertTrue(rv.rules.first { $0.rule == "vertebral-fracture" }?.note?.contains("VB_T12") == true)
    }
}
