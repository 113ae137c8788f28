import Foundation
import XCTest
import Base
@testable import Store
import StoreTestSupport

/// The behaviour both backends must show, run by SQLiteStoreTests and PostgresStoreTests
/// on a fresh, empty database each.
enum StoreContract {
    /// Every table round-trips: provenance, structures, DVH curves, metrics, indices,
    /// verdicts (doubles bit for bit, NULLs as nil, Unicode text), and the views see them.
    static func everyTableRoundTrips(_ store: PlanStore) throws {
        let plans = (0..<4).map { SyntheticPlans.plan($0) }
        for p in plans { try store.write(p) }
        for p in plans { assertSamePlan(try store.plan(planKey: p.planKey), p) }
        XCTAssertEqual(try store.tableCounts(), expectedCounts(plans))
        XCTAssertNil(try store.plan(planKey: "p1-absent"))

        // The view users query directly.
        let p = plans[1], s = p.structures[0], m = s.metrics[3]
        let rows = try store.locked {
            try store.connection.query("""
                SELECT plan_key, folder, patient_id, structure, metric, value, unit FROM metric_values
                WHERE plan_key = ? AND structure = ? AND metric = ?
                """, [.text(p.planKey), .text(s.name), .text(m.metric)])
        }
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(try rows[0].text(1), p.folder)
        XCTAssertEqual(try rows[0].optionalText(2), p.patientID)
        XCTAssertEqual(try rows[0].double(5).bitPattern, m.value!.bitPattern)
        XCTAssertEqual(try rows[0].text(6), m.unit)
        XCTAssertEqual(try store.count("metric_values"), expectedCounts(plans)["metrics"])
        XCTAssertEqual(try store.count("structure_values"), expectedCounts(plans)["structures"])
    }

    /// Writing a plan twice leaves one copy; a rescan (another result for the same key)
    /// replaces every row of the plan and nothing of the others.
    static func writesAreIdempotentAndRescanReplaces(_ store: PlanStore) throws {
        let a = SyntheticPlans.plan(10), b = SyntheticPlans.plan(11)
        try store.write(a)
        try store.write(b)
        try store.write(a)
        XCTAssertEqual(try store.tableCounts(), expectedCounts([a, b]))
        XCTAssertTrue(try store.contains(planKey: a.planKey))
        XCTAssertFalse(try store.contains(planKey: SyntheticPlans.key(12)))
        XCTAssertEqual(try store.storedPlanKeys(), [a.planKey, b.planKey])

        var rescanned = SyntheticPlans.plan(10, structures: 2, bins: 700, variant: 1)
        rescanned.verdicts.removeLast()
        XCTAssertEqual(rescanned.planKey, a.planKey)
        try store.write(rescanned)
        assertSamePlan(try store.plan(planKey: a.planKey), rescanned)
        assertSamePlan(try store.plan(planKey: b.planKey), b)
        XCTAssertEqual(try store.tableCounts(), expectedCounts([rescanned, b]))

        XCTAssertTrue(try store.deletePlan(planKey: b.planKey))
        XCTAssertFalse(try store.deletePlan(planKey: b.planKey))
        XCTAssertEqual(try store.tableCounts(), expectedCounts([rescanned]))
    }

    /// A write that fails half-way (the second structure breaks the primary key) rolls
    /// back: no partial plan, and an earlier copy of the plan stays whole.
    static func abortedWriteLeavesNoPartialPlan(_ store: PlanStore) throws {
        var broken = SyntheticPlans.plan(20)
        broken.structures[1].name = broken.structures[0].name
        XCTAssertThrowsError(try store.write(broken)) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .database, "\(e)")
        }
        XCTAssertFalse(try store.contains(planKey: broken.planKey))
        XCTAssertEqual(try store.tableCounts(), expectedCounts([]))

        let good = SyntheticPlans.plan(20)
        try store.write(good)
        XCTAssertThrowsError(try store.write(broken))
        assertSamePlan(try store.plan(planKey: good.planKey), good)
        XCTAssertEqual(try store.tableCounts(), expectedCounts([good]))

        var nan = SyntheticPlans.plan(21)
        nan.structures[2].metrics[0].value = .nan
        XCTAssertThrowsError(try store.write(nan)) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .invalidValue)
            XCTAssertTrue("\(e)".contains("metric D95%"), "\(e)")
        }
        var nul = SyntheticPlans.plan(21)
        nul.patientID = "A\u{0}B"
        XCTAssertThrowsError(try store.write(nul)) { XCTAssertEqual(($0 as? SBRTError)?.kind, .invalidValue) }
        XCTAssertEqual(try store.tableCounts(), expectedCounts([good]))
    }

    /// Failures are upserted by key (a re-run does not duplicate them), listed in folder
    /// order, visible in the `failures` view, and cleared when their plan is written.
    static func failuresAreKeyedAndCleared(_ store: PlanStore) throws {
        let p = SyntheticPlans.plan(30)
        let t = Date(timeIntervalSince1970: 1_800_000_000.5)
        try store.recordFailure(FailureRecord(folder: "z/unreadable", kind: "truncated", message: "RT Dose ends early", file: "z/unreadable/rd.dcm", occurredAt: t))
        try store.recordFailure(FailureRecord(folder: "z/unreadable", kind: "truncated", message: "RT Dose ends early", file: "z/unreadable/rd.dcm", occurredAt: t))
        try store.recordFailure(FailureRecord(folder: p.folder, kind: "not-dicom", message: "no structure set", occurredAt: t))
        try store.recordFailure(FailureRecord(folder: p.folder, kind: "invalid-value", message: "dose not in Gy", planKey: p.planKey, occurredAt: t))
        try store.recordFailure(FailureRecord(folder: p.folder, kind: "invalid-value", message: "dose grid has NaN", planKey: p.planKey, occurredAt: t))
        let failures = try store.failures()
        XCTAssertEqual(failures.map(\.folder), [p.folder, p.folder, "z/unreadable"])
        XCTAssertEqual(failures.first { $0.planKey == p.planKey }?.message, "dose grid has NaN")
        XCTAssertEqual(failures.last, FailureRecord(folder: "z/unreadable", kind: "truncated", message: "RT Dose ends early",
                                                    file: "z/unreadable/rd.dcm", occurredAt: t))
        let view = try store.locked { try store.connection.query("SELECT folder, kind, message FROM failures WHERE kind = ?", [.text("truncated")]) }
        XCTAssertEqual(try view.map { [try $0.text(0), try $0.text(1), try $0.text(2)] }, [["z/unreadable", "truncated", "RT Dose ends early"]])

        try store.write(p)
        XCTAssertEqual(try store.failures().map(\.folder), ["z/unreadable"])
    }

    /// Export rows come filtered and in folder, plan, structure and metric order.
    static func exportIsFilteredAndOrdered(_ store: PlanStore) throws {
        let plans = [SyntheticPlans.plan(40), SyntheticPlans.plan(41), SyntheticPlans.plan(47)]
        for p in plans.reversed() { try store.write(p) }
        let sorted = plans.sorted { ($0.folder.utf8.lexicographicallyPrecedes($1.folder.utf8)) }

        let all = try store.metricRows()
        let expected = sorted.flatMap { p in
            p.structures.flatMap { s in s.metrics.map { (p.planKey, s.name, $0.metric, $0.value?.bitPattern) } }
        }
        XCTAssertEqual(all.map { "\($0.planKey) \($0.structure) \($0.metric) \(String(describing: $0.value?.bitPattern))" },
                       expected.map { "\($0.0) \($0.1) \($0.2) \(String(describing: $0.3))" })

        let d95 = try store.metricRows(structure: "ptv", metric: "D95%")
        XCTAssertEqual(d95.map(\.folder), sorted.map(\.folder))
        XCTAssertEqual(d95.map(\.value), sorted.map { $0.structures[0].metrics[0].value })
        XCTAssertEqual(d95.first?.planLabel, sorted.first?.planLabel)
        XCTAssertEqual(try store.metricRows(structure: "OAR 1").count, 3 * 5)
        XCTAssertEqual(try store.metricRows(metric: "d95%").count, 0, "metric text matches exactly")

        let curves = try store.dvhCurves(structure: "PTV")
        XCTAssertEqual(curves.map(\.planKey), sorted.map(\.planKey))
        XCTAssertEqual(curves.map(\.curve), sorted.map { $0.structures[0].dvh })
        XCTAssertEqual(try store.dvhCurves(structure: "no such").count, 0)

        // Reviews, all or of one protocol (the filter is a bound parameter on both backends).
        let reviews = sorted.flatMap { p in p.reviews.map { (p.planKey, $0) } }
        XCTAssertEqual(try store.reviewRows().map(\.planKey), reviews.map(\.0))
        XCTAssertEqual(try store.reviewRows(protocolID: "tg101-5fx").map(\.review), reviews.map(\.1))
        XCTAssertEqual(try store.reviewRows(protocolID: "tg101").count, 0, "protocol id matches exactly")
    }

    static let all: [(String, (PlanStore) throws -> Void)] = [
        ("round trip", everyTableRoundTrips),
        ("idempotence", writesAreIdempotentAndRescanReplaces),
        ("aborted write", abortedWriteLeavesNoPartialPlan),
        ("failures", failuresAreKeyedAndCleared),
        ("export", exportIsFilteredAndOrdered),
    ]
}
