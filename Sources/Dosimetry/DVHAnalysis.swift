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
    public var dose: DoseSource
    /// Notes of the study resolution (overrides, doses not used).
    public var notes: [String]
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
        /// The first (or only) dose file; `dose.files` lists every file summed.
        public var doseFile: String
        public var doseSOPInstanceUID: String
        public var structureSetFile: String
        public var structureSetSOPInstanceUID: String
        /// The planning image series (CT, MR or PET) of the structure set, when present.
        public var imageSeriesInstanceUID: String?
        public var imageModality: String?
        public var planFile: String?
        public var planSOPInstanceUID: String?
        /// How the study was resolved: one sentence per choice.
        public var choices: [String]
    }

    /// The dose the numbers were computed on: its files, Dose Summation Type and what
    /// was done with it.
    public struct DoseSource: Codable, Sendable {
        public var files: [String]
        public var sopInstanceUIDs: [String]
        public var summationType: String
        public var handling: String
        public var multiplier: Int
        public var summary: String

        public init(_ d: StudyDose) {
            files = d.paths
            sopInstanceUIDs = d.sopInstanceUIDs
            summationType = d.summationType
            handling = d.handling.rawValue
            multiplier = d.multiplier
            summary = d.summary
        }
    }

    public struct Prescription: Codable, Sendable {
        public var rxGy: Double?
        /// "stated by the user", "RT Plan <label>: Target Prescription Dose", or nil when unknown.
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
    /// Names or expressions to treat as targets, besides the ROIs of RT ROI Interpreted
    /// Type GTV, CTV or PTV. Target indices (HI, CI, PCI, GI, R50, R100, D2cm) are
    /// computed for targets only.
    public var targets: [String] = []
    /// Only `targets` are targets (ROIs of a target type are not added): a review names
    /// its targets, and only they count as lesions for each other's isodose geometry.
    public var onlyNamedTargets = false
    public var options = DVHOptions()
    public init() {}
}

/// DVHs and metrics for the structures of a study folder.
public struct DVHAnalysis: Sendable {
    public var report: DVHReport
    public var dvhs: [DVH]
    /// The embedded (planning-system) DVHs of the dose, by ROI number.
    public var embedded: [Int: EmbeddedDVH]
    public var roiNumbers: [String: Int]
    /// The dose field, shapes and caches the analysis ran with (for further metrics).
    let context: Context

    public static let softwareName = "sbrt 0.1.0"

    /// Computes every DVH and metric of `request` on a resolved study (its dose, decoded
    /// once, and its structure set).
    /// - Throws: `SBRTError` (`.noDose`, `.noStructureSet`, `.structureNotFound`, expression
    ///   and engine errors) naming the file or structure at fault.
    public static func run(_ study: ResolvedStudy, _ request: DVHRequest) throws -> DVHAnalysis {
        let ctx = try Context(study, request)
        let names = ctx.structureSet.rois.map(\.name)
        let requested: [String] = request.structures.isEmpty
            ? ctx.structureSet.rois.filter { r in r.hasClosedContours }.map(\.name)
            : request.structures
        var entries: [DVHReport.StructureEntry] = []
        var dvhs: [DVH] = []
        var numbers: [String: Int] = [:]
        for text in requested {
            let expr: StructureExpression
            do { expr = try StructureExpression.parse(text, knownNames: names) } catch let e as StructureExpression.ParseError {
                throw SBRTError(.invalidRequest, e.description)
            }
            for n in expr.names where !names.contains(n) {
                throw SBRTError(.structureNotFound, "no ROI named \"\(n)\" (structures: \(names.joined(separator: ", ")))", file: ctx.structureSet.path)
            }
            let (entry, dvh) = try ctx.entry(text, expr)
            if let n = entry.roiNumber { numbers[dvh.name] = n }
            entries.append(entry)
            dvhs.append(dvh)
        }
        let report = DVHReport(conventions: ctx.conventions(binWidthGy: dvhs.first?.binWidthGy ?? 0), provenance: provenance(study),
                               prescription: ctx.rx, dose: .init(ctx.dose), notes: study.notes, structures: entries)
        var embedded: [Int: EmbeddedDVH] = [:]
        for d in ctx.dose.files { for e in d.embeddedDVHs where e.referencedROINumbers.count == 1 && ctx.dose.files.count == 1 { embedded[e.referencedROINumbers[0]] = e } }
        return DVHAnalysis(report: report, dvhs: dvhs, embedded: embedded, roiNumbers: numbers, context: ctx)
    }

    /// Evaluates `metric` on the DVH of `name` (a structure this analysis computed), with
    /// the analysis's prescription, isodose volumes and dose field.
    public func metric(_ metric: Metric, of name: String) -> MetricResult? {
        guard let dvh = dvhs.first(where: { $0.name == name }),
              let entry = report.structures.first(where: { $0.name == name }),
              let expr = try? StructureExpression.parse(entry.name, knownNames: context.structureSet.rois.map(\.name)) else { return nil }
        return context.evaluate(metric, dvh, expr)
    }

    /// Whether `name` (a structure this analysis computed) is a target: an ROI of type
    /// GTV, CTV or PTV, or named as a target in the request.
    public func isTarget(_ name: String) -> Bool {
        guard let expr = try? StructureExpression.parse(name, knownNames: context.structureSet.rois.map(\.name)) else { return false }
        return context.isTarget(name, expr)
    }

    /// The dose the analysis ran on (decoded once by the study resolver).
    public var doseField: DoseField { context.field }

    static func provenance(_ study: ResolvedStudy) -> DVHReport.Provenance {
        let d = study.dose!
        return DVHReport.Provenance(
            software: softwareName, doseFile: d.primary.path, doseSOPInstanceUID: d.primary.sopInstanceUID,
            structureSetFile: study.structureSet?.path ?? "", structureSetSOPInstanceUID: study.structureSet?.sopInstanceUID ?? "",
            imageSeriesInstanceUID: study.images?.seriesInstanceUID, imageModality: study.images?.modality.rawValue, planFile: study.plan?.path, planSOPInstanceUID: study.plan?.sopInstanceUID,
            choices: study.choices)
    }

    /// What every structure of one analysis shares: dose field, frame, shapes, engine, Rx.
    struct Context {
        var dose: StudyDose
        var structureSet: StructureSet
        var frame: PlaneFrame
        var shapes: [PlanarShape]
        var sliceSpacing: Double
        var field: DoseField
        var engine: DVHEngine
        var options: DVHOptions
        var rx: DVHReport.Prescription
        var metrics: [Metric]
        var targetTexts: [String]
        var onlyNamedTargets: Bool
        var targetGeometry = TargetGeometryCache()

        init(_ study: ResolvedStudy, _ request: DVHRequest) throws {
            guard let dose = study.dose else { throw SBRTError(.noDose, "no RT Dose to compute DVHs on", file: study.root) }
            guard let ss = study.structureSet else { throw SBRTError(.noStructureSet, "no RT Structure Set", file: study.root) }
            guard dose.units.uppercased() == "GY" else {
                throw SBRTError(.doseType, "Dose Units are \(dose.units), not GY; absolute DVH metrics need a dose in Gy", file: dose.primary.path)
            }
            self.dose = dose
            structureSet = ss
            let frame = study.images.map { PlaneFrame(grid: $0.grid) } ?? .patient
            let shapes = ss.rois.map { PlanarShape(roi: $0, frame: frame) }
            self.frame = frame
            self.shapes = shapes
            sliceSpacing = study.images?.grid.spacing.z ?? DVHAnalysis.medianGap(shapes) ?? 1
            field = DoseField(dose.volume)
            options = request.options
            engine = DVHEngine(frame: frame, sliceSpacing: sliceSpacing, shapes: shapes, dose: field, options: request.options)
            rx = DVHReport.Prescription(rxGy: study.rx?.value, source: study.rx?.source,
                                        fractions: study.fractions?.value, fractionsSource: study.fractions?.source)
            metrics = request.metrics
            targetTexts = request.targets
            onlyNamedTargets = request.onlyNamedTargets
        }

        /// The DVH, metrics and warnings of one structure or expression.
        func entry(_ text: String, _ expr: StructureExpression) throws -> (DVHReport.StructureEntry, DVH) {
            let dvh = try engine.dvh(expr, name: text)
            let roi: ROI? = { if case .roi(let n) = expr { return structureSet.rois.first { $0.name == n } } else { return nil } }()
            let metrics = self.metrics.map { evaluate($0, dvh, expr) }
            let entry = DVHReport.StructureEntry(
                name: text, expression: expr.description, roiNumber: roi?.number, type: roi?.interpretedType,
                volumeCC: dvh.volumeCC, minGy: dvh.minGy, meanGy: dvh.meanGy, maxGy: dvh.maxGy,
                outsideDoseGridPercent: 100 * dvh.outsideFraction, metrics: metrics, warnings: warnings(expr, dvh), sampling: dvh.sampling)
            return (entry, dvh)
        }

        /// Evaluates `m` on one structure; target indices only for targets, with their
        /// isodose volumes connected to the target and a note where lesions' isodose
        /// volumes merge.
        func evaluate(_ m: Metric, _ dvh: DVH, _ expr: StructureExpression) -> MetricResult {
            let rxGy = rx.rxGy
            guard !m.isTargetIndex || isTarget(dvh.name, expr) else {
                return MetricResult(metric: m.text, value: nil, unit: m.unitLabel,
                                    note: "not a target: indices are computed for targets (RT ROI Interpreted Type GTV, CTV or PTV, or named as a target)")
            }
            let key = expr.description
            var merged: [String: [String]] = [:]
            var r = DVHAnalysis.evaluate(m, dvh: dvh, rx: rxGy, isodose: {
                guard let rx = rxGy else { return nil }
                let t = targetGeometry.get(self)
                guard let a = t.connected(key, levelGy: rx), let b = t.connected(key, levelGy: 0.5 * rx) else { return nil }
                merged["100 % Rx"] = a.merged
                merged["50 % Rx"] = b.merged
                return [a.volumeCC, b.volumeCC]
            }, d2cm: { targetGeometry.get(self).d2cmGy(key) })
            // The levels the metric reads: Rx for CI, R100 and PCI, 50 % Rx for R50, both for GI.
            let levels: Set<String> = m.kind == .r50 ? ["50 % Rx"] : (m.kind == .gradientIndex ? ["100 % Rx", "50 % Rx"] : ["100 % Rx"])
            let notes = merged.sorted { $0.key > $1.key }.filter { !$0.value.isEmpty && levels.contains($0.key) }
                .map { "the isodose volume at \($0.key) merges with that of \($0.value.joined(separator: ", ")) (another lesion): the value covers both" }
            if !notes.isEmpty { r.note = ([r.note].compactMap { $0 } + notes).joined(separator: "; ") }
            return r
        }

        /// Whether a structure is a target: an ROI of type GTV, CTV or PTV, or a name or
        /// expression the request names as a target.
        func isTarget(_ text: String, _ expr: StructureExpression) -> Bool {
            if !onlyNamedTargets, case .roi(let n) = expr, let roi = structureSet.roi(named: n), Self.targetTypes.contains((roi.interpretedType ?? "").uppercased()) {
                return true
            }
            return targetTexts.contains { StructureName.same($0, text) || (try? StructureExpression.parse($0, knownNames: structureSet.rois.map(\.name))) == expr }
        }

        static let targetTypes: Set<String> = ["GTV", "CTV", "PTV", "ITV"]

        /// Every target of the study for lesion-level isodose geometry: the ROIs of a
        /// target type, then the request's targets.
        func targetList() -> [TargetIsodose.Target] {
            var out: [TargetIsodose.Target] = []
            var seen = Set<String>()
            let names = structureSet.rois.map(\.name)
            var exprs: [(String, StructureExpression)] = onlyNamedTargets ? [] : structureSet.rois
                .filter { Self.targetTypes.contains(($0.interpretedType ?? "").uppercased()) && $0.hasClosedContours }
                .map { ($0.name, .roi($0.name)) }
            for t in targetTexts { if let e = try? StructureExpression.parse(t, knownNames: names) { exprs.append((t, e)) } }
            for (text, e) in exprs where seen.insert(e.description).inserted {
                guard let (mask, lower, upper) = targetVoxels(e) else { continue }
                out.append(.init(name: e.description, voxels: mask, lower: lower, upper: upper,
                                 isUnion: StructureName.isUnion(text) || { if case .union = e { return true } else { return false } }()))
            }
            return out
        }

        /// Dose voxel centres inside an expression (its ROIs' voxel sets combined), and
        /// its bounding box in the plane frame; a target holding no voxel centre gets the
        /// voxel nearest its vertices' centroid.
        func targetVoxels(_ e: StructureExpression) -> ([Bool], Vec3, Vec3)? {
            var masks: [String: [Bool]] = [:]
            var lower = Vec3(repeating: .infinity), upper = Vec3(repeating: -.infinity)
            var vertices: [Vec3] = []
            for n in e.names {
                guard let s = shapes.first(where: { $0.name == n }), let b = s.bounds, let w0 = s.planes.first?.w, let w1 = s.planes.last?.w else { return nil }
                masks[n] = field.centreMask(of: s, frame: frame, sliceSpacing: sliceSpacing)
                lower = pointwiseMin(lower, Vec3(b.lo.x, b.lo.y, w0 - sliceSpacing / 2))
                upper = pointwiseMax(upper, Vec3(b.hi.x, b.hi.y, w1 + sliceSpacing / 2))
                vertices += s.vertices
            }
            func combine(_ e: StructureExpression) -> [Bool] {
                switch e {
                case .roi(let n): return masks[n]!
                case .union(let a, let b): return zip(combine(a), combine(b)).map { $0 || $1 }
                case .intersection(let a, let b): return zip(combine(a), combine(b)).map { $0 && $1 }
                case .difference(let a, let b): return zip(combine(a), combine(b)).map { $0 && !$1 }
                case .symmetricDifference(let a, let b): return zip(combine(a), combine(b)).map { $0 != $1 }
                }
            }
            var mask = combine(e)
            if !mask.contains(true), !vertices.isEmpty {
                let c = vertices.reduce(Vec3(repeating: 0), +) / Double(vertices.count)
                let x = field.index(c)
                let g = field.grid
                let i = min(max(Int((x.x.isFinite ? x.x : 0).rounded()), 0), g.nx - 1)
                let j = min(max(Int((x.y.isFinite ? x.y : 0).rounded()), 0), g.ny - 1)
                let k = min(max(Int((x.z.isFinite ? x.z : 0).rounded()), 0), g.nz - 1)
                mask[g.linearIndex(i, j, k)] = true
            }
            return (mask, lower, upper)
        }

        func warnings(_ expr: StructureExpression, _ dvh: DVH) -> [String] {
            var warnings: [String] = []
            if dvh.outsideFraction > 0.0005 {
                warnings.append(String(format: "%.1f %% of the structure lies outside the dose grid and is counted at 0 Gy", 100 * dvh.outsideFraction))
            }
            for n in expr.names {
                let s = shapes.first { $0.name == n }!
                if s.planes.count == 1 {
                    warnings.append("\(n) is contoured on one plane only: its volume rests on the end-cap convention (\(options.endCap.rawValue))")
                }
                let gaps = zip(s.planes, s.planes.dropFirst()).filter { $1.w - $0.w > 1.5 * sliceSpacing }
                if !gaps.isEmpty {
                    warnings.append("\(n) skips planes (\(gaps.map { String(format: "%.1f–%.1f mm", $0.0.w, $0.1.w) }.joined(separator: ", "))): treated as separate pieces, each with end caps")
                }
            }
            if dvh.volumeCC < 0.5 {
                warnings.append(String(format: "small structure (%.3f cc): sampled with %d samples of %.2f mm", dvh.volumeCC, dvh.sampling.samples, dvh.sampling.cellMM))
            }
            return warnings
        }

        /// The conventions every DVH number of this analysis was made with.
        func conventions(binWidthGy: Double) -> DVHReport.Conventions {
            DVHReport.Conventions(
                endCap: options.endCap.rawValue,
                endCapDescription: {
                    switch options.endCap {
                    case .prism: return "each contour plane extruded to half the distance to its neighbours, and half a slice (\(sliceSpacing / 2) mm) beyond the first and last planes"
                    case .none: return "each plane extruded to half the distance to its neighbours; nothing beyond the first and last planes"
                    case .interpolated: return "signed-distance interpolation (circular arcs) between contiguous planes; tapering ends rounded along their curvature until they close, at most one slice (\(sliceSpacing) mm) beyond the end planes, other ends flat half a slice out"
                    }
                }(),
                sampling: "exact polygon-area coverage on an in-plane lattice refined until each structure has at least \(options.minimumSamples) samples (cells no larger than the dose grid spacing or \(options.maximumCellMM) mm); sub-slices along the normal no thicker than the cell, half the dose grid spacing or the slice spacing; dose also evaluated at every contour vertex for Dmin and Dmax",
                doseInterpolation: "trilinear between dose voxel centres; each sample's dose spread uniformly over the change across its box",
                volumeAtDose: "V(D) is the volume receiving at least D (≥)",
                doseAtVolume: "Dx = inf{D : V(≥D) ≤ x}, by linear interpolation on the cumulative DVH (minimum dose to the hottest x); where the curve is flat at x the lower end, with a note",
                histogramBinWidthGy: binWidthGy,
                outsideDoseGrid: "parts of a structure beyond half a voxel from the outermost dose voxel centres count in its volume at 0 Gy",
                isodoseVolumes: "PIV and PIV50% are volumes of the whole dose grid at ≥ Rx and ≥ 50 % Rx; D2cm is the largest dose at dose voxel centres ≥ 20 mm from every voxel centre inside the target",
                expressions: "union max(a,b), intersection min(a,b), difference max(0,a−b) of cell coverage fractions")
        }
    }

    /// The study's target geometry, built once per analysis when a target index needs it.
    final class TargetGeometryCache: @unchecked Sendable {
        private var cached: TargetIsodose?
        private let lock = NSLock()
        func get(_ ctx: Context) -> TargetIsodose {
            lock.lock()
            defer { lock.unlock() }
            if let cached { return cached }
            let t = TargetIsodose(field: ctx.field, targets: ctx.targetList())
            cached = t
            return t
        }
    }

    static func medianGap(_ shapes: [PlanarShape]) -> Double? {
        let gaps = shapes.flatMap { s in zip(s.planes, s.planes.dropFirst()).map { $1.w - $0.w } }.filter { $0 > 0.01 }.sorted()
        return gaps.isEmpty ? nil : gaps[gaps.count / 2]
    }


    /// Evaluates one metric on a DVH.
    public static func evaluate(_ m: Metric, dvh: DVH, rx: Double?, isodose: () -> [Double]?, d2cm: () -> Double?) -> MetricResult {
        var r = MetricResult(metric: m.text, value: nil, unit: m.unitLabel, note: nil)
        if m.needsPrescription && rx == nil {
            r.note = "not evaluable: needs the prescription (none stated, and the plan states no single Target Prescription Dose)"
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
