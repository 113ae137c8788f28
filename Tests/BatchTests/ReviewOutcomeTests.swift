import Base
import Batch
import Foundation
import PlanReview
import Store
import XCTest

/// The overall outcome of a protocol review is stored per plan: a plan whose review is
/// incomplete must not look like a plan without deviations.
final class ReviewOutcomeTests: XCTestCase {
    func testAnIncompleteReviewIsStoredAsIncompleteWithItsReason() throws {
        let root = temporaryFolder(self)
        let store = try PlanStore.open(.sqlite(path: root + "/cohort.sqlite"))
        let library = ProtocolLibrary.shipped(executablePath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
        let proto = try library.load("tg101")
        var r = try request([fixture("review/no_organs")], metrics: "Dmean")
        r.review = (proto, try ProtocolFingerprint.of(proto, library: library))
        let summary = try BatchRun.run(r, store: store)
        XCTAssertEqual(summary.stored, 1, "\(summary.outcomes.map(\.outcome))")
        let plan = try XCTUnwrap(try storedPlans(store).values.first)
        // BODY, GTV and PTV only: no organ-at-risk row, so no deviation either.
        XCTAssertFalse(plan.verdicts.contains { $0.verdict.hasSuffix("deviation") }, "\(plan.verdicts.map(\.verdict))")
        XCTAssertEqual(plan.reviews.map(\.protocolID), [proto.id])
        XCTAssertEqual(plan.reviews.first?.overall, "incomplete")
        let reason = try XCTUnwrap(plan.reviews.first?.reason)
        XCTAssertTrue(reason.contains("no organ-at-risk row"), reason)

        let rows = try store.reviewRows()
        XCTAssertEqual(rows.map(\.review), plan.reviews)
        XCTAssertEqual(rows.map(\.folder), [plan.folder])
        let json = try BatchExport.json([], reviews: rows, failures: [], database: "test", structure: nil, metric: nil)
        XCTAssertTrue(json.contains("\"overall\" : \"incomplete\"") || json.contains("\"overall\":\"incomplete\""), json)
    }
}
