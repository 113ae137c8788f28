import Foundation

/// Everything the store keeps about one reviewed plan: provenance and prescription,
/// one entry per structure (with its metrics and full cumulative DVH), target indices
/// protocol verdicts and each review's overall outcome. Plain data; the batch orchestrator maps its results onto it.
///
/// Written in one transaction by `PlanStore.write(_:)`, which replaces any earlier copy
/// with the same `planKey`.
public struct PlanRecord: Sendable, Equatable {
    /// The plan's identity: `PlanKey.make(…)` of its inputs (primary key of `plans`).
    public var planKey: String
    /// The folder the plan was discovered in, as given to `sbrt batch`.
    public var folder: String
    public var patientID: String?
    /// RT Plan Label (300A,0002), when there is a plan.
    public var planLabel: String?
    /// SOP Instance UIDs of the RT Dose object(s): one, or the summed beam doses.
    /// Stored joined by `\` (the DICOM multi-value separator; UIDs never contain it).
    public var doseSOPInstanceUIDs: [String]
    public var structureSetSOPInstanceUID: String
    public var planSOPInstanceUID: String?
    public var ctSeriesInstanceUID: String?
    /// Dose Summation Type (3004,000A) of the dose(s), e.g. `PLAN`, `BEAM`.
    public var doseSummationType: String?
    public var rxGy: Double?
    /// Where the prescription came from (`--rx`, `RT Plan … Target Prescription Dose`).
    public var rxSource: String?
    public var fractions: Int?
    public var fractionsSource: String?
    public var sbrtVersion: String
    /// The options the plan was computed with, as canonical JSON (`PlanKey.canonicalJSON`).
    public var optionsJSON: String
    /// When the plan was computed; stored as ISO 8601 UTC text to the millisecond.
    public var createdAt: Date
    public var structures: [StructureRecord]
    public var targetIndices: [TargetIndexRecord]
    public var verdicts: [VerdictRecord]
    /// The overall outcome of each protocol review of the plan (one per protocol id).
    public var reviews: [ReviewRecord]

    public init(planKey: String, folder: String, patientID: String? = nil, planLabel: String? = nil,
                doseSOPInstanceUIDs: [String], structureSetSOPInstanceUID: String,
                planSOPInstanceUID: String? = nil, ctSeriesInstanceUID: String? = nil,
                doseSummationType: String? = nil, rxGy: Double? = nil, rxSource: String? = nil,
                fractions: Int? = nil, fractionsSource: String? = nil, sbrtVersion: String,
                optionsJSON: String, createdAt: Date = Date(), structures: [StructureRecord] = [],
                targetIndices: [TargetIndexRecord] = [], verdicts: [VerdictRecord] = [], reviews: [ReviewRecord] = []) {
        self.planKey = planKey
        self.folder = folder
        self.patientID = patientID
        self.planLabel = planLabel
        self.doseSOPInstanceUIDs = doseSOPInstanceUIDs
        self.structureSetSOPInstanceUID = structureSetSOPInstanceUID
        self.planSOPInstanceUID = planSOPInstanceUID
        self.ctSeriesInstanceUID = ctSeriesInstanceUID
        self.doseSummationType = doseSummationType
        self.rxGy = rxGy
        self.rxSource = rxSource
        self.fractions = fractions
        self.fractionsSource = fractionsSource
        self.sbrtVersion = sbrtVersion
        self.optionsJSON = optionsJSON
        self.createdAt = createdAt
        self.structures = structures
        self.targetIndices = targetIndices
        self.verdicts = verdicts
        self.reviews = reviews
    }
}

/// One structure of a plan: its volume, dose statistics, metrics and cumulative DVH.
/// Names are unique within a plan (primary key `(plan_key, structure)`).
public struct StructureRecord: Sendable, Equatable {
    /// The structure as requested: an ROI name or an expression (`PTV-GTV`).
    public var name: String
    /// ROI Number (3006,0022) when the structure is one ROI.
    public var roiNumber: Int?
    /// RT ROI Interpreted Type (3006,00A4), e.g. `PTV`, `ORGAN`.
    public var type: String?
    public var volumeCC: Double
    public var minGy: Double
    public var meanGy: Double
    public var maxGy: Double
    /// Percentage (0–100) of the volume outside the dose grid, counted at 0 Gy.
    public var outsideDoseGridPercent: Double
    public var metrics: [MetricRecord]
    public var dvh: StoredDVH

    public init(name: String, roiNumber: Int? = nil, type: String? = nil, volumeCC: Double, minGy: Double,
                meanGy: Double, maxGy: Double, outsideDoseGridPercent: Double, metrics: [MetricRecord] = [],
                dvh: StoredDVH) {
        self.name = name
        self.roiNumber = roiNumber
        self.type = type
        self.volumeCC = volumeCC
        self.minGy = minGy
        self.meanGy = meanGy
        self.maxGy = maxGy
        self.outsideDoseGridPercent = outsideDoseGridPercent
        self.metrics = metrics
        self.dvh = dvh
    }
}

/// One DVH metric of a structure, as `sbrt dvh` reports it.
public struct MetricRecord: Sendable, Equatable {
    /// The metric in TG-263 syntax as requested: `D95%`, `D0.035cc`, `V20Gy[%]`.
    public var metric: String
    /// nil when not evaluable (the note says why).
    public var value: Double?
    /// `Gy`, `%`, `cc`, or empty for a ratio.
    public var unit: String
    public var note: String?

    public init(metric: String, value: Double?, unit: String, note: String? = nil) {
        self.metric = metric
        self.value = value
        self.unit = unit
        self.note = note
    }
}

/// A plan index computed with a structure as the target (HI, CI, PCI, GI, R50, D2cm).
public struct TargetIndexRecord: Sendable, Equatable {
    public var target: String
    public var index: String
    public var value: Double?
    /// Empty for a ratio; `%` for D2cm (of Rx).
    public var unit: String
    public var note: String?

    public init(target: String, index: String, value: Double?, unit: String = "", note: String? = nil) {
        self.target = target
        self.index = index
        self.value = value
        self.unit = unit
        self.note = note
    }
}

/// One row of a protocol check (`sbrt check`): a constraint, the plan's value, the limit
/// and the verdict, with the constraint's source and evidence mark.
public struct VerdictRecord: Sendable, Equatable {
    public var protocolID: String
    /// The constraint as the protocol writes it, e.g. `V20Gy < 10 %`.
    public var constraint: String
    /// The protocol's structure name (TG-263).
    public var structure: String
    /// The plan's structure it was matched to; nil when missing.
    public var planStructure: String?
    public var value: Double?
    public var unit: String
    /// `<`, `<=`, `>`, `>=`.
    public var comparator: String
    public var limit: Double?
    /// The limit of a minor deviation, when the protocol has one.
    public var minorLimit: Double?
    /// `per protocol`, `minor deviation`, `major deviation`, `missing structure`, …
    public var verdict: String
    /// Signed distance to the limit in the constraint's unit (positive = inside).
    public var margin: Double?
    public var source: String
    /// Evidence mark of the row ([V], [S], [NV], [R]).
    public var mark: String
    public var note: String?

    public init(protocolID: String, constraint: String, structure: String, planStructure: String?,
                value: Double?, unit: String, comparator: String, limit: Double?, minorLimit: Double? = nil,
                verdict: String, margin: Double?, source: String, mark: String, note: String? = nil) {
        self.protocolID = protocolID
        self.constraint = constraint
        self.structure = structure
        self.planStructure = planStructure
        self.value = value
        self.unit = unit
        self.comparator = comparator
        self.limit = limit
        self.minorLimit = minorLimit
        self.verdict = verdict
        self.margin = margin
        self.source = source
        self.mark = mark
        self.note = note
    }
}

/// The outcome of a whole protocol review (`sbrt check`'s overall verdict): a plan with
/// no deviation row is not thereby per protocol — its review may be incomplete.
public struct ReviewRecord: Sendable, Equatable {
    public var protocolID: String
    /// `per protocol`, `minor deviation`, `major deviation` or `incomplete`.
    public var overall: String
    /// Why the review is incomplete (the reasons joined by `; `); nil when it is complete.
    /// A deviation can carry reasons too (rows not evaluable besides the deviating ones).
    public var reason: String?

    public init(protocolID: String, overall: String, reason: String? = nil) {
        self.protocolID = protocolID
        self.overall = overall
        self.reason = reason
    }
}

/// A plan (or a folder) that could not be reviewed, with the typed error's kind.
///
/// Keyed by `planKey` when known, else by folder and file: recording the same failure
/// again replaces it, and writing the plan later removes it.
public struct FailureRecord: Sendable, Equatable {
    public var folder: String
    /// The error's kind (e.g. `truncated`, `missing-structure-set`).
    public var kind: String
    public var message: String
    public var file: String?
    public var planKey: String?
    /// Stored as ISO 8601 UTC text to the millisecond.
    public var occurredAt: Date

    public init(folder: String, kind: String, message: String, file: String? = nil, planKey: String? = nil,
                occurredAt: Date = Date()) {
        self.folder = folder
        self.kind = kind
        self.message = message
        self.file = file
        self.planKey = planKey
        self.occurredAt = occurredAt
    }

    /// Primary key of `failure_records`: the plan key, else `folder:<folder>|<file>`.
    public var failureKey: String {
        Self.key(folder: folder, file: file, planKey: planKey)
    }

    /// The `failureKey` a failure with these fields has.
    public static func key(folder: String, file: String?, planKey: String? = nil) -> String {
        planKey ?? "folder:\(folder)|\(file ?? "")"
    }
}
