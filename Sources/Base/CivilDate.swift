import Foundation

/// A calendar date in UTC (proleptic Gregorian), read and written as DICOM DA
/// ("YYYYMMDD") and ISO 8601 ("YYYY-MM-DD"), and the time of day as DICOM TM ("HHMMSS").
///
/// Foundation's `DateFormatter` does the same but loads ICU's locale and calendar data on
/// first use, milliseconds on one core at every command start; this is plain arithmetic.
/// Days are counted from 1970-01-01 with the era-based day count of H. Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms" (2013): eras of 400 years
/// (146 097 days), years starting in March so that the leap day ends the year.
public struct CivilDate: Sendable, Equatable {
    public let year: Int, month: Int, day: Int

    /// A valid date of years 1–9999, or nil.
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month, of: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// "YYYYMMDD" (eight ASCII digits naming a valid date), or nil.
    public init?(compact s: String) {
        let d = Array(s.utf8)
        guard d.count == 8, d.allSatisfy({ (48...57).contains($0) }) else { return nil }
        func number(_ r: Range<Int>) -> Int { r.reduce(0) { $0 * 10 + Int(d[$1] - 48) } }
        self.init(year: number(0..<4), month: number(4..<6), day: number(6..<8))
    }

    /// The UTC date of `date`.
    public init(_ date: Date) {
        let days = Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
        // Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        month = m
        day = d
    }

    /// Days from 1970-01-01 (Hinnant's days_from_civil).
    public var daysSince1970: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Midnight UTC of the date.
    public var date: Date { Date(timeIntervalSince1970: Double(daysSince1970) * 86_400) }

    /// "YYYYMMDD" (DICOM DA).
    public var compact: String { CivilDate.digits(year, 4) + CivilDate.digits(month, 2) + CivilDate.digits(day, 2) }

    /// "YYYY-MM-DD" (ISO 8601).
    public var iso: String { CivilDate.digits(year, 4) + "-" + CivilDate.digits(month, 2) + "-" + CivilDate.digits(day, 2) }

    /// "HHMMSS" (DICOM TM) of `date` in UTC, the seconds truncated.
    public static func timeOfDay(_ date: Date) -> String {
        let s = Int(date.timeIntervalSince1970.rounded(.down))
        let t = ((s % 86_400) + 86_400) % 86_400
        return digits(t / 3600, 2) + digits(t / 60 % 60, 2) + digits(t % 60, 2)
    }

    static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func digits(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}
