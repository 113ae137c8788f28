import Base
import Batch
import CohortMaker
import Foundation
import RTModel
import Store
import XCTest

/// The orchestrator in process, on small trees of fixture copies written into SQLite.
final class BatchRunTests: XCTestCase {
    func testEveryPlanOfANestedTreeIsStoredWithItsDVHsMetricsIndicesAndProvenance() throws {
        let root = temporaryFolder(self)
        let folders = try makeTree(root + "/export", [("a/b/c/course1", miniFixtures[0]), ("plan2", miniFixtures[1]),
                                                      ("x/y/z/w/plan3", miniFixtures[2])])
        // The fixture whose files are scattered over several folders and mixed with other files.
        try CohortMaker.copyPlan(from: fixture("variants/nested"), to: root + "/export/scattered", salt: "scattered", patientID: "TREE-04")
        let store = try PlanStore.open(.sqlite(path: root + "/cohort.sqlite"))
        let summary = try BatchRun.run(try request([root + "/export"], jobs: 2), store: store)
        XCTAssertEqual(summary.discovered, 4)
        XCTAssertEqual(summary.stored, 4, "\(summary.outcomes.map(\.outcome))")
        XCTAssertFalse(summary.hasFailures)
        let plans = try storedPlans(store).values.sorted { $0.patientID! < $1.patientID! }
        XCTAssertEqual(plans.map(\.patientID), ["TREE-01", "TREE-02", "TREE-03", "TREE-04"])
        XCTAssertEqual(Array(plans.prefix(3)).map(\.folder), folders)
        XCTAssertTrue(plans[3].folder.hasPrefix(root + "/export/scattered/"), plans[3].folder)
        for p in plans {
            XCTAssertEqual(p.planLabel, "SBRT_MINI")
            XCTAssertEqual(p.doseSOPInstanceUIDs.count, 1)
            XCTAssertNotNil(p.planSOPInstanceUID)
            XCTAssertNotNil(p.ctSeriesInstanceUID)
            XCTAssertEqual(p.rxGy, 35)
            XCTAssertEqual(p.fractions, 5)
            XCTAssertEqual(p.sbrtVersion, "0.1.0")
            XCTAssertTrue(p.optionsJSON.contains("\"end_cap\":\"prism\""), p.optionsJSON)
            XCTAssertEqual(p.structures.map(\.name), ["BODY", "PTV", "RectumWall"])
            XCTAssertEqual(p.structures.map(\.type), ["EXTERNAL", "PTV", "ORGAN"])
            for s in p.structures {
                XCTAssertEqual(s.metrics.map(\.metric), ["D95%", "Dmean"])
                XCTAssertEqual(s.metrics[1].value!, s.meanGy, accuracy: 1e-12)
                // The curve starts at the whole volume and ends at 0 just above the maximum dose.
                XCTAssertEqual(Double(s.dvh.cumulativeCC[0]), s.volumeCC, accuracy: 1e-6 * s.volumeCC)
                XCTAssertEqual(s.dvh.cumulativeCC.last, 0)
                XCTAssertEqual(s.dvh.cumulativeCC.count, Int((s.maxGy / 0.01).rounded(.down)) + 2)
            }
            XCTAssertEqual(p.targetIndices.map(\.index), ["HI", "CI", "PCI", "GI", "R50", "R100", "D2cm"])
            XCTAssertTrue(p.targetIndices.allSatisfy { $0.target == "PTV" })
            XCTAssertGreaterThan(p.targetIndices[1].value ?? 0, 0.5)
        }
    }

    func testFailuresAreRecordedWithTheirKindsAndTheRunGoesOn() throws {
        let root = temporaryFolder(self)
        let tree = root + "/export"
        try makeTree(tree, [("good", miniFixtures[0]), ("nodose", miniFixtures[1])])
        let dose = try XCTUnwrap(files(in: tree + "/nodose", prefix: "RD").first)
        let kept = root + "/RD.dcm"
        try FileManager.default.moveItem(atPath: dose, toPath: kept)
        try CohortMaker.copyPlan(from: fixture("variants/mismatch"), to: tree + "/mismatch", salt: "mismatch", patientID: "TREE-03")
        try FileManager.default.createDirectory(atPath: tree + "/broken", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixture("broken/trunc_in_value.dcm"), toPath: tree + "/broken/trunc_in_value.dcm")

        let store = try PlanStore.open(.sqlite(path: root + "/cohort.sqlite"))
        let summary = try BatchRun.run(try request([tree]), store: store)
        XCTAssertEqual(summary.stored, 1)
        XCTAssertEqual(summary.failed, 2)
        XCTAssertEqual(summary.unreadableFiles, 1)
        XCTAssertTrue(summary.hasFailures)
        let failures = Dictionary(uniqueKeysWithValues: try store.failures().map { (($0.folder as NSString).lastPathComponent, $0) })
        XCTAssertEqual(failures.mapValues(\.kind), ["broken": "truncated", "mismatch": "frame-of-reference", "nodose": "no-dose"])
        XCTAssertEqual(failures["broken"]?.file, tree + "/broken/trunc_in_value.dcm")
        XCTAssertTrue(failures["mismatch"]!.message.contains("frame of reference"), failures["mismatch"]!.message)
        XCTAssertTrue(failures["nodose"]!.file!.contains("/RP."), "a plan's failure names its RT Plan")
        XCTAssertEqual(try store.storedPlanKeys().count, 1)

        // The dose comes back: the plan is stored and its failure goes; the others stay.
        try FileManager.default.moveItem(atPath: kept, toPath: dose)
        let again = try BatchRun.run(try request([tree]), store: store)
        XCTAssertEqual([again.stored, again.skipped, again.failed], [1, 1, 1])
        XCTAssertEqual(Set(try store.failures().map { ($0.folder as NSString).lastPathComponent }), ["broken", "mismatch"])
        XCTAssertEqual(try store.storedPlanKeys().count, 2)
    }

    func testARerunSkipsStoredPlansRescanReplacesThemAndOtherOptionsAddPlans() throws {
        let root = temporaryFolder(self)
        try makeTree(root + "/export", [("p1", miniFixtures[0]), ("p2", miniFixtures[3])])
        let store = try PlanStore.open(.sqlite(path: root + "/cohort.sqlite"))
        let first = try BatchRun.run(try request([root + "/export"]), store: store)
        XCTAssertEqual([first.stored, first.skipped], [2, 0])
        let keys = try store.storedPlanKeys()
        let before = try storedPlans(store)
        let created = try keys.map { try store.plan(planKey: $0)!.createdAt }

        let rerun = try BatchRun.run(try request([root + "/export"]), store: store)
        XCTAssertEqual([rerun.stored, rerun.skipped, rerun.failed], [0, 2, 0])
        XCTAssertEqual(try keys.map { try store.plan(planKey: $0)!.createdAt }, created, "skipped plans are not rewritten")

        var rescan = try request([root + "/export"])
        rescan.rescan = true
        let replaced = try BatchRun.run(rescan, store: store)
        XCTAssertEqual([replaced.stored, replaced.skipped], [2, 0])
        XCTAssertEqual(try storedPlans(store), before, "a rescan replaces each plan with the same rows")
        for (key, t) in zip(keys, created) { XCTAssertGreaterThan(try store.plan(planKey: key)!.createdAt, t) }

        var other = try request([root + "/export"], metrics: "D2cc")
        other.endCap = .none
        let added = try BatchRun.run(other, store: store)
        XCTAssertEqual(added.stored, 2)
        XCTAssertEqual(try store.storedPlanKeys().count, 4, "other options give other keys: rows beside the earlier ones")
    }

    func testAPlanExportedTwiceIsComputedAndStoredOnce() throws {
        let root = temporaryFolder(self)
        try makeTree(root + "/export", [("first/plan", miniFixtures[0])])
        try FileManager.default.copyItem(atPath: root + "/export/first", toPath: root + "/export/second")
        let store = try PlanStore.open(.sqlite(path: root + "/cohort.sqlite"))
        let summary = try BatchRun.run(try request([root + "/export"], jobs: 2), store: store)
        XCTAssertEqual([summary.discovered, summary.stored, summary.skipped, summary.failed, summary.duplicates], [2, 1, 0, 0, 1])
        let plans = try storedPlans(store)
        XCTAssertEqual(plans.count, 1)
        let first = root + "/export/first/plan"
        XCTAssertEqual(plans.values.first?.folder, first, "the first copy by plan id")
        let key = try XCTUnwrap(plans.keys.first)
        XCTAssertEqual(summary.outcomes.map(\.outcome), [.stored(planKey: key), .duplicate(planKey: key, of: first)])
        XCTAssertEqual(summary.outcomes[1].plan.folder, root + "/export/second/plan")

        let again = try BatchRun.run(try request([root + "/export"]), store: store)
        XCTAssertEqual(again.outcomes.map(\.outcome), [.skipped(planKey: key), .duplicate(planKey: key, of: first)],
                       "skipped: stored by an earlier run; the copy is still a duplicate, not stored")
        XCTAssertEqual(try store.failures().count, 0)
    }

    func testOnePlanExportedWithTwoDifferentDosesIsTwoStoredPlansNoneMissing() throws {
        let root = temporaryFolder(self)
        let store = try PlanStore.open(.sqlite(path: root + "/cohort.sqlite"))
        let folders = [fixture("pelvis"), fixture("gamma/pelvis_shifted")]
        let summary = try BatchRun.run(try request(folders, metrics: "Dmean"), store: store)
        XCTAssertEqual([summary.discovered, summary.stored, summary.skipped, summary.failed, summary.duplicates], [2, 2, 0, 0, 0],
                       "\(summary.outcomes.map(\.outcome))")
        let plans = try storedPlans(store).values
        XCTAssertEqual(Set(plans.map { ($0.folder as NSString).lastPathComponent }), ["pelvis", "pelvis_shifted"])
        XCTAssertEqual(Set(plans.map(\.planSOPInstanceUID)).count, 1, "one RT Plan")
        XCTAssertEqual(Set(plans.map(\.doseSOPInstanceUIDs)).count, 2, "each with the dose of its folder")
        XCTAssertEqual(try store.failures().count, 0)
    }

    func testShardsAreDisjointCoverEveryPlanAndDoNotDependOnWhereTheTreeIs() throws {
        let root = temporaryFolder(self)
        try makeTree(root + "/one", (0..<6).map { ("patient\($0)/plan", miniFixtures[$0 % miniFixtures.count]) })
        try FileManager.default.copyItem(atPath: root + "/one", toPath: root + "/elsewhere")
        let here = try PlanDiscovery.discover([root + "/one"]).plans
        let there = try PlanDiscovery.discover([root + "/elsewhere"]).plans
        XCTAssertEqual(here.count, 6)
        for n in 1...4 {
            let shards = try (1...n).map { try Shard(index: $0, count: n) }
            for p in here {
                XCTAssertEqual(shards.filter { $0.contains(p) }.count, 1, "plan \(p.id) in exactly one of \(n) shards")
                let copy = try XCTUnwrap(there.first { $0.uidIdentity == p.uidIdentity })
                XCTAssertNotEqual(copy.folder, p.folder)
                XCTAssertEqual(shards.map { $0.contains(copy) }, shards.map { $0.contains(p) }, "the share follows the plan, not its path")
            }
        }
        XCTAssertEqual(try Shard(parsing: "3/8"), try Shard(index: 3, count: 8))
        for bad in ["0/2", "3/2", "1/0", "a/b", "2", "1/2/3", ""] {
            XCTAssertThrowsError(try Shard(parsing: bad), bad) { XCTAssertEqual(($0 as? SBRTError)?.kind, .invalidRequest) }
        }
    }
}
