import Foundation
import XCTest

/// The review fixtures (`Fixtures/review/<case>`, made by Tools/fixtures/review.py): each
/// case lists the commands it exists for with the exit code, overall verdict, row
/// verdicts (rows picked by structure, matched plan structure and constraint prefix) and
/// message fragments expected; every one is run here through the CLI.
final class ReviewFixtureEndToEndTests: XCTestCase {
    struct Command {
        var args: [String]
        var exit: Int32
        var overall: String?
        var rows: [[String: String]]
        var stdout: [String]
        var stderr: [String]
    }

    func commands(_ name: String) throws -> [Command] {
        let dir = fixture("review/" + name)
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try XCTUnwrap(json["commands"] as? [[String: Any]], "\(name): no commands")
        XCTAssertFalse(list.isEmpty, name)
        return list.map { c in
            Command(args: (c["args"] as? [String] ?? []).map { $0 == "{dir}" ? dir : $0 },
                    exit: Int32((c["exit"] as? NSNumber)?.intValue ?? -1), overall: c["overall"] as? String,
                    rows: c["rows"] as? [[String: String]] ?? [], stdout: c["stdout"] as? [String] ?? [], stderr: c["stderr"] as? [String] ?? [])
        }
    }

    /// Runs every command of a case; for checks with expected verdicts also as JSON.
    func run(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        for c in try commands(name) {
            let label = "\(name): sbrt \(c.args.dropFirst(2).joined(separator: " "))"
            let r = try runSBRT(c.args)
            XCTAssertEqual(r.status, c.exit, "\(label)\n\(r.out)\n\(r.err)", file: file, line: line)
            for s in c.stdout { XCTAssertTrue(r.out.contains(s), "\(label): stdout lacks \"\(s)\"\n\(r.out)", file: file, line: line) }
            for s in c.stderr { XCTAssertTrue(r.err.contains(s), "\(label): stderr lacks \"\(s)\"\n\(r.err)", file: file, line: line) }
            guard c.overall != nil || !c.rows.isEmpty else { continue }
            let j = try runSBRT(c.args + ["--json"])
            XCTAssertEqual(j.status, c.exit, label, file: file, line: line)
            let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any], label)
            if let o = c.overall { XCTAssertEqual(report["overall"] as? String, o, "\(label)\n\(r.out)", file: file, line: line) }
            let rows = report["rows"] as? [[String: Any]] ?? []
            for want in c.rows {
                let hits = rows.filter { row in
                    row["structure"] as? String == want["structure"]
                        && (want["plan_structure"] == nil || row["plan_structure"] as? String == want["plan_structure"])
                        && (want["constraint"] == nil || (row["constraint"] as? String ?? "").hasPrefix(want["constraint"]!))
                }
                XCTAssertFalse(hits.isEmpty, "\(label): no row for \(want)\n\(r.out)", file: file, line: line)
                if let v = want["verdict"] {
                    for h in hits { XCTAssertEqual(h["verdict"] as? String, v, "\(label): \(want)\n\(r.out)", file: file, line: line) }
                }
            }
        }
    }

    func testPerSessionDoseIsRefusedUnlessStatedThenMultiplied() throws { try run("per_session") }
    func testBeamDosesOfOnePlanAreSummed() throws { try run("beams") }
    func testAMissingBeamDoseIsAnErrorNamingTheBeam() throws { try run("beams_missing") }
    func testTwoPlansAreRefusedWithTheListAndPlanPicksOne() throws { try run("two_plans") }
    func testASevenYearOldOn35GyIsPerProtocol() throws { try run("age7") }
    func testAFifteenYearOldOn40GyIsPerProtocolAnd35IsADeviation() throws { try run("age15") }
    func testAStructureSetWithoutOrgansIsIncomplete() throws { try run("no_organs") }
    func testOrgansOutsideTheDoseGridAreNotEvaluable() throws { try run("outside") }
    func testInstitutionalNamesMatchAndTheRestIsListed() throws { try run("names") }
    func testTwoLesionsAreCheckedPerTarget() throws { try run("two_lesions") }
    func testMergedIsodoseVolumesAreNoted() throws { try run("merged_lesions") }
    func testSingleFractionVertebralPlanIsFlagged() throws { try run("vertebral") }

    /// The per-session dose × fractions, and the BEAM sum, against numpy's course dose.
    func testDoseHandlingMatchesNumpy() throws {
        for (name, extra) in [("per_session", ["--per-session-dose"]), ("beams", [])] {
            let dir = fixture("review/" + name)
            let exp = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))) as! [String: Any]
            let plan = (exp["plans"] as! [[String: Any]])[0]
            let stats = plan["voxel_stats"] as! [String: [String: Any]]
            let r = try runSBRT(["dvh", dir, "--structure", "BODY", "--metrics", "Dmax", "--format", "json"] + extra)
            XCTAssertEqual(r.status, 0, r.err)
            let report = (try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any])["report"] as! [String: Any]
            let body = (report["structures"] as! [[String: Any]])[0]
            // The course maximum lies on a voxel centre inside BODY: sbrt's Dmax reaches it within sampling (1 %).
            let truth = (stats["BODY"]!["max_gy"] as! NSNumber).doubleValue
            XCTAssertEqual((body["max_gy"] as! NSNumber).doubleValue, truth, accuracy: 0.01 * truth, name)
            XCTAssertEqual((plan["course_max_gy"] as! NSNumber).doubleValue, truth, accuracy: 1e-6, name)
            let dose = report["dose"] as! [String: Any]
            XCTAssertEqual(dose["handling"] as? String, name == "beams" ? "beam-sum" : "per-session-times-fractions")
            XCTAssertEqual(dose["multiplier"] as? Int, name == "beams" ? 1 : 5)
        }
    }
}
