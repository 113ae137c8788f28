import Base
import Batch
import CohortMaker
import Foundation
import Store
import TestSupport
import XCTest

/// `sbrt batch` as a process: numbers equal to `sbrt dvh`, kill and resume, concurrent
/// shards into PostgreSQL, export and the population plot.
final class BatchProcessTests: XCTestCase {
    /// Relative difference, 0 for two zeros.
    func relative(_ a: Double, _ b: Double) -> Double {
        a == b ? 0 : abs(a - b) / max(abs(a), abs(b))
    }

    func testStoredValuesEqualSbrtDvhJSONOfTheSameFolderWithTheSameOptions() throws {
        let root = temporaryFolder(self)
        let db = root + "/pelvis.sqlite"
        let metrics = "D95%,D2cc,D0.035cc,V20Gy[%],V30Gy,Dmean,Dmax,D50%[%],HI,CI"
        let batch = try runSBRT(["batch", fixture("pelvis"), "--db", db, "--metrics", metrics, "--end-cap", "interpolated", "--quiet"])
        XCTAssertEqual(batch.status, 0, batch.err)
        let dvh = try runSBRT(["dvh", fixture("pelvis"), "--format", "json", "--metrics", metrics, "--end-cap", "interpolated"])
        XCTAssertEqual(dvh.status, 0, dvh.err)
        let report = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(dvh.out.utf8)) as? [String: Any])?["report"] as? [String: Any])
        let expected = try XCTUnwrap(report["structures"] as? [[String: Any]])

        let store = try PlanStore.open(.sqlite(path: db), readOnly: true)
        let plan = try XCTUnwrap(try store.plan(planKey: try XCTUnwrap(try store.storedPlanKeys().first)))
        XCTAssertEqual(plan.structures.map(\.name), expected.map { $0["name"] as! String })
        XCTAssertEqual(plan.doseSOPInstanceUIDs, [(report["provenance"] as! [String: Any])["dose_sop_instance_uid"] as! String])
        var compared = 0
        for (s, e) in zip(plan.structures, expected) {
            for (mine, key) in [(s.volumeCC, "volume_cc"), (s.minGy, "min_gy"), (s.meanGy, "mean_gy"), (s.maxGy, "max_gy"),
                                (s.outsideDoseGridPercent, "outside_dose_grid_percent")] {
                XCTAssertLessThanOrEqual(relative(mine, (e[key] as! NSNumber).doubleValue), 1e-9, "\(s.name) \(key)")
                compared += 1
            }
            let theirs = e["metrics"] as! [[String: Any]]
            XCTAssertEqual(s.metrics.map(\.metric), theirs.map { $0["metric"] as! String })
            for (m, t) in zip(s.metrics, theirs) {
                XCTAssertEqual(m.note, t["note"] as? String, "\(s.name) \(m.metric)")
                guard let v = (t["value"] as? NSNumber)?.doubleValue else { XCTAssertNil(m.value); continue }
                XCTAssertLessThanOrEqual(relative(try XCTUnwrap(m.value), v), 1e-9, "\(s.name) \(m.metric)")
                compared += 1
            }
        }
        XCTAssertGreaterThan(compared, 50)

        // The stored curve holds the rows of `sbrt dvh --format csv` (6 decimals there).
        let csv = try runSBRT(["dvh", fixture("pelvis"), "--format", "csv", "--end-cap", "interpolated"])
        let rows = csv.out.split(separator: "\n").dropFirst().map { CSV.split(String($0)) }
        for s in plan.structures {
            let volumes = rows.filter { $0[0] == s.name }.map { Double($0[2])! }
            XCTAssertEqual(volumes.count, s.dvh.cumulativeCC.count, s.name)
            for (a, b) in zip(s.dvh.cumulativeCC, volumes) { XCTAssertEqual(Double(a), b, accuracy: 5e-7 + 1e-7 * b, s.name) }
        }
        // Target indices equal `sbrt dvh --metrics` of each target (GTV, CTV, ITV, PTV types).
        let indices = try runSBRT(["dvh", fixture("pelvis"), "--format", "json", "--end-cap", "interpolated",
                                   "--metrics", "HI,CI,PCI,GI,R50,R100,D2cm"])
        let all = ((try JSONSerialization.jsonObject(with: Data(indices.out.utf8)) as! [String: Any])["report"] as! [String: Any])["structures"] as! [[String: Any]]
        let targets = Set(all.filter { ["GTV", "CTV", "ITV", "PTV"].contains(($0["type"] as? String ?? "").uppercased()) }.map { $0["name"] as! String })
        XCTAssertFalse(targets.isEmpty)
        XCTAssertEqual(Set(plan.targetIndices.map(\.target)), targets)
        XCTAssertEqual(plan.targetIndices.count, 7 * targets.count)
        for t in plan.targetIndices {
            let s = all.first { $0["name"] as! String == t.target }!
            let m = (s["metrics"] as! [[String: Any]]).first { $0["metric"] as! String == t.index }!
            XCTAssertEqual(t.note, m["note"] as? String, "\(t.target) \(t.index)")
            if let v = (m["value"] as? NSNumber)?.doubleValue {
                XCTAssertLessThanOrEqual(relative(try XCTUnwrap(t.value), v), 1e-9, "\(t.target) \(t.index)")
            } else {
                XCTAssertNil(t.value)
            }
        }
    }

    func testAKilledRunStartedAgainEndsWithTheRowsOfOneCleanRun() throws {
        let root = temporaryFolder(self)
        try CohortMaker.make(fixtures: miniFixtures, count: 8, into: root + "/cohort")
        let clean = try runSBRT(["batch", root + "/cohort", "--db", root + "/clean.sqlite", "--jobs", "1", "--quiet"])
        XCTAssertEqual(clean.status, 0, clean.err)

        let db = root + "/killed.sqlite"
        let p = Process()
        p.executableURL = BuiltTools.url("sbrt")
        p.arguments = ["batch", root + "/cohort", "--db", db, "--jobs", "1", "--quiet"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        var storedAtKill = 0
        let deadline = Date().addingTimeInterval(300)
        while p.isRunning && storedAtKill < 2 && Date() < deadline {
            storedAtKill = (try? PlanStore.open(.sqlite(path: db), readOnly: true).storedPlanKeys().count) ?? 0
            if storedAtKill < 2 { Thread.sleep(forTimeInterval: 0.01) }
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal, "the run must be killed, not finish")
        let afterKill = try PlanStore.open(.sqlite(path: db), readOnly: true).storedPlanKeys().count
        XCTAssertGreaterThanOrEqual(afterKill, 2)
        XCTAssertLessThan(afterKill, 8, "killed mid-run")

        let resumed = try runSBRT(["batch", root + "/cohort", "--db", db, "--jobs", "2"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.err.contains("\(8 - afterKill) stored, \(afterKill) already stored, 0 failed"), resumed.err)
        let a = try storedPlans(try PlanStore.open(.sqlite(path: root + "/clean.sqlite"), readOnly: true))
        let b = try storedPlans(try PlanStore.open(.sqlite(path: db), readOnly: true))
        XCTAssertEqual(a.count, 8)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (key, plan) in a { XCTAssertEqual(b[key], plan, key) }
    }

    func testTwoShardsRunningAtOnceWriteEveryPlanExactlyOnceIntoPostgreSQL() throws {
        let root = temporaryFolder(self)
        try CohortMaker.make(fixtures: miniFixtures, count: 6, into: root + "/cohort")
        let url = try TestPostgres.freshDatabase()
        let shards = ["1/2", "2/2"].map { shard -> (Process, Pipe) in
            let p = Process(), err = Pipe()
            p.executableURL = BuiltTools.url("sbrt")
            p.arguments = ["batch", root + "/cohort", "--db", url, "--shard", shard, "--jobs", "1"]
            p.standardError = err
            return (p, err)
        }
        for (p, _) in shards { try p.run() }
        var stored: [Int] = []
        for (p, err) in shards {
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, text)
            let head = try XCTUnwrap(text.components(separatedBy: " stored, 0 already stored, 0 failed").dropLast().last, text)
            stored.append(try XCTUnwrap(Int(head.split(separator: " ").last ?? ""), text))
        }
        XCTAssertEqual(stored.reduce(0, +), 6, "the shares are disjoint and cover the cohort: \(stored)")

        let reference = try PlanStore.open(.sqlite(path: root + "/reference.sqlite"))
        XCTAssertEqual(try BatchRun.run(try request([root + "/cohort"], metrics: "D98%,D95%,D50%,D2%,D0.035cc,V100%[%]"), store: reference).stored, 6)
        let pg = try PlanStore.open(.postgres(url: url), readOnly: true)
        let expected = try storedPlans(reference)
        let actual = try storedPlans(pg)
        XCTAssertEqual(Set(actual.keys), Set(expected.keys))
        for (key, plan) in expected { XCTAssertEqual(actual[key], plan, key) }
        XCTAssertEqual(try pg.metricRows().count, expected.values.reduce(0) { $0 + $1.structures.reduce(0) { $0 + $1.metrics.count } })
    }

    func testExportGivesTheMetricRowsAsCSVAndJSON() throws {
        let root = temporaryFolder(self)
        try CohortMaker.make(fixtures: miniFixtures, count: 2, into: root + "/cohort")
        let db = root + "/cohort.sqlite"
        XCTAssertEqual(try runSBRT(["batch", root + "/cohort", "--db", db, "--metrics", "D95%,Dmean", "--quiet"]).status, 0)
        let csv = try runSBRT(["batch", "export", "--db", db, "--format", "csv"])
        XCTAssertEqual(csv.status, 0, csv.err)
        let lines = csv.out.split(separator: "\n").map { CSV.split(String($0)) }
        XCTAssertEqual(lines.first, BatchExport.columns)
        XCTAssertEqual(lines.count, 1 + 2 * 3 * 2, "2 plans × 3 structures × 2 metrics")
        XCTAssertEqual(Set(lines.dropFirst().map { $0[2] }), ["COHORT-0001", "COHORT-0002"])

        let out = root + "/ptv.json"
        let json = try runSBRT(["batch", "export", "--db", db, "--format", "json", "--structure", "ptv", "--metric", "D95%", "--out", out])
        XCTAssertEqual(json.status, 0, json.err)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as? [String: Any])
        XCTAssertEqual(doc["schema"] as? String, "sbrt.batch-export/1")
        let rows = try XCTUnwrap(doc["metrics"] as? [[String: Any]])
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(Set(rows.map { $0["structure"] as! String }), ["PTV"])
        XCTAssertEqual((doc["failures"] as? [Any])?.count, 0)
        // The database is never an output.
        let overwrite = try runSBRT(["batch", "export", "--db", db, "--format", "csv", "--out", db])
        XCTAssertEqual(overwrite.status, 2)
        XCTAssertTrue(overwrite.err.contains(db), overwrite.err)
    }

    /// With a protocol, an incomplete review is not a pass: every plan is stored, and the
    /// run exits 1 naming the outcomes; a complete per-protocol review exits 0.
    func testARunWithAnIncompleteReviewExitsOne() throws {
        let root = temporaryFolder(self)
        let open = try runSBRT(["batch", fixture("review/no_organs"), "--db", root + "/a.sqlite", "--protocol", "tg101"])
        XCTAssertEqual(open.status, 1, open.err)
        XCTAssertTrue(open.err.contains("1 stored"), open.err)
        XCTAssertTrue(open.err.contains("reviews against tg101: 1 incomplete"), open.err)
        let clean = try runSBRT(["batch", fixture("pelvis"), "--db", root + "/b.sqlite", "--protocol", "tg101"])
        XCTAssertEqual(clean.status, 0, clean.err)
        XCTAssertTrue(clean.err.contains("reviews against tg101: 1 per protocol"), clean.err)
        // A re-run skips the plan and still reports its stored review.
        XCTAssertEqual(try runSBRT(["batch", fixture("review/no_organs"), "--db", root + "/a.sqlite", "--protocol", "tg101"]).status, 1)
    }

    func testThePopulationPlotDrawsTheMedianAndBandOfEachGroupFromTheDatabase() throws {
        let root = temporaryFolder(self)
        try CohortMaker.make(fixtures: miniFixtures, count: 4, into: root + "/cohort")
        let db = root + "/cohort.sqlite"
        XCTAssertEqual(try runSBRT(["batch", root + "/cohort", "--db", db, "--quiet"]).status, 0)
        let png = root + "/band.png", svg = root + "/band.svg"
        let r = try runSBRT(["render", "--population", "--db", db, "--structure", "ptv", "--by", "site", "--out", png, "--svg", svg, "--size", "600"])
        XCTAssertEqual(r.status, 0, r.err)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("<title>MINI (n = 4)</title></polyline>"), "one median line per group")
        XCTAssertTrue(text.contains("<title>MINI (n = 4) inter-quartile range</title>"), "one band per group")
        let missing = try runSBRT(["render", "--population", "--db", db, "--structure", "Liver", "--out", png])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("Liver"), missing.err)
        let noDB = try runSBRT(["render", "--population", "--structure", "PTV", "--out", png])
        XCTAssertEqual(noDB.status, 2)
    }
}
