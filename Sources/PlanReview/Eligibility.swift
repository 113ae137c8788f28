import Base
import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit

/// The outcome of one eligibility rule.
public enum EligibilityOutcome: String, Codable, Sendable {
    case eligible = "meets"
    case notEligible = "does not meet"
    /// Information the trial or review attaches to the plan (BED note, reduced dose).
    case note = "note"
    /// A risk flag (vertebral compression fracture).
    case flag = "flag"
    /// A note that does not apply to this plan (a BED above the note's bound, an age at
    /// or above the reduced-dose bound).
    case notApplicable = "not applicable"
    /// A rule sbrt could evaluate but lacks the input for (the age, the prescription).
    case notEvaluable = "not evaluable"
    /// A trial criterion that DICOM does not carry (histology, prior radiotherapy to
    /// the site, resectability): listed for the user to check.
    case notChecked = "not checked"
}

/// The outcome of an eligibility assessment: every rule checked met, a rule not met, or
/// a rule not evaluable (exit 0 only for the first).
public enum EligibilityOverall: String, Codable, Sendable {
    case meets = "meets every rule checked"
    case doesNotMeet = "does not meet"
    case incomplete
}

/// What `sbrt check --eligibility` reports: per rule the plan's value, the requirement,
/// the outcome, and the rule's source and provenance mark; per lesion its Feret
/// diameter and volume.
public struct EligibilityReport: Codable, Sendable {
    public var schema = "sbrt.eligibility/2"
    public var notice = ResearchUse.notice
    public var protocolID: String
    public var protocolName: String
    public var lesions: [Lesion]
    public var rxGy: Double?
    public var fractions: Int?
    public var age: Double?
    public var ageSource: String?
    public var rules: [Rule]
    public var overall: EligibilityOverall
    /// True only when every rule checked is met (`overall` is `meets`).
    public var eligible: Bool
    /// How the lesions were chosen, structures left out and why.
    public var notes: [String]
    public var conventions: String

    public struct Lesion: Codable, Sendable {
        public var name: String
        /// Maximum 3D Feret diameter of the contour points, mm.
        public var feretMM: Double
        public var volumeCC: Double
        public var contourPoints: Int
    }

    public struct Rule: Codable, Sendable {
        public var rule: String
        public var value: String
        public var requirement: String
        public var outcome: EligibilityOutcome
        public var source: String
        public var mark: String
        public var note: String?
    }
}

/// How to assess eligibility.
public struct EligibilityRequest: Sendable {
    /// GTV names; empty for every lesion's GTV (unions such as `GTV_All` left out).
    public var lesions: [String] = []
    /// The lesions are spinal (for the BED₁₀ note and the fracture flag).
    public var spinal = false
    public init() {}
}

/// Eligibility for an SBRT trial as it defined oligometastatic disease (NCT01763970, as
/// Smile et al., Ann Palliat Med 2021;10:6002, report it), with the parameters and sources of the protocol file's
/// `[[eligibility]]` rows. The patient's age is the study's (stated, or the plan's
/// Patient's Age).
public enum Eligibility {
    /// - Throws: `SBRTError` (`.invalidProtocol`: no eligibility rows;
    ///   `.structureNotFound`: a lesion name the structure set lacks) and the DVH
    ///   engine's errors.
    public static func run(_ study: ResolvedStudy, _ proto: ReviewProtocol, _ request: EligibilityRequest) throws -> EligibilityReport {
        guard !proto.eligibility.isEmpty else { throw SBRTError(.invalidProtocol, "\(proto.path): protocol \(proto.id) has no [[eligibility]] rows") }
        var notes: [String] = []
        let chosen = try chooseLesions(study, request, notes: &notes)
        let lesions = try measure(chosen, study)
        let facts = Facts(study: study, request: request, lesions: lesions)
        let rules = proto.eligibility.map { evaluate($0, facts) }
        let overall: EligibilityOverall = rules.contains { $0.outcome == .notEligible } ? .doesNotMeet
            : (rules.contains { $0.outcome == .notEvaluable } ? .incomplete : .meets)
        return EligibilityReport(
            protocolID: proto.id, protocolName: proto.name, lesions: lesions, rxGy: facts.rx, fractions: facts.fractions,
            age: study.age?.value, ageSource: study.age?.source, rules: rules, overall: overall, eligible: overall == .meets,
            notes: notes, conventions: "greatest dimension = maximum 3D Feret diameter of each lesion's contour points (exact on their convex hull); volumes with prism end caps; BED = D(1 + d/(α/β))")
    }

    /// The lesions: the GTVs named in the request, else every lesion's GTV (one per
    /// lesion, unions left out), as the structure matcher finds targets.
    static func chooseLesions(_ study: ResolvedStudy, _ request: EligibilityRequest, notes: inout [String]) throws -> [ROI] {
        let rois = (study.structureSet?.rois ?? []).filter { $0.hasClosedContours }
        guard request.lesions.isEmpty else {
            return try request.lesions.map { name in
                guard let r = rois.first(where: { StructureName.same($0.name, name) }) else {
                    throw SBRTError(.structureNotFound, "lesion \"\(name)\": no structure of that name (structures: \(rois.map(\.name).joined(separator: ", ")))")
                }
                return r
            }
        }
        let matcher = StructureMatcher(rois: rois)
        let found = try matcher.targets("GTV").compactMap { m in rois.first { StructureMatcher.quote($0.name) == m.expression } }
        let left = rois.filter { r in StructureMatcher.isGTV(r) && !found.contains { $0.name == r.name } }
        notes.append("lesions: one GTV per lesion (RT ROI Interpreted Type GTV, or named GTV…): \(found.map(\.name).joined(separator: ", "))")
        if !left.isEmpty {
            notes.append("not counted as lesions: " + left.map { "\($0.name) (" + (StructureName.isUnion($0.name) ? "a union" : "part of another lesion") + ")" }.joined(separator: ", "))
        }
        return found
    }

    static func measure(_ chosen: [ROI], _ study: ResolvedStudy) throws -> [EligibilityReport.Lesion] {
        guard !chosen.isEmpty else { return [] }
        var req = DVHRequest()
        req.structures = chosen.map { StructureMatcher.quote($0.name) }
        let a = try DVHAnalysis.run(study, req)
        return zip(chosen, a.dvhs).map { roi, dvh in
            let pts = roi.contours.filter(\.isClosedPlanar).flatMap(\.points)
            return .init(name: roi.name, feretMM: Feret.maximum(pts)?.diameterMM ?? 0, volumeCC: dvh.volumeCC, contourPoints: pts.count)
        }
    }

    /// What the rules look at.
    struct Facts {
        var rx: Double?
        var fractions: Int?
        var age: Double?
        var lesions: [EligibilityReport.Lesion]
        var chosenByUser: Bool
        var spinal: Bool
        var vertebral: [String]

        init(study: ResolvedStudy, request: EligibilityRequest, lesions: [EligibilityReport.Lesion]) {
            rx = study.rx?.value
            fractions = study.fractions?.value
            age = study.age?.value
            self.lesions = lesions
            chosenByUser = !request.lesions.isEmpty
            spinal = request.spinal
            vertebral = (study.structureSet?.rois ?? []).map(\.name).filter { StructureClass(name: $0).vertebra }
        }

        var dosePerFraction: Double? { if let rx, let f = fractions, f > 0 { return rx / Double(f) } else { return nil } }
    }

    static func g(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%g", v) }

    static func evaluate(_ p: EligibilityParameter, _ f: Facts) -> EligibilityReport.Rule {
        func rule(_ value: String, _ requirement: String, _ outcome: EligibilityOutcome, _ extra: String? = nil) -> EligibilityReport.Rule {
            var note = p.provenance.note
            if let extra { note = note.map { extra + "; " + $0 } ?? extra }
            return .init(rule: p.rule, value: value, requirement: requirement, outcome: outcome, source: p.provenance.source, mark: p.provenance.mark, note: note)
        }
        if p.values["checked"]?.bool == false {
            return rule("—", p.values["requirement"]?.string ?? p.rule, .notChecked, "not in the DICOM data: check it in the patient's record")
        }
        switch p.rule {
        case "age": return age(p, f, rule)
        case "lesion-count":
            let lo = Int(p.number("min") ?? 1), hi = Int(p.number("max") ?? 5)
            return rule("\(f.lesions.count) (\(f.lesions.map(\.name).joined(separator: ", ")))", "\(lo)–\(hi) lesions",
                        (lo...hi).contains(f.lesions.count) ? .eligible : .notEligible,
                        f.chosenByUser ? nil : "lesions: one GTV per lesion, unions left out (name the lesions to choose)")
        case "size": return size(p, f, rule)
        case "sbrt-fractionation":
            let maxF = Int(p.number("max_fractions") ?? 5), minD = p.number("min_dose_per_fraction_gy") ?? 6
            guard let n = f.fractions, let d = f.dosePerFraction else { return rule("unknown", "≤ \(maxF) fx of ≥ \(g(minD)) Gy", .notEvaluable, "needs the prescription and the fraction count") }
            return rule(String(format: "%d fx of %.2f Gy", n, d), "≤ \(maxF) fx of ≥ \(g(minD)) Gy", n <= maxF && d >= minD - 1e-9 ? .eligible : .notEligible)
        case "bed10": return bed(p, f, rule)
        case "vertebral-fracture": return vertebralFracture(p, f, rule)
        case "reduced-dose-age": return reducedDose(p, f, rule)
        default: return rule("—", p.rule, .notChecked, "rule not known to this version of sbrt")
        }
    }

    typealias Make = (String, String, EligibilityOutcome, String?) -> EligibilityReport.Rule

    /// Age within the trial's bounds: `above_age` (exclusive) or `min_age` (inclusive), `max_age` (inclusive).
    static func age(_ p: EligibilityParameter, _ f: Facts, _ rule: Make) -> EligibilityReport.Rule {
        let above = p.number("above_age"), lo = p.number("min_age"), hi = p.number("max_age") ?? .infinity
        let requirement = (above.map { "> \(g($0))" } ?? lo.map { "≥ \(g($0))" } ?? "") + " and ≤ \(g(hi)) y"
        guard let a = f.age else { return rule("unknown", requirement, .notEvaluable, "the patient's age is unknown (not stated, and the plan has no Patient's Age)") }
        let ok = (above.map { a > $0 } ?? true) && (lo.map { a >= $0 } ?? true) && a <= hi
        return rule("\(g(a)) y", requirement, ok ? .eligible : .notEligible, nil)
    }

    static func size(_ p: EligibilityParameter, _ f: Facts, _ rule: Make) -> EligibilityReport.Rule {
        let maxCM = p.number("max_dimension_cm") ?? 5, maxCC = p.number("max_total_volume_cc") ?? 250
        let greatest = f.lesions.map(\.feretMM).max() ?? 0
        let total = f.lesions.reduce(0) { $0 + $1.volumeCC }
        let bySize = greatest <= maxCM * 10 + 1e-9, byVolume = total < maxCC
        let value = String(format: "greatest %.2f cm (%@); total %.2f cc", greatest / 10, f.lesions.max { $0.feretMM < $1.feretMM }?.name ?? "—", total)
        let requirement = "greatest dimension ≤ \(g(maxCM)) cm or total < \(g(maxCC)) cc"
        guard !f.lesions.isEmpty else { return rule(value, requirement, .notEvaluable, "no lesion (GTV) in the structure set") }
        return rule(value, requirement, bySize || byVolume ? .eligible : .notEligible,
                    bySize && byVolume ? nil : (bySize ? "met by dimension only" : (byVolume ? "met by total volume only" : nil)))
    }

    static func bed(_ p: EligibilityParameter, _ f: Facts, _ rule: Make) -> EligibilityReport.Rule {
        let ab = p.number("alpha_beta_gy") ?? 10, threshold = p.number("note_at_or_below_gy") ?? 48
        guard let rx = f.rx, let n = f.fractions else { return rule("unknown", "BED\(g(ab)) of the prescription", .notEvaluable, "needs the prescription and the fraction count") }
        let bed = Radiobiology.bed(totalGy: rx, fractions: n, alphaBeta: ab)
        let low = bed <= threshold + 1e-9
        let note = low ? (f.spinal ? "BED ≤ \(g(threshold)) Gy: for spinal sarcoma metastases better local control was reported above \(g(threshold)) Gy"
                                   : "BED ≤ \(g(threshold)) Gy: relevant if the lesion is a spinal metastasis") : nil
        return rule(String(format: "BED%@ %.1f Gy", g(ab), bed), "note when ≤ \(g(threshold)) Gy (spinal metastases)",
                    low ? .note : .notApplicable, note ?? "above \(g(threshold)) Gy: nothing to note")
    }

    /// Sahgal 2013's highest-risk group (≥ 24 Gy per fraction, `VertebralFractureRisk`):
    /// a flag, with the vertebral structures found by name (or the lesions stated spinal).
    static func vertebralFracture(_ p: EligibilityParameter, _ f: Facts, _ rule: Make) -> EligibilityReport.Rule {
        let t = g(VertebralFractureRisk.thresholdGyPerFraction)
        let requirement = "flag ≥ \(t) Gy/fx to a vertebra"
        guard let d = f.dosePerFraction else { return rule("unknown", requirement, .notEvaluable, "needs the prescription and the fraction count") }
        let value = String(format: "%.2f Gy/fx", d)
        guard VertebralFractureRisk.isHighestRisk(dosePerFractionGy: d) else { return rule(value, requirement, .eligible, "below \(t) Gy/fx: no flag") }
        let wording = "the review: higher fracture risk when dose per fraction exceeds \(t) Gy (Sahgal 2013)"
        let why = !f.vertebral.isEmpty ? "vertebral structures by name: \(f.vertebral.joined(separator: ", "))"
            : (f.spinal ? "lesions stated spinal" : "no vertebral structure by name, lesions not stated spinal")
        return rule(value, requirement, .flag, "≥ \(t) Gy/fx: a fracture risk if a target is vertebral (\(why)); " + wording)
    }

    /// Under the age bound, a reduced dose "can be considered": a note, never a failure.
    static func reducedDose(_ p: EligibilityParameter, _ f: Facts, _ rule: Make) -> EligibilityReport.Rule {
        let below = p.number("below_age") ?? 10, dose = p.number("dose_gy") ?? 35, n = Int(p.number("fractions") ?? 5)
        let requirement = "age < \(g(below)): \(g(dose)) Gy / \(n) fx can be considered"
        guard let a = f.age else { return rule("age unknown", requirement, .notEvaluable, "the patient's age is unknown (not stated, and the plan has no Patient's Age)") }
        guard a < below else { return rule("age \(g(a))", "applies under age \(g(below))", .notApplicable, "age \(g(a)) is not under \(g(below))") }
        let uses = f.rx.map { abs($0 - dose) < 0.005 } == true && f.fractions == n
        let plan = f.rx.map { "\(g($0)) Gy / \(f.fractions.map(String.init) ?? "?") fx" } ?? "unknown"
        return rule(plan, requirement, .note, uses ? "the plan uses the reduced \(g(dose)) Gy / \(n) fx, an accepted option under age \(g(below))"
                                                   : "under age \(g(below)) the reduced \(g(dose)) Gy / \(n) fx can be considered")
    }
}
