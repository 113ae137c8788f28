import Foundation
import DICOM

/// An RT Plan (or RT Ion Plan): label, fraction groups and prescriptions (PS3.3 C.8.8.9–C.8.8.13).
///
/// The prescription is never guessed: `prescriptionGy` is set only when the plan
/// carries exactly one distinct Target Prescription Dose (300A,0026).
public struct Plan: Sendable {
    public struct FractionGroup: Sendable, Codable, Equatable {
        public var number: Int?
        public var fractionsPlanned: Int?
        public var numberOfBeams: Int?
        /// Sum of the Beam Dose (300A,0084) values of the referenced beams, Gy per fraction, when all are given.
        public var beamDoseSumGy: Double?
        public var referencedDoseReferenceNumbers: [Int]
        /// Beam numbers the group delivers (Referenced Beam Sequence), with their Beam Dose
        /// (300A,0084) per fraction when stated.
        public var beams: [ReferencedBeam] = []
    }

    /// A beam a fraction group delivers.
    public struct ReferencedBeam: Sendable, Codable, Equatable {
        public var number: Int
        public var doseGy: Double?
    }

    /// A beam of the plan (Beam Sequence, or Ion Beam Sequence).
    public struct Beam: Sendable, Codable, Equatable {
        public var number: Int
        public var name: String?
        /// TREATMENT, SETUP, CONTINUATION… (Treatment Delivery Type, 300A,00CE).
        public var deliveryType: String?
    }

    public struct DoseReference: Sendable, Codable, Equatable {
        public var number: Int?
        /// TARGET or ORGAN_AT_RISK.
        public var type: String?
        /// POINT, VOLUME, COORDINATES, SITE.
        public var structureType: String?
        public var description: String?
        public var targetPrescriptionDoseGy: Double?
    }

    public var path: String
    public var sopInstanceUID: String
    public var studyInstanceUID: String?
    public var frameOfReferenceUID: String?
    public var label: String?
    public var name: String?
    public var geometry: String?
    public var approvalStatus: String?
    public var fractionGroups: [FractionGroup]
    public var doseReferences: [DoseReference]
    public var referencedStructureSetUIDs: [String]
    public var beamCount: Int
    public var beams: [Beam]
    /// Patient's Age (0010,1010) as written (Age String, e.g. `017Y`), nil when absent.
    public var patientAge: String?

    public init(file: DICOMFile) throws {
        let ds = file.dataSet
        path = file.path ?? "?"
        sopInstanceUID = file.sopInstanceUID ?? ""
        studyInstanceUID = ds.string(.studyInstanceUID)
        frameOfReferenceUID = ds.string(.frameOfReferenceUID)
        label = ds.string(.rtPlanLabel)
        name = ds.string(.rtPlanName)
        geometry = ds.string(.rtPlanGeometry)
        approvalStatus = ds.string(.approvalStatus)
        patientAge = ds.string(.patientAge)
        func int(_ d: DataSet, _ t: Tag) -> Int? { ((try? d.int(t)) ?? nil) }
        func dbl(_ d: DataSet, _ t: Tag) -> Double? { ((try? d.double(t)) ?? nil) }
        fractionGroups = (ds.sequence(.fractionGroupSequence) ?? []).map { g in
            let beams = g.sequence(.referencedBeamSequence) ?? []
            let doses = beams.map { dbl($0, .beamDose) }
            let referenced = beams.compactMap { b in int(b, .referencedBeamNumber).map { ReferencedBeam(number: $0, doseGy: dbl(b, .beamDose)) } }
            return FractionGroup(number: int(g, .fractionGroupNumber),
                                 fractionsPlanned: int(g, .numberOfFractionsPlanned),
                                 numberOfBeams: int(g, .numberOfBeams),
                                 beamDoseSumGy: !doses.isEmpty && doses.allSatisfy({ $0 != nil }) ? doses.reduce(0) { $0 + $1! } : nil,
                                 referencedDoseReferenceNumbers: (g.sequence(.referencedDoseReferenceSequence) ?? []).compactMap { int($0, .referencedDoseReferenceNumber) },
                                 beams: referenced)
        }
        doseReferences = (ds.sequence(.doseReferenceSequence) ?? []).map { r in
            DoseReference(number: int(r, .doseReferenceNumber), type: r.string(.doseReferenceType),
                          structureType: r.string(.doseReferenceStructureType),
                          description: r.string(.doseReferenceDescription),
                          targetPrescriptionDoseGy: dbl(r, .targetPrescriptionDose))
        }
        referencedStructureSetUIDs = (ds.sequence(.referencedStructureSetSequence) ?? []).compactMap { $0.string(.referencedSOPInstanceUID) }
        let beamItems = ds.sequence(.beamSequence) ?? ds.sequence(Tag(0x300A, 0x03A2)) ?? []
        beamCount = beamItems.count
        beams = beamItems.compactMap { b in
            int(b, .beamNumber).map { Beam(number: $0, name: b.string(.beamName), deliveryType: b.string(.treatmentDeliveryType)) }
        }
    }

    /// The prescription dose in Gy when the plan states exactly one (distinct) Target
    /// Prescription Dose; nil otherwise. Never inferred from beam doses or isodoses.
    public var prescriptionGy: Double? {
        let values = Set(doseReferences.compactMap(\.targetPrescriptionDoseGy))
        return values.count == 1 ? values.first : nil
    }

    /// The patient's age in years from Patient's Age (an Age String `nnnD`, `nnnW`,
    /// `nnnM` or `nnnY`, PS3.5 6.2), or nil when absent or unreadable.
    public var patientAgeYears: Double? {
        guard let s = patientAge?.trimmingCharacters(in: .whitespaces), s.count == 4, let n = Int(s.prefix(3)) else { return nil }
        switch s.last {
        case "Y": return Double(n)
        case "M": return Double(n) / 12
        case "W": return Double(n) * 7 / 365.25
        case "D": return Double(n) / 365.25
        default: return nil
        }
    }

    /// Fractions planned when the plan has one fraction group that states it.
    public var fractions: Int? {
        fractionGroups.count == 1 ? fractionGroups[0].fractionsPlanned : nil
    }
}
