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
        /// The CT series only, as in the first releases of schema 2 (`imageSeries` lists
        /// every series, CT included).
        public var ctSeries: [CTEntry]
        /// Every CT, MR and PET series, numbered as in the folder.
        public var imageSeries: [ImageEntry]
        public var structureSets: [StructureSetEntry]
        public var doses: [DoseEntry]
        public var plans: [PlanEntry]
        public var registrations: [RegistrationEntry]
        /// Objects sbrt does not use (ignored) or cannot read (refused), by SOP Class.
        public var otherObjects: [OtherEntry]
    }

    public struct ImageEntry: Codable, Sendable {
        /// The series' number in the folder (1-based), for `--image N`.
        public var number: Int
        /// CT, MR or PT.
        public var modality: String
        public var sopClassUID: String
        public var seriesInstanceUID: String
        public var seriesNumber: Int?
        public var description: String?
        public var frameOfReferenceUID: String?
        public var imageCount: Int
        public var dimensions: [Int]
        public var spacingMM: [Double]
        public var orientation: String
        public var patientPosition: String?
        public var imageOrientationPatient: [Double]
        public var zRangeMM: [Double]
        public var originMM: [Double]
        /// Smallest and largest value in `values` (HU, MR signal, SUVbw or PET units).
        public var valueRange: [Double]
        /// HU, signal, SUVbw or pet-raw.
        public var values: String
        /// The unit of the values ("HU", "" for MR signal, "g/ml", or the PET Units as written).
        public var valueUnit: String
        /// How the values are made from the stored pixels (and why no SUV, for PET).
        public var valueNote: String
        public var transferSyntaxes: [String]
        /// Structure sets (SOP Instance UIDs) that reference this series: it is their planning image.
        public var referencedByStructureSets: [String]
    }

    public struct RegistrationEntry: Codable, Sendable {
        public var file: String
        public var sopInstanceUID: String
        /// The registration's own frame of reference.
        public var frameOfReferenceUID: String
        /// Every frame of reference it maps into its own (its own included).
        public var registeredFramesOfReference: [String]
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
        /// The SOP Class's name (PS3.6), or "unknown SOP Class".
        public var sopClassName: String
        public var count: Int
        /// "ignored" (not used by sbrt) or "refused" (an image object sbrt does not read).
        public var status: String
        /// Why, for refused objects.
        public var reason: String?
    }
}

extension Inventory.CTEntry {
    /// The CT view of a CT series' image entry (the `ct_series` kept for readers of the
    /// first schema), its value range rounded to whole HU.
    init(_ e: Inventory.ImageEntry) {
        // Clamped to what Int holds: an absurd but finite Rescale Slope must give a silly range, not a trap.
        func int(_ v: Double) -> Int { Int(Swift.max(-9.0e18, Swift.min(9.0e18, v.rounded()))) }
        self.init(seriesInstanceUID: e.seriesInstanceUID, description: e.description, frameOfReferenceUID: e.frameOfReferenceUID,
                  imageCount: e.imageCount, dimensions: e.dimensions, spacingMM: e.spacingMM, orientation: e.orientation,
                  patientPosition: e.patientPosition, imageOrientationPatient: e.imageOrientationPatient, zRangeMM: e.zRangeMM,
                  originMM: e.originMM, huRange: e.valueRange.map(int), transferSyntaxes: e.transferSyntaxes)
    }
}
