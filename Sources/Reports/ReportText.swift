import Foundation
import PlanReview

/// Plain-text renderings of review reports (the CLI prints them; the library never prints).
public enum ReportText {
    static func n(_ v: Double?, _ digits: Int = 2) -> String {
        guard let v, v.isFinite else { return "n/e" }
        return String(format: "%.\(digits)f", v)
    }

    static func signed(_ v: Double?, _ digits: Int = 2) -> String {
        guard let v, v.isFinite else { return "" }
        return String(format: "%+.\(digits)f", v)
    }

    static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        let c = s.count
        if c >= w { return s + " " }
        let fill = String(repeating: " ", count: w - c)
        return right ? fill + s + " " : s + fill + " "
    }

    /// Lays out rows of cells in columns (first row is the header); `right` marks numeric columns.
    public static func columns(_ rows: [[String]], right: Set<Int> = []) -> String {
        guard let first = rows.first else { return "" }
        var widths = [Int](repeating: 0, count: first.count)
        for r in rows { for (k, c) in r.enumerated() where k < widths.count { widths[k] = max(widths[k], c.count) } }
        return rows.map { r in
            r.enumerated().map { k, c in k == r.count - 1 && !right.contains(k) ? c : pad(c, widths[k], right: right.contains(k)) }.joined(separator: " ")
        }.joined(separator: "\n") + "\n"
    }

    /// The verdict table of `sbrt check`.
    public static func check(_ r: CheckReport, folder: String) -> String {
        var out = "Check of \(folder) against \(r.protocolName) (\(r.protocolID); \(r.protocolSource.mark) \(r.protocolSource.source))\n"
        if !r.included.isEmpty { out += "Includes: \(r.included.joined(separator: ", "))\n" }
        var rx = "Prescription: " + (r.rxGy.map { "\(n($0)) Gy (\($0 == $0 ? r.rxSource ?? "" : ""))" } ?? "unknown (give --rx)")
        rx += ", fractions: " + (r.fractions.map { "\($0) (\(r.fractionsSource ?? ""))" } ?? "unknown (give --fractions)")
        if let a = r.age { rx += ", age \(n(a, 0))" }
        out += rx + "\n"
        out += "Conventions: end caps \(r.conventions.endCap); V(D) = volume receiving ≥ D; Dx by linear interpolation; margin > 0 inside the limit, < 0 beyond.\n\n"
        var rows: [[String]] = [["Constraint", "Structure", "Value", "Limit", "Verdict", "Margin", "Source"]]
        for row in r.rows {
            let unit = row.unit.isEmpty ? "" : " " + row.unit
            let structure = row.planStructure.map { $0 == row.structure ? $0 : "\(row.structure) → \($0)" } ?? row.structure
            var limit = row.limit.map { "\(row.comparator) \(n($0))\(unit)" } ?? "—"
            if let m = row.minorLimit { limit += " (minor \(row.comparator) \(n(m)))" }
            rows.append([row.constraint, structure, row.value.map { n($0) + unit } ?? "n/e", limit, row.verdict.rawValue,
                         row.margin.map { signed($0) + unit } ?? "", "\(row.mark) \(short(row.source))"])
        }
        out += columns(rows, right: [2, 5])
        let notes = r.rows.compactMap { row in row.note.map { "\(row.constraint) [\(row.structure)]: \($0)" } }
        if !r.absentOptional.isEmpty {
            out += "\nNot in the plan (optional, not evaluated): \(r.absentOptional.joined(separator: ", "))\n"
        }
        if !r.notes.isEmpty || !notes.isEmpty {
            out += "\nNotes:\n"
            for s in r.notes { out += "  " + s + "\n" }
            var seen = Set<String>()
            for s in notes where seen.insert(s).inserted { out += "  " + s + "\n" }
        }
        let counts = Dictionary(grouping: r.rows, by: \.verdict).mapValues(\.count)
        let order: [Verdict] = [.perProtocol, .minorDeviation, .majorDeviation, .missing, .notEvaluable, .outOfRange]
        out += "\nOverall: \(r.overall.rawValue) (" + order.compactMap { v in counts[v].map { "\($0) \(v.rawValue)" } }.joined(separator: ", ") + ")\n"
        return out
    }

    /// A source cut to a column: the text before the first comma or parenthesis, at most 40 characters.
    static func short(_ s: String) -> String {
        let cut = s.split(whereSeparator: { $0 == "," || $0 == "(" || $0 == ":" }).first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? s
        return cut.count > 40 ? String(cut.prefix(39)) + "…" : cut
    }
}
