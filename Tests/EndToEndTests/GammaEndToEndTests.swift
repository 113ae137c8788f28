import Foundation
import XCTest

final class GammaEndToEndTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "sbrt-gamma" }

    func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    /// The README example: the bundled plan against its dose moved 1.5 mm, with per-structure
    /// rates, the NRRD map and the PNG over the CT; the JSON states its conventions.
    func testBundledPlanAgainstShiftedCopy() throws {
        let nrrd = tmp.appendingPathComponent("g.nrrd").path, png = tmp.appendingPathComponent("g.png").path
        // A 30 % threshold keeps the debug-build run short; the README runs the default 10 %.
        let r = try runSBRT(["gamma", fixture("pelvis"), fixture("gamma/pelvis_shifted"), "--criteria", "2%/1mm", "--threshold", "30%",
                             "--structure", "PTV", "--structure", "rectum", "--json", "--nrrd", nrrd, "--png", png])
        XCTAssertEqual(r.status, 0, r.err)
        let j = try json(r.out)
        XCTAssertEqual(j["schema"] as? String, "sbrt.gamma/1")
        let rate = try XCTUnwrap(j["pass_rate_pct"] as? Double)
        XCTAssertGreaterThan(rate, 75)
        XCTAssertLessThan(rate, 99)
        XCTAssertGreaterThan(j["points_evaluated"] as? Int ?? 0, 5000)
        let c = try XCTUnwrap(j["conventions"] as? [String: Any])
        XCTAssertEqual(c["mode"] as? String, "global")
        XCTAssertEqual(c["normalisation"] as? String, "reference maximum")
        XCTAssertEqual(c["threshold_percent"] as? Double, 30)
        XCTAssertEqual(c["normalisation_gy"] as? Double ?? 0, 43.28352, accuracy: 1e-4)
        let structures = try XCTUnwrap(j["structures"] as? [[String: Any]])
        XCTAssertEqual(structures.map { $0["name"] as? String }, ["PTV", "Rectum"])
        let ptv = try XCTUnwrap(structures[0]["statistics"] as? [String: Any])
        XCTAssertEqual(ptv["points"] as? Int, 1641)
        // The rectum lies below 30 % of the maximum: no point, and a note that says so.
        XCTAssertEqual((structures[1]["statistics"] as? [String: Any])?["points"] as? Int, 0)
        XCTAssertNotNil(structures[1]["note"] as? String)
        XCTAssertEqual((j["search"] as? [String: Any])?["undecided_points"] as? Int, 0)
        // NRRD: header, then the reference grid (76×90×42) as float32.
        let data = try Data(contentsOf: URL(fileURLWithPath: nrrd))
        let header = String(decoding: data.prefix(1200), as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("NRRD0004"))
        XCTAssertTrue(header.contains("sizes: 76 90 42"))
        XCTAssertTrue(header.contains("sbrt_gamma_criteria:=2%/1mm global"))
        let end = try XCTUnwrap(data.firstRange(of: Data("\n\n".utf8)))
        let body = data.count - end.upperBound
        XCTAssertEqual(body, 76 * 90 * 42 * 4)
        // PNG: a real file.
        let pngData = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(pngData.prefix(8)), [137, 80, 78, 71, 13, 10, 26, 10])
        XCTAssertGreaterThan(pngData.count, 10_000)
    }

    /// The table form and --min-pass: exit 1 below it, 0 at or above it; same bytes twice.
    func testTableAndMinimumPassRate() throws {
        let args = ["gamma", fixture("gamma/ref.dcm"), fixture("gamma/eval_other_grid.dcm"), "--criteria", "2%/1mm"]
        let ok = try runSBRT(args + ["--min-pass", "75"])
        XCTAssertEqual(ok.status, 0, ok.err)
        for expected in ["Gamma 2%/1mm global", "points evaluated  3825", "pass rate (γ ≤ 1)", "histogram", "required pass rate 75.0 %: met"] {
            XCTAssertTrue(ok.out.contains(expected), "missing \(expected)\n\(ok.out)")
        }
        let fail = try runSBRT(args + ["--min-pass", "95", "--local"])
        XCTAssertEqual(fail.status, 1, fail.err)
        XCTAssertTrue(fail.out.contains("FAIL: pass rate"), fail.out)
        XCTAssertEqual(try runSBRT(args + ["--json"]).out, try runSBRT(args + ["--json"]).out)
    }

    /// Every option is validated where it enters: exit 2 naming the option.
    func testBadOptionsAreRefused() throws {
        let base = ["gamma", fixture("gamma/ref.dcm"), fixture("gamma/eval_same_grid.dcm")]
        for (extra, option) in [(["--criteria", "0%/2mm"], "--criteria"), (["--criteria", "3%/60mm"], "--criteria"),
                                (["--criteria", "nan/2"], "--criteria"), (["--threshold", "120%"], "--threshold"),
                                (["--normalise", "-3"], "--normalise"), (["--normalise", "inf"], "--normalise"),
                                (["--max-gamma", "0.5"], "--max-gamma"), (["--max-gamma", "nan"], "--max-gamma"),
                                (["--tolerance", "1"], "--tolerance"), (["--min-pass", "101"], "--min-pass"),
                                (["--png", "x.jpg"], "--png"), (["--slice-z", "3"], "--slice-z"),
                                (["--nrrd", "x.dcm"], "--nrrd")] {
            let r = try runSBRT(base + extra)
            XCTAssertEqual(r.status, 2, "\(extra): \(r.err)")
            XCTAssertTrue(r.err.contains(option), "\(extra): \(r.err)")
        }
        // Frames of reference differ: both files and UIDs named.
        let r = try runSBRT(["gamma", fixture("gamma/ref.dcm"), fixture("pelvis")])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("different frames of reference") && r.err.contains("ref.dcm") && r.err.contains("RD.2.25."), r.err)
        // An unknown structure, the prescription without a plan, a PNG without a CT.
        let s = try runSBRT(base + ["--structure", "Nowhere"])
        XCTAssertEqual(s.status, 2)
        XCTAssertTrue(s.err.contains("RT Structure Set"), s.err)
        let rx = try runSBRT(base + ["--normalise", "rx"])
        XCTAssertEqual(rx.status, 2)
        XCTAssertTrue(rx.err.contains("Target Prescription Dose"), rx.err)
        let p = try runSBRT(base + ["--png", tmp.appendingPathComponent("x.png").path])
        XCTAssertEqual(p.status, 2)
        XCTAssertTrue(p.err.contains("--png") && p.err.contains("CT"), p.err)
    }

    /// `sbrt compare --gamma` reports the gamma beside the DVH comparison.
    func testCompareReportsGammaBesideTheDVHs() throws {
        let args = ["compare", fixture("pelvis"), fixture("gamma/pelvis_shifted"), "--gamma", "3%/2mm", "--gamma-threshold", "50%"]
        let r = try runSBRT(args)
        XCTAssertEqual(r.status, 1, r.err)   // the DVHs differ beyond the 0.5 % default
        XCTAssertTrue(r.out.contains("Gamma 3%/2mm global, threshold 50.0 % of 43.28 Gy: pass rate 100.00 %"), r.out)
        let j = try json(try runSBRT(args + ["--json"]).out)
        XCTAssertEqual((j["gamma"] as? [String: Any])?["pass_rate_pct"] as? Double, 100)
        XCTAssertNotNil(j["structures"])
        let bad = try runSBRT(["compare", fixture("golden/dvh/pelvis.csv"), fixture("pelvis"), "--gamma", "3%/2mm"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.err.contains("--gamma"), bad.err)
        let low = try runSBRT(args + ["--gamma-min-pass", "101"])
        XCTAssertEqual(low.status, 2)
    }
}
