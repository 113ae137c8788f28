import Base
import DICOM
import Foundation
import RTModel
import VoxelKit

extension Composite {
    /// One course, resolved: the study (plan, dose with its summation handling, and for the
    /// reference course its structure set and images), its fractions and date.
    struct LoadedCourse {
        var spec: CourseSpec
        var label: String
        var date: Date?
        var study: ResolvedStudy
        /// The course total (PLAN/FRACTION/MULTI_PLAN as is, BEAM summed, per-session × n).
        var dose: StudyDose
        var fractions: Int
        var fractionsSource: String
        var planUIDs: [String]
        var warnings: [String]

        var frameOfReferenceUID: String? { dose.frameOfReferenceUID }
        var template: DataSet { dose.primary.file.dataSet }
        var folder: StudyFolder { study.folder }
    }

    /// An error of one course, prefixed with the course and attributed to its path.
    static func inCourse(_ e: SBRTError, _ label: String, _ path: String) -> SBRTError {
        var c = e.inFile(path)
        c.message = "course \(label): " + e.message
        return c
    }

    /// Resolves course `i` through the study resolver (`ResolvedStudy`), as every command
    /// reads a folder: the plan, its dose(s) with their summation handling, and the
    /// fraction count (the course's stated one, else the plan's). Only the reference
    /// course's structure set and images are resolved (when no structures folder is given).
    static func loadCourse(_ request: CompositeRequest, _ i: Int, label: String, isReference: Bool) throws -> LoadedCourse {
        let spec = request.courses[i]
        var r = StudyRequest(needs: [.dose])
        r.plan = spec.plan
        r.fractions = spec.fractions
        r.perSessionDose = spec.perSessionDose || request.perSessionDose
        r.loadsStructures = isReference && request.structuresPath == nil
        if r.loadsStructures { r.structureSetPath = request.structureSetPath }
        let study: ResolvedStudy
        do { study = try ResolvedStudy.resolve(spec.path, r) } catch let e as SBRTError { throw inCourse(e, label, spec.path) }
        guard let dose = study.dose else { throw SBRTError(.noDose, "course \(label): no RT Dose", file: spec.path) }
        guard let fractions = study.fractions else {
            let why = study.plan.map { "RT Plan \($0.displayName) has \($0.fractionGroups.count) fraction groups" } ?? "no RT Plan with the course"
            throw SBRTError(.missingAttribute, "course \(label): the number of fractions is unknown (\(why)); state it for the course", file: spec.path)
        }
        var warnings = study.notes.map { "course \(label): \($0)" }
        for d in dose.files where d.doseType.uppercased() == "EFFECTIVE" {
            warnings.append("course \(label): \((d.path as NSString).lastPathComponent) has Dose Type EFFECTIVE; it is taken as a physical dose and converted again")
        }
        let planUIDs = Set(dose.files.flatMap(\.referencedPlanUIDs)).union(study.plan.map { [$0.sopInstanceUID] } ?? [])
        return LoadedCourse(spec: spec, label: label, date: spec.date.flatMap(CourseSpec.parseDate), study: study, dose: dose,
                            fractions: fractions.value, fractionsSource: fractions.source, planUIDs: planUIDs.sorted(), warnings: warnings)
    }

    /// Every course and, when given, the structures folder, resolved in parallel (they are
    /// independent). A course's error is thrown first, in course order, as when they were
    /// read one after the other; the structures folder's is returned for its turn.
    static func loadInputs(_ request: CompositeRequest, _ labels: [String], refIndex: Int) throws -> ([LoadedCourse], Result<ResolvedStudy?, Error>?) {
        let n = request.courses.count
        var courses = [Result<LoadedCourse, Error>?](repeating: nil, count: n)
        var structures: Result<ResolvedStudy?, Error>?
        // The structures folder (an inventory of every file in it, then the structure set)
        // takes longest: it goes first, and the courses share the other workers.
        let jobs = (request.structuresPath == nil ? [] : [n]) + Array(0..<n)
        courses.withUnsafeMutableBufferPointer { out in
            let out = out
            Parallel.forEachDynamic(jobs) { _, k in
                if k < n {
                    out[k] = Result { try loadCourse(request, k, label: labels[k], isReference: k == refIndex) }
                } else {
                    structures = Result { try structuresStudy(request, reference: nil) }
                }
            }
        }
        return (try courses.map { try $0!.get() }, structures)
    }

    /// The study holding the structure set (and images) on the reference frame: the
    /// structures folder through the resolver, else the reference course's study.
    static func structuresStudy(_ request: CompositeRequest, reference: LoadedCourse?) throws -> ResolvedStudy? {
        guard let path = request.structuresPath else {
            guard let study = reference?.study else { return nil }
            return study.structureSet != nil || study.images != nil ? study : nil
        }
        var r = StudyRequest(needs: request.grid == .ct ? [.structureSet, .images] : [.structureSet])
        r.loadsDose = false
        r.structureSetPath = request.structureSetPath
        return try ResolvedStudy.resolve(path, r)
    }

    /// Intervals between consecutive dated courses, in date order.
    static func courseIntervals(_ courses: [LoadedCourse]) -> [CompositeReport.IntervalInfo] {
        let dated = courses.filter { $0.date != nil }.sorted { $0.date! < $1.date! }
        return zip(dated, dated.dropFirst()).map { a, b in
            let (days, months) = CompositeFlags.interval(from: a.date!, to: b.date!)
            return .init(from: a.label, to: b.label, days: days, months: months)
        }
    }

    // MARK: Registration and resampling

    /// Every course on the reference grid, with its report entry and recovery.
    struct Registered {
        var onReference: [[Float]]
        var courseInfos: [CompositeReport.CourseInfo]
        var recoveries: [Recovery]
        /// Per course, where it does not cover the whole reference grid: its coverage map
        /// (`CourseCoverage`); nil for a course that covers every voxel.
        var coverage: [CourseCoverage?] = []
    }

    /// Registers every course to the reference frame and resamples it onto the reference
    /// grid; decides each course's recovery; checks what recovery and physical sums allow.
    static func registerAndResample(_ request: CompositeRequest, _ courses: [LoadedCourse], refIndex: Int, _ reference: ReferenceGrid,
                                    _ structureStudy: ResolvedStudy?, _ warnings: inout [String]) throws -> Registered {
        let registrations = try spatialRegistrations(request, courses, structureStudy)
        var out = Registered(onReference: [], courseInfos: [], recoveries: [])
        for (i, c) in courses.enumerated() {
            let (transform, registration) = try courseRegistration(request, c, reference.foR, registrations)
            if let t = transform, !t.isRigid() {
                warnings.append("course \(c.label): the transform is not rigid (its 3×3 part is not a rotation); applied as an affine map")
            }
            // NaN marks the voxels outside the course's grid; `CourseCoverage` maps them and sets them to 0.
            var r = Resampler.resample(c.dose.volume, onto: reference.grid, sourceFromTarget: transform?.inverse, outside: .nan)
            if r.coverage < 0.9995 {
                warnings.append(String(format: "course %@ covers %.1f %% of the reference grid; outside it the course contributes 0 Gy, and a flag on a structure partly outside it is not evaluable unless the dose at its edge is negligible", c.label, 100 * r.coverage))
            }
            // The maps only feed the per-structure report; without it the marks are just cleared.
            out.coverage.append(r.outsideCount > 0 ? CourseCoverage.take(&r.volume, mapping: request.computeReport) : nil)
            out.onReference.append(r.volume.voxels)
            let (rec, recText) = try courseRecovery(request, c, index: i, refIndex: refIndex, newest: courses[refIndex], &warnings)
            out.recoveries.append(rec)
            out.courseInfos.append(CompositeReport.CourseInfo(
                label: c.label, path: c.spec.path, doseFiles: c.dose.paths, doseSOPInstanceUIDs: c.dose.sopInstanceUIDs,
                summation: c.dose.summationType, handling: c.dose.handling.rawValue, multiplier: c.dose.multiplier, doseSummary: c.dose.summary,
                resolution: c.study.choices, fractions: c.fractions, fractionsSource: c.fractionsSource, date: c.date.map(isoDate),
                frameOfReferenceUID: c.frameOfReferenceUID, registration: registration, resampled: !r.copied, coveragePercent: 100 * r.coverage,
                maxPhysicalGy: DoseField(r.volume).maxGy, recovery: recText))
        }
        if request.quantity == .physical && out.recoveries.contains(where: { $0 != .none }) {
            throw SBRTError(.invalidRequest, "recovery discounts biologically effective dose; it cannot be applied to a physical sum")
        }
        if request.quantity == .physical && Set(courses.map(\.fractions)).count > 1 {
            warnings.append("physical doses of courses with different fractionation (\(courses.map { "\($0.label) \($0.fractions) fx" }.joined(separator: ", "))) are summed as asked; such a sum is not biologically meaningful: convert each course with its own fractions (EQD2 or BED)")
        }
        if out.recoveries.contains(where: { if case .jonesGrant = $0 { return true } else { return false } }), request.toleranceBED == nil {
            throw SBRTError(.invalidRequest, "the Jones–Grant recovery model needs the tolerance BED (Gy) it is relative to")
        }
        return out
    }

    /// Every Spatial Registration object in every course folder (and the structures folder, when given).
    static func spatialRegistrations(_ request: CompositeRequest, _ courses: [LoadedCourse], _ structureStudy: ResolvedStudy?) throws -> [SpatialRegistration] {
        var registrations: [SpatialRegistration] = []
        var folders = courses.map(\.folder)
        if let s = structureStudy, request.structuresPath != nil { folders.append(s.folder) }
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
            return (explicit.transform, "transform given for course \(c.label): \(explicit.transform)")
        }
        guard let f = c.frameOfReferenceUID, !foR.isEmpty, f != foR else { return (nil, "same frame of reference") }
        if let any = request.transforms.first(where: { $0.label == nil }) {
            return (any.transform, "transform given for every course on another frame: \(any.transform)")
        }
        if let (sro, m) = registrations.lazy.compactMap({ r in r.transform(from: f, to: foR).map { (r, $0) } }).first {
            return (m, "Spatial Registration \((sro.path as NSString).lastPathComponent) (\(sro.sopInstanceUID)): \(m)")
        }
        throw SBRTError(.frameOfReference, "course \(c.label) (\(c.spec.path)) is on frame of reference \(f), the reference grid on \(foR); a registration is needed: a Spatial Registration object registering both frames in a course folder, or a 4×4 transform (16 numbers, course → reference) for the course")
    }

    /// A course's recovery (given by label or number, or by the model from its interval to
    /// the newest course; never for the newest) and its description. Jones–Grant is
    /// refused below the 1 year its curves start at, and warned beyond their 3 years.
    static func courseRecovery(_ request: CompositeRequest, _ c: LoadedCourse, index i: Int, refIndex: Int,
                               newest ref: LoadedCourse, _ warnings: inout [String]) throws -> (Recovery, String) {
        if let r = request.recoveryFractions[c.label] ?? request.recoveryFractions["\(i + 1)"] {
            return (r > 0 ? .fraction(r) : .none, String(format: "%.0f %% (given; the course counts %.2f × its BED/EQD2)", 100 * r, 1 - r))
        }
        guard let model = request.recoveryModel, i != refIndex else { return (.none, "none") }
        guard let d = c.date, let dr = ref.date else {
            throw SBRTError(.invalidRequest, "the time-based recovery model \(model.rawValue) needs the date of every course; course \(c.label) has none")
        }
        let days = CompositeFlags.interval(from: d, to: dr).days
        let years = Double(days) / 365.25
        let fitted = RecoveryModel.jonesGrantFittedDays
        if model.isJonesGrant && days < fitted.lowerBound {
            throw SBRTError(.invalidRequest, String(format: "course %@ is %d days (%.2f years) before the newest course: the Jones–Grant recovery curves were fitted on intervals of 1 to 3 years, and below 1 year they would still credit half or more of the course as recovered, which the data do not support; use no recovery, or a recovery fraction you can justify", c.label, days, years))
        }
        var beyond = ""
        if model.isJonesGrant && days > fitted.upperBound {
            beyond = "; beyond the fitted 1-3 years: r taken at 3 years"
            warnings.append(String(format: "RECOVERY OUTSIDE ITS DATA: course %@ is %.2f years before the newest course, beyond the 1–3 years the Jones–Grant curves were fitted on; r is taken at 3 years, which credits less recovery than extrapolating would (conservative), but the model is not validated there", c.label, years))
        }
        let rec = model.recovery(intervalDays: days, toleranceBED: request.toleranceBED)
        switch rec {
        case .none: return (rec, "0 % (\(model.rawValue), \(days) days before the newest course)")
        case .fraction(let f): return (rec, String(format: "%.0f %% (%@, %d days before the newest course)", 100 * f, model.rawValue, days))
        case .jonesGrant(let tol, let rr):
            return (rec, String(format: "%@: r = %.3f at %.2f years, BED_tol %.1f Gy, at a/b 2 Gy voxels only%@", model.rawValue, rr, years, tol, beyond))
        }
    }

    /// The voxels Jones–Grant recovery applies to (α/β = 2 Gy), nil without it.
    /// - Throws: `.invalidRequest` when the model is asked for and no voxel has α/β 2 Gy:
    ///   it would change nothing while every output said "recovery on".
    static func checkJonesGrant(_ request: CompositeRequest, _ recoveries: [Recovery], _ map: AlphaBetaMap.Result?, grid: Grid) throws -> Int? {
        guard recoveries.contains(where: { if case .jonesGrant = $0 { return true } else { return false } }) else { return nil }
        let two = Float(Recovery.jonesGrantAlphaBetaGy)
        let count = map.map { m in m.values.reduce(0) { $0 + ($1 == two ? 1 : 0) } }
            ?? (abs(request.defaultAlphaBeta - Recovery.jonesGrantAlphaBetaGy) < 1e-6 ? grid.count : 0)
        guard count > 0 else {
            throw SBRTError(.invalidRequest, "the Jones–Grant recovery model was stated for the spinal cord at α/β 2 Gy and applies only where α/β is 2 Gy; no voxel of the reference grid has α/β 2 Gy (no CNS structure on the grid)")
        }
        return count
    }
}
