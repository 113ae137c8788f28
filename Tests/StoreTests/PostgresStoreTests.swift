import Foundation
import XCTest
import Base
@testable import Store
import StoreTestSupport
import TestSupport

/// The store against a real PostgreSQL server (`TestPostgres`): these tests fail, not
/// skip, when the server cannot be started.
final class PostgresStoreTests: XCTestCase {
    func fresh() throws -> (PlanStore, String) {
        let url = try TestPostgres.freshDatabase()
        return (try PlanStore.open(.postgres(url: url)), url)
    }

    func testEveryTableRoundTripsBitExactly() throws { try StoreContract.everyTableRoundTrips(try fresh().0) }
    func testWritingTwiceKeepsOneCopyAndRescanReplaces() throws { try StoreContract.writesAreIdempotentAndRescanReplaces(try fresh().0) }
    func testAnAbortedWriteLeavesNoPartialPlan() throws { try StoreContract.abortedWriteLeavesNoPartialPlan(try fresh().0) }
    func testFailuresAreKeyedAndClearedByTheirPlan() throws { try StoreContract.failuresAreKeyedAndCleared(try fresh().0) }
    func testExportIsFilteredAndDeterministic() throws { try StoreContract.exportIsFilteredAndOrdered(try fresh().0) }

    /// Both backends hold the same logical schema: the same tables and views with the
    /// same columns in the same order.
    func testTheSchemaIsTheSameAsSQLites() throws {
        let (pg, _) = try fresh()
        let sqlite = try PlanStore.open(.sqlite(path: temporarySQLitePath()))
        let pgColumns = try pg.locked {
            try pg.connection.query("""
                SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
                """).map { "\(try $0.text(0)).\(try $0.text(1))" }
        }
        let tables = try sqlite.locked {
            try sqlite.connection.query("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name").map { try $0.text(0) }
        }
        var sqliteColumns: [String] = []
        for t in tables {
            sqliteColumns += try sqlite.locked {
                try sqlite.connection.query("SELECT name FROM pragma_table_info(?)", [.text(t)]).map { "\(t).\(try $0.text(0))" }
            }
        }
        XCTAssertEqual(pgColumns, sqliteColumns)
        XCTAssertTrue(pgColumns.contains("metric_values.unit") && pgColumns.contains("failures.message"))
        XCTAssertEqual(pg.schemaVersion, Schema.latestVersion)
    }

    /// Two shards (processes) writing different plans into one new database at the same
    /// time, then three writers racing on the same plans: every plan exactly once.
    func testTwoShardsWritingAtOnce() throws {
        // An empty database: the two shards also create the schema at the same time.
        let url = try TestPostgres.freshDatabase()
        let shards = [try ProbeProcess(db: url, first: 0, count: 15), try ProbeProcess(db: url, first: 15, count: 15)]
        for s in shards {
            let r = s.finish()
            XCTAssertEqual(r.status, 0, r.err)
        }
        let store = try PlanStore.open(.postgres(url: url))
        XCTAssertEqual(try store.count("sbrt_schema"), Schema.migrations.count, "each migration applied once")
        let expected = (0..<30).map { SyntheticPlans.plan($0) }
        XCTAssertEqual(try store.tableCounts(), expectedCounts(expected))

        let racers = (0..<3).map { _ in try! ProbeProcess(db: url, first: 0, count: 30, ["--rescan"]) }
        for s in racers {
            let r = s.finish()
            XCTAssertEqual(r.status, 0, r.err)
        }
        XCTAssertEqual(try store.tableCounts(), expectedCounts(expected))
        for p in expected { assertSamePlan(try store.plan(planKey: p.planKey), p) }
    }

    /// Two connections of one process racing on one plan, many times, with different
    /// contents: exactly one whole copy remains, one of the two.
    func testTwoConnectionsRacingOnOnePlanLeaveOneWholeCopy() throws {
        let (_, url) = try fresh()
        let stores = [try PlanStore.open(.postgres(url: url)), try PlanStore.open(.postgres(url: url))]
        let variants = [SyntheticPlans.plan(5, structures: 6, variant: 0), SyntheticPlans.plan(5, structures: 3, variant: 1)]
        let errors = ErrorBox()
        for _ in 0..<20 {
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                do { try stores[i].write(variants[i]) } catch { errors.add(error) }
            }
        }
        XCTAssertEqual(errors.all.map { "\($0)" }, [])
        let stored = try stores[0].plan(planKey: variants[0].planKey)!
        let match = variants.first { $0.structures.count == stored.structures.count }!
        assertSamePlan(stored, match)
        XCTAssertEqual(try stores[0].tableCounts(), expectedCounts([match]))
    }

    /// A writer killed while its transaction is open (held mid-way by a lock taken here)
    /// leaves no partial plan; the server rolls the transaction back.
    func testAWriterKilledMidTransactionLeavesNoPartialPlan() throws {
        let (store, url) = try fresh()
        let old = SyntheticPlans.plan(0, variant: 1)
        try store.write(old)
        let blocker = try PostgresConnection(url: url, displayName: "blocker")
        // The writer's last statement deletes from failure_records: hold that table so the
        // writer stops there, after inserting all its rows.
        try blocker.execute("BEGIN")
        try blocker.execute("LOCK TABLE failure_records IN EXCLUSIVE MODE")
        let probe = try ProbeProcess(db: url, first: 0, count: 1, ["--rescan"])
        XCTAssertNotNil(probe.waitForLine(startingWith: "writing 0"))
        var waiting = 0
        for _ in 0..<600 where waiting == 0 {
            waiting = try blocker.query("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'failure_records'::regclass").first!.int(0)
            if waiting == 0 { Thread.sleep(forTimeInterval: 0.05) }
        }
        XCTAssertEqual(waiting, 1, "the writer never reached its last statement")
        probe.kill()
        try blocker.execute("ROLLBACK")
        blocker.close()
        XCTAssertFalse(probe.output.contains { $0.hasPrefix("wrote 0") })
        assertSamePlan(try store.plan(planKey: old.planKey), old)
        XCTAssertEqual(try store.tableCounts(), expectedCounts([old]))
    }

    func testAMissingDatabaseIsAConnectionErrorNamingIt() throws {
        let server = try TestPostgres.serverURL()
        let url = server.replacingOccurrences(of: "/postgres", with: "/no_such_db")
        XCTAssertThrowsError(try PlanStore.open(.postgres(url: url))) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .database)
            XCTAssertTrue("\(e)".contains("no_such_db"), "\(e)")
        }
    }
}

final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [Error] = []
    func add(_ e: Error) { lock.lock(); errors.append(e); lock.unlock() }
    var all: [Error] { lock.lock(); defer { lock.unlock() }; return errors }
}
