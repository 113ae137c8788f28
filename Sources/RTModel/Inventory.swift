import Base
import DICOM
import Foundation
import VoxelKit

/// What `sbrt info` reports: a folder's DICOM objects per patient and study.
///
/// This is a stable, documented schema (`docs/info.md`, schema `sbrt.info/2`: snake_case keys since version 2):
/// keys are only added in later versions, never renamed or removed. Lengths are in
/// mm, volumes in the units named beside them, doses in the dose grid's units.
public struct Inventory: Codable, Sendable {
    public var schema = "sbrt.info/2"
    public var root: String
    public var files: FileCounts
    public var patients: [PatientEntry]
    public var warnings: [Warning]
    /// How the commands resolve this folder (plan, dose, structure set, images), or why
    /// they cannot without a choice from the user.
    public var resolution: Resolution?

    public struct Resolution: Codable, Sendable {
        public var choices: [String]
        public var notes: [String]
        /// The dose the commands use, and what was done with it.
        public var dose: String?
        /// Why the folder does not resolve on its own (kind and message), if it does not.
        public var problemKind: String?
        public var problem: String?

        public init(_ study: ResolvedStudy) {
            choices = study.choices
            notes = study.notes
            dose = study.dose?.summary
        }

        public init(_ error: SBRTError) {
            choices = []
            notes = []
            problemKind = error.kind.rawValue
            problem = error.message
        }
    }

    public struct FileCounts: Codable, Sendable {
        public var scanned: Int
        public var dicom: Int
        /// Paths of files that are not DICOM (README, images…), skipped.
        public var ignored: [String]
        /// DICOM files that could not be read (only with --skip-unreadable).
        public var unreadable: [String]
    }

    public struct PatientEntry: Codable, Sendable {
        public var id: String
        public var name: String
        public var birthDate: String?
        public var sex: String?
        public var age: String?
        public var studies: [StudyEntry]
    }

    public struct StudyEntry: Codable, Sendable {
        public var studyInstanceUID: String
        public var date: String?
        public var description: String?
        public var framesOfReference: [String]
        public var ctSeries: [CTEntry]
        public var structureSets: [StructureSetEntry]
        public var doses: [DoseEntry]
        public var plans: [PlanEntry]
        public var otherObjects: [OtherEntry]
    }

    public struct CTEntry: Codable, Sendable {
        public var seriesInstanceUID: String
        public var description: String?
        public var frameOfReferenceUID: String?
        public var imageCount: Int
        /// Columns, rows, planes of the volume grid (planes = images unless slices are
        /// missing or irregular, when the grid spans the regular lattice).
        public var dimensions: [Int]
        /// Column spacing, row spacing, slice spacing (median gap), mm.
        public var spacingMM: [Double]
        /// Orientation read from the direction cosines: HFS, FFS, HFP, FFP, HFDL, HFDR,
        /// FFDL, FFDR, axial-oblique, sagittal, coronal or oblique.
        public var orientation: String
        /// Patient Position (0018,5100) as written, if present.
        public var patientPosition: String?
        public var imageOrientationPatient: [Double]
        /// Patient z of the first and last slice centres (after ordering along the normal).
        public var zRangeMM: [Double]
        /// Patient position of the first voxel of the first slice.
        public var originMM: [Double]
        /// Smallest and largest Hounsfield unit.
        public var huRange: [Int]
        public var transferSyntaxes: [String]
    }

    public struct ROIEntry: Codable, Sendable {
        public var number: Int
        public var name: String
        public var type: String?
        public var color: [Int]?
        public var contours: Int
        public var planes: Int
        public var points: Int
        public var geometricTypes: [String]
    }

    public struct StructureSetEntry: Codable, Sendable {
        public var file: String
        public var sopInstanceUID: String
        public var label: String?
        public var frameOfReferenceUIDs: [String]
        public var rois: [ROIEntry]
    }

    public struct DVHEntry: Codable, Sendable {
        public var roiNumbers: [Int]
        public var roiNames: [String]
        public var type: String
        public var doseUnits: String
        public var volumeUnits: String
        public var bins: Int
        /// Computed from DVH Data, not copied from the summary attributes.
        public var volume: Double
        public var minDose: Double
        public var meanDose: Double
        public var maxDose: Double
        /// The summary attributes as the file states them (may be in % despite Gy units).
        public var reportedMinDose: Double?
        public var reportedMeanDose: Double?
        public var reportedMaxDose: Double?
    }

    public struct DoseEntry: Codable, Sendable {
        public var file: String
        public var sopInstanceUID: String
        public var frameOfReferenceUID: String?
        public var dimensions: [Int]
        public var spacingMM: [Double]
        public var originMM: [Double]
        public var orientation: String
        public var maxDose: Double
        public var units: String
        public var doseType: String
        public var summationType: String
        public var bitsAllocated: Int
        public var doseGridScaling: Double
        public var frameOffsetForm: String
        public var referencedPlanUIDs: [String]
        public var embeddedDVHs: [DVHEntry]
    }

    public struct PlanEntry: Codable, Sendable {
        public var file: String
        public var sopInstanceUID: String
        public var label: String?
        public var name: String?
        public var approvalStatus: String?
        public var fractionGroups: [Plan.FractionGroup]
        public var doseReferences: [Plan.DoseReference]
        /// Present only when the plan states exactly one Target Prescription Dose.
        public var prescriptionGy: Double?
        public var beams: Int
    }

    public struct OtherEntry: Codable, Sendable {
        public var modality: String
        public var sopClassUID: String
        public var count: Int
    }
}

extension Inventory {
    /// Builds the inventory of a loaded folder. Computes each CT series' HU range by
    /// scanning stored pixel values (no volume is built).
    public init(_ folder: StudyFolder) throws {
        root = folder.root
        files = FileCounts(scanned: folder.scan.scannedCount, dicom: folder.scan.files.count,
                           ignored: folder.scan.ignored, unreadable: folder.scan.unreadable.map(\.description))
        warnings = folder.warnings

        struct Key: Hashable { var patient: String; var study: String }
        var patientInfo: [String: (name: String, birth: String?, sex: String?, age: String?)] = [:]
        var patientOrder: [String] = []
        var studies: [Key: StudyEntry] = [:]
        var studyOrder: [Key] = []

        func key(_ ds: DataSet) -> Key {
            let pid = ds.string(.patientID) ?? ""
            if patientInfo[pid] == nil {
                patientInfo[pid] = (ds.string(.patientName) ?? "", ds.string(.patientBirthDate), ds.string(.patientSex), ds.string(.patientAge))
                patientOrder.append(pid)
            }
            let k = Key(patient: pid, study: ds.string(.studyInstanceUID) ?? "")
            if studies[k] == nil {
                studies[k] = StudyEntry(studyInstanceUID: k.study, date: ds.string(.studyDate), description: ds.string(.studyDescription),
                                        framesOfReference: [], ctSeries: [], structureSets: [], doses: [], plans: [], otherObjects: [])
                studyOrder.append(k)
            }
            return k
        }
        func addFoR(_ k: Key, _ uid: String?) {
            if let uid, !uid.isEmpty, !studies[k]!.framesOfReference.contains(uid) { studies[k]!.framesOfReference.append(uid) }
        }
        func r6(_ v: Double) -> Double { (v * 1e6).rounded() / 1e6 }
        func vec(_ v: Vec3) -> [Double] { [v.x, v.y, v.z].map(r6) }

        for ct in folder.ctSeries {
            let first = ct.slices[0]
            let k = key(first.file.dataSet)
            addFoR(k, ct.frameOfReferenceUID)
            let hu = try ct.huRange()
            let zs = ct.slices.map { $0.plane.position.z }
            let p = first.plane
            studies[k]!.ctSeries.append(CTEntry(
                seriesInstanceUID: ct.seriesInstanceUID, description: ct.seriesDescription,
                frameOfReferenceUID: ct.frameOfReferenceUID, imageCount: ct.slices.count,
                dimensions: [ct.grid.nx, ct.grid.ny, ct.grid.nz],
                spacingMM: vec(ct.grid.spacing), orientation: ct.orientationCode,
                patientPosition: ct.patientPosition,
                imageOrientationPatient: vec(p.rowCosine) + vec(p.columnCosine),
                zRangeMM: [zs.first!, zs.last!], originMM: vec(ct.grid.origin),
                huRange: [hu.min, hu.max],
                transferSyntaxes: Array(Set(ct.slices.map { $0.file.transferSyntax.name })).sorted()))
        }
        for ss in folder.structureSets {
            guard let file = folder.scan.files.first(where: { $0.path == ss.path }) else { continue }
            let k = key(file.dataSet)
            ss.frameOfReferenceUIDs.forEach { addFoR(k, $0) }
            let normal = folder.ctSeries(for: ss)?.grid.axisK ?? Vec3(0, 0, 1)
            studies[k]!.structureSets.append(StructureSetEntry(
                file: ss.path, sopInstanceUID: ss.sopInstanceUID, label: ss.label,
                frameOfReferenceUIDs: ss.frameOfReferenceUIDs,
                rois: ss.rois.map { r in
                    ROIEntry(number: r.number, name: r.name, type: r.interpretedType,
                             color: r.color.map { [Int($0.x), Int($0.y), Int($0.z)] },
                             contours: r.contours.count, planes: r.planeCount(normal: normal),
                             points: r.contours.reduce(0) { $0 + $1.points.count },
                             geometricTypes: Array(Set(r.contours.map(\.geometricType))).sorted())
                }))
        }
        for d in folder.doses {
            let k = key(d.file.dataSet)
            addFoR(k, d.frameOfReferenceUID)
            let names = Dictionary(folder.structureSets.flatMap { $0.rois.map { ($0.number, $0.name) } }, uniquingKeysWith: { a, _ in a })
            let g = d.grid
            studies[k]!.doses.append(DoseEntry(
                file: d.path, sopInstanceUID: d.sopInstanceUID, frameOfReferenceUID: d.frameOfReferenceUID,
                dimensions: [g.nx, g.ny, g.nz], spacingMM: vec(g.spacing), originMM: vec(g.origin),
                orientation: ImagePlane(position: g.origin, rowCosine: g.axisI, columnCosine: g.axisJ, rowSpacing: 1, columnSpacing: 1).orientationCode,
                maxDose: r6(try d.maxDose()), units: d.units, doseType: d.doseType, summationType: d.summationType,
                bitsAllocated: d.bitsAllocated, doseGridScaling: d.scaling, frameOffsetForm: d.frameOffsetForm,
                referencedPlanUIDs: d.referencedPlanUIDs,
                embeddedDVHs: d.embeddedDVHs.map { h in
                    DVHEntry(roiNumbers: h.referencedROINumbers, roiNames: h.referencedROINumbers.map { names[$0] ?? "?" },
                             type: h.type, doseUnits: h.doseUnits, volumeUnits: h.volumeUnits, bins: h.doses.count - 1,
                             volume: r6(h.totalVolume), minDose: r6(h.minDose), meanDose: r6(h.meanDose), maxDose: r6(h.maxDose),
                             reportedMinDose: h.reportedMinimum, reportedMeanDose: h.reportedMean, reportedMaxDose: h.reportedMaximum)
                }))
        }
        for p in folder.plans {
            guard let file = folder.scan.files.first(where: { $0.path == p.path }) else { continue }
            let k = key(file.dataSet)
            addFoR(k, p.frameOfReferenceUID)
            studies[k]!.plans.append(PlanEntry(file: p.path, sopInstanceUID: p.sopInstanceUID, label: p.label, name: p.name,
                                               approvalStatus: p.approvalStatus, fractionGroups: p.fractionGroups,
                                               doseReferences: p.doseReferences, prescriptionGy: p.prescriptionGy, beams: p.beamCount))
        }
        var otherCounts: [Key: [String: (String, Int)]] = [:]
        for f in folder.otherFiles {
            let k = key(f.dataSet)
            let sop = f.sopClassUID ?? ""
            let prev = otherCounts[k]?[sop]
            otherCounts[k, default: [:]][sop] = (f.modality ?? "", (prev?.1 ?? 0) + 1)
        }
        for (k, m) in otherCounts {
            studies[k]!.otherObjects = m.map { OtherEntry(modality: $0.value.0, sopClassUID: $0.key, count: $0.value.1) }
                .sorted { $0.sopClassUID < $1.sopClassUID }
        }
        patients = patientOrder.map { pid in
            let info = patientInfo[pid]!
            return PatientEntry(id: pid, name: info.name, birthDate: info.birth, sex: info.sex, age: info.age,
                                studies: studyOrder.filter { $0.patient == pid }.map { studies[$0]! })
        }
    }
}
