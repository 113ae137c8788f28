import Base
import Dosimetry
import Foundation
import RTModel

/// The verdict of one row: RTOG levels "per protocol" and "minor deviation"; anything
/// beyond the minor level is "major deviation".
public enum Verdict: String, Codable, Sendable, Comparable {
    case perProtocol = "per protocol"
    case minorDeviation = "minor deviation"
    case majorDeviation = "major deviation"
    /// A required structure is not in the plan (fails the check).
    case missing = "missing structure"
    /// The value cannot be computed (e.g. no prescription); reported, not failed.
    case notEvaluable = "not evaluable"
    /// A table limit outside its tabulated volume range; reported, not failed.
    case outOfRange = "out of table range"

    var severity: Int {
        switch self {
        case .perProtocol: return 0
        case .notEvaluable, .outOfRange: return 1
        case .minorDeviation: return 2
        case .majorDeviation, .missing: return 3
        }
    }
    public static func < (a: Verdict, b: Verdict) -> Bool { a.severity < b.severity }
    /// Whether this verdict fails a check (exit 1).
    public var fails: Bool { severity >= 3 }
}

/// What `sbrt check` reports: one row per applicable constraint with value, limit,
/// verdict, margin and the row's source and provenance mark.
public struct CheckReport: Codable, Sendable {
    public var schema = "sbrt.check/1"
    public var protocolID: String
    public var protocolName: String
    public var protocolFile: String
    public var protocolSource: Provenance
    public var included: [String]
    public var fractions: Int?
    public var fractionsSource: String?
    public var rxGy: Double?
    public var rxSource: String?
    public var age: Double?
    public var rows: [Row]
    /// Canonical names of optional structures that the plan does not have (their rows are not evaluated).
    public var absentOptional: [String]
    /// Which columns were used, which aliases matched, protocol notes.
    public var notes: [String]
    /// The worst verdict over the rows.
    public var overall: Verdict
    public var conventions: Conventions
    public var provenance: DVHReport.Provenance?

    public struct Conventions: Codable, Sendable {
        public var endCap: String
        public var volumeAtDose: String
        public var doseAtVolume: String
        public var margin: String
        public var tables: String
    }

    public struct Row: Codable, Sendable {
        public var constraint: String
        /// The protocol's canonical structure name.
        public var structure: String
        /// The plan structure (name or expression) it was matched to, and how.
        public var planStructure: String?
        public var matchedBy: String?
        public var value: Double?
        public var unit: String
        public var comparator: String
        public var limit: Double?
        public var minorLimit: Double?
        public var verdict: Verdict
        /// Room to the per-protocol limit in the metric's unit: positive inside, negative beyond.
        public var margin: Double?
        public var fractions: Int?
        public var source: String
        public var mark: String
        public var note: String?
        public var origin: String
    }
}

/// How to check a plan.
public struct CheckRequest: Sendable {
    public var rxGy: Double?
    public var fractions: Int?
    public var age: Double?
    /// Canonical name → plan name or expression.
    public var structureMap: [String: String] = [:]
    public var dosePath: String?
    public var options = DVHOptions()
    public init() {}
}

/// Checks a plan against a protocol.
public enum PlanCheck {
    /// Evaluates every constraint of `proto` that applies to the plan's fraction count.
    /// - Throws: `SBRTError` (no fraction count for a tabulated protocol, a
    ///   fraction count the protocol does not tabulate, a bad mapping) and
    ///   `SBRTError` from the DVH engine.
    public static func run(_ study: ResolvedStudy, _ proto: ReviewProtocol, _ request: CheckRequest) throws -> (CheckReport, DVHAnalysis?) {
        var notes: [String] = study.notes
        let fractions = study.fractions?.value
        let fractionsSource = study.fractions?.source
        let rx = study.rx?.value
        let rxSource = study.rx?.source

        // Fraction column.
        let columns = proto.fractionColumns
        var constraints = proto.constraints
        if !columns.isEmpty {
            guard let f = fractions else {
                throw SBRTError(.invalidProtocol, "\(proto.name) tabulates limits for \(columns.map(String.init).joined(separator: ", ")) fractions; the plan states no fraction count: give --fractions")
            }
            guard columns.contains(f) else {
                throw SBRTError(.invalidProtocol, "\(proto.name) has no \(f)-fraction column (it tabulates \(columns.map(String.init).joined(separator: ", ")) fractions); limits are not interpolated between fraction counts — give --fractions N to check against a tabulated column deliberately")
            }
            notes.append("\(proto.name): using the \(f)-fraction column (\(f) fractions from \(fractionsSource ?? "?")).")
        }
        if let f = fractions {
            let dropped = Set(constraints.filter { $0.fractions != nil && $0.fractions != f }.map(\.provenance.source))
            constraints = constraints.filter { $0.fractions == nil || $0.fractions == f }
            let kept = Set(constraints.map(\.provenance.source))
            for s in dropped.subtracting(kept).sorted() { notes.append("no \(f)-fraction rows in \(s): not evaluated.") }
        } else {
            let fractionRows = constraints.filter { $0.fractions != nil }.count
            if fractionRows > 0 { notes.append("fraction count unknown: \(fractionRows) fraction-specific rows not evaluated (give --fractions).") }
            constraints = constraints.filter { $0.fractions == nil }
        }

        // Structures.
        let planNames = (study.structureSet?.rois ?? []).filter { r in r.contours.contains(where: \.isClosedPlanar) }.map(\.name)
        let matcher = StructureMatcher(planNames: planNames, userMap: request.structureMap)
        var matches: [String: StructureMatcher.Match] = [:]
        for c in constraints where matches[c.structure] == nil {
            if let m = try matcher.match(c.structure) { matches[c.structure] = m }
        }
        for (canonical, m) in matches.sorted(by: { $0.key < $1.key }) where m.how != "name" {
            notes.append("\(canonical) matched to \(m.expression) (\(m.how)).")
        }

        // DVHs of every matched structure in one analysis; target indices from the same
        // analysis (its dose field and isodose volumes).
        let evaluated = constraints.filter { matches[$0.structure] != nil }
        var analysis: DVHAnalysis?
        var dvhByExpression: [String: DVH] = [:]
        func unique(_ a: [String]) -> [String] { var seen = Set<String>(); return a.filter { seen.insert($0).inserted } }
        if !evaluated.isEmpty {
            var req = DVHRequest()
            req.structures = unique(evaluated.map { matches[$0.structure]!.expression })
            req.options = request.options
            let a = try DVHAnalysis.run(study, req)
            for d in a.dvhs { dvhByExpression[d.name] = d }
            analysis = a
            for e in a.report.structures { for w in e.warnings { notes.append("warning: \(e.name): \(w)") } }
        }
        var indexValues: [String: MetricResult] = [:]
        if let a = analysis {
            for c in evaluated where isIndex(c.metric) {
                let e = matches[c.structure]!.expression
                if let r = a.metric(c.metric, of: e) { indexValues[e + "\u{0}" + c.metric.text] = r }
            }
        }

        var rows: [CheckReport.Row] = []
        var absent = Set<String>()
        for c in constraints {
            var row = CheckReport.Row(constraint: c.text, structure: c.structure, planStructure: nil, matchedBy: nil, value: nil,
                                      unit: c.metric.unitLabel, comparator: c.comparator.rawValue, limit: nil, minorLimit: nil,
                                      verdict: .notEvaluable, margin: nil, fractions: c.fractions, source: c.provenance.source,
                                      mark: c.provenance.mark, note: c.provenance.note, origin: c.origin)
            func addNote(_ s: String) { row.note = row.note.map { $0 + "; " + s } ?? s }
            guard let m = matches[c.structure] else {
                if c.required {
                    row.verdict = .missing
                    addNote("required structure \(c.structure) not found in the plan (give --map \(c.structure)=\"name\")")
                    rows.append(row)
                } else {
                    absent.insert(c.structure)
                }
                continue
            }
            row.planStructure = m.expression
            row.matchedBy = m.how
            let dvh = dvhByExpression[m.expression]!
            var result: (value: Double?, note: String?)
            if isIndex(c.metric) {
                let r = indexValues[m.expression + "\u{0}" + c.metric.text]
                result = r.map { ($0.value, $0.note) } ?? (nil, "not computed")
            } else {
                let r = DVHAnalysis.evaluate(c.metric, dvh: dvh, rx: rx, isodose: { nil }, d2cm: { nil })
                result = (r.value, r.note)
            }
            row.value = result.value
            if let n = result.note { addNote(n) }
            switch c.limit.resolved(volumeCC: dvh.volumeCC) {
            case .outOfRange(let range):
                row.verdict = .outOfRange
                addNote(String(format: "%@ volume %.2f cc is outside the table's %g–%g cc; the protocol's limits are not extrapolated", m.expression, dvh.volumeCC, range.lowerBound, range.upperBound))
            case .limits(let p, let minor):
                row.limit = p
                row.minorLimit = minor
                if case .byVolume = c.limit {
                    row.constraint = "\(c.metric.text) \(c.comparator.rawValue) \(String(format: "%.3g", p))"
                    addNote(String(format: "limit at %@ volume %.2f cc, interpolated linearly in the protocol table", m.expression, dvh.volumeCC))
                }
                if let v = result.value {
                    row.margin = c.comparator.margin(v, p)
                    if c.comparator.holds(v, p) { row.verdict = .perProtocol }
                    else if let mn = minor, c.comparator.holds(v, mn) { row.verdict = .minorDeviation }
                    else { row.verdict = .majorDeviation }
                }
            }
            rows.append(row)
        }

        // Prescription rules.
        if !proto.prescriptions.isEmpty {
            rows.append(contentsOf: prescriptionRows(proto.prescriptions, rx: rx, fractions: fractions, age: request.age))
        }

        let overall = rows.map(\.verdict).max() ?? .perProtocol
        let conv = analysis?.report.conventions
        let report = CheckReport(
            protocolID: proto.id, protocolName: proto.name, protocolFile: proto.path, protocolSource: proto.provenance,
            included: proto.included, fractions: fractions, fractionsSource: fractionsSource, rxGy: rx, rxSource: rxSource,
            age: request.age, rows: rows, absentOptional: absent.sorted(), notes: notes + proto.notes, overall: overall,
            conventions: .init(endCap: conv?.endCap ?? request.options.endCap.rawValue,
                               volumeAtDose: conv?.volumeAtDose ?? "V(D) is the volume receiving at least D (≥)",
                               doseAtVolume: conv?.doseAtVolume ?? "Dx = inf{D : V(≥D) ≤ x}",
                               margin: "margin = limit − value for upper limits (<, <=), value − limit for lower limits (>, >=), in the metric's unit; negative means beyond the per-protocol limit",
                               tables: "table limits (RTOG 0813/0915) interpolated linearly on the target volume between rows, exact at tabulated volumes, never extrapolated"),
            provenance: analysis?.report.provenance)
        return (report, analysis)
    }

    static func isIndex(_ m: Metric) -> Bool {
        switch m.kind {
        case .rtogCI, .paddickCI, .gradientIndex, .r50, .r100, .d2cm: return true
        default: return false
        }
    }

    /// Rows for prescription rules: the plan's Rx and fractions against the rule for the
    /// patient's age (all rules when the age is unknown: any one matching passes, with a note).
    static func prescriptionRows(_ rules: [PrescriptionRule], rx: Double?, fractions: Int?, age: Double?) -> [CheckReport.Row] {
        let applicable = age == nil ? rules : rules.filter { $0.applies(toAge: age) }
        func describe(_ r: PrescriptionRule) -> String {
            var s = "Rx = \(Constraint.format(r.doseGy)) Gy / \(r.fractions) fx"
            if let m = r.minimumAge { s += " (age ≥ \(Constraint.format(m)))" }
            if let b = r.belowAge { s += " (age < \(Constraint.format(b)))" }
            return s
        }
        var out: [CheckReport.Row] = []
        for r in applicable {
            var row = CheckReport.Row(constraint: describe(r), structure: "prescription", planStructure: nil, matchedBy: nil,
                                      value: rx, unit: "Gy", comparator: "=", limit: r.doseGy, minorLimit: nil,
                                      verdict: .notEvaluable, margin: rx.map { $0 - r.doseGy }, fractions: r.fractions,
                                      source: r.provenance.source, mark: r.provenance.mark, note: r.provenance.note, origin: r.origin)
            func addNote(_ s: String) { row.note = row.note.map { $0 + "; " + s } ?? s }
            if let rx, let fractions {
                let ok = abs(rx - r.doseGy) < 0.005 && fractions == r.fractions
                if ok { row.verdict = .perProtocol } else if age == nil && applicable.count > 1 {
                    row.verdict = .notEvaluable
                } else { row.verdict = r.mismatchIsMinor ? .minorDeviation : .majorDeviation }
                addNote("plan: \(Constraint.format(rx)) Gy / \(fractions) fx")
            } else {
                addNote("needs the prescription and the fraction count (--rx, --fractions or the plan)")
            }
            if age == nil && rules.count > 1 { addNote("patient age unknown (give --age): shown for every age group") }
            out.append(row)
        }
        // With the age unknown, fail only when no rule matches.
        if age == nil, rules.count > 1, rx != nil, fractions != nil, !out.contains(where: { $0.verdict == .perProtocol }) {
            for k in out.indices { out[k].verdict = .majorDeviation }
        }
        return out
    }
}
