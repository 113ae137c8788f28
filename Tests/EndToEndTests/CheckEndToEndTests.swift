import Foundation
import XCTest

final class CheckEndToEndTests: XCTestCase {
    func testProtocolsListsTheShippedFiles() throws {
        let r = try runSBRT(["protocols"])
        XCTAssertEqual(r.status, 0, r.err)
        for id in ["tg101", "rtog0915", "hytec-spinal-cord", "nct01763970"] { XCTAssertTrue(r.out.contains(id), r.out) }
    }

    func testCheckPrintsSourcedVerdictsAndPicksTheFractionColumn() throws {
        let r = try runSBRT(["check", fixture("pelvis"), "--protocol", "tg101"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("using the 5-fraction column"), r.out)
        XCTAssertTrue(r.out.contains("D0.035cc[Gy] <= 32"), r.out)
        XCTAssertTrue(r.out.contains("[V] TG-101 Table III"), r.out)
        XCTAssertTrue(r.out.contains("Bowel_Small → SmallBowel"), r.out)
        XCTAssertTrue(r.out.contains("Overall: per protocol"), r.out)
    }

    func testJSONAndExitCodes() throws {
        let j = try runSBRT(["check", fixture("pelvis"), "--protocol", "rtog0915", "--json"])
        XCTAssertEqual(j.status, 0, j.err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
        // Schema 2 (issue 11): not-evaluable rows with reasons, overall incl. "incomplete", structures not found / unmatched.
        XCTAssertEqual(json["schema"] as? String, "sbrt.check/2")
        let rows = json["rows"] as! [[String: Any]]
        XCTAssertEqual(rows.count, 3)
        XCTAssertTrue(rows.allSatisfy { $0["mark"] as? String == "[S]" && $0["verdict"] as? String == "per protocol" })
        // A missing required structure fails the check (exit 1); bad input exits 2.
        let m = try runSBRT(["check", fixture("pelvis"), "--protocol", "rtog0915", "--map-structure", "PTV=Rectum", "--fractions", "5"])
        XCTAssertEqual(m.status, 1, m.out + m.err)
        XCTAssertEqual(try runSBRT(["check", fixture("pelvis"), "--protocol", "nope"]).status, 2)
        XCTAssertEqual(try runSBRT(["check", fixture("pelvis"), "--protocol", "tg101", "--fractions", "4"]).status, 2)
        XCTAssertEqual(try runSBRT(["check", fixture("pelvis")]).status, 2)
    }

    /// What a user reads when a name or a fraction count does not fit: the eligibility
    /// names that exist (not protocol ids, not an internal path), and why an included organ
    /// table has no row.
    func testMessagesNameTheValidChoicesAndTheRealReason() throws {
        let unknown = try runSBRT(["check", fixture("pelvis"), "--eligibility", "foo"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.contains("no trial eligibility \"foo\" (shipped: pediatric-sarcoma-sbrt (nct01763970)"), unknown.err)
        let none = try runSBRT(["check", fixture("pelvis"), "--eligibility", "tg101"])
        XCTAssertEqual(none.status, 2)
        XCTAssertTrue(none.err.contains("protocol tg101 has no eligibility rules (shipped with them: pediatric-sarcoma-sbrt"), none.err)
        XCTAssertFalse(none.err.contains(".resources"), none.err)
        let four = try runSBRT(["check", fixture("pelvis"), "--protocol", "nct01763970", "--fractions", "4"])
        XCTAssertEqual(four.status, 1, four.out + four.err)
        XCTAssertTrue(four.out.contains("no organ-at-risk row of tg101 could be evaluated (it has no rows for 4 fractions)"), four.out)
        // A metric that names its unit is not followed by it again.
        let dvh = try runSBRT(["dvh", fixture("pelvis"), "--metrics", "V100%[%],D2cc[Gy],D95%"])
        XCTAssertEqual(dvh.status, 0, dvh.err)
        XCTAssertTrue(dvh.out.contains("V100%[%]"), dvh.out)
        XCTAssertFalse(dvh.out.contains("V100%[%] %"), dvh.out)
        XCTAssertFalse(dvh.out.contains("D2cc[Gy] Gy"), dvh.out)
    }

    func testEligibilityAndHTMLReport() throws {
        let html = NSTemporaryDirectory() + "sbrt-check-\(getpid()).html"
        defer { try? FileManager.default.removeItem(atPath: html) }
        let r = try runSBRT(["check", fixture("pelvis"), "--eligibility", "pediatric-sarcoma-sbrt", "--age", "8", "--lesions", "GTV", "--html", html])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("greatest dimension ≤ 5 cm or total < 250 cc"), r.out)
        XCTAssertTrue(r.out.contains("under age 10 the reduced 35 Gy / 5 fx can be considered"), r.out)
        let text = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(text.contains("data:image/png;base64,"))
        XCTAssertFalse(text.contains("http://") || text.contains("https://") || text.contains("<script"), "self-contained, no network")
        XCTAssertEqual(try runSBRT(["check", fixture("pelvis"), "--eligibility", "pediatric-sarcoma-sbrt", "--age", "45"]).status, 1)
    }
}

final class CompareEndToEndTests: XCTestCase {
    /// The project's own regression: the current build against the committed golden DVHs.
    func testCurrentBuildMatchesTheGoldenDVHs() throws {
        let r = try runSBRT(["compare", fixture("golden/dvh/pelvis.csv"), fixture("pelvis")])
        XCTAssertEqual(r.status, 0, r.out + r.err)
        XCTAssertTrue(r.out.contains("Result: within tolerance"), r.out)
    }

    func testAOnePercentChangeInAnExportIsBeyondTolerance() throws {
        let golden = try String(contentsOfFile: fixture("golden/dvh/pelvis.csv"), encoding: .utf8)
        var lines = golden.split(separator: "\n").map(String.init)
        for k in 1..<lines.count {
            var c = lines[k].split(separator: ",").map(String.init)
            c[1] = String(format: "%.4f", Double(c[1])! * 1.01)
            lines[k] = c.joined(separator: ",")
        }
        let path = NSTemporaryDirectory() + "sbrt-compare-\(getpid()).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let r = try runSBRT(["compare", fixture("golden/dvh/pelvis.csv"), path, "--json"])
        XCTAssertEqual(r.status, 1, r.out + r.err)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        XCTAssertEqual(json["passed"] as? Bool, false)
        XCTAssertEqual(try runSBRT(["compare", fixture("golden/dvh/pelvis.csv"), path, "--dose-tolerance", "2%", "--min-agreement", "0"]).status, 0)
        XCTAssertEqual(try runSBRT(["compare", "/nonexistent.csv", path]).status, 2)
    }
}
