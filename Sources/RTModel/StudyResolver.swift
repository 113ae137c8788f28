import Base
import DICOM
import Foundation
import VoxelKit

/// A value with where it came from ("RT Plan PELVIS: Target Prescription Dose", "stated
/// by the user"), for every number a report prints.
public struct Sourced<Value: Sendable & Codable & Equatable>: Sendable, Codable, Equatable {
    public var value: Value
    public var source: String

    public init(_ value: Value, source: String) {
        self.value = value
        self.source = source
    }
}

/// What a command needs from a study, and what the user stated explicitly.
public struct StudyRequest: Sendable {
    /// What must be found; anything else is resolved when present.
    public enum Need: Sendable { case dose, structureSet, images }

    public var needs: Set<Need> = [.dose, .structureSet]
    /// A plan's label or SOP Instance UID, when the folder holds several.
    public var plan: String?
    /// RT Dose files to use instead of the folder's choice (several BEAM doses are summed).
    public var dosePaths: [String] = []
    /// An RT Structure Set file to use instead of the folder's choice.
    public var structureSetPath: String?
    /// The user states that a per-session dose (FRACTION_SESSION, BEAM_SESSION,
    /// CONTROL_POINT) is one fraction's dose, to be multiplied by the fraction count.
    public var perSessionDose = false
    /// Prescription dose and fraction count stated by the user (override the plan's).
    public var rxGy: Double?
    public var fractions: Int?
    /// The patient's age in years, stated by the user (overrides the plan's Patient's Age).
    public var ageYears: Double?
    /// The dose must be in Gy (absolute metrics, checks, isodose lines in Gy).
    public var absoluteDose = true
    /// Choose and decode the plan's dose when there is one, even if it is not needed
    /// (figures draw isodose lines when a dose is present). Off for commands that never
    /// read a dose (margins, the inventory).
    public var loadsDose = true
    /// Choose the structure set and image series when present, even if they are not
    /// needed. Off for a study read only for its dose (the earlier courses of a
    /// re-irradiation composite), so that their structure sets and images are neither
    /// read for nothing nor a reason to fail.
    public var loadsStructures = true

    public init(needs: Set<Need> = [.dose, .structureSet]) {
        self.needs = needs
    }
}

/// A folder (or explicit files) resolved into the objects that belong together: the plan,
/// the dose(s) of that plan, the structure set and the image series it was drawn on, and
/// the prescription and fraction count, each with its source.
///
/// Every command reads a folder through `ResolvedStudy.resolve`, so that commands never
/// disagree on what a folder means. Choices follow DICOM references first (dose → plan →
/// structure set → images), file counts only when references are absent; where
/// several candidates remain, resolution fails with the list (`SBRTError.Kind.ambiguous`).
public struct ResolvedStudy: Sendable {
    public var root: String
    public var folder: StudyFolder
    public var plan: Plan?
    public var structureSet: StructureSet?
    /// The planning image series: the one the structure set references.
    public var images: ImageSeries?
    public var dose: StudyDose?
    public var rx: Sourced<Double>?
    public var fractions: Sourced<Int>?
    /// The patient's age in years: stated by the user, else the plan's Patient's Age.
    public var age: Sourced<Double>?
    /// One sentence per choice made ("plan PELVIS: the only plan in the folder").
    public var choices: [String]
    /// Notes a report must carry (overrides, ignored doses).
    public var notes: [String]

    /// Scans `path` (a folder or a file) and resolves it.
    /// - Throws: `SBRTError` (`.noDose`, `.noStructureSet`, `.noImages`, `.noPlan`,
    ///   `.ambiguous`, `.doseType`, `.missingBeamDose`, `.frameOfReference`, read errors).
    public static func resolve(_ path: String, _ request: StudyRequest) throws -> ResolvedStudy {
        try resolve(folder: try StudyFolder.load(path), request)
    }

    /// Resolves an already scanned folder.
    public static func resolve(folder: StudyFolder, _ request: StudyRequest) throws -> ResolvedStudy {
        var r = ResolvedStudy(root: folder.root, folder: folder, choices: [], notes: [])
        let explicitDoses = try request.dosePaths.map(readDose)
        r.plan = try choosePlan(folder, request, explicitDoses: explicitDoses, choices: &r.choices)
        r.resolvePrescription(request)
        let wantsDose = request.needs.contains(.dose) || request.loadsDose || !explicitDoses.isEmpty
        let doses = wantsDose ? try chooseDoses(folder, request, plan: r.plan, explicit: explicitDoses, choices: &r.choices, notes: &r.notes) : []
        if request.loadsStructures || request.needs.contains(.structureSet) {
            r.structureSet = try chooseStructureSet(folder, request, plan: r.plan, doseFoR: doses.first?.frameOfReferenceUID, choices: &r.choices)
        }
        if request.loadsStructures || request.needs.contains(.images) {
            r.images = try chooseImages(folder, request, structureSet: r.structureSet, choices: &r.choices)
        }
        try r.checkFramesOfReference(doses)
        if !doses.isEmpty {
            r.dose = try StudyDose.build(doses, plan: r.plan, fractions: r.fractions, request: request)
        } else if request.needs.contains(.dose) {
            throw SBRTError(.noDose, "no RT Dose in the folder" + (r.plan.map { " for plan \($0.displayName)" } ?? ""), file: folder.root)
        }
        return r
    }

    /// The plan's label, for captions and provenance.
    public var planLabel: String? { plan?.displayName }

    // MARK: Prescription

    mutating func resolvePrescription(_ request: StudyRequest) {
        if let f = request.fractions {
            fractions = Sourced(f, source: "stated by the user")
            if let pf = plan?.fractions, pf != f { notes.append("\(f) fractions stated by the user override the plan's \(pf)") }
        } else if let p = plan, let f = p.fractions {
            fractions = Sourced(f, source: "RT Plan \(p.displayName): Number of Fractions Planned")
        } else if let p = plan, p.fractionGroups.count > 1 {
            notes.append("RT Plan \(p.displayName) has \(p.fractionGroups.count) fraction groups: the fraction count is not taken from it")
        }
        if let rxGy = request.rxGy {
            rx = Sourced(rxGy, source: "stated by the user")
            if let prx = plan?.prescriptionGy, abs(prx - rxGy) > 1e-6 { notes.append("the prescription stated by the user (\(short(rxGy)) Gy) overrides the plan's \(short(prx)) Gy") }
        } else if let p = plan, let prx = p.prescriptionGy {
            rx = Sourced(prx, source: "RT Plan \(p.displayName): Target Prescription Dose")
        }
        if let a = request.ageYears {
            age = Sourced(a, source: "stated by the user")
            if let pa = plan?.patientAgeYears, abs(pa - a) >= 1 { notes.append("the age stated by the user (\(short(a)) y) overrides the plan's Patient's Age \(plan?.patientAge ?? "")") }
        } else if let p = plan, let a = p.patientAgeYears {
            age = Sourced(a, source: "RT Plan \(p.displayName): Patient's Age \(p.patientAge ?? "")")
        }
    }

    // MARK: Plan

    static func choosePlan(_ folder: StudyFolder, _ request: StudyRequest, explicitDoses: [DoseGrid], choices: inout [String]) throws -> Plan? {
        let plans = folder.plans
        if let wanted = request.plan {
            let hits = plans.filter { $0.sopInstanceUID == wanted || ($0.label ?? "").caseInsensitiveCompare(wanted) == .orderedSame }
            guard !hits.isEmpty else {
                throw SBRTError(.noPlan, "no RT Plan labelled or identified \"\(wanted)\"; plans here: \(planList(plans, folder))", file: folder.root)
            }
            guard hits.count == 1 else {
                throw SBRTError(.ambiguous, "\(hits.count) plans are labelled \"\(wanted)\"; pick one by SOP Instance UID: \(planList(hits, folder))", file: folder.root)
            }
            choices.append("plan \(hits[0].displayName): chosen by the user")
            return hits[0]
        }
        let referenced = Set(explicitDoses.flatMap(\.referencedPlanUIDs))
        if !referenced.isEmpty, let p = plans.first(where: { referenced.contains($0.sopInstanceUID) }) {
            choices.append("plan \(p.displayName): referenced by the given dose")
            return p
        }
        switch plans.count {
        case 0:
            return nil
        case 1:
            choices.append("plan \(plans[0].displayName): the only RT Plan in the folder")
            return plans[0]
        default:
            // Plans whose dose is in the folder are the candidates when a dose is needed.
            let withDose = plans.filter { p in folder.doses.contains { $0.referencedPlanUIDs.contains(p.sopInstanceUID) } }
            if request.needs.contains(.dose) && explicitDoses.isEmpty && withDose.count == 1 {
                choices.append("plan \(withDose[0].displayName): the only one of \(plans.count) RT Plans with a dose in the folder")
                return withDose[0]
            }
            throw SBRTError(.ambiguous, "\(plans.count) RT Plans in the folder; pick one by label or SOP Instance UID: \(planList(plans, folder))", file: folder.root)
        }
    }

    /// "label (UID, N fx, Rx G Gy, dose files: …)" for each plan.
    static func planList(_ plans: [Plan], _ folder: StudyFolder) -> String {
        plans.map { p in
            let doses = folder.doses.filter { $0.referencedPlanUIDs.contains(p.sopInstanceUID) }
                .map { "\(($0.path as NSString).lastPathComponent) \($0.summationType)" }
            return "\(p.label ?? "(no label)") (UID \(p.sopInstanceUID), \(p.fractions.map { "\($0) fx" } ?? "fractions unknown"), "
                + "Rx \(p.prescriptionGy.map { "\(short($0)) Gy" } ?? "not stated"), dose files: \(doses.isEmpty ? "none" : doses.joined(separator: ", ")))"
        }.joined(separator: "; ")
    }

    static func readDose(_ path: String) throws -> DoseGrid {
        let file = try DICOMFile.read(path: path)
        guard file.sopClassUID == SOPClass.rtDose || file.modality == "RTDOSE" else {
            throw SBRTError(.noDose, "not an RT Dose (SOP Class \(file.sopClassUID ?? "none"))", file: path)
        }
        return try DoseGrid(file: file)
    }
}

extension Plan {
    /// The plan's label, else its name, else its SOP Instance UID.
    public var displayName: String { label ?? name ?? sopInstanceUID }
}

/// A dose or count without trailing zeros: 40, 7.25.
func short(_ v: Double) -> String {
    v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%g", v)
}
