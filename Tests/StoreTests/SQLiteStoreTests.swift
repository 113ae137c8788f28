import Foundation
import XCTest
import Base
@testable import Store
import StoreTestSupport

final class SQLiteStoreTests: XCTestCase {
    func fresh() throws -> PlanStore { try PlanStore.open(.sqlite(path: temporarySQLitePath())) }

    func testEveryTableRoundTripsBitExactly() throws { try StoreContract.everyTableRoundTrips(try fresh()) }
    func testWritingTwiceKeepsOneCopyAndRescanReplaces() throws { try StoreContract.writesAreIdempotentAndRescanReplaces(try fresh()) }
    func testAnAbortedWriteLeavesNoPartialPlan() throws { try StoreContract.abortedWriteLeavesNoPartialPlan(try fresh()) }
    func testFailuresAreKeyedAndClearedByTheirPlan() throws { try StoreContract.failuresAreKeyedAndCleared(try fresh()) }
    func testExportIsFilteredAndDeterministic() throws { try StoreContract.exportIsFilteredAndOrdered(try fresh()) }

    func testTheFileIsInWALModeWithForeignKeysAndTheCurrentSchema() throws {
        let path = temporarySQLitePath()
        let store = try PlanStore.open(.sqlite(path: path))
        XCTAssertEqual(store.schemaVersion, Schema.latestVersion)
        let mode = try store.locked { try store.connection.query("PRAGMA journal_mode").first!.text(0) }
        XCTAssertEqual(mode, "wal")
        let fk = try store.locked { try store.connection.query("PRAGMA foreign_keys").first!.int(0) }
        XCTAssertEqual(fk, 1)
        store.close()
        // Opening again migrates nothing and keeps the data.
        let again = try PlanStore.open(.sqlite(path: path))
        XCTAssertEqual(try again.count("sbrt_schema"), Schema.migrations.count)
        // A read-only store reads the same schema.
        XCTAssertEqual(try PlanStore.open(.sqlite(path: path), readOnly: true).schemaVersion, Schema.latestVersion)
    }

    func testBadLocationsAreRefusedWithTheFileNamed() throws {
        let missing = temporarySQLitePath("missing")
        XCTAssertThrowsError(try PlanStore.open(.sqlite(path: missing), readOnly: true)) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .io)
            XCTAssertEqual((e as? SBRTError)?.file, missing)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "a read-only open creates nothing")

        let text = temporarySQLitePath("text")
        try Data(String(repeating: "not a database\n", count: 200).utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try PlanStore.open(.sqlite(path: text))) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .database)
            XCTAssertTrue("\(e)".contains("not a SQLite database"), "\(e)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: text)).count, 15 * 200, "the input is left as it was")

        let dir = URL(fileURLWithPath: text).deletingLastPathComponent().path
        XCTAssertThrowsError(try PlanStore.open(.sqlite(path: dir))) { XCTAssertEqual(($0 as? SBRTError)?.kind, .outputPath) }

        let empty = temporarySQLitePath("empty")
        _ = try SQLiteConnection(path: empty, readOnly: false, busyTimeoutMS: 100).query("CREATE TABLE t (x)")
        XCTAssertThrowsError(try PlanStore.open(.sqlite(path: empty), readOnly: true)) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .database)
            XCTAssertTrue("\(e)".contains("not an sbrt batch database"), "\(e)")
        }
    }

    func testAVersion1DatabaseIsMigratedToProtocolReviews() throws {
        let path = temporarySQLitePath()
        do {
            // A version-1 database: the current one without what version 2 added.
            let store = try PlanStore.open(.sqlite(path: path))
            try store.connection.execute("DROP VIEW plan_reviews")
            try store.connection.execute("DROP TABLE protocol_reviews")
            try store.connection.execute("DELETE FROM sbrt_schema WHERE version > 1")
            try store.connection.execute("INSERT INTO plans (plan_key, folder, dose_sop_instance_uids, structure_set_sop_instance_uid, sbrt_version, options_json, created_at) VALUES ('p1-old', '/old', '1.2', '1.3', '0.1.0', '{\"protocol_id\":\"tg101\"}', '2026-01-01T00:00:00.000Z')")
            store.close()
        }
        let store = try PlanStore.open(.sqlite(path: path))
        XCTAssertEqual(store.schemaVersion, 2)
        XCTAssertEqual(try store.count("protocol_reviews"), 0)
        XCTAssertEqual(try store.planKeysLackingReview(), ["p1-old"], "stored with a protocol before reviews were kept")
        var plan = SyntheticPlans.plan(1)
        plan.optionsJSON = "{\"protocol_id\":\"tg101\"}"
        try store.write(plan)
        XCTAssertEqual(try store.reviewRows().map(\.review), plan.reviews)
        XCTAssertEqual(try store.planKeysLackingReview(), ["p1-old"])
    }

    func testANewerSchemaIsRefused() throws {
        let path = temporarySQLitePath()
        let store = try PlanStore.open(.sqlite(path: path))
        try store.locked {
            try store.connection.execute("INSERT INTO sbrt_schema (version, description, applied_at) VALUES (?, ?, ?)",
                                         [.integer(99), .text("from the future"), .text("2030-01-01T00:00:00.000Z")])
        }
        store.close()
        XCTAssertThrowsError(try PlanStore.open(.sqlite(path: path))) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .database)
            XCTAssertTrue("\(e)".contains("schema version 99"), "\(e)")
        }
    }

    /// A writer killed (SIGKILL) in the middle of a write transaction leaves no trace of
    /// that plan, and the next writer is not blocked by it.
    func testAWriterKilledMidTransactionLeavesNoPartialPlan() throws {
        let path = temporarySQLitePath()
        // Plans big enough that one transaction takes a measurable time.
        let shape = ["--structures", "60", "--bins", "3000", "--metrics", "60"]
        let probe = try ProbeProcess(db: path, first: 0, count: 50, shape)
        guard let wrote = probe.waitForLine(startingWith: "wrote 0 ") else {
            probe.kill()
            return XCTFail("the probe wrote nothing: \(probe.output) \(probe.finish().err)")
        }
        let ms = Double(wrote.split(separator: " ")[2])!
        XCTAssertNotNil(probe.waitForLine(startingWith: "writing 1"))
        Thread.sleep(forTimeInterval: ms / 5 / 1000)
        probe.kill()
        XCTAssertFalse(probe.output.contains { $0.hasPrefix("wrote 1 ") }, "plan 1 committed before the kill (\(ms) ms per plan): test proves nothing")

        let store = try PlanStore.open(.sqlite(path: path), busyTimeoutMS: 2_000)
        XCTAssertEqual(try store.storedPlanKeys(), [SyntheticPlans.key(0)])
        let plan0 = SyntheticPlans.plan(0, structures: 60, bins: 3000, metrics: 60)
        XCTAssertEqual(try store.tableCounts(), expectedCounts([plan0]))
        try store.write(SyntheticPlans.plan(1))
        XCTAssertTrue(try store.contains(planKey: SyntheticPlans.key(1)))
    }

    /// Killed at some moment and started again, a run ends with the same rows as one
    /// clean run: every plan exactly once, each complete.
    func testAKilledAndResumedRunEqualsACleanRun() throws {
        let resumed = temporarySQLitePath("resumed"), clean = temporarySQLitePath("clean")
        let probe = try ProbeProcess(db: resumed, first: 0, count: 12)
        XCTAssertNotNil(probe.waitForLine(startingWith: "wrote 4 "))
        probe.kill()
        for path in [resumed, clean] {
            let run = try ProbeProcess(db: path, first: 0, count: 12)
            let r = run.finish()
            XCTAssertEqual(r.status, 0, r.err)
        }
        let a = try PlanStore.open(.sqlite(path: resumed)), b = try PlanStore.open(.sqlite(path: clean))
        let expected = (0..<12).map { SyntheticPlans.plan($0) }
        XCTAssertEqual(try a.tableCounts(), expectedCounts(expected))
        XCTAssertEqual(try a.allPlans(), try b.allPlans())
        for p in expected { assertSamePlan(try a.plan(planKey: p.planKey), p) }
    }

    /// Two processes opening one new SQLite file at the same instant both write to it.
    /// The switch to WAL, where SQLite answers BUSY without calling the busy handler,
    /// must be retried: before it was, about half of such rounds failed.
    func testProcessesCreatingOneFileAtOnceAllSucceed() throws {
        for round in 0..<10 {
            let path = temporarySQLitePath("race\(round)")
            let at = String(Int64((Date().timeIntervalSince1970 + 0.3) * 1000))
            let probes = try (0..<2).map { try ProbeProcess(db: path, first: 10 * $0, count: 10, ["--start-at", at]) }
            for p in probes {
                let r = p.finish()
                XCTAssertEqual(r.status, 0, "round \(round): \(r.err)")
            }
            let store = try PlanStore.open(.sqlite(path: path))
            XCTAssertEqual(try store.storedPlanKeys().count, 20)
        }
    }

    /// Two processes creating and writing one SQLite file at once (different plans, then
    /// the same plans with --rescan) queue on the write lock and leave every plan once.
    func testTwoProcessesWritingOneFile() throws {
        let path = temporarySQLitePath()
        let shards = [try ProbeProcess(db: path, first: 0, count: 10), try ProbeProcess(db: path, first: 10, count: 10)]
        for s in shards { let r = s.finish(); XCTAssertEqual(r.status, 0, r.err) }
        let same = [try ProbeProcess(db: path, first: 0, count: 20, ["--rescan"]), try ProbeProcess(db: path, first: 0, count: 20, ["--rescan"])]
        for s in same { let r = s.finish(); XCTAssertEqual(r.status, 0, r.err) }
        let store = try PlanStore.open(.sqlite(path: path))
        XCTAssertEqual(try store.count("sbrt_schema"), Schema.migrations.count, "each migration applied once")
        let expected = (0..<20).map { SyntheticPlans.plan($0) }
        XCTAssertEqual(try store.tableCounts(), expectedCounts(expected))
        for p in expected { assertSamePlan(try store.plan(planKey: p.planKey), p) }
    }
}
