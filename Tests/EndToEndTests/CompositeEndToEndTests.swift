import Foundation
import XCTest

final class CompositeEndToEndTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-composite-\(UUID())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    /// The cumulative EQD2 numbers of the report are the numbers `sbrt dvh` reads back from
    /// the written RT Dose (same map, same DVH engine), and every output names α/β and recovery.
    func testDVHOfWrittenCompositeEqualsReportAndOutputsAreLabelled() throws {
        let out = tmp.appendingPathComponent("c.dcm").path, report = tmp.appendingPathComponent("r.json").path
        let nrrd = tmp.appendingPathComponent("c.nrrd").path
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/prior") + ":date=2025-03-02",
                             "--course", fixture("pelvis") + ":date=2026-01-15", "--alpha-beta", "3",
                             "--structure-alpha-beta", "SacralPlexus=2,GTV=10", "--structure", "GTV", "--structure", "SacralPlexus",
                             "--recovery", "prior=0.25", "--out", out, "--report", report, "--nrrd", nrrd])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("Recovery: prior 25 %"), r.out)
        let rep = try json(report)
        XCTAssertEqual(rep["schema"] as? String, "sbrt.composite/1")
        XCTAssertEqual((rep["recovery"] as! [String: Any])["applied"] as? Bool, true)
        let courses = rep["courses"] as! [[String: Any]]
        XCTAssertEqual(courses.map { $0["fractions"] as! Int }, [10, 5])
        XCTAssertEqual(courses[0]["summation"] as? String, "FRACTION")
        XCTAssertLessThan(courses[0]["coverage_percent"] as! Double, 100)
        XCTAssertEqual((rep["intervals"] as! [[String: Any]])[0]["days"] as? Int, 319)
        let structures = rep["structures"] as! [[String: Any]]
        XCTAssertEqual(structures.map { $0["name"] as! String }, ["GTV", "SacralPlexus"])

        let dvh = try runSBRT(["dvh", fixture("pelvis"), "--dose", out, "--structure", "GTV", "--structure", "SacralPlexus",
                               "--metrics", "Dmax,D0.035cc,D1cc,Dmean", "--format", "json"])
        XCTAssertEqual(dvh.status, 0, dvh.err)
        let dj = try JSONSerialization.jsonObject(with: Data(dvh.out.utf8)) as! [String: Any]
        let ds = (dj["report"] as! [String: Any])["structures"] as! [[String: Any]]
        for (ours, theirs) in zip(structures, ds) {
            let cum = ours["cumulative_eqd2"] as! [String: Any]
            let m = Dictionary(uniqueKeysWithValues: (theirs["metrics"] as! [[String: Any]]).map { ($0["metric"] as! String, $0["value"] as? Double) })
            XCTAssertEqual(cum["dmax"] as! Double, m["Dmax"]!!, accuracy: 1e-9)
            XCTAssertEqual(cum["d0035cc"] as! Double, m["D0.035cc"]!!, accuracy: 1e-9)
            XCTAssertEqual(cum["d1cc"] as! Double, m["D1cc"]!!, accuracy: 1e-9)
            XCTAssertEqual(cum["dmean"] as! Double, m["Dmean"]!!, accuracy: 1e-9)
        }
        // The RT Dose names the quantity, α/β and recovery; sbrt info reads it.
        let info = try runSBRT(["info", out])
        XCTAssertEqual(info.status, 0, info.err)
        XCTAssertTrue(info.out.contains("EFFECTIVE"), info.out)
        XCTAssertTrue(info.out.contains("MULTI_PLAN"), info.out)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        XCTAssertTrue(text.contains("EQD2"))
        XCTAssertTrue(text.contains("a/b"))
        XCTAssertTrue(text.contains("recovery"))
        let header = String(decoding: try Data(contentsOf: URL(fileURLWithPath: nrrd)).prefix(800), as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("NRRD0004"))
        XCTAssertTrue(header.contains("space: left-posterior-superior"))
        XCTAssertTrue(header.contains("sbrt_recovery:=recovery prior"))
    }

    func testRegisteredCourseThroughSpatialRegistrationAndBeamSum() throws {
        let out = tmp.appendingPathComponent("m.dcm").path, report = tmp.appendingPathComponent("m.json").path
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/moved") + ":date=2025-09-01",
                             "--course", fixture("pelvis") + ":date=2026-01-15", "--no-report", "--out", out, "--report", report])
        XCTAssertEqual(r.status, 0, r.err)
        let c = (try json(report)["courses"] as! [[String: Any]])[0]
        XCTAssertEqual(c["summation"] as? String, "2×BEAM")
        XCTAssertEqual(c["fractions"] as? Int, 3)
        XCTAssertTrue((c["registration"] as! String).hasPrefix("Spatial Registration REG.moved.dcm"))
        let flags = try json(report)["flags"] as! [[String: Any]]
        XCTAssertEqual(flags.first { $0["rule"] as? String == "interval-6-months" }?["exceeded"] as? Bool, true)
    }

    func testOtherFrameOfReferenceWithoutRegistrationIsAnErrorNamingIt() throws {
        let beam = try FileManager.default.contentsOfDirectory(atPath: fixture("reirradiation/moved")).first { $0.hasPrefix("RD.") }!
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/moved/" + beam) + ":fractions=3",
                             "--course", fixture("pelvis"), "--out", tmp.appendingPathComponent("x.dcm").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("frame of reference"), r.err)
        XCTAssertTrue(r.err.contains("--transform"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("x.dcm").path))
        // With --transform it works.
        let t = "0.9961946981,-0.08715574275,0,4,0.08715574275,0.9961946981,0,-3,0,0,1,2.5,0,0,0,1"
        let ok = try runSBRT(["composite", "--course", fixture("reirradiation/moved/" + beam) + ":fractions=3",
                              "--course", fixture("pelvis"), "--transform", t, "--no-report",
                              "--out", tmp.appendingPathComponent("y.dcm").path])
        XCTAssertEqual(ok.status, 0, ok.err)
    }

    func testMissingFractionsIsAClearError() throws {
        let rd = try FileManager.default.contentsOfDirectory(atPath: fixture("reirradiation/prior")).first { $0.hasPrefix("RD.") }!
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/prior/" + rd), "--course", fixture("pelvis"),
                             "--out", tmp.appendingPathComponent("x.dcm").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("fractions=N"), r.err)
    }
}
