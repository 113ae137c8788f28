import Foundation
import XCTest

final class DVHEndToEndTests: XCTestCase {
    func expected() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture("pelvis") + "/expected.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    func testJSONReportsEveryStructureWithConventionsAndProvenance() throws {
        let r = try runSBRT(["dvh", fixture("pelvis"), "--format", "json", "--metrics", "D95%,D0.035cc,V20Gy,V20Gy[%],Dmean,HI,CI,GI,R50"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let report = json["report"] as! [String: Any]
        XCTAssertEqual(report["schema"] as? String, "sbrt.dvh/1")
        let conventions = report["conventions"] as! [String: Any]
        XCTAssertEqual(conventions["end_cap"] as? String, "prism")
        XCTAssertTrue((conventions["volume_at_dose"] as! String).contains("≥"))
        let provenance = report["provenance"] as! [String: Any]
        XCTAssertEqual(provenance["dose_sop_instance_uid"] as? String, "2.25.556698691297960428304283741724142479")
        let rx = report["prescription"] as! [String: Any]
        XCTAssertEqual(rx["rx_gy"] as? Double, 40)
        XCTAssertEqual(rx["fractions"] as? Int, 5)
        // Prism volumes equal numpy's area × slice thickness sums (independent polygon areas).
        let truth = ((try expected()["structures"] as! [String: Any])["rois"] as! [[String: Any]])
        let structures = report["structures"] as! [[String: Any]]
        XCTAssertEqual(structures.map { $0["name"] as! String }, truth.map { $0["name"] as! String })
        for (s, t) in zip(structures, truth) {
            let v = (t["volume_cm3_slab"] as! NSNumber).doubleValue
            XCTAssertEqual(s["volume_cc"] as! Double, v, accuracy: 1e-3 * v, s["name"] as! String)
            XCTAssertEqual((s["metrics"] as! [[String: Any]]).count, 9)
        }
        let gtv = structures[1]
        let metrics = Dictionary(uniqueKeysWithValues: (gtv["metrics"] as! [[String: Any]]).map { ($0["metric"] as! String, $0) })
        XCTAssertEqual(metrics["V20Gy[%]"]?["value"] as? Double ?? 0, 100, accuracy: 1e-6)
        XCTAssertGreaterThan(metrics["CI"]?["value"] as? Double ?? 0, 1)
        // Mean dose of the GTV against the numpy voxel statistics (different sampling: within 1 %).
        let voxelMean = ((((try expected()["dose"] as! [String: Any])["dvhs"] as! [[String: Any]])[0]["voxel_stats"]) as! [String: Any])["mean_gy"] as! Double
        XCTAssertEqual(gtv["mean_gy"] as! Double, voxelMean, accuracy: 0.01 * voxelMean)
    }

    func testCSVHasOneRowPerDoseStepAndIsMonotone() throws {
        let r = try runSBRT(["dvh", fixture("pelvis"), "--structure", "GTV", "--format", "csv", "--step", "0.5"])
        XCTAssertEqual(r.status, 0, r.err)
        let lines = r.out.split(separator: "\n")
        XCTAssertEqual(lines.first, "structure,dose_gy,volume_cc,volume_pct")
        let rows = lines.dropFirst().map { $0.split(separator: ",") }
        XCTAssertEqual(rows.first?[1], "0.0000")
        XCTAssertEqual(Double(rows.first![3])!, 100, accuracy: 1e-9)
        let vols = rows.map { Double($0[2])! }
        XCTAssertTrue(zip(vols, vols.dropFirst()).allSatisfy { $0 >= $1 })
        XCTAssertEqual(vols.last!, 0)
        XCTAssertEqual(rows.count, 88, "0 … 43.5 Gy in 0.5 Gy steps")
    }

    func testExpressionsAndEmbeddedComparison() throws {
        let r = try runSBRT(["dvh", fixture("pelvis"), "--structure", "ptv-GTV", "--structure", "PTV", "--structure", "GTV", "--compare-embedded", "--metrics", "D95%"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("ptv-GTV"), r.out)
        XCTAssertTrue(r.out.contains("Planning system's embedded DVHs"), r.out)
        XCTAssertTrue(r.out.contains("largest gap"), r.out)
        // The shell's volume is the difference of the two.
        let json = try runSBRT(["dvh", fixture("pelvis"), "--structure", "PTV-GTV", "--structure", "PTV", "--structure", "GTV", "--format", "json"])
        let s = ((try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [String: Any])["report"] as! [String: Any])["structures"] as! [[String: Any]]
        let v = s.map { $0["volume_cc"] as! Double }
        XCTAssertEqual(v[0], v[1] - v[2], accuracy: 0.005 * v[1])
    }

    func testBadRequestsExitWithTwoAndSayWhy() throws {
        let missing = try runSBRT(["dvh", fixture("pelvis"), "--structure", "Liver"])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("no ROI named \"Liver\""), missing.err)
        let metric = try runSBRT(["dvh", fixture("pelvis"), "--metrics", "D95%,Q7"])
        XCTAssertEqual(metric.status, 2)
        XCTAssertTrue(metric.err.contains("Q7"), metric.err)
        let cap = try runSBRT(["dvh", fixture("pelvis"), "--end-cap", "round"])
        XCTAssertEqual(cap.status, 2)
        let mismatch = try runSBRT(["dvh", fixture("variants/mismatch")])
        XCTAssertEqual(mismatch.status, 2)
        XCTAssertTrue(mismatch.err.contains("frame of reference"), mismatch.err)
        // No plan prescription given on the command line for a folder without a plan: indices are n/e, not guessed.
        let noRx = try runSBRT(["dvh", fixture("pelvis"), "--structure", "GTV", "--metrics", "CI", "--format", "json", "--rx", "30"])
        XCTAssertEqual(noRx.status, 0, noRx.err)
        XCTAssertTrue(noRx.out.contains("\"source\" : \"stated by the user\""), noRx.out)
    }

    func testOutputFileIsWrittenWholeOrNotAtAll() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-dvh-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("dvh.csv").path
        XCTAssertEqual(try runSBRT(["dvh", fixture("pelvis"), "--format", "csv", "--out", out]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: out, encoding: .utf8).hasPrefix("structure,dose_gy"))
        let bad = dir.appendingPathComponent("bad.csv").path
        XCTAssertEqual(try runSBRT(["dvh", fixture("pelvis"), "--structure", "Nope", "--out", bad]).status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: bad))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["dvh.csv"])
    }
}
