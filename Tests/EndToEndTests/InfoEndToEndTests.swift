import Foundation
import TestSupport
import XCTest

let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
func fixture(_ relative: String) -> String { packageRoot.appendingPathComponent("Fixtures/" + relative).path }

/// Runs the built `sbrt` binary (next to the test bundle) and captures its output.
func runSBRT(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    try BuiltTools.run("sbrt", args)
}

final class InfoEndToEndTests: XCTestCase {
    func testInfoOnThePelvisPlanListsWhatAPhysicistChecks() throws {
        let r = try runSBRT(["info", fixture("pelvis")])
        XCTAssertEqual(r.status, 0, r.err)
        for expected in [
            "Patient SBRT-PELVIS-01  Phantom^Pelvis",
            "\"Becken SBRT – Läsion\"",
            "40 images, 128×112×40 voxels at 3.00×3.00×2.50 mm, HFS (Patient Position HFS)",
            "z -60.00 … 37.50 mm, HU -1024 … 1030",
            "SacralPlexus  ORGAN       255,105,180",
            // The dose grid was extended to cover every organ (issue 11); same lattice, same maximum.
            "76×90×42 voxels at 2.50×2.50×2.50 mm, HFS, max 43.284 Gy",
            "type PHYSICAL, summation PLAN, 32-bit",
            "fraction group 1: 5 fractions planned, 7 beams",
            "prescription 40.00 Gy (Target Prescription Dose)",
        ] {
            XCTAssertTrue(r.out.contains(expected), "missing: \(expected)\n\(r.out)")
        }
        // The pelvis grid now covers its organs; an organ outside a dose grid is still reported
        // (the review fixture built for it: SmallBowel wholly below the grid).
        XCTAssertFalse(r.out.contains("[dose-does-not-cover-structure] ROI \"SmallBowel\""), r.out)
        let outside = try runSBRT(["info", fixture("review/outside")])
        XCTAssertTrue(outside.out.contains("[dose-does-not-cover-structure] ROI \"SmallBowel\""), outside.out)
    }

    func testJSONFollowsTheDocumentedSchema() throws {
        let r = try runSBRT(["info", "--json", fixture("pelvis")])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        XCTAssertEqual(json["schema"] as? String, "sbrt.info/2")
        let study = ((json["patients"] as! [[String: Any]])[0]["studies"] as! [[String: Any]])[0]
        let ct = (study["ct_series"] as! [[String: Any]])[0]
        XCTAssertEqual(ct["dimensions"] as? [Int], [128, 112, 40])
        XCTAssertEqual(ct["orientation"] as? String, "HFS")
        XCTAssertEqual(ct["hu_range"] as? [Int], [-1024, 1030])
        let rois = ((study["structure_sets"] as! [[String: Any]])[0]["rois"] as! [[String: Any]])
        XCTAssertEqual(rois.count, 7)
        XCTAssertEqual(rois[3]["color"] as? [Int], [255, 105, 180])
        let plan = (study["plans"] as! [[String: Any]])[0]
        XCTAssertEqual(plan["prescription_gy"] as? Double, 40)
        let dose = (study["doses"] as! [[String: Any]])[0]
        XCTAssertEqual(dose["max_dose"] as? Double ?? 0, 43.28352, accuracy: 1e-4)
        XCTAssertEqual((dose["embedded_dvhs"] as! [[String: Any]]).count, 4)
        // Same input, same bytes.
        XCTAssertEqual(try runSBRT(["info", "--json", fixture("pelvis")]).out, r.out)
    }

    func testFeetFirstIsReportedAsFeetFirst() throws {
        let r = try runSBRT(["info", fixture("variants/ffs")])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("FFS (Patient Position FFS)"), r.out)
        XCTAssertTrue(r.out.contains("z 16.50 … -16.50 mm"), r.out)
    }

    /// Every hostile file gets exit code 2 and a message naming the file and the problem.
    func testBrokenFilesAreRefusedCleanly() throws {
        let dir = fixture("broken")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json"))
        let expected = try JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
        XCTAssertGreaterThanOrEqual(expected.count, 15)
        for (name, spec) in expected.sorted(by: { $0.key < $1.key }) {
            let r = try runSBRT(["info", dir + "/" + name])
            let outcome = spec["outcome"] as! String
            let accept = (spec["accept_any"] as! [String]).map { $0.lowercased() }
            let message = r.err.lowercased()
            switch outcome {
            case "error":
                XCTAssertEqual(r.status, 2, "\(name): \(r.out)\(r.err)")
                XCTAssertTrue(r.err.contains(name), "\(name): message must name the file: \(r.err)")
                XCTAssertTrue(accept.contains { message.contains($0) }, "\(name): \(r.err)")
            default:
                // error-or-warning / error-or-ok: either a clean refusal or a clean read, never a crash.
                XCTAssertTrue(r.status == 0 || r.status == 2, "\(name): exit \(r.status) \(r.err)")
                if r.status == 2 { XCTAssertTrue(r.err.contains(name), "\(name): \(r.err)") }
            }
            XCTAssertFalse(r.err.contains("Fatal error"), "\(name) crashed: \(r.err)")
        }
    }

    func testABrokenFileInAFolderStopsTheListingUnlessAskedToSkipIt() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        for f in try FileManager.default.contentsOfDirectory(atPath: fixture("variants/ffs")) {
            try FileManager.default.copyItem(atPath: fixture("variants/ffs/" + f), toPath: tmp.appendingPathComponent(f).path)
        }
        try FileManager.default.copyItem(atPath: fixture("broken/trunc_in_value.dcm"), toPath: tmp.appendingPathComponent("zz_broken.dcm").path)
        let strict = try runSBRT(["info", tmp.path])
        XCTAssertEqual(strict.status, 2)
        XCTAssertTrue(strict.err.contains("zz_broken.dcm"), strict.err)
        let lenient = try runSBRT(["info", "--skip-unreadable", tmp.path])
        XCTAssertEqual(lenient.status, 0, lenient.err)
        XCTAssertTrue(lenient.out.contains("1 unreadable"), lenient.out)
        XCTAssertTrue(lenient.out.contains("FFS"), lenient.out)
    }

    func testUsageAndMissingPathsExitWithTwo() throws {
        XCTAssertEqual(try runSBRT(["info"]).status, 2)
        let missing = try runSBRT(["info", "/nonexistent/sbrt-folder"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("/nonexistent/sbrt-folder"), missing.err)
        XCTAssertEqual(try runSBRT(["--version"]).status, 0)
        XCTAssertEqual(try runSBRT(["info", "--help"]).status, 0)
    }
}
