import Foundation

/// The prescription row of a check: the plan's Rx and fraction count against the
/// protocol's `[[prescription]]` rules for the patient's age.
///
/// - A rule applies when the age lies within its bounds (a rule without bounds applies
///   to every age).
/// - The plan matches an applicable rule (dose within 0.005 Gy, same fraction count):
///   per protocol. Matching an accepted option (`option = true`) is per protocol with a
///   note saying so; applicable options the plan does not use are shown as notes and
///   are never deviations.
/// - The plan matches only a rule whose age bound cannot be decided (age unknown): not
///   evaluable.
/// - Otherwise a deviation: minor when every applicable prescription (not option) says
///   `level = "minor"`, else major.
enum PrescriptionCheck {
    static func row(_ rules: [PrescriptionRule], rx: Double?, fractions: Int?, age: Double?) -> CheckReport.Row {
        let main = rules.filter { !$0.isOption }
        let applicable = rules.filter { $0.applies(toAge: age) }
        let reference = main.first { $0.applies(toAge: age) } ?? main.first ?? rules[0]
        var row = CheckReport.Row(
            constraint: describe(main.isEmpty ? rules : main), structure: "prescription", planStructure: nil, matchedBy: nil,
            value: rx, unit: "Gy", comparator: "=", limit: reference.doseGy, minorLimit: nil, verdict: .notEvaluable,
            reason: nil, margin: nil, fractions: reference.fractions, source: reference.provenance.source,
            mark: reference.provenance.mark, note: reference.provenance.note, origin: reference.origin, table: "", target: false)
        guard let rx, let fractions else {
            row.reason = "needs the prescription and the fraction count (stated, or from the plan)"
            return row
        }
        func matches(_ r: PrescriptionRule) -> Bool { abs(rx - r.doseGy) < 0.005 && fractions == r.fractions }
        row.addNote("plan: \(Constraint.format(rx)) Gy / \(fractions) fx")
        if let hit = applicable.first(where: matches) {
            row.verdict = .perProtocol
            row.limit = hit.doseGy
            row.margin = rx - hit.doseGy
            if hit.isOption {
                row.source = hit.provenance.source
                row.mark = hit.provenance.mark
                row.note = hit.provenance.note
                row.addNote("plan: \(Constraint.format(rx)) Gy / \(fractions) fx, an accepted option \(ageText(hit)) (\(hit.provenance.mark) \(hit.provenance.source))")
            }
            for o in applicable where o.isOption && !matches(o) {
                row.addNote("\(ageText(o)), \(Constraint.format(o.doseGy)) Gy / \(o.fractions) fx is an accepted option (\(o.provenance.mark) \(o.provenance.source))")
            }
            return row
        }
        if age == nil, let conditional = rules.first(where: { $0.hasAgeBound && matches($0) }) {
            row.reason = "\(Constraint.format(conditional.doseGy)) Gy / \(conditional.fractions) fx is per protocol only \(ageText(conditional)), and the patient's age is unknown"
            return row
        }
        if age == nil, rules.contains(where: \.hasAgeBound) { row.addNote("patient's age unknown: the age-dependent rules were not applied") }
        let binding = applicable.filter { !$0.isOption }
        row.verdict = !binding.isEmpty && binding.allSatisfy(\.mismatchIsMinor) ? .minorDeviation : .majorDeviation
        row.margin = rx - row.limit!
        return row
    }

    static func describe(_ rules: [PrescriptionRule]) -> String {
        "Rx = " + rules.map { r in "\(Constraint.format(r.doseGy)) Gy / \(r.fractions) fx" + (r.hasAgeBound ? " (\(ageText(r)))" : "") }.joined(separator: " or ")
    }

    static func ageText(_ r: PrescriptionRule) -> String {
        switch (r.minimumAge, r.belowAge) {
        case let (lo?, hi?): return "for ages \(Constraint.format(lo)) to under \(Constraint.format(hi))"
        case let (lo?, nil): return "from age \(Constraint.format(lo))"
        case let (nil, hi?): return "under age \(Constraint.format(hi))"
        default: return "for every age"
        }
    }
}
