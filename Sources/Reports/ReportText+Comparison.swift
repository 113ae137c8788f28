import Foundation
import PlanReview

extension ReportText {
    /// The table of `sbrt compare`.
    public static func comparison(_ r: DVHComparison) -> String {
        var out = "Baseline: \(r.baseline)\nCurrent:  \(r.current)\nMode: \(r.mode)\n"
        out += "Tolerances: dose \(r.doseToleranceText); volume \(String(format: "%g", r.volumeTolerancePercent)) %; DVH agreement ≥ \(String(format: "%g", r.minimumAgreementPercent)) %\n\n"
        var rows = [["Structure", "ΔVolume cc", "ΔMean Gy", "ΔD95 Gy", "ΔD5 Gy", "ΔMax Gy", "Agreement", "Result"]]
        for s in r.structures {
            func cell(_ n: String) -> String {
                guard let q = s.quantities.first(where: { $0.name == n }), let d = q.difference else { return "—" }
                return String(format: "%+.3f", d) + (q.withinTolerance ? "" : " !")
            }
            rows.append([s.name == s.currentName ? s.name : "\(s.name) → \(s.currentName)", cell("volume"), cell("mean"), cell("D95%"), cell("D5%"), cell("max"),
                         s.agreementPercent.map { String(format: "%.1f %%", $0) } ?? "n/a", s.passed ? "ok" : "BEYOND TOLERANCE"])
        }
        out += columns(rows, right: [1, 2, 3, 4, 5, 6])
        let failures = r.structures.flatMap { s in s.failures.map { "\(s.name): \($0)" } }
        if !failures.isEmpty { out += "\n" + failures.map { "  " + $0 + "\n" }.joined() }
        if !r.onlyInBaseline.isEmpty { out += "\nOnly in the baseline (fails): \(r.onlyInBaseline.joined(separator: ", "))\n" }
        if !r.onlyInCurrent.isEmpty { out += "\nOnly in the current (not compared): \(r.onlyInCurrent.joined(separator: ", "))\n" }
        out += "\n" + (r.passed ? "Result: within tolerance\n" : "Result: BEYOND TOLERANCE\n")
        return out
    }
}
