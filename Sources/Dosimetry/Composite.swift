import Base
import DICOM
import Foundation
import Geometry
import RTModel
import VoxelKit

/// One course as the user names it: an RT Dose file or a folder, with optional fractions,
/// date, label, plan and the statement that its dose is one session's.
public struct CourseSpec: Sendable {
    public var path: String
    public var label: String?
    public var fractions: Int?
    /// YYYY-MM-DD (or YYYYMMDD).
    public var date: String?
    /// The RT Plan (label or SOP Instance UID) when the course folder holds several.
    public var plan: String?
    /// The user states that a per-session dose (FRACTION_SESSION, BEAM_SESSION,
    /// CONTROL_POINT) of this course is one fraction's dose, to be multiplied by the fractions.
    public var perSessionDose = false

    public init(path: String, label: String? = nil, fractions: Int? = nil, date: String? = nil,
                plan: String? = nil, perSessionDose: Bool = false) {
        self.path = path
        self.label = label
        self.fractions = fractions
        self.date = date
        self.plan = plan
        self.perSessionDose = perSessionDose
    }

    /// The keys of a course text that take no value.
    static let flagKeys: Set<String> = ["per-session", "per-session-dose"]

    /// Parses `PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME][:plan=LABEL][:per-session]`
    /// (`fx=` for fractions).
    /// - Throws: `SBRTError` `.invalidRequest` naming the text and the bad part.
    public static func parse(_ text: String) throws -> CourseSpec {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var spec = CourseSpec(path: "")
        var options: [String] = []
        while parts.count > 1, let last = parts.last, last.contains("=") || flagKeys.contains(last.lowercased()) {
            options.insert(last, at: 0)
            parts.removeLast()
        }
        spec.path = parts.joined(separator: ":")
        guard !spec.path.isEmpty else { throw SBRTError(.invalidRequest, "course \"\(text)\": no path before the options") }
        for o in options {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0].lowercased(), value = kv.count > 1 ? kv[1] : ""
            switch key {
            case "fractions", "fx", "n":
                guard let n = Int(value), InputLimits.fractions.contains(n) else { throw SBRTError(.invalidRequest, "course \"\(text)\": fractions must be a whole number within \(InputLimits.fractions.lowerBound)–\(InputLimits.fractions.upperBound), got \"\(value)\"") }
                spec.fractions = n
            case "date":
                guard CourseSpec.parseDate(value) != nil else { throw SBRTError(.invalidRequest, "course \"\(text)\": date must be YYYY-MM-DD, got \"\(value)\"") }
                spec.date = value
            case "label", "name":
                guard !value.isEmpty else { throw SBRTError(.invalidRequest, "course \"\(text)\": empty label") }
                spec.label = value
            case "plan":
                guard !value.isEmpty else { throw SBRTError(.invalidRequest, "course \"\(text)\": empty plan") }
                spec.plan = value
            case "per-session", "per-session-dose":
                guard kv.count == 1 else { throw SBRTError(.invalidRequest, "course \"\(text)\": per-session takes no value") }
                spec.perSessionDose = true
            default:
                throw SBRTError(.invalidRequest, "course \"\(text)\": unknown option \"\(key)\" (fractions=, date=, label=, plan=, per-session)")
            }
        }
        return spec
    }

    public static func parseDate(_ s: String) -> Date? {
        let digits = s.filter(\.isNumber)
        guard digits.count == 8, s.count == 8 || s.count == 10 else { return nil }
        return CivilDate(compact: digits)?.date
    }
}

/// A time-based recovery model, applied to every course but the newest,
/// with t = the interval from the course's date to the newest course's date.
public enum RecoveryModel: String, Sendable, CaseIterable, Codable {
    /// 25 % after 6 months, 50 % after 12 months (0 before 6 months).
    case simple
    /// Jones & Grant 2014, conservative: r = 1.5 + e^{1.2(t−1)}.
    case jonesGrant = "jones-grant"
    /// Jones & Grant 2014, fitted: r = 2.8 + e^{1.67(t−1)}.
    case jonesGrantFitted = "jones-grant-fitted"

    public var source: String {
        switch self {
        case .simple: return "25 % recovery after 6 months, 50 % after 12 months: the rule as quoted by Doi et al., Strahlenther Onkol 2021 (their ref. 10) [V, as quoted]"
        case .jonesGrant: return "Jones & Grant 2014, Clin Oncol (doi 10.1016/j.clon.2014.04.027), conservative r = 1.5 + e^{1.2(t-1)}, fitted on 1-3 year intervals, applied at a/b 2 Gy voxels only, as implemented in DICOMautomaton DecayDoseOverTime.cc [S]"
        case .jonesGrantFitted: return "Jones & Grant 2014, Clin Oncol (doi 10.1016/j.clon.2014.04.027), fitted r = 2.8 + e^{1.67(t-1)}, fitted on 1-3 year intervals, applied at a/b 2 Gy voxels only, as implemented in DICOMautomaton DecayDoseOverTime.cc [S]"
        }
    }

    public var isJonesGrant: Bool { self != .simple }

    /// The intervals (days) the Jones–Grant r(t) curves were fitted on: 1 to 3 years
    /// (Jones & Grant 2014, from primate re-irradiation data). Shorter intervals are
    /// refused: there the curves still discount half or more of the earlier course, a
    /// recovery credit the data do not support. Longer ones take r at 3 years (as
    /// DICOMautomaton clamps t), which credits less recovery than the trend would: a
    /// conservative choice, said in a warning.
    public static let jonesGrantFittedDays = 365...1096

    /// The recovery of a course given `intervalDays` before the newest course (t clamped
    /// to 0–3 years for Jones–Grant, as DICOMautomaton does; the composite refuses t < 1).
    public func recovery(intervalDays days: Int, toleranceBED: Double?) -> Recovery {
        switch self {
        case .simple:
            let months = Double(days) / 30.4375
            if months >= 12 { return .fraction(0.5) }
            if months >= 6 { return .fraction(0.25) }
            return .none
        case .jonesGrant, .jonesGrantFitted:
            let t = min(max(Double(days) / 365.25, 0), 3)
            let r = self == .jonesGrant ? 1.5 + Foundation.exp(1.2 * (t - 1)) : 2.8 + Foundation.exp(1.67 * (t - 1))
            return .jonesGrant(toleranceBED: toleranceBED ?? 0, r: r)
        }
    }
}

/// Where a structure's α/β comes from.
public enum AlphaBetaSource: String, Sendable, Codable {
    /// Given by the user for that structure.
    case user
    /// A CNS structure's default, 2 Gy (`Composite.cnsAlphaBetaGy`).
    case cnsDefault = "cns-default"
    /// The composite's default α/β.
    case globalDefault = "global-default"
}

/// What `sbrt composite` is asked to build.
public struct CompositeRequest: Sendable {
    public enum GridChoice: String, Sendable, Codable { case dose, ct }

    public var courses: [CourseSpec] = []
    /// A folder with the structure set (and CT) on the reference frame of reference.
    public var structuresPath: String?
    /// An RT Structure Set file to use instead of the structures folder's choice.
    public var structureSetPath: String?
    /// Every course's per-session dose is one fraction's dose (see `CourseSpec.perSessionDose`).
    public var perSessionDose = false
    public var defaultAlphaBeta = 3.0
    /// Structure name → α/β (Gy), in the order given.
    public var structureAlphaBeta: [(name: String, alphaBeta: Double)] = []
    public var quantity: DoseQuantity = .eqd2
    /// LQ-L transition dose per fraction (Gy); nil for pure LQ.
    public var linearAboveGy: Double?
    /// Course label → recovery fraction r (0 ≤ r < 1).
    public var recoveryFractions: [String: Double] = [:]
    public var recoveryModel: RecoveryModel?
    /// Tolerance BED (Gy) for the Jones–Grant model.
    public var toleranceBED: Double?
    /// Course label (nil: every course on another frame of reference) → transform taking
    /// that course's coordinates into the reference frame.
    public var transforms: [(label: String?, transform: RigidTransform)] = []
    public var grid: GridChoice = .dose
    /// Structures to report (names); empty for every ROI with closed contours.
    public var reportStructures: [String] = []
    /// Whether to compute the per-structure report (DVHs).
    public var computeReport = true
    public var dvhOptions = DVHOptions()

    public init() {}
}

/// The result of a composite: the volume as written (quantised), its RT Dose data set and the report.
public struct CompositeResult: Sendable {
    public var volume: Volume<Float>
    public var quantised: DoseWriter.Quantised
    public var dataSet: DataSet
    public var report: CompositeReport
    /// Seconds spent per stage, for progress lines.
    public var timings: [(String, Double)]
}

/// Builds voxel-wise cumulative BED/EQD2 composites of several courses: each course
/// converted with its own fractions, then summed (never physical doses of different
/// fractionations).
///
/// Pipeline: resolve each course with the study resolver (`ResolvedStudy`: PLAN, FRACTION
/// and MULTI_PLAN doses are course totals, the BEAM doses of one plan are summed with the
/// missing-beam check, per-session doses only when stated, then × fractions), register it
/// to the reference frame (same frame, a Spatial Registration object, or a given 4×4
/// transform), resample it trilinearly onto the reference grid, convert each course voxel
/// by voxel with its own n and the voxel's α/β (CNS structures 2 Gy unless set), apply
/// recovery, sum, quantise for the RT Dose, and compute the per-structure report on the
/// same (quantised) numbers a reader of the file will see.
public enum Composite {
    /// The α/β of structures named as CNS (cord, cauda equina, brainstem, plexus, optic
    /// apparatus…) unless the user sets theirs: 2 Gy, the value Sahgal et al. (IJROBP
    /// 2012;82:107) and Jones & Grant (Clin Oncol 2014) use for the cord. It applies only
    /// where it is below the composite's default (a lower default is kept: it is the
    /// more conservative).
    public static let cnsAlphaBetaGy = 2.0

    /// Builds the composite of `request`: the stages below, in order, each timed.
    /// - Throws: `SBRTError` naming the course, file or structure at fault.
    public static func run(_ request: CompositeRequest) throws -> CompositeResult {
        var clock = StageClock()
        guard !request.courses.isEmpty else { throw SBRTError(.invalidRequest, "no course given") }
        guard request.defaultAlphaBeta > 0, request.defaultAlphaBeta.isFinite else {
            throw SBRTError(.invalidRequest, "α/β must be a positive number, got \(request.defaultAlphaBeta)")
        }
        let labels = try courseLabels(request)
        let refIndex = referenceIndex(request.courses.map { $0.date.flatMap(CourseSpec.parseDate) })
        let (courses, givenStructures) = try loadInputs(request, labels, refIndex: refIndex)
        clock.lap("load courses")

        var warnings: [String] = courses.flatMap(\.warnings)
        if !courses.allSatisfy({ $0.date != nil }) && courses.count > 1 {
            warnings.append("not every course has a date: the reference is the last course given (\(courses[refIndex].label)), intervals and time-based recovery are not available")
        }
        let structureStudy = try givenStructures?.get() ?? structuresStudy(request, reference: courses[refIndex])
        let reference = try referenceGrid(request, courses[refIndex], structureStudy)
        let registered = try registerAndResample(request, courses, refIndex: refIndex, reference, structureStudy, &warnings)
        clock.lap("register + resample")

        let structures = try structureContext(structureStudy, frameOfReferenceUID: reference.foR)
        let alphaBeta = try alphaBetaMap(request, structures, grid: reference.grid, &warnings)
        let jonesGrantVoxels = try checkJonesGrant(request, registered.recoveries, alphaBeta.map, grid: reference.grid)
        clock.lap("alpha/beta map")

        let maps = DoseMaps(request: request, courses: courses, onReference: registered.onReference, alphaBeta: alphaBeta.map)
        let composite = maps.compute(request.quantity, Array(courses.indices), registered.recoveries)
        clock.lap("convert + sum")
        let q = DoseWriter.quantise(composite)
        let volume = Volume(grid: reference.grid, voxels: q.dequantised)
        clock.lap("quantise")

        let texts = OutputTexts(request, courses, registered, alphaBeta.infos, jonesGrantVoxels: jonesGrantVoxels)
        let dataSet = try DoseWriter.dataSet(grid: reference.grid, quantised: q, template: courses[refIndex].template,
                                             frameOfReferenceUID: reference.foR.isEmpty ? UID.generate() : reference.foR,
                                             description: texts.description(request, courses))
        clock.lap("RT Dose data set")

        var entries: [CompositeReport.StructureEntry] = []
        var flagInputs: [FlagStructureInput] = []
        if structures.structureSet == nil {
            warnings.append("no structure set on the reference frame of reference: no per-structure report, no flags and no CNS α/β default")
        } else if request.computeReport {
            (entries, flagInputs) = try structureReport(request, courses, structures, maps: maps, written: volume,
                                                        recoveries: registered.recoveries, coverage: registered.coverage,
                                                        alphaBeta: alphaBeta, &clock)
        }
        let flags = evaluateFlags(courses, refIndex: refIndex, flagInputs)
        let report = assembleReport(request, reference, registered, alphaBeta.infos, texts, intervals: courseIntervals(courses),
                                    entries: entries, flags: flags, warnings: warnings)
        clock.lap("flags")
        return CompositeResult(volume: volume, quantised: q, dataSet: dataSet, report: report, timings: clock.stages.map { ($0.stage, $0.seconds) })
    }

    // MARK: Labels and the reference

    /// One label per course (given, or the folder's name, made unique); checks that the
    /// labels recovery fractions and transforms name exist.
    static func courseLabels(_ request: CompositeRequest) throws -> [String] {
        var labels: [String] = []
        for spec in request.courses {
            var base = spec.label ?? defaultLabel(spec.path)
            if labels.contains(base) {
                if spec.label != nil { throw SBRTError(.invalidRequest, "two courses are labelled \"\(base)\"") }
                var n = 2
                while labels.contains("\(base)-\(n)") { n += 1 }
                base = "\(base)-\(n)"
            }
            labels.append(base)
        }
        for key in request.recoveryFractions.keys where !labels.contains(key) && Int(key).map({ $0 < 1 || $0 > labels.count }) ?? true {
            throw SBRTError(.invalidRequest, "a recovery fraction names course \"\(key)\", but the courses are \(labels.joined(separator: ", "))")
        }
        for t in request.transforms { if let l = t.label, !labels.contains(l) {
            throw SBRTError(.invalidRequest, "a transform names course \"\(l)\", but the courses are \(labels.joined(separator: ", "))")
        } }
        return labels
    }

    /// The reference course: the newest by date (all dated), else the last given.
    static func referenceIndex(_ dates: [Date?]) -> Int {
        var refIndex = dates.count - 1
        if dates.allSatisfy({ $0 != nil }) {
            for (i, d) in dates.enumerated() where d! >= dates[refIndex]! { refIndex = i }
        }
        return refIndex
    }

    static func defaultLabel(_ path: String) -> String {
        var isDir: ObjCBool = false
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return url.lastPathComponent }
        let parent = url.deletingLastPathComponent().lastPathComponent
        return parent.isEmpty || parent == "/" ? url.deletingPathExtension().lastPathComponent : parent
    }

    /// The reference grid, its frame of reference and where it comes from.
    struct ReferenceGrid {
        var grid: Grid
        /// Frame of reference UID ("" when unknown).
        var foR: String
        var source: String
    }

    /// The reference course's dose grid (`.dose`) or the image series of the structures
    /// study (else of the reference course) (`.ct`).
    static func referenceGrid(_ request: CompositeRequest, _ ref: LoadedCourse, _ structureStudy: ResolvedStudy?) throws -> ReferenceGrid {
        var grid = ref.dose.grid
        var foR = ref.frameOfReferenceUID
        var source = "dose grid of course \(ref.label) (\((ref.dose.paths.first.map { ($0 as NSString).lastPathComponent }) ?? ""))"
        if request.grid == .ct {
            guard let images = structureStudy?.images ?? ref.study.images else {
                throw SBRTError(.noImages, "a CT reference grid needs an image series: none in the structures folder or in course \(ref.label)'s folder")
            }
            grid = images.grid
            foR = images.frameOfReferenceUID ?? foR
            source = images.displayName
        }
        return ReferenceGrid(grid: grid, foR: foR ?? "", source: source)
    }

    // MARK: Dose maps

    /// Converts and sums courses on the reference grid through `CompositeKernel`.
    struct DoseMaps {
        var request: CompositeRequest
        var courses: [LoadedCourse]
        var onReference: [[Float]]
        var alphaBeta: AlphaBetaMap.Result?

        /// Σ over the courses `which` of each course's `quantity` after its recovery, per
        /// voxel, with the α/β map (or the default), or the given uniform α/β.
        func compute(_ quantity: DoseQuantity, _ which: [Int], _ recs: [Recovery], alphaBeta uniform: Double? = nil) -> [Float] {
            // The kernel writes every voxel.
            [Float](unsafeUninitializedCapacity: onReference.first?.count ?? 0) { out, count in
                HugePages.advise(out)
                withKernelArguments(which, recs, alphaBeta: uniform) { terms, ab in
                    CompositeKernel.sum(quantity, terms, alphaBeta: ab, linearAboveGy: request.linearAboveGy, into: out)
                }
                count = out.count
            }
        }

        /// `compute`'s map, written only in `boxes` (a report's structures read nothing
        /// else: the rest of the map's pages are never touched), with its maximum over the
        /// whole grid.
        func compute(_ quantity: DoseQuantity, _ which: [Int], _ recs: [Recovery], alphaBeta uniform: Double? = nil,
                     only boxes: [VoxelBox], rows: VoxelRows, grid: Grid) -> DoseField {
            var largest: Float = 0
            // Voxels outside `rows` keep whatever the allocation held; the field says where
            // its values are, and the DVH engine reads nowhere else.
            let values = [Float](unsafeUninitializedCapacity: grid.count) { out, count in
                // Written on 4 KiB pages, row by row: faulted in one call per plane.
                rows.populate(out)
                withKernelArguments(which, recs, alphaBeta: uniform) { terms, ab in
                    largest = CompositeKernel.sum(quantity, terms, alphaBeta: ab, linearAboveGy: request.linearAboveGy, into: out, only: rows)
                }
                count = out.count
            }
            return DoseField(Volume(grid: grid, voxels: values), maxGy: Double(largest), definedIn: boxes)
        }

        /// The kernel's terms for courses `which` and its α/β field: `uniform`, the map, or
        /// the default.
        func withKernelArguments<R>(_ which: [Int], _ recs: [Recovery], alphaBeta uniform: Double?,
                                    _ body: ([CompositeTerm], AlphaBetaField) -> R) -> R {
            withBuffers(onReference, which) { buffers in
                let terms = zip(buffers, which).map { CompositeTerm(dose: $0.0, fractions: courses[$0.1].fractions, recovery: recs[$0.1]) }
                if let a = uniform { return body(terms, .uniform(a)) }
                if let m = alphaBeta { return m.values.withUnsafeBufferPointer { body(terms, .map($0)) } }
                return body(terms, .uniform(request.defaultAlphaBeta))
            }
        }
    }

    // MARK: Helpers

    static func isoDate(_ d: Date) -> String { CivilDate(d).iso }

    static func num(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : String(format: "%g", x) }

    static func ascii(_ s: String) -> String {
        s.replacingOccurrences(of: "α/β", with: "a/b").replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: "Σ", with: "sum")
            .replacingOccurrences(of: "×", with: "x").replacingOccurrences(of: "₂", with: "2")
            .unicodeScalars.map { $0.isASCII ? String($0) : "?" }.joined()
    }

    /// Calls `body` with buffer pointers to the selected arrays.
    static func withBuffers<R>(_ arrays: [[Float]], _ which: [Int], _ body: ([UnsafeBufferPointer<Float>]) -> R) -> R {
        func go(_ k: Int, _ acc: [UnsafeBufferPointer<Float>]) -> R {
            if k == which.count { return body(acc) }
            return arrays[which[k]].withUnsafeBufferPointer { go(k + 1, acc + [$0]) }
        }
        return go(0, [])
    }
}
