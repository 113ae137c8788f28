import Base
import DICOM
import Foundation
import Geometry
import RTModel
import VoxelKit

/// The value of one metric for one structure, or why it could not be evaluated.
public struct MetricResult: Codable, Sendable, Equatable {
    public var metric: String
    public var value: Double?
    public var unit: String
    /// Why `value` is absent (e.g. "needs the prescription"), or a caveat.
    public var note: String?
}

/// What `sbrt dvh` computes: per structure, the DVH summary, the requested metrics and
/// warnings, with the conventions and provenance that make the numbers reproducible.
public struct DVHReport: Codable, Sendable {
    public var schema = "sbrt.dvh/1"
    public var conventions: Conventions
    public var provenance: Provenance
    public var prescription: Prescription
    public var structures: [StructureEntry]

    public struct Conventions: Codable, Sendable {
        public var endCap: String
        public var endCapDescription: String
        public var sampling: String
        public var doseInterpolation: String
        public var volumeAtDose: String
        public var doseAtVolume: String
        public var histogramBinWidthGy: Double
        public var outsideDoseGrid: String
        public var isodoseVolumes: String
        public var expressions: String
    }

    public struct Provenance: Codable, Sendable {
        public var software: String
        public var doseFile: String
        public var doseSOPInstanceUID: String
        public var structureSetFile: String
        public var structureSetSOPInstanceUID: String
        public var ctSeriesInstanceUID: String?
        public var planFile: String?
        public var planSOPInstanceUID: String?
    }

    public struct Prescription: Codable, Sendable {
        public var rxGy: Double?
        /// "--rx", "RT Plan <label>", or nil when unknown.
        public var source: String?
        public var fractions: Int?
        public var fractionsSource: String?
    }

    public struct StructureEntry: Codable, Sendable {
        public var name: String
        public var expression: String
        public var roiNumber: Int?
        public var type: String?
        public var volumeCC: Double
        public var minGy: Double
        public var meanGy: Double
        public var maxGy: Double
        public var outsideDoseGridPercent: Double
        public var metrics: [MetricResult]
        public var warnings: [String]
        public var sampling: DVH.Sampling
    }
}

/// A request for DVHs.
public struct DVHRequest: Sendable {
    /// Names or expressions; empty for every ROI with closed contours.
    public var structures: [String] = []
    public var metrics: [Metric] = []
    public var rxGy: Double?
    public var fractions: Int?
    public var options = DVHOptions()
    /// An RTDOSE file to use instead of the folder's dose.
    public var dosePath: String?
    public init() {}
}

/// DVHs and metrics for the structures of a study folder.
public struct DVHAnalysis: Sendable {
    public var report: DVHReport
    public var dvhs: [DVH]
    /// The embedded (planning-system) DVHs of the dose, by ROI number.
    public var embedded: [Int: EmbeddedDVH]
    public var roiNumbers: [String: Int]

    public static let softwareName = "sbrt 0.1.0"

    /// Loads what the request needs from `folder` and computes every DVH and metric.
    /// - Throws: `SBRTError` naming the file or structure at fault.
    public static func run(_ folder: StudyFolder, _ request: DVHRequest) throws -> DVHAnalysis {
        // Dose grid.
        let doseGrid: DoseGrid
        if let path = request.dosePath {
            let file = try DICOMFile.read(path: path)
            guard file.sopClassUID == SOPClass.rtDose || file.modality == "RTDOSE" else {
                throw SBRTError(.invalidRequest, "\(path): not an RT Dose (SOP Class \(file.sopClassUID ?? "none"))")
            }
            doseGrid = try DoseGrid(file: file)
        } else {
            let doses = folder.doses
            guard !doses.isEmpty else { throw SBRTError(.invalidRequest, "\(folder.root): no RT Dose in the folder; give one with --dose") }
            if doses.count == 1 {
                doseGrid = doses[0]
            } else {
                let plans = doses.filter { $0.summationType == "PLAN" }
                guard plans.count == 1 else {
                    throw SBRTError(.invalidRequest, "\(folder.root): \(doses.count) RT Dose grids (\(doses.map { "\(($0.path as NSString).lastPathComponent) \($0.summationType)" }.joined(separator: ", "))); choose one with --dose")
                }
                doseGrid = plans[0]
            }
        }
        guard doseGrid.units == "GY" else {
            throw SBRTError(.invalidRequest, "\(doseGrid.path): Dose Units are \(doseGrid.units), not GY; absolute DVH metrics need a dose in Gy")
        }
        // Structure set on the dose's frame of reference.
        let candidates = folder.structureSets.filter { ss in
            guard let f = doseGrid.frameOfReferenceUID, !ss.frameOfReferenceUIDs.isEmpty else { return true }
            return ss.frameOfReferenceUIDs.contains(f)
        }
        guard let structureSet = candidates.first else {
            if folder.structureSets.isEmpty { throw SBRTError(.invalidRequest, "\(folder.root): no RT Structure Set in the folder") }
            throw SBRTError(.invalidRequest, "\(doseGrid.path): the dose grid is on frame of reference \(doseGrid.frameOfReferenceUID ?? "?"), which no structure set shares (\(folder.structureSets.flatMap(\.frameOfReferenceUIDs).joined(separator: ", "))); a registration is needed")
        }
        if candidates.count > 1 {
            throw SBRTError(.invalidRequest, "\(folder.root): \(candidates.count) structure sets share the dose's frame of reference; keep one per folder")
        }
        let ct = folder.ctSeries(for: structureSet)
        let frame = ct.map { PlaneFrame(grid: $0.grid) } ?? .patient
        let shapes = structureSet.rois.map { PlanarShape(roi: $0, frame: frame) }
        let sliceSpacing = ct?.grid.spacing.z ?? medianGap(shapes) ?? 1
        let doseVolume = try doseGrid.loadDose()
        let field = DoseField(doseVolume)
        let engine = DVHEngine(frame: frame, sliceSpacing: sliceSpacing, shapes: shapes, dose: field, options: request.options)

        // Prescription and fractions: from the request, else the plan; never guessed.
        let plan = folder.plans.count == 1 ? folder.plans[0] : folder.plans.first { p in doseGrid.referencedPlanUIDs.contains(p.sopInstanceUID) }
        var rx = DVHReport.Prescription(rxGy: nil, source: nil, fractions: nil, fractionsSource: nil)
        if let r = request.rxGy { rx.rxGy = r; rx.source = "--rx" } else if let r = plan?.prescriptionGy {
            rx.rxGy = r; rx.source = "RT Plan \(plan?.label ?? "") Target Prescription Dose"
        }
        if let f = request.fractions { rx.fractions = f; rx.fractionsSource = "--fractions" } else if let f = plan?.fractions {
            rx.fractions = f; rx.fractionsSource = "RT Plan \(plan?.label ?? "") Number of Fractions Planned"
        }

        // Structures.
        let names = structureSet.rois.map(\.name)
        let requested: [String] = request.structures.isEmpty
            ? structureSet.rois.filter { r in r.contours.contains { $0.isClosedPlanar } }.map(\.name)
            : request.structures
        var isodose: [Double]?
        func isodoseVolumes() -> [Double]? {
            guard let r = rx.rxGy else { return nil }
            if isodose == nil { isodose = field.isodoseVolumesCC([r, 0.5 * r]) }
            return isodose
        }
        var entries: [DVHReport.StructureEntry] = []
        var dvhs: [DVH] = []
        var numbers: [String: Int] = [:]
        for text in requested {
            let expr: StructureExpression
            do { expr = try StructureExpression.parse(text, knownNames: names) } catch let e as StructureExpression.ParseError {
                throw SBRTError(.invalidRequest, e.description)
            }
            for n in expr.names where !names.contains(n) {
                throw SBRTError(.invalidRequest, "\(structureSet.path): no ROI named \"\(n)\" (structures: \(names.joined(separator: ", ")))")
            }
            let dvh = try engine.dvh(expr, name: text)
            let roi: ROI? = { if case .roi(let n) = expr { return structureSet.rois.first { $0.name == n } } else { return nil } }()
            if let roi { numbers[dvh.name] = roi.number }
            var warnings: [String] = []
            if dvh.outsideFraction > 0.0005 {
                warnings.append(String(format: "%.1f %% of the structure lies outside the dose grid and is counted at 0 Gy", 100 * dvh.outsideFraction))
            }
            for n in expr.names {
                let s = shapes.first { $0.name == n }!
                if s.planes.count == 1 {
                    warnings.append("\(n) is contoured on one plane only: its volume rests on the end-cap convention (\(request.options.endCap.rawValue))")
                }
                let gaps = zip(s.planes, s.planes.dropFirst()).filter { $1.w - $0.w > 1.5 * sliceSpacing }
                if !gaps.isEmpty {
                    warnings.append("\(n) skips planes (\(gaps.map { String(format: "%.1f–%.1f mm", $0.0.w, $0.1.w) }.joined(separator: ", "))): treated as separate pieces, each with end caps")
                }
            }
            if dvh.volumeCC < 0.5 {
                warnings.append(String(format: "small structure (%.3f cc): sampled with %d samples of %.2f mm", dvh.volumeCC, dvh.sampling.samples, dvh.sampling.cellMM))
            }
            let metrics = request.metrics.map { m in
                evaluate(m, dvh: dvh, rx: rx.rxGy, isodose: isodoseVolumes,
                         d2cm: { field.maxDose(beyond: 20, of: unionShape(expr, shapes), frame: frame, sliceSpacing: sliceSpacing) })
            }
            entries.append(DVHReport.StructureEntry(
                name: text, expression: expr.description, roiNumber: roi?.number, type: roi?.interpretedType,
                volumeCC: dvh.volumeCC, minGy: dvh.minGy, meanGy: dvh.meanGy, maxGy: dvh.maxGy,
                outsideDoseGridPercent: 100 * dvh.outsideFraction, metrics: metrics, warnings: warnings, sampling: dvh.sampling))
            dvhs.append(dvh)
        }

        let conventions = DVHReport.Conventions(
            endCap: request.options.endCap.rawValue,
            endCapDescription: {
                switch request.options.endCap {
                case .prism: return "each contour plane extruded to half the distance to its neighbours, and half a slice (\(sliceSpacing / 2) mm) beyond the first and last planes"
                case .none: return "each plane extruded to half the distance to its neighbours; nothing beyond the first and last planes"
                case .interpolated: return "signed-distance interpolation (circular arcs) between contiguous planes; tapering ends rounded along their curvature until they close, at most one slice (\(sliceSpacing) mm) beyond the end planes, other ends flat half a slice out"
                }
            }(),
            sampling: "exact polygon-area coverage on an in-plane lattice refined until each structure has at least \(request.options.minimumSamples) samples (cells no larger than the dose grid spacing or \(request.options.maximumCellMM) mm); sub-slices along the normal no thicker than the cell, half the dose grid spacing or the slice spacing; dose also evaluated at every contour vertex for Dmin and Dmax",
            doseInterpolation: "trilinear between dose voxel centres; each sample's dose spread uniformly over the change across its box",
            volumeAtDose: "V(D) is the volume receiving at least D (≥)",
            doseAtVolume: "Dx = inf{D : V(≥D) ≤ x}, by linear interpolation on the cumulative DVH (minimum dose to the hottest x); where the curve is flat at x the lower end, with a note",
            histogramBinWidthGy: dvhs.first?.binWidthGy ?? 0,
            outsideDoseGrid: "parts of a structure beyond half a voxel from the outermost dose voxel centres count in its volume at 0 Gy",
            isodoseVolumes: "PIV and PIV50% are volumes of the whole dose grid at ≥ Rx and ≥ 50 % Rx; D2cm is the largest dose at dose voxel centres ≥ 20 mm from every voxel centre inside the target",
            expressions: "union max(a,b), intersection min(a,b), difference max(0,a−b) of cell coverage fractions")
        let provenance = DVHReport.Provenance(
            software: softwareName, doseFile: doseGrid.path, doseSOPInstanceUID: doseGrid.sopInstanceUID,
            structureSetFile: structureSet.path, structureSetSOPInstanceUID: structureSet.sopInstanceUID,
            ctSeriesInstanceUID: ct?.seriesInstanceUID, planFile: plan?.path, planSOPInstanceUID: plan?.sopInstanceUID)
        var embedded: [Int: EmbeddedDVH] = [:]
        for e in doseGrid.embeddedDVHs where e.referencedROINumbers.count == 1 { embedded[e.referencedROINumbers[0]] = e }
        return DVHAnalysis(report: DVHReport(conventions: conventions, provenance: provenance, prescription: rx, structures: entries),
                           dvhs: dvhs, embedded: embedded, roiNumbers: numbers)
    }

    static func medianGap(_ shapes: [PlanarShape]) -> Double? {
        let gaps = shapes.flatMap { s in zip(s.planes, s.planes.dropFirst()).map { $1.w - $0.w } }.filter { $0 > 0.01 }.sorted()
        return gaps.isEmpty ? nil : gaps[gaps.count / 2]
    }

    /// The shape used for distance-based indices: the single ROI, or the first ROI of an expression.
    static func unionShape(_ e: StructureExpression, _ shapes: [PlanarShape]) -> PlanarShape {
        shapes.first { $0.name == e.names[0] }!
    }

    /// Evaluates one metric on a DVH.
    public static func evaluate(_ m: Metric, dvh: DVH, rx: Double?, isodose: () -> [Double]?, d2cm: () -> Double?) -> MetricResult {
        var r = MetricResult(metric: m.text, value: nil, unit: m.unitLabel, note: nil)
        if m.needsPrescription && rx == nil {
            r.note = "not evaluable: needs the prescription (--rx, or a plan with one Target Prescription Dose)"
            return r
        }
        func doseOut(_ d: Double?) -> Double? {
            guard let d else { return nil }
            return m.unit == .percentRx ? 100 * d / rx! : d
        }
        func volumeOut(_ cc: Double) -> Double { m.unit == .percentVolume ? (dvh.volumeCC > 0 ? 100 * cc / dvh.volumeCC : 0) : cc }
        func flatNote(_ cc: Double) {
            if let f = dvh.flatStretch(atCC: cc) {
                r.note = String(format: "ill-posed: the cumulative DVH is flat at this volume from %.2f to %.2f Gy; the lower end is reported", f.lowerBound, f.upperBound)
            }
        }
        switch m.kind {
        case .doseAtPercent(let x):
            r.value = doseOut(dvh.dose(hottestPercent: x))
            if x > 0 && x < 100 { flatNote(dvh.volumeCC * x / 100) }
        case .doseAtCC(let x):
            r.value = doseOut(dvh.dose(hottestCC: x))
            if r.value == nil { r.note = String(format: "not evaluable: the structure (%.3f cc) is smaller than %g cc", dvh.volumeCC, x) } else { flatNote(x) }
        case .dmin: r.value = doseOut(dvh.minGy)
        case .dmean: r.value = doseOut(dvh.meanGy)
        case .dmax: r.value = doseOut(dvh.maxGy)
        case .volumeAtGy(let x): r.value = volumeOut(dvh.volumeCC(atLeast: x))
        case .volumeAtPercentRx(let x): r.value = volumeOut(dvh.volumeCC(atLeast: x / 100 * rx!))
        case .criticalVolumeGy(let x): r.value = volumeOut(dvh.volumeCC - dvh.volumeCC(atLeast: x))
        case .homogeneityIndex:
            if let d2 = dvh.dose(hottestPercent: 2), let d98 = dvh.dose(hottestPercent: 98), let d50 = dvh.dose(hottestPercent: 50), d50 > 0 {
                r.value = (d2 - d98) / d50
            }
        case .rtogCI, .r100:
            if let piv = isodose()?[0], dvh.volumeCC > 0 { r.value = piv / dvh.volumeCC }
        case .r50:
            if let piv50 = isodose()?[1], dvh.volumeCC > 0 { r.value = piv50 / dvh.volumeCC }
        case .paddickCI:
            if let piv = isodose()?[0], piv > 0, dvh.volumeCC > 0 {
                let tvpiv = dvh.volumeCC(atLeast: rx!)
                r.value = tvpiv * tvpiv / (dvh.volumeCC * piv)
            }
        case .gradientIndex:
            if let v = isodose(), v[0] > 0 { r.value = v[1] / v[0] } else { r.note = "not evaluable: no volume reaches the prescription" }
        case .d2cm:
            if let d = d2cm() { r.value = 100 * d / rx! } else { r.note = "not evaluable: the dose grid does not reach 2 cm beyond the target" }
        }
        return r
    }
}
