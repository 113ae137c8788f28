import Base
import Dosimetry
import Foundation
import PlanReview
import RTModel
import Store

/// What happened to one plan of a run.
public enum PlanOutcome: Sendable, Equatable {
    /// Computed and written (one transaction).
    case stored(planKey: String)
    /// Already in the store with the same key (not recomputed; `--rescan` recomputes).
    case skipped(planKey: String)
    /// Could not be reviewed; recorded in `failures`.
    case failed(FailureRecord)
    /// The same export as the plan of folder `of` in this run (same plan key: the same
    /// doses and structure set); stored once, under that folder.
    case duplicate(planKey: String, of: String)
}

/// What every plan of a run shares: the request, the options as stored, the store and
/// the keys it held when the run started.
struct RunContext: Sendable {
    var request: BatchRequest
    var optionsJSON: String
    var store: PlanStore
    var storedAtStart: Set<String>
    var claims: KeyClaims
}

/// One plan of a run: resolve its files, compute every structure's DVH and metrics, the
/// target indices and (with a protocol) the verdicts, and write them in one transaction.
struct PlanJob {
    var plan: DiscoveredPlan
    var context: RunContext

    /// The failure record of this plan: keyed by its folder and defining file (not by
    /// the plan key, which changes when the inputs are fixed), so that the plan's next
    /// successful write removes it whatever its key.
    func failure(_ e: SBRTError) -> FailureRecord {
        FailureRecord(folder: plan.folder, kind: e.kind.rawValue, message: e.description, file: plan.definingFile)
    }

    /// The key discovery predicts (its dose and structure set UIDs); nil when it found
    /// no dose or no structure set.
    func expectedKey() -> String? {
        guard !plan.doseUIDs.isEmpty, let ss = plan.structureSetUID else { return nil }
        return PlanKey.make(doseSOPInstanceUIDs: plan.doseUIDs, structureSetSOPInstanceUID: ss,
                            optionsJSON: context.optionsJSON, sbrtVersion: context.request.sbrtVersion)
    }

    /// Runs the plan; never throws (a failure is an outcome). A store that cannot write
    /// the plan is a failure of the plan too (the run decides what to do when it cannot
    /// record the failure either).
    func run() -> PlanOutcome {
        do {
            if let problem = plan.problem { throw problem }
            let rescan = context.request.rescan
            let expected = expectedKey()
            if let expected, let first = context.claims.claim(expected, folder: plan.folder) {
                return .duplicate(planKey: expected, of: first)
            }
            if !rescan, let expected, context.storedAtStart.contains(expected) { return .skipped(planKey: expected) }
            let study = try resolve()
            let key = PlanKey.make(doseSOPInstanceUIDs: study.dose!.sopInstanceUIDs,
                                   structureSetSOPInstanceUID: study.structureSet!.sopInstanceUID,
                                   optionsJSON: context.optionsJSON, sbrtVersion: context.request.sbrtVersion)
            if key != expected, let first = context.claims.claim(key, folder: plan.folder) { return .duplicate(planKey: key, of: first) }
            if !rescan, key != expected, try context.store.contains(planKey: key) { return .skipped(planKey: key) }
            let record = try compute(study, key: key)
            try context.store.write(record, clearingFailures: [FailureRecord.key(folder: plan.folder, file: plan.definingFile)])
            return .stored(planKey: key)
        } catch let e as SBRTError {
            return .failed(failure(e))
        } catch {
            return .failed(failure(SBRTError(.invalidValue, "unexpected failure (\(type(of: error))): \(error.localizedDescription)")))
        }
    }

    /// The plan's files read and resolved as `sbrt dvh` resolves a folder (the plan named
    /// by its UID, so a folder of several plans is not ambiguous).
    func resolve() throws -> ResolvedStudy {
        let folder = try StudyFolder(root: plan.folder, scan: try DirectoryScan.scan(files: plan.files))
        var request = StudyRequest(needs: [.dose, .structureSet])
        request.plan = plan.planUID
        return try ResolvedStudy.resolve(folder: folder, request)
    }

    /// Every structure's DVH and metrics, the target indices and the verdicts, as a record.
    func compute(_ study: ResolvedStudy, key: String) throws -> PlanRecord {
        let request = context.request
        var dvh = DVHRequest()
        dvh.metrics = request.metrics
        dvh.options.endCap = request.endCap
        dvh.structures = Self.structureNames(study)
        let analysis = try DVHAnalysis.run(study, dvh)
        var structures: [StructureRecord] = []
        for (entry, curve) in zip(analysis.report.structures, analysis.dvhs) {
            structures.append(try Self.structure(entry, curve, binWidthGy: request.binWidthGy))
        }
        var verdicts: [VerdictRecord] = []
        var reviews: [ReviewRecord] = []
        if let review = request.review {
            var check = CheckRequest()
            check.options.endCap = request.endCap
            let report = try PlanCheck.run(study, review.protocol, check).0
            verdicts = report.rows.map { Self.verdict($0, protocolID: review.protocol.id) }
            reviews = [ReviewRecord(protocolID: review.protocol.id, overall: report.overall.rawValue,
                                    reason: report.incomplete.isEmpty ? nil : report.incomplete.joined(separator: "; "))]
        }
        let dose = study.dose!
        return PlanRecord(
            planKey: key, folder: plan.folder, patientID: plan.patientID.flatMap { $0.isEmpty ? nil : $0 },
            planLabel: study.plan?.label ?? plan.planLabel, doseSOPInstanceUIDs: dose.sopInstanceUIDs,
            structureSetSOPInstanceUID: study.structureSet!.sopInstanceUID, planSOPInstanceUID: study.plan?.sopInstanceUID,
            ctSeriesInstanceUID: study.images?.seriesInstanceUID, doseSummationType: dose.summationType,
            rxGy: study.rx?.value, rxSource: study.rx?.source, fractions: study.fractions?.value,
            fractionsSource: study.fractions?.source, sbrtVersion: request.sbrtVersion, optionsJSON: context.optionsJSON,
            createdAt: Date(), structures: structures, targetIndices: TargetIndices.records(analysis), verdicts: verdicts,
            reviews: reviews)
    }

    /// The ROIs with closed planar contours, in structure-set order, each name once (the
    /// structures `sbrt dvh` reports by default; a repeated name is one structure, the
    /// first ROI of that name, as a name in an expression means).
    static func structureNames(_ study: ResolvedStudy) -> [String] {
        var seen = Set<String>()
        return (study.structureSet?.rois ?? []).filter { r in r.hasClosedContours }
            .map(\.name).filter { seen.insert($0).inserted }
    }

    static func structure(_ e: DVHReport.StructureEntry, _ dvh: DVH, binWidthGy: Double) throws -> StructureRecord {
        StructureRecord(
            name: e.name, roiNumber: e.roiNumber, type: e.type, volumeCC: e.volumeCC, minGy: e.minGy, meanGy: e.meanGy,
            maxGy: e.maxGy, outsideDoseGridPercent: e.outsideDoseGridPercent,
            metrics: e.metrics.map { MetricRecord(metric: $0.metric, value: $0.value, unit: $0.unit, note: $0.note) },
            dvh: try StoredDVH(binWidthGy: binWidthGy, totalVolumeCC: dvh.volumeCC, maxDoseGy: dvh.maxGy,
                               volumeCCAtLeast: dvh.volumeCC(atLeast:)))
    }

    /// One row of `sbrt check` as stored; `note` holds why the row is not evaluable, then
    /// the row's own note.
    static func verdict(_ r: CheckReport.Row, protocolID: String) -> VerdictRecord {
        let note = [r.reason, r.note].compactMap { $0 }.joined(separator: "; ")
        return VerdictRecord(protocolID: protocolID, constraint: r.constraint, structure: r.structure, planStructure: r.planStructure,
                             value: r.value, unit: r.unit, comparator: r.comparator, limit: r.limit, minorLimit: r.minorLimit,
                             verdict: r.verdict.rawValue, margin: r.margin, source: r.source, mark: r.mark, note: note.isEmpty ? nil : note)
    }
}
