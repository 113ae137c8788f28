import Foundation
import XCTest
@testable import Store
import StoreTestSupport

extension PlanStore {
    /// Rows in `table` (a table or view name written by the test itself).
    func count(_ table: String) throws -> Int {
        try locked { try connection.query("SELECT count(*) FROM \(table)").first!.int(0) }
    }

    /// Rows of every plan-owned table, for "exactly one copy" checks.
    func tableCounts() throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for t in ["plans", "structures", "dvh_curves", "metrics", "target_indices", "protocol_verdicts", "protocol_reviews",
                  "failure_records"] {
            counts[t] = try count(t)
        }
        return counts
    }

    /// Every stored plan, by key.
    func allPlans() throws -> [PlanRecord] {
        try storedPlanKeys().sorted().map { try plan(planKey: $0)! }
    }
}

/// The table counts that plans `indices` of `SyntheticPlans` (default shape) produce.
func expectedCounts(_ plans: [PlanRecord], failures: Int = 0) -> [String: Int] {
    let structures = plans.reduce(0) { $0 + $1.structures.count }
    return ["plans": plans.count, "structures": structures, "dvh_curves": structures,
            "metrics": plans.reduce(0) { $0 + $1.structures.reduce(0) { $0 + $1.metrics.count } },
            "target_indices": plans.reduce(0) { $0 + $1.targetIndices.count },
            "protocol_verdicts": plans.reduce(0) { $0 + $1.verdicts.count },
            "protocol_reviews": plans.reduce(0) { $0 + $1.reviews.count }, "failure_records": failures]
}

/// Asserts that `actual` equals `expected` field for field, doubles bit for bit; the
/// creation time (stored to the millisecond) within 1 ms.
func assertSamePlan(_ actual: PlanRecord?, _ expected: PlanRecord, file: StaticString = #filePath, line: UInt = #line) {
    guard var actual else { return XCTFail("plan \(expected.planKey) is missing", file: file, line: line) }
    XCTAssertEqual(actual.createdAt.timeIntervalSince1970, expected.createdAt.timeIntervalSince1970, accuracy: 1e-3, file: file, line: line)
    actual.createdAt = expected.createdAt
    XCTAssertEqual(actual, expected, "plan \(expected.planKey)", file: file, line: line)
    // Equatable on Double says -0 == 0 and NaN != NaN; the store promises bits.
    for (a, e) in zip(actual.structures, expected.structures) {
        for (x, y) in [(a.volumeCC, e.volumeCC), (a.minGy, e.minGy), (a.meanGy, e.meanGy), (a.maxGy, e.maxGy)] {
            XCTAssertEqual(x.bitPattern, y.bitPattern, file: file, line: line)
        }
        for (m, n) in zip(a.metrics, e.metrics) {
            XCTAssertEqual(m.value?.bitPattern, n.value?.bitPattern, "\(a.name) \(m.metric)", file: file, line: line)
        }
        XCTAssertEqual(a.dvh.cumulativeCC.map(\.bitPattern), e.dvh.cumulativeCC.map(\.bitPattern), file: file, line: line)
    }
}

func temporarySQLitePath(_ name: String = "store") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-store-tests-\(getpid())-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("\(name).sqlite").path
}
