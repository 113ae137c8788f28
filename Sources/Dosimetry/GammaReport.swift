import Base
import Foundation
import Geometry
import RTModel
import VoxelKit

/// What `sbrt gamma` reports: the pass rate and γ statistics, the histogram, per-structure
/// results, and every convention and input that makes the numbers reproducible.
public struct GammaReport: Codable, Sendable {
    public var schema = "sbrt.gamma/1"
    public var software: String
    public var criteria: String
    /// 100 × points with γ ≤ 1 / points evaluated; nil without points.
    public var passRatePct: Double?
    public var pointsEvaluated: Int
    public var pointsPassed: Int
    public var meanGamma: Double?
    public var p95Gamma: Double?
    public var maxGammaFound: Double?
    public var histogram: [GammaBin]
    public var structures: [GammaStructureResult]
    public var search: Search
    public var conventions: Conventions
    public var reference: Source
    public var evaluated: Source
    public var warnings: [String]
    /// A required pass rate and whether it was met (set by the caller that asks for one).
    public var requirement: Requirement?

    public struct Search: Codable, Sendable {
        public var method: String
        public var toleranceGamma: Double
        /// The largest γ̂ − √(lower bound) over all points: every reported γ is within this of the exact minimum.
        public var largestErrorBound: Double
        public var undecidedPoints: Int
        public var pointsWithinToleranceOfOne: Int
        public var outsideEvaluatedGrid: Int
        public var boxesExamined: Int
    }

    public struct Conventions: Codable, Sendable {
        public var definition: String
        public var mode: String
        public var doseCriterionPercent: Double
        /// ΔD in Gy for global gamma; nil for local.
        public var doseCriterionGy: Double?
        public var doseCriterion: String
        public var distanceCriterionMM: Double
        public var normalisation: String
        public var normalisationGy: Double
        public var thresholdPercent: Double
        public var thresholdGy: Double
        public var points: String
        public var evaluatedDose: String
        public var maxGamma: Double
        public var maxGammaRule: String
        public var pass: String
        public var statistics: String
    }

    public struct Source: Codable, Sendable {
        public var path: String
        public var doseFile: String
        public var sopInstanceUID: String
        public var frameOfReferenceUID: String?
        /// What the dose is and what was done with it (the resolver's summary).
        public var summationType: String
        public var grid: String
        public var maxGy: Double?
    }

    public struct Requirement: Codable, Sendable {
        public var minimumPassPct: Double
        public var met: Bool
        public init(minimumPassPct: Double, met: Bool) {
            self.minimumPassPct = minimumPassPct
            self.met = met
        }
    }

    init(request: GammaRequest, map: GammaMap, normalisation: String, reference: GammaInput, evaluated: GammaInput,
         referenceMaxGy: Double, statistics s: GammaStatistics, histogram: [GammaBin], structures: [GammaStructureResult],
         warnings: [String]) {
        let o = request.options
        software = DVHAnalysis.softwareName
        criteria = o.label
        passRatePct = s.passRatePct
        pointsEvaluated = s.points
        pointsPassed = s.passed
        meanGamma = s.meanGamma
        p95Gamma = s.p95Gamma
        maxGammaFound = s.maxGamma
        self.histogram = histogram
        self.structures = structures
        search = Search(method: GammaReport.method, toleranceGamma: o.tolerance, largestErrorBound: map.largestErrorBound,
                        undecidedPoints: map.undecidedPoints, pointsWithinToleranceOfOne: s.withinToleranceOfOne,
                        outsideEvaluatedGrid: map.outsideEvaluatedGrid, boxesExamined: map.boxes)
        conventions = GammaReport.conventions(o, map, normalisation)
        self.reference = GammaReport.source(reference, maxGy: referenceMaxGy)
        self.evaluated = GammaReport.source(evaluated, maxGy: nil)
        self.warnings = warnings
    }

    static let method = "branch and bound over the trilinear cells of the evaluated dose within reach (reach = min(γ found, max-gamma) × DTA): each box bounded below by the distance to the box plus the dose gap to its corner range, and by a supporting plane of a convex minorant (linear part of the trilinear form ± its mixed terms); split until the bounds meet within the tolerance; pass/fail refined until settled"

    static func conventions(_ o: GammaOptions, _ map: GammaMap, _ normalisation: String) -> Conventions {
        let dd = o.criteria.dosePercent
        let pct = GammaCriteria.number(dd)
        return Conventions(
            definition: "Γ(r)² = min over x of |x − r|²/Δd² + (De(x) − Dr)²/ΔD² (Low et al. 1998), De the evaluated dose, Dr the reference dose at r",
            mode: o.local ? "local" : "global",
            doseCriterionPercent: dd,
            doseCriterionGy: o.local ? nil : dd / 100 * map.normalisationGy,
            doseCriterion: o.local ? "ΔD = \(pct) % of the reference dose at each point" : "ΔD = \(pct) % of the normalisation dose",
            distanceCriterionMM: o.criteria.distanceMM,
            normalisation: normalisation,
            normalisationGy: map.normalisationGy,
            thresholdPercent: o.thresholdPercent,
            thresholdGy: map.cutoffGy,
            points: "every reference dose voxel centre with dose ≥ the threshold (a percentage of the normalisation dose)" + (o.local ? " and above 0 Gy" : ""),
            evaluatedDose: "trilinear between evaluated voxel centres; within half a voxel beyond the outermost centres, the nearest face's value; nothing further out (the search does not go there)",
            maxGamma: o.maxGamma,
            maxGammaRule: "a point with no γ below max-gamma within max-gamma × DTA reports max-gamma and fails; mean, 95th percentile and histogram count it at max-gamma",
            pass: "γ ≤ 1",
            statistics: "mean over evaluated points; 95th percentile by nearest rank (the ⌈0.95 n⌉-th smallest γ); histogram bins [a, a + 0.1)")
    }

    static func source(_ input: GammaInput, maxGy: Double?) -> Source {
        let g = input.dose.grid
        let f = { (x: Double) in String(format: "%g", x) }
        return Source(path: input.path, doseFile: input.dose.paths.joined(separator: " + "), sopInstanceUID: input.dose.primary.sopInstanceUID,
                      frameOfReferenceUID: input.dose.frameOfReferenceUID, summationType: input.dose.summary,
                      grid: "\(g.nx)×\(g.ny)×\(g.nz) at \(f(g.spacing.x))×\(f(g.spacing.y))×\(f(g.spacing.z)) mm", maxGy: maxGy)
    }
}

extension GammaStudy {
    /// Pass rates inside each named structure, from the structure set the resolver found
    /// with the reference dose (else with the evaluated dose; both are on one frame).
    /// A reference point belongs to a structure when its centre is inside the prism solid.
    static func structureResults(_ names: [String], _ ref: GammaInput, _ ev: GammaInput, _ map: GammaMap,
                                 tolerance: Double) throws -> [GammaStructureResult] {
        guard !names.isEmpty else { return [] }
        guard let (ss, images) = [ref, ev].lazy.compactMap({ i in i.study.structureSet.map { ($0, i.study.images) } }).first else {
            throw SBRTError(.noStructureSet, "per-structure gamma needs an RT Structure Set on the reference dose's frame of reference in \(ref.path) or \(ev.path); none found", file: ref.path)
        }
        let frame = images.map { PlaneFrame(grid: $0.grid) } ?? .patient
        let shapes = ss.rois.map { PlanarShape(roi: $0, frame: frame) }
        let sliceSpacing = images?.grid.spacing.z ?? DVHAnalysis.medianGap(shapes) ?? 1
        let g = map.gamma.grid
        return try names.map { name in
            let key = name.trimmingSpaces().lowercased()
            guard let n = ss.rois.firstIndex(where: { $0.name.trimmingSpaces().lowercased() == key }) else {
                throw SBRTError(.structureNotFound, "no ROI named \"\(name)\" (structures: \(ss.rois.map(\.name).joined(separator: ", ")))", file: ss.path)
            }
            let solid = PrismSolid(shape: shapes[n], sliceSpacing: sliceSpacing)
            var values: [Float] = []
            for (v, gamma) in map.gamma.voxels.enumerated() where gamma >= 0 {
                let i = v % g.nx, j = (v / g.nx) % g.ny, k = v / (g.nx * g.ny)
                if solid.contains(g.position(Double(i), Double(j), Double(k))) { values.append(gamma) }
            }
            return GammaStructureResult(name: ss.rois[n].name, statistics: GammaStatistics(values, tolerance: tolerance),
                                        note: values.isEmpty ? "no evaluated reference point lies inside" : nil)
        }
    }
}
