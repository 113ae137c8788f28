import Foundation
import PlanReview

extension ReportText {
    /// The eligibility table.
    public static func eligibility(_ r: EligibilityReport, folder: String) -> String {
        var out = "Eligibility of \(folder) for \(r.protocolName) (\(r.protocolID))\n"
        out += "Prescription: " + (r.rxGy.map { "\(n($0)) Gy" } ?? "unknown") + " in " + (r.fractions.map { "\($0) fx" } ?? "? fx")
        out += r.age.map { ", age \(n($0, 1).replacingOccurrences(of: ".0", with: "")) (\(r.ageSource ?? ""))" } ?? ", age unknown"
        out += "\n\n"
        var lesionRows = [["Lesion", "Greatest dimension (Feret)", "Volume", "Points"]]
        for l in r.lesions { lesionRows.append([l.name, String(format: "%.2f cm", l.feretMM / 10), String(format: "%.2f cc", l.volumeCC), "\(l.contourPoints)"]) }
        out += columns(lesionRows, right: [1, 2, 3]) + "\n"
        var rows = [["Rule", "Plan", "Requirement", "Outcome", "Source"]]
        for x in r.rules { rows.append([x.rule, x.value, x.requirement, x.outcome.rawValue, "\(x.mark) \(short(x.source))"]) }
        out += columns(rows)
        let notes = r.notes + r.rules.compactMap { x in x.note.map { "\(x.rule): \($0)" } }
        if !notes.isEmpty { out += "\nNotes:\n" + notes.map { "  " + $0 + "\n" }.joined() }
        out += "\nSources:\n" + r.rules.map { "  \($0.rule): \($0.mark) \($0.source)\n" }.joined()
        out += "\nConventions: \(r.conventions)\n"
        out += "\nOverall: " + eligibilityOverall(r) + "\n"
        out += "\n" + r.notice + "\n"
        return out
    }

    /// The overall outcome in words, naming the rules behind it.
    public static func eligibilityOverall(_ r: EligibilityReport) -> String {
        func names(_ o: EligibilityOutcome) -> String { r.rules.filter { $0.outcome == o }.map(\.rule).joined(separator: ", ") }
        var s: String
        switch r.overall {
        case .meets: s = "meets every rule checked"
        case .doesNotMeet: s = "does not meet: " + names(.notEligible)
        case .incomplete: s = "incomplete: not evaluable: " + names(.notEvaluable)
        }
        let flags = names(.flag)
        if !flags.isEmpty { s += "; flag raised: " + flags + " (see its note)" }
        let unchecked = names(.notChecked)
        if !unchecked.isEmpty { s += "; not checked (not in the DICOM data): " + unchecked }
        return s
    }
}
