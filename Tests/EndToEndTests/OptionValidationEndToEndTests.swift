import Foundation
import FuzzKit
import XCTest

/// Abusive command lines (issue 14): every numeric option is checked in `validate()` —
/// finite, within its documented range (docs/safety.md) — and a bad one exits 2 naming
/// the option and the value, before any file is read; never a trap, a hang, or `nan`
/// printed as a result.
final class OptionValidationEndToEndTests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "sbrt-options-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    func refuses(_ args: [String], _ mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        assertRefused(try runLimited(args), mentioning: mentions, file: file, line: line)
    }

    func testDVHAndPrescriptionOptions() throws {
        let p = fixture("pelvis")
        try refuses(["dvh", p, "--step", "inf"], ["--step", "inf"])
        try refuses(["dvh", p, "--step", "1e-9"], ["--step", "1e-09", "0.001–10 Gy"])
        try refuses(["dvh", p, "--rx", "inf"], ["--rx", "inf"])
        try refuses(["dvh", p, "--rx", "nan"], ["--rx"])
        try refuses(["dvh", p, "--fractions", "9223372036854775807"], ["--fractions", "1–100"])
        try refuses(["dvh", p, "--step", "1,5"], ["1,5"])
        try refuses(["check", p, "--protocol", "tg101", "--age", "inf"], ["--age"])
    }

    func testExpandOptions() throws {
        let p = fixture("pelvis"), out = tmp + "/rs.dcm"
        let base = ["expand", p, "--from", "GTV", "--name", "X", "--out", out]
        try refuses(base + ["--margin", "1e308"], ["--margin", "1e+308", "±100 mm"])
        try refuses(base + ["--margin", "1e6"], ["--margin", "1000000"])
        try refuses(base + ["--margin", "nan"], ["--margin"])
        try refuses(base + ["--margin", "1,5"], ["1,5"])
        try refuses(base + ["--ring", "0:1e6"], ["--ring", "1000000"])
        try refuses(base + ["--margin-directions", "1,1,1,1,1,1e9"], ["--margin-directions"])
        try refuses(base + ["--margin", "3", "--avoid", "PTV:1e9"], ["--avoid PTV"])
        try refuses(base + ["--margin", "3", "--cell", "inf"], ["--cell"])
        try refuses(["expand", "--recipe", "systematic=inf,random=2"], ["--recipe systematic", "inf"])
        try refuses(["expand", "--recipe", "systematic=1,5,random=2"], ["--recipe"])
        try refuses(["expand", p, "--expression", "(GTV+99999)", "--name", "X", "--out", out], ["--expression", "99999"])
        try refuses(["expand", p, "--from", "GTV", "--margin", "3", "--end-cap", "round", "--name", "X", "--out", out], ["--end-cap"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testDeepStructureExpressionsAreRefusedOrComputed() throws {
        let p = fixture("pelvis")
        let huge = Array(repeating: "GTV", count: 10_000).joined(separator: "+")
        try refuses(["expand", p, "--expression", huge, "--name", "X", "--out", tmp + "/rs.dcm"], ["more than 100 operators"])
        try refuses(["dvh", p, "--structure", huge], ["more than 100 operators"])
        let nested = String(repeating: "(", count: 10_000) + "GTV" + String(repeating: ")", count: 10_000)
        try refuses(["dvh", p, "--structure", nested], ["parentheses more than 50 deep"])
        // Within the limits the expression is evaluated: a union of GTV with itself is GTV.
        let fifty = Array(repeating: "GTV", count: 50).joined(separator: "+")
        let r = try runLimited(["dvh", p, "--structure", fifty, "--structure", "GTV", "--format", "json"])
        XCTAssertEqual(r.status, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let volumes = ((json["report"] as! [String: Any])["structures"] as! [[String: Any]]).map { $0["volume_cc"] as! Double }
        XCTAssertEqual(volumes[0], volumes[1], accuracy: 1e-6 * volumes[1])
    }

    func testRenderOptions() throws {
        let p = fixture("pelvis"), out = tmp + "/a.png"
        try refuses(["render", p, "--out", out, "--padding", "inf", "--zoom-to", "PTV"], ["--padding", "inf"])
        try refuses(["render", p, "--out", out, "--slice-z", "inf"], ["--slice-z", "inf"])
        try refuses(["render", p, "--out", out, "--slice-x", "nan"], ["--slice-x"])
        try refuses(["render", p, "--out", out, "--isodose", "1e400"], ["--isodose"])
        try refuses(["render", p, "--out", out, "--window", "1e-320/40"], ["--window"])
        try refuses(["render", p, "--out", out, "--view", "oblique"], ["--view"])
        let r = try runLimited(["render", p, "--out", out, "--slice-z", "inf"])
        XCTAssertFalse(r.err.contains("nan"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testCompositeOptions() throws {
        let c = ["composite", "--course", fixture("pelvis"), "--out", tmp + "/c.dcm"]
        try refuses(c + ["--alpha-beta", "inf"], ["--alpha-beta", "inf"])
        try refuses(c + ["--alpha-beta", "1e-320"], ["--alpha-beta", "1e-320", "0.1–100 Gy"])
        try refuses(c + ["--structure-alpha-beta", "GTV=inf"], ["--structure-alpha-beta GTV", "inf"])
        try refuses(c + ["--structure-alpha-beta", "GTV=2,GTV=3"], ["--structure-alpha-beta", "\"GTV\" is given twice"])
        try refuses(c + ["--structure-alpha-beta", "GTV=1,5"], ["--structure-alpha-beta", "decimal comma"])
        try refuses(c + ["--tolerance-bed", "nan", "--recovery-model", "jones-grant"], ["--tolerance-bed"])
        try refuses(c + ["--lq-linear-above", "inf"], ["--lq-linear-above", "inf"])
        try refuses(c + ["--recovery", "prior=1.5"], ["--recovery"])
        try refuses(c + ["--quantity", "lq"], ["--quantity"])
        let shift = "1,0,0,1e308,0,1,0,0,0,0,1,0,0,0,0,1"
        try refuses(c + ["--transform", shift], ["--transform", "1e+308"])
        try refuses(["composite", "--course", fixture("pelvis") + ":fractions=9223372036854775807", "--out", tmp + "/c.dcm"], ["fractions", "1–100"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp + "/c.dcm"))
    }

    func testCompareOptions() throws {
        let p = fixture("pelvis"), g = fixture("golden/dvh/pelvis.csv")
        try refuses(["compare", g, p, "--volume-tolerance", "inf"], ["--volume-tolerance", "inf"])
        try refuses(["compare", g, p, "--dose-tolerance", "inf%"], ["--dose-tolerance"])
        try refuses(["compare", g, p, "--dose-tolerance", "1e9Gy"], ["--dose-tolerance"])
        try refuses(["compare", g, p, "--rx", "inf"], ["--rx"])
        try refuses(["compare", g, p, "--min-agreement", "nan"], ["--min-agreement"])
    }
}
