import Foundation
import XCTest

final class CompositeEndToEndTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "sbrt-composite" }

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
        XCTAssertEqual(rep["schema"] as? String, "sbrt.composite/2")
        XCTAssertEqual((rep["recovery"] as! [String: Any])["applied"] as? Bool, true)
        let courses = rep["courses"] as! [[String: Any]]
        XCTAssertEqual(courses.map { $0["fractions"] as! Int }, [10, 5])
        XCTAssertEqual(courses[0]["summation"] as? String, "FRACTION")
        XCTAssertEqual(courses[0]["handling"] as? String, "course-total")
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
        XCTAssertEqual(r.status, 1, r.err) // the interval flag (4.5 months < 6) is raised; the outputs are written
        XCTAssertTrue(r.out.contains("Flags: 1 raised, 0 not evaluable, of 1"), r.out)
        let c = (try json(report)["courses"] as! [[String: Any]])[0]
        XCTAssertEqual(c["summation"] as? String, "BEAM")
        XCTAssertEqual(c["handling"] as? String, "beam-sum")
        XCTAssertEqual((c["dose_files"] as! [String]).count, 2)
        XCTAssertTrue((c["dose_summary"] as! String).contains("2 BEAM doses of plan MOVED_SBRT summed"), c["dose_summary"] as! String)
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
        XCTAssertEqual(ok.status, 1, ok.err) // built; no dates, so the intervals are not evaluable
        XCTAssertTrue(ok.out.contains("interval-unknown not evaluable"), ok.out)
    }

    func testMissingFractionsIsAClearError() throws {
        let rd = try FileManager.default.contentsOfDirectory(atPath: fixture("reirradiation/prior")).first { $0.hasPrefix("RD.") }!
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/prior/" + rd), "--course", fixture("pelvis"),
                             "--out", tmp.appendingPathComponent("x.dcm").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("fractions=N"), r.err)
    }

    // MARK: Issue 11: dose summation types through the study resolver

    func expected(_ relative: String) throws -> [String: Any] { try json(fixture(relative)) }

    /// A FRACTION dose is the whole fraction group's dose: the course total, used as it is
    /// (not multiplied by the fractions, as sbrt did before issue 11).
    func testFractionDoseIsTheCourseTotalNotMultiplied() throws {
        let report = tmp.appendingPathComponent("r.json").path
        let r = try runSBRT(["composite", "--course", fixture("reirradiation/prior") + ":date=2025-03-02", "--course", fixture("pelvis") + ":date=2026-01-15",
                             "--no-report", "--out", tmp.appendingPathComponent("c.dcm").path, "--report", report])
        XCTAssertEqual(r.status, 0, r.err)
        let c = (try json(report)["courses"] as! [[String: Any]])[0]
        XCTAssertEqual(c["summation"] as? String, "FRACTION")
        XCTAssertEqual(c["handling"] as? String, "course-total")
        XCTAssertEqual(c["multiplier"] as? Int, 1)
        XCTAssertTrue((c["dose_summary"] as! String).contains("the dose of the whole fraction group"), c["dose_summary"] as! String)
        let numpy = (try expected("reirradiation/expected.json")["prior"] as! [String: Any])["max_on_pelvis_dose_grid_gy"] as! Double
        XCTAssertEqual(c["max_physical_gy"] as! Double, numpy, accuracy: 1e-4)   // 29.78 Gy, not 297.8
    }

    /// A per-session dose is refused unless stated (per course or for every course); stated,
    /// it is multiplied by the fractions and the report says so.
    func testPerSessionDoseRefusedUnlessStatedThenTimesFractions() throws {
        let out = tmp.appendingPathComponent("s.dcm").path
        let refused = try runSBRT(["composite", "--course", fixture("reirradiation/prior_session") + ":date=2025-03-02",
                                   "--course", fixture("pelvis") + ":date=2026-01-15", "--no-report", "--out", out])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.err.contains("course prior_session"), refused.err)
        XCTAssertTrue(refused.err.contains("FRACTION_SESSION"), refused.err)
        XCTAssertTrue(refused.err.contains(":per-session") && refused.err.contains("--per-session-dose"), refused.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let numpy = (try expected("reirradiation/expected.json")["prior"] as! [String: Any])["max_on_pelvis_dose_grid_gy"] as! Double
        for stated in [[fixture("reirradiation/prior_session") + ":date=2025-03-02:per-session"],
                       [fixture("reirradiation/prior_session") + ":date=2025-03-02", "--per-session-dose"]] {
            let report = tmp.appendingPathComponent("s\(stated.count).json").path
            let r = try runSBRT(["composite", "--course"] + stated + ["--course", fixture("pelvis") + ":date=2026-01-15", "--no-report",
                                                                      "--out", out, "--report", report])
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertTrue(r.out.contains("× 10 fractions"), r.out)
            let c = (try json(report)["courses"] as! [[String: Any]])[0]
            XCTAssertEqual(c["summation"] as? String, "FRACTION_SESSION")
            XCTAssertEqual(c["handling"] as? String, "per-session-times-fractions")
            XCTAssertEqual(c["multiplier"] as? Int, 10)
            XCTAssertTrue((c["dose_summary"] as! String).contains("× 10 fractions"))
            XCTAssertEqual(c["max_physical_gy"] as! Double, numpy, accuracy: 1e-4)   // one session × 10 = the FRACTION course
        }
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)).prefix(4096), as: UTF8.self)
        XCTAssertTrue(text.contains("FRACTION_SESSION x 10, stated per-session"), "the RT Dose's Image Comments name the multiplication")
    }

    // MARK: Issue 11: α/β defaults and the re-irradiation flags, against numpy

    /// Every scenario of Fixtures/reirradiation/spine/expected.json (Tools/composite/
    /// expected_spine.py): per structure the courses' maxima, BED₂ of each, their sum beside
    /// the voxel-wise cumulative maximum, the cumulative EQD2/BED maxima (CNS α/β default,
    /// user α/β, Jones–Grant inside and beyond its years), α/β and its source; every flag.
    func testSpineScenariosMatchNumpy() throws {
        let dir = fixture("reirradiation/spine")
        let scenarios = try expected("reirradiation/spine/expected.json")["scenarios"] as! [[String: Any]]
        XCTAssertEqual(scenarios.count, 6)
        for sc in scenarios {
            let name = sc["name"] as! String
            let args = (sc["args"] as! [String]).map { $0.replacingOccurrences(of: "{dir}", with: dir) }
            let out = tmp.appendingPathComponent("\(name).dcm").path
            let r = try runSBRT(["composite"] + args + ["--out", out, "--format", "json"])
            if let exit = sc["exit"] as? Int {
                XCTAssertEqual(Int(r.status), exit, name)
                XCTAssertTrue(r.err.contains("fitted on intervals of 1 to 3 years"), r.err)
                XCTAssertTrue(r.err.contains("--recovery-model"), r.err)
                XCTAssertFalse(FileManager.default.fileExists(atPath: out))
                continue
            }
            let rep = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
            // Exit 1 exactly when a flag is raised or not evaluable (these scenarios raise some).
            let flags = rep["flags"] as! [[String: Any]]
            let open = flags.contains { $0["exceeded"] as! Bool || $0["reason"] != nil }
            XCTAssertTrue(open, name)
            XCTAssertEqual(r.status, open ? 1 : 0, "\(name): \(r.err)")
            try checkStructures(name, rep, sc["structures"] as! [String: [String: Any]])
            try checkFlags(name, rep["flags"] as! [[String: Any]], sc["flags"] as! [[String: Any]])
            if name == "jones_grant_beyond_3_years" {
                XCTAssertTrue((rep["warnings"] as! [String]).contains { $0.hasPrefix("RECOVERY OUTSIDE ITS DATA") })
                XCTAssertTrue(((rep["recovery"] as! [String: Any])["description"] as! String).contains("r taken at 3 years"))
            }
        }
    }

    func checkStructures(_ scenario: String, _ rep: [String: Any], _ expected: [String: [String: Any]]) throws {
        let entries = rep["structures"] as! [[String: Any]]
        XCTAssertEqual(Set(entries.map { $0["name"] as! String }), Set(expected.keys), scenario)
        for e in entries {
            let name = e["name"] as! String, x = expected[name]!, at = "\(scenario) \(name)"
            let courses = e["courses"] as! [[String: Any]], xc = x["courses"] as! [String: [String: Any]]
            for (i, label) in ["prior", "current"].enumerated() {
                let physical = (courses[i]["physical"] as! [String: Any])["dmax"] as! Double
                XCTAssertEqual(physical, xc[label]!["physical_max_gy"] as! Double, accuracy: 1e-4, at)
            }
            if let bed2 = e["bed2"] as? [String: Any] {   // organs (and CNS structures)
                XCTAssertEqual(x["organ"] as? Bool, true, at)
                XCTAssertEqual(bed2["course_maxima"] as! [Double], ["prior", "current"].map { xc[$0]!["bed2_of_max"] as! Double }, accuracy: 1e-3)
                XCTAssertEqual(bed2["sum_of_maxima"] as! Double, x["sum_of_maxima_bed2"] as! Double, accuracy: 1e-3, at)
                XCTAssertEqual(bed2["voxel_wise_max"] as! Double, x["voxel_wise_cumulative_bed2"] as! Double, accuracy: 1e-3, at)
            } else {
                XCTAssertEqual(x["organ"] as? Bool, false, at)   // the GTV: a target
            }
            if let eqd2 = x["cumulative_eqd2_max"] as? Double, let bed = x["cumulative_bed_max"] as? Double {
                XCTAssertEqual((e["cumulative_eqd2"] as! [String: Any])["dmax"] as! Double, eqd2, accuracy: 1e-3, at)
                XCTAssertEqual((e["cumulative_bed"] as! [String: Any])["dmax"] as! Double, bed, accuracy: 1e-3, at)
            }
            XCTAssertEqual(e["alpha_beta_gy"] as! [Double], x["alpha_beta_gy"] as! [Double], at)
            XCTAssertEqual(e["alpha_beta_source"] as? String, x["alpha_beta_source"] as? String, at)
        }
    }

    func checkFlags(_ scenario: String, _ flags: [[String: Any]], _ expected: [[String: Any]]) throws {
        func same(_ a: [String: Any], _ b: [String: Any]) -> Bool {
            a["rule"] as? String == b["rule"] as? String && a["structure"] as? String == b["structure"] as? String
                && (b["course"] == nil || a["course"] as? String == b["course"] as? String)
        }
        for x in expected {
            let hits = flags.filter { same($0, x) }
            XCTAssertEqual(hits.count, 1, "\(scenario) \(x)")
            guard let f = hits.first else { continue }
            XCTAssertEqual(f["exceeded"] as? Bool, x["exceeded"] as? Bool, "\(scenario) \(x)")
            XCTAssertEqual(f["value"] as! Double, x["value"] as! Double, accuracy: 1e-3, "\(scenario) \(x)")
            if let v = x["voxel_wise_value"] as? Double { XCTAssertEqual(f["voxel_wise_value"] as! Double, v, accuracy: 1e-3, "\(scenario) \(x)") }
            XCTAssertFalse((f["source"] as! String).isEmpty)
        }
        // Nothing beyond the documented rules: no flag on the GTV, no Sahgal rule on the cord when the sac is there.
        let unexpected = flags.filter { f in !expected.contains { same(f, $0) } }.map { "\($0["rule"]!) \($0["structure"] ?? "")" }
        XCTAssertEqual(unexpected, [], scenario)
    }

    /// Jones–Grant is a cord model at α/β 2 Gy: with no voxel at 2 Gy it is refused rather
    /// than labelled "recovery on" while changing nothing.
    func testJonesGrantWithoutAlphaBeta2VoxelsIsRefused() throws {
        let dir = fixture("reirradiation/spine")
        let r = try runSBRT(["composite", "--course", dir + "/prior:date=2024-01-15", "--course", dir + "/current:date=2025-03-01",
                             "--structure-alpha-beta", "SpinalCord=3,ThecalSac=3", "--recovery-model", "jones-grant", "--tolerance-bed", "100",
                             "--no-report", "--out", tmp.appendingPathComponent("j.dcm").path])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("applies only where α/β is 2 Gy"), r.err)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
