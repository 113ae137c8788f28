import Base
import DICOM
import Foundation
import VoxelKit

/// The dose of a resolved study: the RT Dose object(s) used, what their Dose Summation
/// Type (PS3.3 C.8.8.3, 3004,000A) means, what was done with them, and the course total
/// decoded once, in the files' units.
///
/// - `PLAN`, `MULTI_PLAN` and `FRACTION` are course totals (FRACTION: the dose of one
///   fraction group delivered in full, not of one fraction) and are used as they are.
/// - `BEAM` doses of one plan are summed on the grid of the first (resampled
///   trilinearly where grids differ); every treatment beam of the plan must be present.
/// - `FRACTION_SESSION`, `BEAM_SESSION` and `CONTROL_POINT` hold one session's dose:
///   refused unless the user states they are one fraction's dose, then multiplied by
///   the fraction count.
public struct StudyDose: Sendable {
    /// How the files became the course total.
    public enum Handling: String, Sendable, Codable {
        /// One dose object holding the course total, used as it is.
        case courseTotal = "course-total"
        /// The BEAM doses of one plan, summed.
        case beamSum = "beam-sum"
        /// One session's dose multiplied by the fraction count, as the user stated.
        case perSessionTimesFractions = "per-session-times-fractions"
    }

    /// The dose objects used, in the order summed (the first gives the grid).
    public var files: [DoseGrid]
    /// Dose Summation Type as written (upper case; "" when absent).
    public var summationType: String
    public var handling: Handling
    /// The factor applied to the stored dose (the fraction count for per-session doses, else 1).
    public var multiplier: Int
    /// One sentence for every report: what the dose is and what was done with it.
    public var summary: String
    /// The course total (Gy for GY doses), decoded once.
    public var volume: Volume<Float>

    public var grid: Grid { volume.grid }
    public var primary: DoseGrid { files[0] }
    public var units: String { primary.units }
    public var doseType: String { primary.doseType }
    public var frameOfReferenceUID: String? { primary.frameOfReferenceUID }
    public var paths: [String] { files.map(\.path) }
    public var sopInstanceUIDs: [String] { files.map(\.sopInstanceUID) }

    static let courseTotals: Set<String> = ["PLAN", "MULTI_PLAN", "FRACTION", ""]
    static let perSession: Set<String> = ["FRACTION_SESSION", "BEAM_SESSION", "CONTROL_POINT"]

    /// Checks the chosen doses against the request and builds the course total.
    static func build(_ doses: [DoseGrid], plan: Plan?, fractions: Sourced<Int>?, request: StudyRequest) throws -> StudyDose {
        let type = doses[0].summationType.uppercased()
        for d in doses where request.absoluteDose && d.units.uppercased() != "GY" {
            throw SBRTError(.doseType, "Dose Units are \(d.units), not GY; absolute dose metrics and checks need a dose in Gy", file: d.path)
        }
        var volume = try doses[0].loadDose()
        for extra in doses.dropFirst() {
            let v = try extra.loadDose()
            let r = Resampler.resample(v, onto: volume.grid)
            volume.voxels.withUnsafeMutableBufferPointer { d in
                r.volume.voxels.withUnsafeBufferPointer { s in for i in 0..<d.count { d[i] += s[i] } }
            }
        }
        let names = doses.map { ($0.path as NSString).lastPathComponent }
        var handling = Handling.courseTotal
        var multiplier = 1
        var summary: String
        if perSession.contains(type) {
            guard request.perSessionDose else {
                throw SBRTError(.doseType, "Dose Summation Type is \(type): the dose of one treatment session, not of the course; absolute metrics and checks need the course dose. Export the plan's dose (PLAN), or state explicitly that this is one fraction's dose to multiply by the plan's fractions", file: doses[0].path)
            }
            guard let f = fractions else {
                throw SBRTError(.doseType, "Dose Summation Type is \(type) (one session) and the fraction count is unknown; state the fraction count", file: doses[0].path)
            }
            handling = .perSessionTimesFractions
            multiplier = f.value
            let k = Float(f.value)
            volume.voxels.withUnsafeMutableBufferPointer { d in for i in 0..<d.count { d[i] *= k } }
            summary = "\(names.joined(separator: " + ")) (\(type): one session's dose) × \(f.value) fractions (\(f.source)), as stated by the user"
        } else if type == "BEAM" {
            handling = .beamSum
            summary = "\(doses.count) BEAM doses" + (plan.map { " of plan \($0.displayName)" } ?? "") + " summed (\(names.joined(separator: ", ")))"
            if doses.count > 1 && !doses.dropFirst().allSatisfy({ Resampler.sameLattice($0.grid, doses[0].grid) }) {
                summary += ", resampled trilinearly onto the grid of \(names[0])"
            }
        } else if type.isEmpty {
            summary = "\(names[0]) has no Dose Summation Type; taken as the course total"
        } else {
            let meaning = type == "FRACTION" ? "the dose of the whole fraction group, not of one fraction" : "the course total"
            summary = "\(names[0]) (\(type): \(meaning)), used as it is"
        }
        return StudyDose(files: doses, summationType: type, handling: handling, multiplier: multiplier, summary: summary, volume: volume)
    }
}

extension ResolvedStudy {
    /// The dose object(s) of the plan: the user's files, else by reference to the plan,
    /// then by summation type (one course total; else the plan's BEAM doses; else one
    /// per-session dose or its BEAM_SESSION set).
    static func chooseDoses(_ folder: StudyFolder, _ request: StudyRequest, plan: Plan?, explicit: [DoseGrid],
                            choices: inout [String], notes: inout [String]) throws -> [DoseGrid] {
        if !explicit.isEmpty {
            try checkExplicit(explicit, plan: plan)
            choices.append("dose \(explicit.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", ")): given by the user")
            return explicit
        }
        guard !folder.doses.isEmpty else { return [] }
        var candidates = folder.doses
        if let plan {
            let mine = folder.doses.filter { $0.referencedPlanUIDs.contains(plan.sopInstanceUID) }
            let unreferenced = folder.doses.filter { $0.referencedPlanUIDs.isEmpty }
            if !mine.isEmpty {
                candidates = mine
            } else if !unreferenced.isEmpty && folder.plans.count == 1 {
                candidates = unreferenced
                notes.append("the dose names no RT Plan; taken as the dose of \(plan.displayName), the only plan in the folder")
            } else {
                return []
            }
        }
        return try pickBySummation(candidates, folder, plan: plan, choices: &choices, notes: &notes)
    }

    static func pickBySummation(_ doses: [DoseGrid], _ folder: StudyFolder, plan: Plan?,
                                choices: inout [String], notes: inout [String]) throws -> [DoseGrid] {
        let byType = Dictionary(grouping: doses) { $0.summationType.uppercased() }
        func name(_ d: DoseGrid) -> String { (d.path as NSString).lastPathComponent }
        // Candidates in a message: their path within the folder, or whole when outside it.
        func place(_ d: DoseGrid) -> String {
            d.path.hasPrefix(folder.root + "/") ? String(d.path.dropFirst(folder.root.count + 1)) : d.path
        }
        for type in ["PLAN", "MULTI_PLAN", "FRACTION", ""] {
            guard let set = byType[type] else { continue }
            guard set.count == 1 else {
                throw SBRTError(.ambiguous, "\(set.count) \(type.isEmpty ? "untyped" : type) doses (\(set.map(place).joined(separator: ", "))) and nothing says which one to use", file: folder.root)
            }
            let others = doses.filter { $0.path != set[0].path }
            if !others.isEmpty { notes.append("not used: \(others.map { "\(name($0)) (\($0.summationType))" }.joined(separator: ", ")), because \(name(set[0])) holds the course total") }
            choices.append("dose \(name(set[0])): the \(type.isEmpty ? "only" : type) dose" + (plan.map { " of plan \($0.displayName)" } ?? ""))
            return set
        }
        for type in ["BEAM", "BEAM_SESSION"] {
            guard let set = byType[type] else { continue }
            let plans = Set(set.map { $0.referencedPlanUIDs.sorted() })
            guard plans.count == 1 else {
                throw SBRTError(.ambiguous, "\(type) doses of \(plans.count) different plans; choose the plan", file: folder.root)
            }
            if let plan { try checkBeamsComplete(set, plan: plan) }
            choices.append("dose: \(set.count) \(type) doses" + (plan.map { " of plan \($0.displayName)" } ?? "") + ", summed")
            return set.sorted { ($0.referencedBeamNumbers.first ?? 0, $0.path) < ($1.referencedBeamNumbers.first ?? 0, $1.path) }
        }
        guard doses.count == 1 else {
            throw SBRTError(.ambiguous, "\(doses.count) RT Dose objects (\(doses.map { "\(place($0)) \($0.summationType)" }.joined(separator: ", "))) and none holds the course total", file: folder.root)
        }
        choices.append("dose \(name(doses[0])): the only dose" + (plan.map { " of plan \($0.displayName)" } ?? ""))
        return doses
    }

    /// Every treatment beam with dose in the plan's fraction group(s) has a BEAM dose.
    static func checkBeamsComplete(_ doses: [DoseGrid], plan: Plan) throws {
        let covered = Set(doses.flatMap(\.referencedBeamNumbers))
        guard !covered.isEmpty else { return }   // doses that name no beam cannot be checked
        let delivered = plan.fractionGroups.flatMap(\.beams).filter { ($0.doseGy ?? 1) > 0 }.map(\.number)
        let treatment = Set(plan.beams.filter { ($0.deliveryType ?? "TREATMENT").uppercased() == "TREATMENT" }.map(\.number))
        let needed = delivered.isEmpty ? treatment : Set(delivered).intersection(treatment.isEmpty ? Set(delivered) : treatment)
        let missing = needed.subtracting(covered).sorted()
        guard missing.isEmpty else {
            let names = missing.map { n in plan.beams.first { $0.number == n }?.name.map { "\(n) (\($0))" } ?? "\(n)" }
            throw SBRTError(.missingBeamDose, "plan \(plan.displayName) delivers beam(s) \(names.joined(separator: ", ")) whose BEAM dose is not in the folder; the sum of the others is not the plan's dose", file: plan.path)
        }
    }

    /// Explicit doses: one of any type, or several BEAM doses of one plan.
    static func checkExplicit(_ doses: [DoseGrid], plan: Plan?) throws {
        guard doses.count > 1 else { return }
        let types = Set(doses.map { $0.summationType.uppercased() })
        guard types == ["BEAM"] || types == ["BEAM_SESSION"] else {
            throw SBRTError(.ambiguous, "several doses given (\(doses.map(\.summationType).joined(separator: ", "))); only BEAM doses of one plan are summed", file: doses[0].path)
        }
        guard Set(doses.map { $0.referencedPlanUIDs.sorted() }).count == 1 else {
            throw SBRTError(.ambiguous, "the given BEAM doses belong to different plans", file: doses[0].path)
        }
        if let plan { try checkBeamsComplete(doses, plan: plan) }
    }
}
