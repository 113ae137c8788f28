import Base
import DICOM
import Foundation
import Geometry
import RTModel
import VoxelKit

/// One side of a gamma comparison: an RT Dose file or a plan folder, resolved by the
/// study resolver (which chooses the dose, sums a plan's BEAM doses, and decodes it once).
public struct GammaInput: Sendable {
    public var path: String
    public var study: ResolvedStudy
    public var dose: StudyDose

    /// Resolves `path` for its dose (in Gy).
    /// - Throws: the resolver's `SBRTError` (no dose, several to choose from, not in Gy…).
    public static func load(_ path: String) throws -> GammaInput {
        var request = StudyRequest(needs: [.dose])
        request.absoluteDose = true
        let study = try ResolvedStudy.resolve(path, request)
        guard let dose = study.dose else { throw SBRTError(.noDose, "no RT Dose found", file: path) }
        return GammaInput(path: path, study: study, dose: dose)
    }
}

/// What to compare and how.
public struct GammaRequest: Sendable {
    public var referencePath: String
    public var evaluatedPath: String
    public var options: GammaOptions
    /// Structures for per-structure pass rates (ROI names, case-insensitive).
    public var structures: [String] = []

    public init(referencePath: String, evaluatedPath: String, options: GammaOptions) {
        self.referencePath = referencePath
        self.evaluatedPath = evaluatedPath
        self.options = options
    }
}

/// A gamma comparison of two doses: the inputs, the γ map and the report.
public struct GammaStudy: Sendable {
    public var reference: GammaInput
    public var evaluated: GammaInput
    public var map: GammaMap
    public var report: GammaReport

    /// Loads both doses, checks they share a frame of reference, normalises, runs the
    /// search and summarises (per structure too).
    /// - Throws: `SBRTError` naming the files (frames of reference differ, units, no
    ///   prescription, unknown structure), and the resolver's and readers' errors.
    public static func run(_ request: GammaRequest) throws -> GammaStudy {
        let ref = try GammaInput.load(request.referencePath)
        let ev = try GammaInput.load(request.evaluatedPath)
        var warnings = try frameCheck(ref.dose, ev.dose)
        let refVolume = ref.dose.volume
        let evVolume = ev.dose.volume
        let (normGy, normLabel) = try normalisation(request.options.normalisation, ref, refVolume)
        let map = try GammaEngine.run(reference: refVolume, evaluated: evVolume, options: request.options, normalisationGy: normGy)
        let values = map.gamma.voxels.filter { $0 >= 0 }
        let structures = try structureResults(request.structures, ref, ev, map, tolerance: request.options.tolerance)
        if map.outsideEvaluatedGrid > 0 {
            warnings.append("\(map.outsideEvaluatedGrid) evaluated reference point(s) lie outside the evaluated dose grid; only evaluated dose within reach counts for them")
        }
        if map.undecidedPoints > 0 {
            warnings.append("\(map.undecidedPoints) point(s) with γ at 1 within the search limits are counted as failing")
        }
        let report = GammaReport(request: request, map: map, normalisation: normLabel, reference: ref, evaluated: ev,
                                 referenceMaxGy: Double(refVolume.voxels.max() ?? 0),
                                 statistics: GammaStatistics(values, tolerance: request.options.tolerance),
                                 histogram: GammaBin.histogram(values, maxGamma: request.options.maxGamma),
                                 structures: structures, warnings: warnings)
        return GammaStudy(reference: ref, evaluated: ev, map: map, report: report)
    }

    /// Refuses doses on different frames of reference; warns when one is missing.
    static func frameCheck(_ a: StudyDose, _ b: StudyDose) throws -> [String] {
        switch (a.frameOfReferenceUID, b.frameOfReferenceUID) {
        case let (x?, y?) where x != y:
            throw SBRTError(.frameOfReference, "the doses are on different frames of reference: \(a.primary.path) on \(x), \(b.primary.path) on \(y); gamma needs one frame of reference (register and resample first)", file: b.primary.path)
        case (nil, _), (_, nil):
            return ["a dose has no Frame of Reference UID: the two grids are taken to share one patient coordinate system"]
        default:
            return []
        }
    }

    /// The normalisation dose (Gy) and how it was chosen.
    static func normalisation(_ n: GammaNormalisation, _ ref: GammaInput, _ volume: Volume<Float>) throws -> (Double, String) {
        switch n {
        case .referenceMaximum:
            let m = Double(volume.voxels.max() ?? 0)
            guard m > 0 else { throw SBRTError(.invalidValue, "the reference dose is zero everywhere; nothing to normalise to", file: ref.dose.primary.path) }
            return (m, "reference maximum")
        case .doseGy(let d):
            return (d, "given dose")
        case .prescription:
            guard let rx = ref.study.rx, rx.value > 0 else {
                throw SBRTError(.noPlan, "normalising to the prescription needs a plan with a Target Prescription Dose beside the reference dose; none states one (give the dose in Gy instead)", file: ref.path)
            }
            return (rx.value, "prescription (\(rx.source))")
        }
    }
}
