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
    case notEvaluable = "not evaluable"
}

/// What `sbrt check --eligibility` reports: per rule the plan's value, the requirement,
/// the outcome, and the rule's source and provenance mark; per lesion its Feret
/// diameter and volume.
public struct EligibilityReport: Codable, Sendable {
    public var schema = "sbrt.eligibility/1"
    public var protocolID: String
    public var protocolName: String
    public var lesions: [Lesion]
    public var rxGy: Double?
    public var fractions: Int?
    public var age: Double?
    public var rules: [Rule]
    /// False when any rule is not met.
    public var eligible: Bool
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
    /// GTV names; empty for every ROI of type GTV (or named GTV…).
    public var lesions: [String] = []
    public var age: Double?
    /// The lesions are spinal (for the BED₁₀ note).
    public var spinal = false
    public init() {}
}

/// Eligibility for an SBRT trial as it defined oligometastatic disease (NCT01763970:
/// `reference/domain.md` §9), with the parameters and sources of the protocol file's
/// `[[eligibility]]` rows.
public enum Eligibility {
    /// - Throws: `SBRTError` (no eligibility rows, unknown lesion names) and the DVH engine's errors.
    public static func run(_ study: ResolvedStudy, _ proto: ReviewProtocol, _ request: EligibilityRequest) throws -> EligibilityReport {
        guard !proto.eligibility.isEmpty else { throw SBRTError(.invalidProtocol, "\(proto.path): protocol \(proto.id) has no [[eligibility]] rows") }
        let rois = (study.structureSet?.rois ?? []).filter { $0.contours.contains(where: \.isClosedPlanar) }
        var chosen: [ROI] = []
        if request.lesions.isEmpty {
            chosen = rois.filter { ($0.interpretedType ?? "").uppercased() == "GTV" || $0.name.uppercased().hasPrefix("GTV") }
        } else {
            for name in request.lesions {
                let k = StructureMatcher.normalise(name)
                guard let r = rois.first(where: { StructureMatcher.normalise($0.name) == k }) else {
                    throw SBRTError(.invalidProtocol, "--lesions: no structure named \"\(name)\" (structures: \(rois.map(\.name).joined(separator: ", ")))")
                }
                chosen.append(r)
            }
        }
        let rx = study.rx?.value
        let fractions = study.fractions?.value

        var lesions: [EligibilityReport.Lesion] = []
        if !chosen.isEmpty {
            var req = DVHRequest()
            req.structures = chosen.map { $0.name.contains(where: { " +-&^()".contains($0) }) ? "\"\($0.name)\"" : $0.name }
            let a = try DVHAnalysis.run(study, req)
            for (roi, dvh) in zip(chosen, a.dvhs) {
                let pts = roi.contours.filter(\.isClosedPlanar).flatMap(\.points)
                lesions.append(.init(name: roi.name, feretMM: Feret.maximum(pts)?.diameterMM ?? 0, volumeCC: dvh.volumeCC, contourPoints: pts.count))
            }
        }

        var rules: [EligibilityReport.Rule] = []
        func add(_ p: EligibilityParameter, _ value: String, _ requirement: String, _ outcome: EligibilityOutcome, _ extra: String? = nil) {
            var note = p.provenance.note
            if let extra { note = note.map { extra + "; " + $0 } ?? extra }
            rules.append(.init(rule: p.rule, value: value, requirement: requirement, outcome: outcome,
                               source: p.provenance.source, mark: p.provenance.mark, note: note))
        }
        func g(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%g", v) }

        if let p = proto.eligibilityRule("age") {
            let lo = p.number("min_age") ?? 0, hi = p.number("max_age") ?? .infinity
            if let age = request.age {
                add(p, "\(g(age)) y", "\(g(lo))–\(g(hi)) y", age >= lo && age <= hi ? .eligible : .notEligible)
            } else { add(p, "unknown", "\(g(lo))–\(g(hi)) y", .notEvaluable, "give --age") }
        }
        if let p = proto.eligibilityRule("lesion-count") {
            let lo = Int(p.number("min") ?? 1), hi = Int(p.number("max") ?? 5)
            add(p, "\(lesions.count) (\(lesions.map(\.name).joined(separator: ", ")))", "\(lo)–\(hi) lesions",
                (lo...hi).contains(lesions.count) ? .eligible : .notEligible,
                request.lesions.isEmpty ? "lesions: every GTV of the structure set (give --lesions to choose)" : nil)
        }
        if let p = proto.eligibilityRule("size") {
            let maxCM = p.number("max_dimension_cm") ?? 5, maxCC = p.number("max_total_volume_cc") ?? 250
            let greatest = lesions.map(\.feretMM).max() ?? 0
            let total = lesions.reduce(0) { $0 + $1.volumeCC }
            let bySize = greatest <= maxCM * 10 + 1e-9, byVolume = total < maxCC
            let value = String(format: "greatest %.2f cm (%@); total %.2f cc", greatest / 10,
                               lesions.max { $0.feretMM < $1.feretMM }?.name ?? "—", total)
            add(p, value, "greatest dimension ≤ \(g(maxCM)) cm or total < \(g(maxCC)) cc",
                lesions.isEmpty ? .notEvaluable : (bySize || byVolume ? .eligible : .notEligible),
                bySize && byVolume ? nil : (bySize ? "met by dimension only" : (byVolume ? "met by total volume only" : nil)))
        }
        let dpf: Double? = { if let rx, let f = fractions, f > 0 { return rx / Double(f) } else { return nil } }()
        if let p = proto.eligibilityRule("sbrt-fractionation") {
            let maxF = Int(p.number("max_fractions") ?? 5), minD = p.number("min_dose_per_fraction_gy") ?? 6
            if let f = fractions, let d = dpf {
                add(p, String(format: "%d fx of %.2f Gy", f, d), "≤ \(maxF) fx of ≥ \(g(minD)) Gy", f <= maxF && d >= minD - 1e-9 ? .eligible : .notEligible)
            } else { add(p, "unknown", "≤ \(maxF) fx of ≥ \(g(minD)) Gy", .notEvaluable, "give --rx and --fractions (or a plan with them)") }
        }
        if let p = proto.eligibilityRule("bed10") {
            let ab = p.number("alpha_beta_gy") ?? 10, threshold = p.number("note_at_or_below_gy") ?? 48
            if let rx, let f = fractions {
                let bed = Radiobiology.bed(totalGy: rx, fractions: f, alphaBeta: ab)
                let low = bed <= threshold + 1e-9
                add(p, String(format: "BED%@ %.1f Gy", g(ab), bed), "note when ≤ \(g(threshold)) Gy (spinal metastases)",
                    .note, low ? (request.spinal ? "BED ≤ \(g(threshold)) Gy: for spinal sarcoma metastases better local control was reported above \(g(threshold)) Gy"
                                                 : "BED ≤ \(g(threshold)) Gy: relevant if the lesion is a spinal metastasis") : nil)
            } else { add(p, "unknown", "BED\(g(ab)) of the prescription", .notEvaluable, "give --rx and --fractions") }
        }
        if let p = proto.eligibilityRule("vertebral-fracture") {
            let limit = p.number("flag_dose_per_fraction_above_gy") ?? 24
            let vertebral = rois.map(\.name).filter(isVertebral)
            if let d = dpf {
                let flagged = d > limit
                add(p, String(format: "%.2f Gy/fx", d), "flag > \(g(limit)) Gy/fx to a vertebra", flagged ? .flag : .eligible,
                    flagged ? "fracture risk if a target is vertebral (vertebral structures by name: \(vertebral.isEmpty ? "none" : vertebral.joined(separator: ", ")))" : nil)
            } else { add(p, "unknown", "flag > \(g(limit)) Gy/fx to a vertebra", .notEvaluable, "give --rx and --fractions") }
        }
        if let p = proto.eligibilityRule("reduced-dose-age") {
            let below = p.number("below_age") ?? 10, dose = p.number("dose_gy") ?? 35, f = Int(p.number("fractions") ?? 5)
            if let age = request.age {
                if age < below {
                    let matches = rx.map { abs($0 - dose) < 0.005 } == true && fractions == f
                    add(p, rx.map { "\(g($0)) Gy / \(fractions.map(String.init) ?? "?") fx" } ?? "unknown", "age < \(g(below)): \(g(dose)) Gy / \(f) fx",
                        .note, matches ? nil : "under age \(g(below)) the reduced \(g(dose)) Gy / \(f) fx can be considered")
                } else {
                    add(p, "age \(g(age))", "applies under age \(g(below))", .eligible, "not applicable")
                }
            } else { add(p, "age unknown", "age < \(g(below)): \(g(dose)) Gy / \(f) fx", .notEvaluable, "give --age") }
        }
        return EligibilityReport(
            protocolID: proto.id, protocolName: proto.name, lesions: lesions, rxGy: rx, fractions: fractions, age: request.age,
            rules: rules, eligible: !rules.contains { $0.outcome == .notEligible },
            conventions: "greatest dimension = maximum 3D Feret diameter of each lesion's contour points (exact on their convex hull); volumes with prism end caps; BED = D(1 + d/(α/β))")
    }

    /// Whether a structure name reads as a vertebra (Vertebra…, VB…, C1–C7, T1–T12, L1–L5, S1).
    static func isVertebral(_ name: String) -> Bool {
        let n = StructureMatcher.normalise(name)
        if n.hasPrefix("vertebra") || n.hasPrefix("vb") || n.contains("vertebr") { return true }
        let pattern = #"^(c[1-7]|t([1-9]|1[0-2])|th([1-9]|1[0-2])|l[1-5]|s1)$"#
        return n.range(of: pattern, options: .regularExpression) != nil
    }
}
