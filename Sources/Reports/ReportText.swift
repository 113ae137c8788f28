import Base
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

    /// The verdict table of `sbrt check`: header, rows, what could not be evaluated or
    /// matched, notes, the overall verdict and the research-use notice.
    public static func check(_ r: CheckReport, folder: String) -> String {
        var out = checkHeader(r, folder: folder) + "\n"
        out += checkTable(r)
        out += checkLists(r)
        let notes = r.rows.compactMap { row in row.note.map { "\(row.constraint) [\(row.planStructure ?? row.structure)]: \($0)" } }
        if !r.notes.isEmpty || !notes.isEmpty {
            out += "\nNotes:\n"
            var seen = Set<String>()
            for s in r.notes + notes where seen.insert(s).inserted { out += "  " + s + "\n" }
        }
        out += "\n" + overallLine(r) + "\n"
        out += "\n" + r.notice + "\n"
        return out
    }

    static func checkHeader(_ r: CheckReport, folder: String) -> String {
        var out = "Check of \(folder) against \(r.protocolName) (\(r.protocolID); \(r.protocolSource.mark) \(r.protocolSource.source))\n"
        if !r.included.isEmpty { out += "Includes: \(r.included.joined(separator: ", "))\n" }
        var rx = "Prescription: " + (r.rxGy.map { "\(n($0)) Gy (\(r.rxSource ?? ""))" } ?? "unknown")
        rx += ", fractions: " + (r.fractions.map { "\($0) (\(r.fractionsSource ?? ""))" } ?? "unknown")
        if let a = r.age { rx += ", age \(n(a, 0)) (\(r.ageSource ?? ""))" }
        out += rx + "\n"
        if let d = r.dose { out += "Dose: \(d.summationType.isEmpty ? "no" : d.summationType) Dose Summation Type: \(d.summary)\n" }
        out += "Conventions: end caps \(r.conventions.endCap); V(D) = volume receiving ≥ D; Dx by linear interpolation; margin > 0 inside the limit, < 0 beyond.\n"
        return out
    }

    static func checkTable(_ r: CheckReport) -> String {
        guard !r.rows.isEmpty else { return "No row of the protocol applies to this plan: none of its structures was found.\n" }
        var rows: [[String]] = [["Constraint", "Structure", "Value", "Limit", "Verdict", "Margin", "Source"]]
        for row in r.rows {
            let unit = row.unit.isEmpty ? "" : " " + row.unit
            let structure = row.planStructure.map { $0 == row.structure ? $0 : "\(row.structure) → \($0)" } ?? row.structure
            var limit = row.limit.map { "\(row.comparator) \(n($0))\(unit)" } ?? "—"
            if let m = row.minorLimit { limit += " (minor \(row.comparator) \(n(m)))" }
            rows.append([row.constraint, structure, row.value.map { n($0) + unit } ?? "n/e", limit, row.verdict.rawValue,
                         row.verdict == .notEvaluable ? "" : row.margin.map { signed($0) + unit } ?? "", "\(row.mark) \(short(row.source))"])
        }
        return columns(rows, right: [2, 5])
    }

    /// Rows not evaluable with their reasons, structures not found, plan structures unmatched.
    static func checkLists(_ r: CheckReport) -> String {
        var out = ""
        let open = r.rows.filter { $0.verdict == .notEvaluable }
        if !open.isEmpty {
            out += "\nNot evaluable:\n"
            for row in open { out += "  \(row.constraint) [\(row.planStructure ?? row.structure)]: \(row.reason ?? "")\n" }
        }
        let required = r.protocolStructuresNotFound.filter(\.required).map(\.name)
        let optional = r.protocolStructuresNotFound.filter { !$0.required }.map(\.name)
        if !required.isEmpty { out += "\nRequired protocol structures not found: \(required.joined(separator: ", "))\n" }
        if !optional.isEmpty { out += "\nProtocol structures not found (optional, not evaluated): \(optional.joined(separator: ", "))\n" }
        if !r.planStructuresUnmatched.isEmpty {
            out += "\nPlan structures matching no protocol structure: \(r.planStructuresUnmatched.joined(separator: ", "))\n"
        }
        return out
    }

    /// "Overall: …" with the row counts and, when incomplete, why.
    public static func overallLine(_ r: CheckReport) -> String {
        let counts = Dictionary(grouping: r.rows, by: \.verdict).mapValues(\.count)
        let order: [Verdict] = [.perProtocol, .minorDeviation, .majorDeviation, .notEvaluable]
        let tally = order.compactMap { v in counts[v].map { "\($0) \(v.rawValue)" } }.joined(separator: ", ")
        var line = "Overall: \(r.overall.rawValue)" + (tally.isEmpty ? " (no row)" : " (\(tally))")
        if !r.incomplete.isEmpty {
            line += (r.overall == .incomplete ? "\nIncomplete: " : "\nAlso incomplete: ") + r.incomplete.joined(separator: "; ")
        }
        return line
    }

    /// A source cut to a column: the text before the first comma or parenthesis, at most 40 characters.
    static func short(_ s: String) -> String {
        let cut = s.split(whereSeparator: { $0 == "," || $0 == "(" || $0 == ":" }).first.map { String($0).trimmingSpaces() } ?? s
        return cut.count > 40 ? String(cut.prefix(39)) + "…" : cut
    }
}
