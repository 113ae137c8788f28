import Base
import Dosimetry
import Foundation
import Geometry
import RTModel

/// What `sbrt check` reports: one row per applicable constraint (per target for target
/// rows) with value, limit, verdict, margin and the row's source and provenance mark;
/// the structures that did not match; the overall verdict and why a review is incomplete.
public struct CheckReport: Codable, Sendable {
    public var schema = "sbrt.check/2"
    public var notice = ResearchUse.notice
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
    public var ageSource: String?
    /// The dose the numbers were computed on: files, Dose Summation Type, what was done.
    public var dose: DVHReport.DoseSource?
    public var rows: [Row]
    /// Protocol structures (canonical names) not found in the plan.
    public var protocolStructuresNotFound: [NotFound]
    /// Plan structures (with closed contours) that matched no protocol structure.
    public var planStructuresUnmatched: [String]
    /// Which columns were used, how names matched, dose handling, protocol notes.
    public var notes: [String]
    public var overall: Overall
    /// Why the review is incomplete (empty when it is complete).
    public var incomplete: [String]
    public var conventions: Conventions
    public var provenance: DVHReport.Provenance?

    public struct NotFound: Codable, Sendable, Equatable {
        public var name: String
        /// A required structure: its rows are not evaluable and the review is incomplete.
        public var required: Bool

        public init(name: String, required: Bool) {
            self.name = name
            self.required = required
        }
    }

    public struct Conventions: Codable, Sendable {
        public var endCap: String
        public var volumeAtDose: String
        public var doseAtVolume: String
        public var margin: String
        public var tables: String
        public var notEvaluable: String
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
        /// Why the row is not evaluable (nil when it was evaluated).
        public var reason: String?
        /// Room to the per-protocol limit in the metric's unit: positive inside, negative beyond.
        public var margin: Double?
        public var fractions: Int?
        public var source: String
        public var mark: String
        public var note: String?
        public var origin: String
        /// The protocol (or included table) the row belongs to.
        public var table: String
        /// A target row (GTV, CTV, ITV, PTV) rather than an organ at risk.
        public var target: Bool

        mutating func addNote(_ s: String) { note = note.map { $0 + "; " + s } ?? s }
    }
}

/// How to check a plan.
public struct CheckRequest: Sendable {
    /// Canonical name → plan name or expression.
    public var structureMap: [String: String] = [:]
    public var options = DVHOptions()
    /// Further structures whose DVHs the caller draws (an HTML report's plot): computed in
    /// the same pass as the constrained ones, in the returned analysis, but not evaluated
    /// and their warnings not among the report's notes.
    public var alsoStructures: [String] = []
    public init() {}
}

/// Checks a plan against a protocol.
public enum PlanCheck {
    /// Evaluates every constraint of `proto` that applies to the plan's fraction count.
    /// - Throws: `SBRTError` (`.invalidProtocol`: no fraction count for a tabulated
    ///   protocol, a fraction count the protocol does not tabulate, a mapping to a
    ///   structure the plan lacks) and the DVH engine's errors.
    public static func run(_ study: ResolvedStudy, _ proto: ReviewProtocol, _ request: CheckRequest) throws -> (CheckReport, DVHAnalysis?) {
        var notes = study.notes
        let constraints = try columnConstraints(proto, study.fractions, notes: &notes)
        let matching = try match(constraints, study, request, notes: &notes)
        let analysis = try analyse(matching, study, request, notes: &notes)
        var rows = constraints.flatMap { evaluateRows($0, matching, analysis, rx: study.rx?.value) }
        if !proto.prescriptions.isEmpty {
            rows.append(PrescriptionCheck.row(proto.prescriptions, rx: study.rx?.value, fractions: study.fractions?.value, age: study.age?.value))
        }
        let (overall, incomplete) = verdict(rows, proto, constraints: constraints, fractions: study.fractions?.value)
        let report = CheckReport(
            protocolID: proto.id, protocolName: proto.name, protocolFile: proto.path, protocolSource: proto.provenance,
            included: proto.included, fractions: study.fractions?.value, fractionsSource: study.fractions?.source,
            rxGy: study.rx?.value, rxSource: study.rx?.source, age: study.age?.value, ageSource: study.age?.source,
            dose: study.dose.map(DVHReport.DoseSource.init), rows: rows,
            protocolStructuresNotFound: matching.notFound, planStructuresUnmatched: matching.unmatched,
            notes: notes + proto.notes, overall: overall, incomplete: incomplete,
            conventions: conventions(analysis, request), provenance: analysis?.report.provenance)
        return (report, analysis)
    }

    /// The constraints of the plan's fraction column (and those for any count).
    static func columnConstraints(_ proto: ReviewProtocol, _ fractions: Sourced<Int>?, notes: inout [String]) throws -> [Constraint] {
        let columns = proto.fractionColumns
        let list = columns.map(String.init).joined(separator: ", ")
        var constraints = proto.constraints
        if !columns.isEmpty {
            guard let f = fractions?.value else {
                throw SBRTError(.invalidProtocol, "\(proto.name) tabulates limits for \(list) fractions and the plan states no fraction count")
            }
            guard columns.contains(f) else {
                throw SBRTError(.invalidProtocol, "\(proto.name) has no \(f)-fraction column (it tabulates \(list) fractions); limits are not interpolated between fraction counts")
            }
            notes.append("\(proto.name): using the \(f)-fraction column (\(f) fractions from \(fractions?.source ?? "?")).")
        }
        if let f = fractions?.value {
            let dropped = Set(constraints.filter { $0.fractions != nil && $0.fractions != f }.map(\.table))
            constraints = constraints.filter { $0.fractions == nil || $0.fractions == f }
            let kept = Set(constraints.map(\.table))
            for t in dropped.subtracting(kept).sorted() { notes.append("no \(f)-fraction rows in \(t): not evaluated.") }
        } else {
            let fractionRows = constraints.filter { $0.fractions != nil }.count
            if fractionRows > 0 { notes.append("fraction count unknown: \(fractionRows) fraction-specific rows not evaluated.") }
            constraints = constraints.filter { $0.fractions == nil }
        }
        return constraints
    }

    /// Which plan structures the protocol's structures matched, which were not found, and
    /// which plan structures matched nothing.
    struct Matching {
        var matches: [String: [StructureMatcher.Match]] = [:]
        var notFound: [CheckReport.NotFound] = []
        var unmatched: [String] = []
        var targets: [String] = []
    }

    static func match(_ constraints: [Constraint], _ study: ResolvedStudy, _ request: CheckRequest, notes: inout [String]) throws -> Matching {
        let rois = study.structureSet?.rois ?? []
        let matcher = StructureMatcher(rois: rois, userMap: request.structureMap)
        var m = Matching()
        var order: [String] = []
        for c in constraints where !order.contains(c.structure) { order.append(c.structure) }
        for canonical in order {
            let found = try matcher.targets(canonical)
            if found.isEmpty {
                m.notFound.append(.init(name: canonical, required: constraints.contains { $0.structure == canonical && $0.required }))
                continue
            }
            m.matches[canonical] = found
            if StructureMatcher.isTarget(canonical) { m.targets += found.map(\.expression) }
            for x in found where x.how != "name" && x.expression != canonical { notes.append("\(canonical) matched to \(x.expression) (\(x.how)).") }
        }
        let names = matcher.planNames
        var used = Set<String>()
        for x in m.matches.values.joined() {
            for n in (try? StructureExpression.parse(x.expression, knownNames: names))?.names ?? [] { used.insert(n) }
        }
        m.unmatched = names.filter { !used.contains($0) }
        return m
    }

    /// DVHs of every matched structure in one analysis, targets marked as such, and of
    /// `request.alsoStructures` (not evaluated; their warnings left out of `notes`).
    static func analyse(_ m: Matching, _ study: ResolvedStudy, _ request: CheckRequest, notes: inout [String]) throws -> DVHAnalysis? {
        var seen = Set<String>()
        let expressions = m.matches.keys.sorted().flatMap { m.matches[$0]! }.map(\.expression).filter { seen.insert($0).inserted }
        guard !expressions.isEmpty else { return nil }
        var req = DVHRequest()
        // The extras as the matched expressions write names (quoted when they need it), so
        // one already among them is not asked for twice.
        req.structures = expressions + request.alsoStructures.map(StructureMatcher.quote).filter { seen.insert($0).inserted }
        req.targets = m.targets
        req.onlyNamedTargets = true
        req.options = request.options
        let a = try DVHAnalysis.run(study, req)
        let evaluated = Set(expressions)
        for e in a.report.structures where evaluated.contains(e.name) { for w in e.warnings { notes.append("warning: \(e.name): \(w)") } }
        return a
    }

    /// The rows of one constraint: one per matched structure (every lesion's target for
    /// a target row); a required structure not found gives a not-evaluable row; an
    /// optional one, none (it is listed as not found).
    static func evaluateRows(_ c: Constraint, _ m: Matching, _ analysis: DVHAnalysis?, rx: Double?) -> [CheckReport.Row] {
        let blank = CheckReport.Row(
            constraint: c.text, structure: c.structure, planStructure: nil, matchedBy: nil, value: nil, unit: c.metric.unitLabel,
            comparator: c.comparator.rawValue, limit: nil, minorLimit: nil, verdict: .notEvaluable, reason: nil, margin: nil,
            fractions: c.fractions, source: c.provenance.source, mark: c.provenance.mark, note: c.provenance.note, origin: c.origin,
            table: c.table, target: StructureMatcher.isTarget(c.structure))
        guard let found = m.matches[c.structure], let analysis else {
            guard c.required else { return [] }
            var row = blank
            row.reason = "required structure \(c.structure) not found in the plan (map it to a plan structure)"
            return [row]
        }
        return found.map { x in
            var row = blank
            row.planStructure = x.expression
            row.matchedBy = x.how
            guard let dvh = analysis.dvhs.first(where: { $0.name == x.expression }) else {
                row.reason = "no DVH for \(x.expression)"
                return row
            }
            evaluate(&row, c.metric, c.comparator, c.limit, dvh: dvh, analysis: analysis, rx: rx)
            if let alt = c.alternative { applyAlternative(&row, c, alt, dvh: dvh, analysis: analysis, rx: rx) }
            return row
        }
    }

    /// Value, limit, margin and verdict of one row on one structure's DVH.
    static func evaluate(_ row: inout CheckReport.Row, _ metric: Metric, _ comparator: Comparator, _ limit: Limit,
                         dvh: DVH, analysis: DVHAnalysis, rx: Double?) {
        let result = analysis.metric(metric, of: dvh.name)
        row.value = result?.value
        switch limit.resolved(volumeCC: dvh.volumeCC) {
        case .outOfRange(let range):
            row.reason = String(format: "%@ volume %.2f cc is outside the table's %g–%g cc; the protocol's limits are not extrapolated", dvh.name, dvh.volumeCC, range.lowerBound, range.upperBound)
            return
        case .limits(let p, let minor):
            row.limit = p
            row.minorLimit = minor
            if case .byVolume = limit {
                row.constraint = "\(metric.text) \(comparator.rawValue) \(String(format: "%.3g", p))"
                row.addNote(String(format: "limit at %@ volume %.2f cc, interpolated linearly in the protocol table", dvh.name, dvh.volumeCC))
            }
        }
        switch GridCoverageRule.assess(dvh, structure: dvh.name, referenceDoseGy: GridCoverageRule.referenceDoseGy(metric, limit: row.limit, rx: rx)) {
        case .notEvaluable(let why):
            row.reason = why
            return
        case .negligible(let why): row.addNote(why)
        case .inside: break
        }
        guard let v = result?.value, let p = row.limit else {
            row.reason = result?.note ?? "not computed"
            return
        }
        if let n = result?.note { row.addNote(n) }
        row.margin = comparator.margin(v, p)
        if comparator.holds(v, p) { row.verdict = .perProtocol }
        else if let mn = row.minorLimit, comparator.holds(v, mn) { row.verdict = .minorDeviation }
        else { row.verdict = .majorDeviation }
    }

    /// Where sources conflict on a limit: both versions are checked, the worse verdict
    /// (the stricter value) is the row's, and the note shows both with their sources.
    static func applyAlternative(_ row: inout CheckReport.Row, _ c: Constraint, _ alt: Constraint.Alternative,
                                 dvh: DVH, analysis: DVHAnalysis, rx: Double?) {
        var other = row
        other.constraint = alt.text
        other.note = nil
        other.verdict = .notEvaluable
        other.reason = nil
        evaluate(&other, alt.metric, alt.comparator, .fixed(perProtocol: alt.limit, minor: nil), dvh: dvh, analysis: analysis, rx: rx)
        func describe(_ r: CheckReport.Row, _ p: Provenance) -> String {
            "\(r.constraint) (\(p.mark) \(p.source)): \(r.value.map { String(format: "%.2f %@", $0, r.unit) } ?? "n/e"), \(r.verdict.rawValue)"
        }
        let note = "sources conflict: " + describe(row, c.provenance) + " | " + describe(other, alt.provenance) + "; the stricter is checked"
        if other.verdict > row.verdict {
            other.note = row.note
            other.source = alt.provenance.source
            other.mark = alt.provenance.mark
            row = other
        }
        row.addNote(note)
    }

    /// The overall verdict and the reasons a review is incomplete.
    /// `constraints`: the rows of the plan's fraction column, to say why an organ table
    /// has no row (no column for `fractions`, or none of its organs in the plan).
    static func verdict(_ rows: [CheckReport.Row], _ proto: ReviewProtocol, constraints: [Constraint] = [],
                        fractions: Int? = nil) -> (Overall, [String]) {
        var reasons: [String] = []
        let evaluated = rows.filter { $0.verdict != .notEvaluable }
        if evaluated.isEmpty { reasons.append("no row could be evaluated") }
        let open = rows.filter { $0.verdict == .notEvaluable }
        if !open.isEmpty {
            let which = open.map { "\($0.constraint) [\($0.planStructure ?? $0.structure)]" }
            reasons.append("\(open.count) row\(open.count == 1 ? "" : "s") not evaluable: \(which.joined(separator: ", "))")
        }
        for t in proto.organTables {
            let organs = rows.filter { $0.table == t && !$0.target }
            if !organs.contains(where: { $0.verdict != .notEvaluable }) {
                let why: String
                if !organs.isEmpty {
                    why = ""
                } else if !constraints.contains(where: { $0.table == t }) {
                    why = fractions.map { " (it has no rows for \($0) fractions)" } ?? " (it has no rows for an unknown fraction count)"
                } else {
                    why = " (none of its organs is in the plan)"
                }
                reasons.append("no organ-at-risk row of \(t) could be evaluated" + why)
            }
        }
        let worst = evaluated.map(\.verdict).max() ?? .perProtocol
        switch worst {
        case .majorDeviation: return (.majorDeviation, reasons)
        case .minorDeviation: return (.minorDeviation, reasons)
        default: return (reasons.isEmpty ? .perProtocol : .incomplete, reasons)
        }
    }

    static func conventions(_ analysis: DVHAnalysis?, _ request: CheckRequest) -> CheckReport.Conventions {
        let conv = analysis?.report.conventions
        return .init(endCap: conv?.endCap ?? request.options.endCap.rawValue,
                     volumeAtDose: conv?.volumeAtDose ?? "V(D) is the volume receiving at least D (≥)",
                     doseAtVolume: conv?.doseAtVolume ?? "Dx = inf{D : V(≥D) ≤ x}",
                     margin: "margin = limit − value for upper limits (<, <=), value − limit for lower limits (>, >=), in the metric's unit; negative means beyond the per-protocol limit",
                     tables: "table limits (RTOG 0813/0915) interpolated linearly on the target volume between rows, exact at tabulated volumes, never extrapolated",
                     notEvaluable: "not evaluable: a structure wholly outside the dose grid, or partly outside with the dose at the grid's boundary inside it ≥ 10 % of the dose the row is about; a required structure not found; a number that needs the prescription without one; a table volume out of range")
    }
}
