import Base
import DICOM
import Foundation
import Geometry
import RTModel
import VoxelKit

/// One course as the user names it: an RT Dose file or a folder, with optional fractions,
/// date, label and registration.
public struct CourseSpec: Sendable {
    public var path: String
    public var label: String?
    public var fractions: Int?
    /// YYYY-MM-DD (or YYYYMMDD).
    public var date: String?

    public init(path: String, label: String? = nil, fractions: Int? = nil, date: String? = nil) {
        self.path = path
        self.label = label
        self.fractions = fractions
        self.date = date
    }

    /// Parses `PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME]` (`fx=` for fractions).
    public static func parse(_ text: String) throws -> CourseSpec {
        var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var spec = CourseSpec(path: "")
        var options: [String] = []
        while parts.count > 1, let last = parts.last, last.contains("=") {
            options.insert(last, at: 0)
            parts.removeLast()
        }
        spec.path = parts.joined(separator: ":")
        guard !spec.path.isEmpty else { throw SBRTError(.invalidRequest, "--course \(text): no path before the options") }
        for o in options {
            let kv = o.split(separator: "=", maxSplits: 1).map(String.init)
            let key = kv[0].lowercased(), value = kv.count > 1 ? kv[1] : ""
            switch key {
            case "fractions", "fx", "n":
                guard let n = Int(value), n >= 1 else { throw SBRTError(.invalidRequest, "--course \(text): fractions must be a positive integer, got \"\(value)\"") }
                spec.fractions = n
            case "date":
                guard CourseSpec.parseDate(value) != nil else { throw SBRTError(.invalidRequest, "--course \(text): date must be YYYY-MM-DD, got \"\(value)\"") }
                spec.date = value
            case "label", "name":
                guard !value.isEmpty else { throw SBRTError(.invalidRequest, "--course \(text): empty label") }
                spec.label = value
            default:
                throw SBRTError(.invalidRequest, "--course \(text): unknown option \"\(key)\" (fractions=, date=, label=)")
            }
        }
        return spec
    }

    public static func parseDate(_ s: String) -> Date? {
        let digits = s.filter(\.isNumber)
        guard digits.count == 8, s.count == 8 || s.count == 10 else { return nil }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd"
        guard let d = f.date(from: digits), f.string(from: d) == digits else { return nil }
        return d
    }
}

/// A time-based recovery model (domain.md §3.5), applied to every course but the newest,
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
        case .jonesGrant: return "Jones & Grant 2014, Clin Oncol (doi 10.1016/j.clon.2014.04.027), conservative r = 1.5 + e^{1.2(t-1)}, t in years clamped to 0-3, as implemented in DICOMautomaton DecayDoseOverTime.cc [S]"
        case .jonesGrantFitted: return "Jones & Grant 2014, Clin Oncol (doi 10.1016/j.clon.2014.04.027), fitted r = 2.8 + e^{1.67(t-1)}, t in years clamped to 0-3, as implemented in DICOMautomaton DecayDoseOverTime.cc [S]"
        }
    }

    /// The recovery of a course given `months` before the newest course.
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

/// What `sbrt composite` is asked to build.
public struct CompositeRequest: Sendable {
    public enum GridChoice: String, Sendable, Codable { case dose, ct }

    public var courses: [CourseSpec] = []
    /// A folder with the structure set (and CT) on the reference frame of reference.
    public var structuresPath: String?
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

/// The machine-readable report of a composite (`--report`).
public struct CompositeReport: Codable, Sendable {
    public var schema = "sbrt.composite/1"
    public var quantity: String
    public var unit: String
    public var model: String
    public var alphaBeta: AlphaBetaInfo
    public var recovery: RecoveryInfo
    public var referenceGrid: GridInfo
    public var courses: [CourseInfo]
    public var intervals: [IntervalInfo]
    public var structures: [StructureEntry]
    public var flags: [CompositeFlag]
    public var conventions: [String]
    public var warnings: [String]
    public var software: String

    public struct AlphaBetaInfo: Codable, Sendable {
        public var defaultGy: Double
        public var structures: [StructureAlphaBeta]
        public var overlapRule: String
    }

    public struct StructureAlphaBeta: Codable, Sendable {
        public var name: String
        public var alphaBetaGy: Double
        public var voxels: Int
        public var voxelsWhereUsed: Int
    }

    public struct RecoveryInfo: Codable, Sendable {
        public var applied: Bool
        public var description: String
    }

    public struct GridInfo: Codable, Sendable {
        public var source: String
        public var frameOfReferenceUID: String
        public var size: [Int]
        public var spacingMM: [Double]
        public var originMM: [Double]
    }

    public struct CourseInfo: Codable, Sendable {
        public var label: String
        public var path: String
        public var doseFiles: [String]
        public var doseSOPInstanceUIDs: [String]
        public var summation: String
        public var fractions: Int
        public var fractionsSource: String
        public var date: String?
        public var frameOfReferenceUID: String?
        public var registration: String
        public var resampled: Bool
        public var coveragePercent: Double
        public var maxPhysicalGy: Double
        public var recovery: String
    }

    public struct IntervalInfo: Codable, Sendable {
        public var from: String
        public var to: String
        public var days: Int
        public var months: Double
    }

    /// Dmax, D0.035cc, D1cc and Dmean of one dose map in one structure (Gy).
    public struct Metrics: Codable, Sendable, Equatable {
        public var dmax: Double
        public var d0035cc: Double?
        public var d1cc: Double?
        public var dmean: Double
    }

    public struct CourseMetrics: Codable, Sendable {
        public var label: String
        public var physical: Metrics
        public var eqd2: Metrics
        public var bed: Metrics
    }

    public struct StructureEntry: Codable, Sendable {
        public var name: String
        public var volumeCC: Double
        /// The α/β values met by the structure's voxel centres (ascending).
        public var alphaBetaGy: [Double]
        public var classes: StructureClass
        public var courses: [CourseMetrics]
        /// Cumulative (with the recovery of each course, when any).
        public var cumulativeEQD2: Metrics
        public var cumulativeBED: Metrics
    }
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

/// Builds voxel-wise cumulative BED/EQD2 composites of several courses (domain.md §3.4).
///
/// Pipeline: load each course (sum BEAM doses of one plan, multiply FRACTION doses by the
/// fractions), register it to the reference frame (same frame, a Spatial Registration
/// object, or a given 4×4 transform), resample it trilinearly onto the reference grid,
/// convert each course voxel by voxel with its own n and the voxel's α/β, apply recovery,
/// sum, quantise for the RT Dose, and compute the per-structure report on the same
/// (quantised) numbers a reader of the file will see.
public enum Composite {
    struct LoadedCourse {
        var spec: CourseSpec
        var label: String
        var date: Date?
        var fractions: Int
        var fractionsSource: String
        var summation: String
        var doseFiles: [String]
        var doseUIDs: [String]
        var planUIDs: [String]
        var frameOfReferenceUID: String?
        var dose: Volume<Float>
        var template: DataSet
        var folder: StudyFolder?
        var warnings: [String]
    }

    /// Builds the composite of `request`: the stages below, in order, each timed.
    /// - Throws: `SBRTError` (or the reader's error) naming the course, file or option at fault.
    public static func run(_ request: CompositeRequest) throws -> CompositeResult {
        var clock = StageClock()
        guard !request.courses.isEmpty else { throw SBRTError(.invalidRequest, "no course given (--course PATH[:fractions=N][:date=YYYY-MM-DD])") }
        guard request.defaultAlphaBeta > 0 else { throw SBRTError(.invalidRequest, "α/β must be positive") }
        let labels = try courseLabels(request)
        let (courses, givenStructures) = try loadInputs(request, labels)
        clock.lap("load courses")

        let refIndex = referenceIndex(courses)
        var warnings: [String] = courses.flatMap(\.warnings)
        if !courses.allSatisfy({ $0.date != nil }) && courses.count > 1 {
            warnings.append("not every course has a date: the reference is the last course given (\(courses[refIndex].label)), intervals and time-based recovery are not available")
        }
        let structureFolder = try givenStructures?.get() ?? loadStructureFolder(request, reference: courses[refIndex])
        let reference = try referenceGrid(request, courses[refIndex], structureFolder)
        let registered = try registerAndResample(request, courses, refIndex: refIndex, reference, structureFolder, &warnings)
        clock.lap("register + resample")

        let structures = try structureContext(request, structureFolder, frameOfReferenceUID: reference.foR)
        let alphaBeta = try alphaBetaMap(request, structures, grid: reference.grid, &warnings)
        clock.lap("alpha/beta map")

        let maps = DoseMaps(request: request, courses: courses, onReference: registered.onReference, alphaBeta: alphaBeta.map)
        let composite = maps.compute(request.quantity, Array(courses.indices), registered.recoveries)
        clock.lap("convert + sum")
        let q = DoseWriter.quantise(composite)
        let volume = Volume(grid: reference.grid, voxels: q.dequantised)
        clock.lap("quantise")

        let texts = OutputTexts(request, courses, registered, alphaBeta.infos)
        let dataSet = try DoseWriter.dataSet(grid: reference.grid, quantised: q, template: courses[refIndex].template,
                                             frameOfReferenceUID: reference.foR.isEmpty ? UID.generate() : reference.foR,
                                             description: texts.description(request, courses))
        clock.lap("RT Dose data set")

        var entries: [CompositeReport.StructureEntry] = []
        var flagInputs: [FlagStructureInput] = []
        if request.computeReport, structures.structureSet != nil {
            (entries, flagInputs) = try structureReport(request, courses, structures, maps: maps, written: volume,
                                                        recoveries: registered.recoveries, alphaBeta: alphaBeta.map, &clock)
        } else if request.computeReport && structureFolder == nil {
            warnings.append("no structure set (--structures FOLDER): no per-structure report and no flags")
        }
        let flags = evaluateFlags(courses, refIndex: refIndex, flagInputs)
        let report = assembleReport(request, reference, registered, alphaBeta.infos, texts, intervals: courseIntervals(courses),
                                    entries: entries, flags: flags, warnings: warnings)
        clock.lap("flags")
        return CompositeResult(volume: volume, quantised: q, dataSet: dataSet, report: report, timings: clock.timings)
    }

    /// Seconds per stage, for progress lines.
    struct StageClock {
        var timings: [(String, Double)] = []
        var t0 = Date()
        mutating func lap(_ name: String) { timings.append((name, Date().timeIntervalSince(t0))); t0 = Date() }
    }

    // MARK: Courses and the reference

    /// One label per course (given, or the folder's name, made unique); checks that the
    /// labels `--recovery` and `--transform` name exist.
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
            throw SBRTError(.invalidRequest, "--recovery names course \"\(key)\", but the courses are \(labels.joined(separator: ", "))")
        }
        for t in request.transforms { if let l = t.label, !labels.contains(l) {
            throw SBRTError(.invalidRequest, "--transform names course \"\(l)\", but the courses are \(labels.joined(separator: ", "))")
        } }
        return labels
    }

    /// The reference course: the newest by date (all dated), else the last given.
    static func referenceIndex(_ courses: [LoadedCourse]) -> Int {
        var refIndex = courses.count - 1
        if courses.allSatisfy({ $0.date != nil }) {
            for (i, c) in courses.enumerated() where c.date! >= courses[refIndex].date! { refIndex = i }
        }
        return refIndex
    }

    /// Every course and, when given, the structures folder, read in parallel (they are
    /// independent). A course's error is thrown first, in course order, as when they were
    /// read one after the other; the structures folder's is returned for its turn.
    static func loadInputs(_ request: CompositeRequest, _ labels: [String]) throws -> ([LoadedCourse], Result<StudyFolder?, Error>?) {
        let n = request.courses.count
        var courses = [Result<LoadedCourse, Error>?](repeating: nil, count: n)
        var structures: Result<StudyFolder?, Error>?
        courses.withUnsafeMutableBufferPointer { out in
            let out = out
            Parallel.forEachChunk(n + (request.structuresPath == nil ? 0 : 1), minimumChunk: 1) { _, jobs in
                for k in jobs {
                    if k < n {
                        out[k] = Result { try loadCourse(request.courses[k], label: labels[k]) }
                    } else if let p = request.structuresPath {
                        structures = Result { try StudyFolder.load(p) }
                    }
                }
            }
        }
        return (try courses.map { try $0!.get() }, structures)
    }

    /// The folder with the structure set: `--structures`, else the reference course's folder.
    static func loadStructureFolder(_ request: CompositeRequest, reference ref: LoadedCourse) throws -> StudyFolder? {
        if let p = request.structuresPath { return try StudyFolder.load(p) }
        if let f = ref.folder, !f.structureSets.isEmpty { return f }
        return nil
    }

    /// The reference grid, its frame of reference and where it comes from.
    struct ReferenceGrid {
        var grid: Grid
        /// Frame of reference UID ("" when unknown).
        var foR: String
        var source: String
    }

    /// The reference course's dose grid (`--grid dose`) or the image series of the structures folder (`--grid ct`).
    static func referenceGrid(_ request: CompositeRequest, _ ref: LoadedCourse, _ structureFolder: StudyFolder?) throws -> ReferenceGrid {
        var grid = ref.dose.grid
        var foR = ref.frameOfReferenceUID
        var source = "dose grid of course \(ref.label) (\((ref.doseFiles.first.map { ($0 as NSString).lastPathComponent }) ?? ""))"
        if request.grid == .ct {
            let images = structureFolder?.imageSeries.first ?? ref.folder?.imageSeries.first
            guard let images else { throw SBRTError(.noImages, "--grid ct: no image series in the structures folder or in course \(ref.label)'s folder") }
            grid = images.grid
            foR = images.frameOfReferenceUID ?? foR
            source = images.displayName
        }
        return ReferenceGrid(grid: grid, foR: foR ?? "", source: source)
    }

    // MARK: Registration and resampling

    /// Every course on the reference grid, with its report entry and recovery.
    struct Registered {
        var onReference: [[Float]]
        var courseInfos: [CompositeReport.CourseInfo]
        var recoveries: [Recovery]
    }

    /// Registers every course to the reference frame and resamples it onto the reference
    /// grid; decides each course's recovery; checks what recovery and physical sums allow.
    static func registerAndResample(_ request: CompositeRequest, _ courses: [LoadedCourse], refIndex: Int, _ reference: ReferenceGrid,
                                    _ structureFolder: StudyFolder?, _ warnings: inout [String]) throws -> Registered {
        let registrations = try spatialRegistrations(request, courses, structureFolder)
        var out = Registered(onReference: [], courseInfos: [], recoveries: [])
        for (i, c) in courses.enumerated() {
            let (transform, registration) = try courseRegistration(request, c, reference.foR, registrations)
            if let t = transform, !t.isRigid() {
                warnings.append("course \(c.label): the transform is not rigid (its 3×3 part is not a rotation); applied as an affine map")
            }
            let r = Resampler.resample(c.dose, onto: reference.grid, sourceFromTarget: transform?.inverse)
            if r.coverage < 0.9995 {
                warnings.append(String(format: "course %@ covers %.1f %% of the reference grid; outside it the course contributes 0 Gy", c.label, 100 * r.coverage))
            }
            out.onReference.append(r.volume.voxels)
            let (rec, recText) = try courseRecovery(request, c, index: i, refIndex: refIndex, newest: courses[refIndex])
            out.recoveries.append(rec)
            out.courseInfos.append(CompositeReport.CourseInfo(
                label: c.label, path: c.spec.path, doseFiles: c.doseFiles, doseSOPInstanceUIDs: c.doseUIDs, summation: c.summation,
                fractions: c.fractions, fractionsSource: c.fractionsSource, date: c.date.map(isoDate), frameOfReferenceUID: c.frameOfReferenceUID,
                registration: registration, resampled: !r.copied, coveragePercent: 100 * r.coverage,
                maxPhysicalGy: DoseField(r.volume).maxGy, recovery: recText))
        }
        if request.quantity == .physical && out.recoveries.contains(where: { $0 != .none }) {
            throw SBRTError(.invalidRequest, "recovery discounts biologically effective dose; it cannot be applied to a physical sum (use --quantity eqd2 or bed)")
        }
        if request.quantity == .physical && Set(courses.map(\.fractions)).count > 1 {
            warnings.append("physical doses of courses with different fractionation (\(courses.map { "\($0.label) \($0.fractions) fx" }.joined(separator: ", "))) are summed as asked; such a sum is not biologically meaningful (domain.md §3.4)")
        }
        if out.recoveries.contains(where: { if case .jonesGrant = $0 { return true } else { return false } }), request.toleranceBED == nil {
            throw SBRTError(.invalidRequest, "--recovery-model jones-grant needs --tolerance-bed GY (the tolerance BED of the model)")
        }
        return out
    }

    /// Every Spatial Registration object in every course folder (and the structures folder, when given).
    static func spatialRegistrations(_ request: CompositeRequest, _ courses: [LoadedCourse], _ structureFolder: StudyFolder?) throws -> [SpatialRegistration] {
        var registrations: [SpatialRegistration] = []
        var folders = courses.compactMap(\.folder)
        if let s = structureFolder, request.structuresPath != nil { folders.append(s) }
        for f in folders {
            for file in f.otherFiles where file.sopClassUID == SOPClass.spatialRegistration {
                registrations.append(try SpatialRegistration(file: file))
            }
        }
        return registrations
    }

    /// The transform taking a course into the reference frame (nil: the same frame) and how it was found.
    static func courseRegistration(_ request: CompositeRequest, _ c: LoadedCourse, _ foR: String,
                                   _ registrations: [SpatialRegistration]) throws -> (RigidTransform?, String) {
        if let explicit = request.transforms.first(where: { $0.label == c.label }) {
            return (explicit.transform, "--transform \(c.label)=\(explicit.transform)")
        }
        guard let f = c.frameOfReferenceUID, !foR.isEmpty, f != foR else { return (nil, "same frame of reference") }
        if let any = request.transforms.first(where: { $0.label == nil }) {
            return (any.transform, "--transform \(any.transform)")
        }
        if let (sro, m) = registrations.lazy.compactMap({ r in r.transform(from: f, to: foR).map { (r, $0) } }).first {
            return (m, "Spatial Registration \((sro.path as NSString).lastPathComponent) (\(sro.sopInstanceUID)): \(m)")
        }
        throw SBRTError(.invalidRequest, "course \(c.label) (\(c.spec.path)) is on frame of reference \(f), the reference grid on \(foR); a registration is needed: put a Spatial Registration object registering both in a course folder, or give --transform \(c.label)=m00,m01,…,m33 (16 numbers, course → reference)")
    }

    /// A course's recovery (given by label or number, or by the model from its interval to
    /// the newest course; never for the newest) and its description.
    static func courseRecovery(_ request: CompositeRequest, _ c: LoadedCourse, index i: Int, refIndex: Int,
                               newest ref: LoadedCourse) throws -> (Recovery, String) {
        if let r = request.recoveryFractions[c.label] ?? request.recoveryFractions["\(i + 1)"] {
            return (r > 0 ? .fraction(r) : .none, String(format: "%.0f %% (given; the course counts %.2f × its BED/EQD2)", 100 * r, 1 - r))
        }
        guard let model = request.recoveryModel, i != refIndex else { return (.none, "none") }
        guard let d = c.date, let dr = ref.date else {
            throw SBRTError(.invalidRequest, "--recovery-model \(model.rawValue) needs the date of every course (:date=YYYY-MM-DD); course \(c.label) has none")
        }
        let days = CompositeFlags.interval(from: d, to: dr).days
        let rec = model.recovery(intervalDays: days, toleranceBED: request.toleranceBED)
        switch rec {
        case .none: return (rec, "0 % (\(model.rawValue), \(days) days before the newest course)")
        case .fraction(let f): return (rec, String(format: "%.0f %% (%@, %d days before the newest course)", 100 * f, model.rawValue, days))
        case .jonesGrant(let tol, let rr): return (rec, String(format: "%@: r = %.3f at %.2f years, BED_tol %.1f Gy", model.rawValue, rr, Double(days) / 365.25, tol))
        }
    }

    // MARK: Structures and α/β

    /// The structure set on the reference frame, its plane frame, shapes and slice spacing.
    struct StructureContext {
        var structureSet: StructureSet?
        var frame = PlaneFrame.patient
        var shapes: [PlanarShape] = []
        var sliceSpacing = 1.0
    }

    static func structureContext(_ request: CompositeRequest, _ structureFolder: StudyFolder?, frameOfReferenceUID foR: String) throws -> StructureContext {
        var out = StructureContext()
        guard let sf = structureFolder else { return out }
        let candidates = sf.structureSets.filter { ss in foR.isEmpty || ss.frameOfReferenceUIDs.isEmpty || ss.frameOfReferenceUIDs.contains(foR) }
        if candidates.isEmpty && !sf.structureSets.isEmpty && (!request.structureAlphaBeta.isEmpty || request.computeReport) {
            throw SBRTError(.invalidRequest, "\(sf.root): the structure set is on frame of reference \(sf.structureSets.flatMap(\.frameOfReferenceUIDs).joined(separator: ", ")), the reference grid on \(foR)")
        }
        if let ss = candidates.first {
            out.structureSet = ss
            let images = sf.imageSeries(for: ss)
            out.frame = images.map { PlaneFrame(grid: $0.grid) } ?? .patient
            out.shapes = ss.rois.map { PlanarShape(roi: $0, frame: out.frame) }
            out.sliceSpacing = images?.grid.spacing.z ?? DVHAnalysis.medianGap(out.shapes) ?? 1
        }
        return out
    }

    /// The per-voxel α/β map of `--structure-alpha-beta` (nil without it) and its report entries.
    static func alphaBetaMap(_ request: CompositeRequest, _ structures: StructureContext, grid: Grid,
                             _ warnings: inout [String]) throws -> (map: AlphaBetaMap.Result?, infos: [CompositeReport.StructureAlphaBeta]) {
        guard !request.structureAlphaBeta.isEmpty else { return (nil, []) }
        guard let ss = structures.structureSet else {
            throw SBRTError(.invalidRequest, "--structure-alpha-beta needs a structure set on the reference frame of reference (--structures FOLDER)")
        }
        var assignments: [AlphaBetaMap.Assignment] = []
        for (name, ab) in request.structureAlphaBeta {
            guard ab > 0 else { throw SBRTError(.invalidRequest, "α/β of \(name) must be positive") }
            guard let roi = ss.rois.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw SBRTError(.invalidRequest, "\(ss.path): no ROI named \"\(name)\" for --structure-alpha-beta (structures: \(ss.rois.map(\.name).joined(separator: ", ")))")
            }
            let shape = structures.shapes.first { $0.name == roi.name }!
            if shape.planes.isEmpty { throw SBRTError(.invalidRequest, "ROI \(roi.name) has no closed contours; it cannot carry an α/β") }
            assignments.append(.init(shape: shape, alphaBeta: ab))
        }
        let m = AlphaBetaMap.build(grid: grid, defaultAlphaBeta: request.defaultAlphaBeta, assignments: assignments, sliceSpacing: structures.sliceSpacing)
        var infos: [CompositeReport.StructureAlphaBeta] = []
        for (n, a) in assignments.enumerated() {
            infos.append(.init(name: a.shape.name, alphaBetaGy: a.alphaBeta, voxels: m.voxelCounts[n], voxelsWhereUsed: m.winningCounts[n]))
            if m.voxelCounts[n] == 0 { warnings.append("no voxel centre of the reference grid lies inside \(a.shape.name): its α/β is not used") }
        }
        return (m, infos)
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
                adviseHugePages(out)
                withBuffers(onReference, which) { buffers in
                    let terms = zip(buffers, which).map { CompositeTerm(dose: $0.0, fractions: courses[$0.1].fractions, recovery: recs[$0.1]) }
                    if let a = uniform {
                        CompositeKernel.sum(quantity, terms, alphaBeta: .uniform(a), linearAboveGy: request.linearAboveGy, into: out)
                    } else if let m = alphaBeta {
                        m.values.withUnsafeBufferPointer { CompositeKernel.sum(quantity, terms, alphaBeta: .map($0), linearAboveGy: request.linearAboveGy, into: out) }
                    } else {
                        CompositeKernel.sum(quantity, terms, alphaBeta: .uniform(request.defaultAlphaBeta), linearAboveGy: request.linearAboveGy, into: out)
                    }
                }
                count = out.count
            }
        }
    }

    /// Asks the kernel for transparent huge pages under a fresh buffer before its first write
    /// (Linux, where they are enabled for `madvise`): a report builds about ten 10 MB maps,
    /// and 2 MiB pages fault them in with 1/512 of the traps.
    static func adviseHugePages(_ buffer: UnsafeMutableBufferPointer<Float>) {
        #if os(Linux)
        guard let base = buffer.baseAddress else { return }
        let page = 4096
        let start = (Int(bitPattern: base) + page - 1) / page * page, end = Int(bitPattern: base + buffer.count) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
        #endif
    }

    // MARK: Output labels

    /// The texts that name quantity, model, α/β, recovery and courses in every output.
    struct OutputTexts {
        var abText: String, recoveryText: String, modelText: String, quantityText: String, courseText: String
        var anyRecovery: Bool
        /// Whether `--structure-alpha-beta` made a per-voxel map.
        var abMapUsed: Bool

        init(_ request: CompositeRequest, _ courses: [LoadedCourse], _ registered: Registered, _ abInfos: [CompositeReport.StructureAlphaBeta]) {
            abText = abInfos.isEmpty ? "a/b \(num(request.defaultAlphaBeta)) Gy"
                : "a/b \(num(request.defaultAlphaBeta)) Gy, " + abInfos.map { "\($0.name) \(num($0.alphaBetaGy))" }.joined(separator: ", ") + " (lowest wins)"
            anyRecovery = registered.recoveries.contains { $0 != .none }
            recoveryText = anyRecovery
                ? "recovery " + zip(registered.courseInfos, registered.recoveries).filter { $0.1 != .none }.map { "\($0.0.label) \($0.0.recovery)" }.joined(separator: "; ")
                    + (request.recoveryModel.map { "; model: \($0.source)" } ?? "")
                : "no recovery"
            modelText = request.linearAboveGy.map { "LQ-L above \(num($0)) Gy/fx (Astrahan 2008 [NV])" } ?? "LQ"
            quantityText = request.quantity == .physical ? "physical dose (Gy)" : "\(request.quantity.label) (Gy), \(modelText), d = D/n per voxel"
            courseText = courses.map { "\($0.label) \($0.fractions) fx" + ($0.date.map { " " + isoDate($0) } ?? "") }.joined(separator: ", ")
            abMapUsed = !abInfos.isEmpty
        }

        /// The RT Dose's type, summation, Series Description, Dose Comment, Image Comments and plan references.
        func description(_ request: CompositeRequest, _ courses: [LoadedCourse]) -> DoseWriter.Description {
            let shortRecovery = anyRecovery ? "recovery on" : "no recovery"
            let ab = num(request.defaultAlphaBeta)
            return DoseWriter.Description(
                doseType: request.quantity == .physical ? "PHYSICAL" : "EFFECTIVE",
                summationType: "MULTI_PLAN",
                seriesDescription: request.quantity == .physical ? "sbrt composite physical sum"
                    : "sbrt composite \(request.quantity.label) \(abMapUsed ? "a/b map" : "a/b \(ab)") \(shortRecovery)",
                doseComment: request.quantity == .physical ? "physical sum, no conversion, \(shortRecovery)"
                    : "\(request.quantity.label) \(abMapUsed ? "a/b map, default \(ab)" : "a/b \(ab) Gy"), \(shortRecovery)",
                imageComments: ascii("Cumulative \(quantityText); \(abText); \(recoveryText); courses: \(courseText); sbrt 0.1.0"),
                referencedPlanUIDs: Array(Set(courses.flatMap(\.planUIDs))).sorted())
        }
    }

    /// Intervals between consecutive dated courses, in date order.
    static func courseIntervals(_ courses: [LoadedCourse]) -> [CompositeReport.IntervalInfo] {
        let dated = courses.filter { $0.date != nil }.sorted { $0.date! < $1.date! }
        return zip(dated, dated.dropFirst()).map { a, b in
            let (days, months) = CompositeFlags.interval(from: a.date!, to: b.date!)
            return .init(from: a.label, to: b.label, days: days, months: months)
        }
    }

    // MARK: Per-structure report

    /// The report's dose maps on the reference grid: per course physical, EQD2 and BED (no
    /// recovery), the cumulative EQD2 and BED (with recovery; the output quantity is the
    /// written, quantised map) and, for CNS structures, BED at α/β = 2 per course and summed.
    struct ReportFields {
        var fields: [DoseField] = []
        let courses: Int
        let bed2: Bool

        init(_ request: CompositeRequest, _ maps: DoseMaps, written volume: Volume<Float>, recoveries: [Recovery], bed2: Bool) {
            let n = maps.courses.count, all = Array(0..<n), none = [Recovery](repeating: .none, count: n)
            func field(_ v: [Float]) -> DoseField { DoseField(Volume(grid: volume.grid, voxels: v)) }
            courses = n
            self.bed2 = bed2
            for i in all {
                fields.append(field(maps.onReference[i]))
                fields.append(field(maps.compute(.eqd2, [i], none)))
                fields.append(field(maps.compute(.bed, [i], none)))
            }
            fields.append(request.quantity == .eqd2 ? DoseField(volume) : field(maps.compute(.eqd2, all, recoveries)))
            fields.append(request.quantity == .bed ? DoseField(volume) : field(maps.compute(.bed, all, recoveries)))
            if bed2 {
                for i in all { fields.append(field(maps.compute(.bed, [i], none, alphaBeta: 2))) }
                fields.append(field(maps.compute(.bed, all, none, alphaBeta: 2)))
            }
        }

        func physical(_ i: Int) -> Int { 3 * i }
        func eqd2(_ i: Int) -> Int { 3 * i + 1 }
        func bed(_ i: Int) -> Int { 3 * i + 2 }
        var cumulativeEQD2: Int { 3 * courses }
        var cumulativeBED: Int { 3 * courses + 1 }
        func bed2(_ i: Int) -> Int { 3 * courses + 2 + i }
        var cumulativeBED2: Int { 4 * courses + 2 }
        /// The maps a structure needs: all but the α/β = 2 ones unless it is CNS.
        func needed(cns: Bool) -> [DoseField] { cns ? fields : Array(fields[0..<(3 * courses + 2)]) }
    }

    /// The structures to report: those named, or every ROI with closed contours but the EXTERNAL one.
    static func reportStructures(_ request: CompositeRequest, _ ss: StructureSet) throws -> [ROI] {
        if request.reportStructures.isEmpty {
            // Every ROI with closed contours but the EXTERNAL one (its DVHs cost much and say little).
            return ss.rois.filter { r in r.contours.contains { $0.isClosedPlanar } && r.interpretedType?.uppercased() != "EXTERNAL" }
        }
        return try request.reportStructures.map { name in
            guard let r = ss.rois.first(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw SBRTError(.invalidRequest, "\(ss.path): no ROI named \"\(name)\" (structures: \(ss.rois.map(\.name).joined(separator: ", ")))")
            }
            return r
        }
    }

    /// Per structure: Dmax, D0.035cc, D1cc and Dmean of every report map, from one DVH pass
    /// over all of them (`DVHEngine.dvhs`), the α/β values its voxel centres carry, and the
    /// flag inputs of CNS and vertebra structures.
    static func structureReport(_ request: CompositeRequest, _ courses: [LoadedCourse], _ structures: StructureContext, maps: DoseMaps,
                                written volume: Volume<Float>, recoveries: [Recovery], alphaBeta: AlphaBetaMap.Result?,
                                _ clock: inout StageClock) throws -> ([CompositeReport.StructureEntry], [FlagStructureInput]) {
        let wanted = try reportStructures(request, structures.structureSet!)
        let classes = wanted.map { StructureClass(name: $0.name) }
        let f = ReportFields(request, maps, written: volume, recoveries: recoveries, bed2: classes.contains { $0.cns })
        clock.lap("report dose maps")
        let engine = DVHEngine(frame: structures.frame, sliceSpacing: structures.sliceSpacing, shapes: structures.shapes,
                               dose: f.fields[0], options: request.dvhOptions)
        var entries: [CompositeReport.StructureEntry] = []
        var flagInputs: [FlagStructureInput] = []
        for (roi, cls) in zip(wanted, classes) {
            let dvhs = try engine.dvhs(.roi(roi.name), name: roi.name, doses: f.needed(cns: cls.cns))
            func metrics(_ k: Int) -> CompositeReport.Metrics {
                CompositeReport.Metrics(dmax: dvhs[k].maxGy, d0035cc: dvhs[k].dose(hottestCC: 0.035), d1cc: dvhs[k].dose(hottestCC: 1), dmean: dvhs[k].meanGy)
            }
            let cms = courses.indices.map { i in
                CompositeReport.CourseMetrics(label: courses[i].label, physical: metrics(f.physical(i)), eqd2: metrics(f.eqd2(i)), bed: metrics(f.bed(i)))
            }
            var abValues: [Double] = [request.defaultAlphaBeta]
            if let m = alphaBeta {
                let idx = AlphaBetaMap.insideIndices(structures.shapes.first { $0.name == roi.name }!, sliceSpacing: structures.sliceSpacing, grid: volume.grid)
                abValues = idx.isEmpty ? [request.defaultAlphaBeta] : Array(Set(idx.map { Double(m.values[$0]) })).sorted()
            }
            entries.append(.init(name: roi.name, volumeCC: dvhs[f.cumulativeEQD2].volumeCC, alphaBetaGy: abValues, classes: cls, courses: cms,
                                 cumulativeEQD2: metrics(f.cumulativeEQD2), cumulativeBED: metrics(f.cumulativeBED)))
            if cls.cns || cls.vertebra {
                flagInputs.append(FlagStructureInput(name: roi.name, kind: cls,
                                                     courseBED2Max: cls.cns ? courses.indices.map { dvhs[f.bed2($0)].maxGy } : [],
                                                     cumulativeBED2Max: cls.cns ? dvhs[f.cumulativeBED2].maxGy : 0,
                                                     coursePhysicalMax: courses.indices.map { dvhs[f.physical($0)].maxGy }))
            }
        }
        clock.lap("report DVHs")
        return (entries, flagInputs)
    }

    // MARK: Flags and the report

    /// The flags, with the courses ordered so that the reference (newest) course is last.
    static func evaluateFlags(_ courses: [LoadedCourse], refIndex: Int, _ inputs: [FlagStructureInput]) -> [CompositeFlag] {
        var order = courses.indices.filter { $0 != refIndex }
        order.append(refIndex)
        let flagCourses = order.map { FlagCourseInput(label: courses[$0].label, fractions: courses[$0].fractions, date: courses[$0].date) }
        let reordered = inputs.map { f -> FlagStructureInput in
            var g = f
            if !f.courseBED2Max.isEmpty { g.courseBED2Max = order.map { f.courseBED2Max[$0] } }
            g.coursePhysicalMax = order.map { f.coursePhysicalMax[$0] }
            return g
        }
        return CompositeFlags.evaluate(structures: reordered, courses: flagCourses)
    }

    static func assembleReport(_ request: CompositeRequest, _ reference: ReferenceGrid, _ registered: Registered,
                               _ abInfos: [CompositeReport.StructureAlphaBeta], _ texts: OutputTexts, intervals: [CompositeReport.IntervalInfo],
                               entries: [CompositeReport.StructureEntry], flags: [CompositeFlag], warnings: [String]) -> CompositeReport {
        let g = reference.grid
        return CompositeReport(
            quantity: request.quantity.rawValue, unit: "Gy", model: request.quantity == .physical ? "none (physical sum)" : texts.modelText,
            alphaBeta: .init(defaultGy: request.defaultAlphaBeta, structures: abInfos,
                             overlapRule: "a voxel takes the α/β of the structures containing its centre (prism end caps); where they overlap the lowest α/β wins; elsewhere the default"),
            recovery: .init(applied: texts.anyRecovery, description: texts.recoveryText),
            referenceGrid: .init(source: reference.source, frameOfReferenceUID: reference.foR, size: [g.nx, g.ny, g.nz],
                                 spacingMM: [g.spacing.x, g.spacing.y, g.spacing.z], originMM: [g.origin.x, g.origin.y, g.origin.z]),
            courses: registered.courseInfos, intervals: intervals, structures: entries, flags: flags,
            conventions: [
                "each course converted voxel by voxel with its own number of fractions: d = D/n per voxel, never Rx/n (domain.md §3.1)",
                "BED = D(1 + d/(α/β)); EQD2 = BED/(1 + 2/(α/β))" + (request.linearAboveGy.map { "; LQ-L above d_T = \(num($0)) Gy: BED/fx = d_T(1 + d_T/(α/β)) + (d − d_T)(1 + 2d_T/(α/β)) (Astrahan 2008 [NV])" } ?? ""),
                "cumulative = Σ_i (1 − r_i)·Q_i (domain.md §3.4); per-course numbers are without recovery",
                "courses resampled onto the reference grid by trilinear interpolation (values within half a voxel of a source grid's outer centres take the nearest face; beyond, 0 Gy)",
                "structure metrics from the DVH engine of sbrt dvh (prism end caps, trilinear dose, Dx by linear interpolation on the cumulative DVH); the cumulative map of the output quantity is the quantised map written to the RT Dose",
                "flags are evaluated on plain sums (no recovery) at α/β = 2 Gy, as the rules were stated",
            ],
            warnings: warnings, software: DVHAnalysis.softwareName)
    }

    // MARK: Loading

    static func defaultLabel(_ path: String) -> String {
        var isDir: ObjCBool = false
        let url = URL(fileURLWithPath: path).standardizedFileURL
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return url.lastPathComponent }
        let parent = url.deletingLastPathComponent().lastPathComponent
        return parent.isEmpty || parent == "/" ? url.deletingPathExtension().lastPathComponent : parent
    }

    static func loadCourse(_ spec: CourseSpec, label: String) throws -> LoadedCourse {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: spec.path, isDirectory: &isDir) else {
            throw SBRTError(.invalidRequest, "course \(label): \(spec.path): no such file or folder")
        }
        var folder: StudyFolder?
        var doses: [DoseGrid]
        var plans: [Plan] = []
        if isDir.boolValue {
            let f = try StudyFolder.load(spec.path)
            folder = f
            doses = f.doses
            plans = f.plans
        } else {
            let file = try DICOMFile.read(path: spec.path)
            guard file.sopClassUID == SOPClass.rtDose || file.modality == "RTDOSE" else {
                throw SBRTError(.invalidRequest, "course \(label): \(spec.path) is not an RT Dose (SOP Class \(file.sopClassUID ?? "none")); give an RT Dose file or a folder")
            }
            doses = [try DoseGrid(file: file)]
        }
        guard !doses.isEmpty else { throw SBRTError(.invalidRequest, "course \(label): no RT Dose in \(spec.path)") }
        var warnings: [String] = []
        // Choose: one PLAN dose; else BEAM doses of one plan (summed); else one FRACTION dose.
        let byType = Dictionary(grouping: doses, by: { $0.summationType.uppercased() })
        var chosen: [DoseGrid]
        var summation: String
        if let p = byType["PLAN"] {
            guard p.count == 1 else { throw SBRTError(.invalidRequest, "course \(label): \(p.count) PLAN doses in \(spec.path); give the RT Dose file of the course") }
            chosen = p; summation = "PLAN"
        } else if let b = byType["BEAM"] ?? byType["BEAM_SESSION"] {
            let planSets = Set(b.map { $0.referencedPlanUIDs.sorted() })
            guard planSets.count == 1 else { throw SBRTError(.invalidRequest, "course \(label): BEAM doses of several plans in \(spec.path); give one course per plan") }
            chosen = b; summation = b[0].summationType.uppercased()
        } else if doses.count == 1 {
            chosen = doses; summation = doses[0].summationType.uppercased()
        } else {
            throw SBRTError(.invalidRequest, "course \(label): \(doses.count) RT Dose grids (\(doses.map(\.summationType).joined(separator: ", "))) in \(spec.path) and no single PLAN dose; give the RT Dose file of the course")
        }
        for d in chosen {
            guard d.units.uppercased() == "GY" else { throw SBRTError(.invalidRequest, "course \(label): \(d.path): Dose Units are \(d.units), not GY") }
            if d.doseType.uppercased() == "EFFECTIVE" {
                warnings.append("course \(label): \((d.path as NSString).lastPathComponent) has Dose Type EFFECTIVE; it is taken as a physical dose and converted again")
            }
        }
        // Plan and fractions.
        let planUIDs = Set(chosen.flatMap(\.referencedPlanUIDs))
        let plan = plans.first { planUIDs.contains($0.sopInstanceUID) } ?? (plans.count == 1 ? plans[0] : nil)
        var fractions: Int
        var source: String
        if let f = spec.fractions {
            fractions = f; source = ":fractions=\(f)"
            if let pf = plan?.fractions, pf != f {
                warnings.append("course \(label): \(f) fractions given, the RT Plan \(plan?.label ?? "") plans \(pf); \(f) used")
            }
        } else if let pf = plan?.fractions {
            fractions = pf; source = "RT Plan \(plan?.label ?? "") Number of Fractions Planned"
        } else {
            let why = plan == nil ? "no RT Plan with the course" : "its RT Plan has \(plan!.fractionGroups.count) fraction groups"
            throw SBRTError(.invalidRequest, "course \(label) (\(spec.path)): the number of fractions is unknown (\(why)); give it as \(spec.path):fractions=N")
        }
        // Load and sum.
        var dose = try chosen[0].loadDose()
        for extra in chosen.dropFirst() {
            let v = try extra.loadDose()
            guard extra.frameOfReferenceUID == chosen[0].frameOfReferenceUID else {
                throw SBRTError(.invalidRequest, "course \(label): beam doses on different frames of reference")
            }
            let r = Resampler.resample(v, onto: dose.grid)
            dose.voxels.withUnsafeMutableBufferPointer { d in
                r.volume.voxels.withUnsafeBufferPointer { s in for i in 0..<d.count { d[i] += s[i] } }
            }
        }
        if chosen.count > 1 { warnings.append("course \(label): \(chosen.count) \(summation) doses of one plan summed") }
        if summation == "FRACTION" || summation.hasSuffix("_SESSION") {
            let f = Float(fractions)
            dose.voxels.withUnsafeMutableBufferPointer { d in for i in 0..<d.count { d[i] *= f } }
            warnings.append("course \(label): \(summation) dose taken as the dose of one fraction and multiplied by \(fractions)")
        }
        return LoadedCourse(spec: spec, label: label, date: spec.date.flatMap(CourseSpec.parseDate), fractions: fractions,
                            fractionsSource: source, summation: chosen.count > 1 ? "\(chosen.count)×\(summation)" : summation,
                            doseFiles: chosen.map(\.path), doseUIDs: chosen.map(\.sopInstanceUID),
                            planUIDs: Array(planUIDs.union(plan.map { [$0.sopInstanceUID] } ?? [])).sorted(),
                            frameOfReferenceUID: chosen[0].frameOfReferenceUID, dose: dose, template: chosen[0].file.dataSet,
                            folder: folder, warnings: warnings)
    }

    static func isoDate(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: d)
    }

    static func num(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e6 ? String(Int(x)) : String(format: "%g", x) }

    static func ascii(_ s: String) -> String {
        s.replacingOccurrences(of: "α/β", with: "a/b").replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: "Σ", with: "sum")
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
