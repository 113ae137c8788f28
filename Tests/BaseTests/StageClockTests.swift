import Base
import Foundation
import XCTest

final class StageClockTests: XCTestCase {
    func testStagesAreRecordedInOrderWithTheirDurations() {
        var clock = StageClock()
        usleep(20_000)
        clock.lap("first")
        clock.record("timed elsewhere", 1.5)
        usleep(5_000)
        clock.lap("second")
        XCTAssertEqual(clock.stages.map(\.stage), ["first", "timed elsewhere", "second"])
        XCTAssertGreaterThanOrEqual(clock.stages[0].seconds, 0.019)
        XCTAssertLessThan(clock.stages[0].seconds, 5)
        XCTAssertEqual(clock.stages[1].seconds, 1.5)
        // `record` restarts the lap: the third stage counts from it, not from the first lap.
        XCTAssertGreaterThanOrEqual(clock.stages[2].seconds, 0.004)
        XCTAssertLessThan(clock.stages[2].seconds, clock.stages[0].seconds + 1)
    }
}
