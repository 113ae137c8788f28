import Base
import Foundation
import XCTest

/// Calendar dates without Foundation's formatters, against Foundation's Gregorian calendar.
final class CivilDateTests: XCTestCase {
    var utc: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }

    /// Every 37th day from 1583 (Foundation's Gregorian calendar is Julian before October
    /// 1582; ours, like ISO 8601, is Gregorian throughout) to 9999, and every day of
    /// 1896–2104 (leap and century years): the date of midnight and back, the day count,
    /// and both spellings.
    func testDaysAndFieldsAgreeWithFoundationsGregorianCalendar() throws {
        let first = try XCTUnwrap(CivilDate(year: 1583, month: 1, day: 1)).daysSince1970
        let last = try XCTUnwrap(CivilDate(year: 9999, month: 12, day: 31)).daysSince1970
        let recent = try XCTUnwrap(CivilDate(year: 1896, month: 1, day: 1)).daysSince1970
        let days = Array(stride(from: first, through: last, by: 37)) + Array(recent...(recent + 76_700)) + [last]
        for n in days {
            let date = Date(timeIntervalSince1970: Double(n) * 86_400 + 3_600 * 13.5)
            let c = CivilDate(date)
            let f = utc.dateComponents([.year, .month, .day], from: date)
            XCTAssertEqual([c.year, c.month, c.day], [f.year!, f.month!, f.day!], "day \(n)")
            XCTAssertEqual(c.daysSince1970, n)
            XCTAssertEqual(CivilDate(compact: c.compact), c)
            XCTAssertEqual(c.date, utc.startOfDay(for: date))
        }
        XCTAssertEqual(CivilDate(year: 2024, month: 2, day: 29)?.compact, "20240229")
        XCTAssertEqual(CivilDate(year: 987, month: 6, day: 5)?.iso, "0987-06-05")
        // Proleptic: 0001-01-01 is 719 162 days before 1970 (Hinnant's day count).
        XCTAssertEqual(CivilDate(year: 1, month: 1, day: 1)?.daysSince1970, -719_162)
        XCTAssertEqual(CivilDate(Date(timeIntervalSince1970: -719_162 * 86_400)), CivilDate(year: 1, month: 1, day: 1))
    }

    func testInvalidDatesAreRefused() {
        for s in ["20230229", "21000229", "20251301", "20250000", "20250431", "00000101", "2025-01-01", "2025011", "2O250101", "２０２５０１０１"] {
            XCTAssertNil(CivilDate(compact: s), s)
        }
        XCTAssertNotNil(CivilDate(compact: "20000229"))
    }

    func testTimeOfDayTruncatesSecondsInUTC() {
        XCTAssertEqual(CivilDate.timeOfDay(Date(timeIntervalSince1970: 86_400 * 20_000 + 3_600 * 9 + 60 * 5 + 7.9)), "090507")
        XCTAssertEqual(CivilDate.timeOfDay(Date(timeIntervalSince1970: -1)), "235959")
    }
}
