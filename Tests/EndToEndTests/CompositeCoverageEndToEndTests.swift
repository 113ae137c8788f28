import Foundation
import XCTest

/// Never green without a number: a re-irradiation flag on a structure outside an earlier
/// course's dose grid is not evaluable (the rule of `sbrt check`), and the composite exits 1
/// unless every flag was evaluated and none raised.
final class CompositeCoverageEndToEndTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "sbrt-composite-cov" }

    /// SmallBowel lies wholly outside the prior course's grid (`sbrt dvh Fixtures/pelvis --dose
    /// RD.prior.dcm`: 100 % outside): its cumulative flag is not evaluable with that reason,
    /// never "not exceeded"; SacralPlexus, half outside with 7.5 Gy₂ at the prior grid's edge
    /// (< 10 % of 200 Gy₂), is evaluated with the note; exit 1, the outputs still written.
    func testFlagOutsideEarlierCourseGridIsNotEvaluableAndExitsOne() throws {
        let out = tmp.appendingPathComponent("c.dcm").path, report = tmp.appendingPathComponent("r.json").path
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/prior") + ":date=2025-03-02",
                             "--course", fixture("pelvis") + ":date=2026-01-15", "--alpha-beta", "3",
                             "--structure-alpha-beta", "GTV=10", "--structure", "SmallBowel", "--structure", "SacralPlexus",
                             "--out", out, "--report", report])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        XCTAssertTrue(r.out.contains("Flags: 0 raised, 1 not evaluable, of 3"), r.out)
        XCTAssertTrue(r.out.contains("SmallBowel lies wholly outside course prior's dose grid"), r.out)
        let rep = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        let flags = rep["flags"] as! [[String: Any]]
        let bowel = try XCTUnwrap(flags.first { $0["structure"] as? String == "SmallBowel" })
        XCTAssertEqual(bowel["exceeded"] as? Bool, false)
        XCTAssertEqual(bowel["reason"] as? String, "SmallBowel lies wholly outside course prior's dose grid (100.0 % of its volume): its dose is not known")
        let plexus = try XCTUnwrap(flags.first { $0["structure"] as? String == "SacralPlexus" })
        XCTAssertNil(plexus["reason"])
        XCTAssertTrue((plexus["note"] as? String ?? "").contains("of SacralPlexus lies outside course prior's dose grid"), "\(plexus)")
        let structures = rep["structures"] as! [[String: Any]]
        let bowelCourses = try XCTUnwrap(structures.first { $0["name"] as? String == "SmallBowel" })["courses"] as! [[String: Any]]
        XCTAssertEqual(bowelCourses.map { $0["coverage"] as? String }, ["outside", "complete"])
        XCTAssertEqual(bowelCourses[0]["outside_grid_percent"] as! Double, 100, accuracy: 0.05)
        let plexusCourses = try XCTUnwrap(structures.first { $0["name"] as? String == "SacralPlexus" })["courses"] as! [[String: Any]]
        XCTAssertEqual(plexusCourses[0]["coverage"] as? String, "partial")
        // sbrt dvh on the prior's own grid: 50.5 %; through the resampled coverage map, within a voxel layer of it.
        XCTAssertEqual(plexusCourses[0]["outside_grid_percent"] as! Double, 50.5, accuracy: 1.5)
        XCTAssertTrue(r.out.contains("not evaluable (100.0 % outside the course's grid"), r.out)
    }

    /// Raised flags exit 1 (outputs written); every flag evaluated and none raised exits 0.
    func testExitCodeFollowsTheFlags() throws {
        let out = tmp.appendingPathComponent("s.dcm").path
        let raised = try runSBRT(["composite", "--course", fixture("reirradiation/spine/prior") + ":date=2024-01-15",
                                  "--course", fixture("reirradiation/spine/current") + ":date=2025-03-01", "--out", out])
        XCTAssertEqual(raised.status, 1, raised.err)
        XCTAssertTrue(raised.out.contains("7 raised, 0 not evaluable"), raised.out)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
        let clean = try runSBRT(["composite", "--course", fixture("reirradiation/prior") + ":date=2025-03-02",
                                 "--course", fixture("pelvis") + ":date=2026-01-15", "--structure", "Rectum",
                                 "--out", tmp.appendingPathComponent("c.dcm").path])
        XCTAssertEqual(clean.status, 0, clean.out + clean.err)
        XCTAssertTrue(clean.out.contains("Flags: 0 raised, 0 not evaluable, of 2"), clean.out)
    }
}
