import ArgumentParser
import Base
import Foundation
import Geometry
import RTModel

/// How a command picks the plan, dose and structure set of a folder (shared by every
/// command that reads a plan with its dose; see docs/study.md).
struct StudyOptions: ParsableArguments {
    @OptionGroup var selection: StructureSetOptions

    @Option(name: .customLong("dose"), help: "An RT Dose file to use instead of the folder's choice; repeat to sum the BEAM doses of one plan.")
    var doses: [String] = []

    @OptionGroup var perSession: PerSessionOption

    func request(_ needs: Set<StudyRequest.Need>, rx: PrescriptionOptions? = nil, age: Double? = nil) -> StudyRequest {
        var r = selection.request(needs)
        r.loadsDose = true
        r.dosePaths = doses
        r.perSessionDose = perSession.perSessionDose
        r.rxGy = rx?.rx
        r.fractions = rx?.fractions
        r.ageYears = age
        return r
    }

    /// Resolves `path`; a resolution error gets the option that fixes it.
    func resolve(_ path: String, needs: Set<StudyRequest.Need>, rx: PrescriptionOptions? = nil, age: Double? = nil) throws -> ResolvedStudy {
        try StudyOptions.resolve(path, request(needs, rx: rx, age: age))
    }

    static func resolve(_ path: String, _ request: StudyRequest) throws -> ResolvedStudy {
        do {
            return try ResolvedStudy.resolve(path, request)
        } catch var e as SBRTError {
            e.message += hint(e)
            throw e
        }
    }

    /// The option that resolves an error of the study resolver, in words.
    static func hint(_ e: SBRTError) -> String {
        switch e.kind {
        case .ambiguous where e.message.contains("RT Plan"):
            return " (--plan LABEL|UID)"
        case .ambiguous where e.message.contains("Structure Set"):
            return " (--structure-set FILE)"
        case .ambiguous, .noDose:
            return " (--dose FILE)"
        case .doseType where e.message.contains("one treatment session"):
            return " (--per-session-dose)"
        case .doseType where e.message.contains("fraction count is unknown"):
            return " (--fractions N)"
        case .noStructureSet:
            return " (--structure-set FILE)"
        default:
            return ""
        }
    }
}

/// The statement that a per-session dose is one fraction's dose: one flag for every
/// command that reads doses (`sbrt composite` also takes it per course).
struct PerSessionOption: ParsableArguments {
    @Flag(help: "Take a per-session dose (Dose Summation Type FRACTION_SESSION, BEAM_SESSION, CONTROL_POINT) as one fraction's dose and multiply it by the plan's fractions; every report says so.")
    var perSessionDose = false
}

/// How a command that needs no dose picks the plan and structure set of a folder.
struct StructureSetOptions: ParsableArguments {
    @Option(help: "The RT Plan to use, by label or SOP Instance UID, when the folder holds several.")
    var plan: String?

    @Option(name: .customLong("structure-set"), help: "An RT Structure Set file to use instead of the folder's choice.")
    var structureSet: String?

    func request(_ needs: Set<StudyRequest.Need>) -> StudyRequest {
        var r = StudyRequest(needs: needs)
        r.loadsDose = false
        r.plan = plan
        r.structureSetPath = structureSet
        return r
    }

    func resolve(_ path: String, needs: Set<StudyRequest.Need>) throws -> ResolvedStudy {
        try StudyOptions.resolve(path, request(needs))
    }
}

/// The prescription and fraction count, when the user states them.
struct PrescriptionOptions: ParsableArguments {
    @Option(help: "Prescription dose in Gy (overrides the plan's).")
    var rx: Double?

    @Option(help: "Number of fractions (overrides the plan's).")
    var fractions: Int?

    func validate() throws {
        try OptionRange.check(rx, OptionRange.rxGy, "--rx", unit: "Gy")
        if let fractions, !InputLimits.fractions.contains(fractions) {
            throw ValidationError("--fractions must be a whole number within \(InputLimits.fractions.lowerBound)–\(InputLimits.fractions.upperBound) (got \(fractions))")
        }
    }
}

extension EndCap: ExpressibleByArgument {}
