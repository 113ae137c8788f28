import Base
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

    /// Reads an RT Plan. Doses (Target Prescription Dose, Beam Dose) must be finite and
    /// within 0–1000 Gy, Number of Fractions Planned within 0–100 (0 read as not stated)
    /// (docs/safety.md); other unreadable optional numbers are taken as absent.
    /// - Throws: `SBRTError` naming the file, the attribute and the value.
    public init(file: DICOMFile) throws {
        let ds = file.dataSet
        let path = file.path ?? "?"
        self.path = path
        sopInstanceUID = file.sopInstanceUID ?? ""
        studyInstanceUID = ds.string(.studyInstanceUID)
        frameOfReferenceUID = ds.string(.frameOfReferenceUID)
        label = ds.string(.rtPlanLabel)
        name = ds.string(.rtPlanName)
        geometry = ds.string(.rtPlanGeometry)
        approvalStatus = ds.string(.approvalStatus)
        patientAge = ds.string(.patientAge)
        func int(_ d: DataSet, _ t: Tag) -> Int? { ((try? d.int(t)) ?? nil) }
        func dose(_ d: DataSet, _ t: Tag, _ name: String) throws -> Double? {
            guard let v = (try? d.doubles(t))??.first else { return nil }
            return try Checked.all([v], in: InputLimits.prescriptionGy, unit: "Gy", "\(name) \(t)", file: path)[0]
        }
        fractionGroups = try (ds.sequence(.fractionGroupSequence) ?? []).map { g in
            let beams = g.sequence(.referencedBeamSequence) ?? []
            let doses = try beams.map { try dose($0, .beamDose, "Beam Dose") }
            let referenced = try beams.compactMap { b in try int(b, .referencedBeamNumber).map { ReferencedBeam(number: $0, doseGy: try dose(b, .beamDose, "Beam Dose")) } }
            return FractionGroup(number: int(g, .fractionGroupNumber),
                                 fractionsPlanned: try Self.fractions(g, path: path),
                                 numberOfBeams: int(g, .numberOfBeams),
                                 beamDoseSumGy: !doses.isEmpty && doses.allSatisfy({ $0 != nil }) ? doses.reduce(0) { $0 + $1! } : nil,
                                 referencedDoseReferenceNumbers: (g.sequence(.referencedDoseReferenceSequence) ?? []).compactMap { int($0, .referencedDoseReferenceNumber) },
                                 beams: referenced)
        }
        doseReferences = try (ds.sequence(.doseReferenceSequence) ?? []).map { r in
            DoseReference(number: int(r, .doseReferenceNumber), type: r.string(.doseReferenceType),
                          structureType: r.string(.doseReferenceStructureType),
                          description: r.string(.doseReferenceDescription),
                          targetPrescriptionDoseGy: try dose(r, .targetPrescriptionDose, "Target Prescription Dose"))
        }
        referencedStructureSetUIDs = (ds.sequence(.referencedStructureSetSequence) ?? []).compactMap { $0.string(.referencedSOPInstanceUID) }
        let beamItems = ds.sequence(.beamSequence) ?? ds.sequence(Tag(0x300A, 0x03A2)) ?? []
        beamCount = beamItems.count
        beams = beamItems.compactMap { b in
            int(b, .beamNumber).map { Beam(number: $0, name: b.string(.beamName), deliveryType: b.string(.treatmentDeliveryType)) }
        }
    }

    /// Number of Fractions Planned of a fraction group: nil when absent, unreadable or 0;
    /// an error beyond `InputLimits.fractions`.
    static func fractions(_ group: DataSet, path: String) throws -> Int? {
        guard let v = (try? group.doubles(.numberOfFractionsPlanned))??.first else { return nil }
        if v == 0 { return nil }
        let range = InputLimits.fractions
        guard v.isFinite, v == v.rounded(), v >= Double(range.lowerBound), v <= Double(range.upperBound) else {
            throw SBRTError(.invalidValue, "Number of Fractions Planned (300A,0078) is \(InputLimits.number(v)), not a whole number within \(range.lowerBound)–\(range.upperBound)", file: path)
        }
        return Int(v)
    }

    /// The prescription dose in Gy when the plan states exactly one (distinct) Target
    /// Prescription Dose; nil otherwise. Never inferred from beam doses or isodoses.
    public var prescriptionGy: Double? {
        let values = Set(doseReferences.compactMap(\.targetPrescriptionDoseGy).filter { $0 > 0 })
        return values.count == 1 ? values.first : nil
    }

    /// The patient's age in years from Patient's Age (an Age String `nnnD`, `nnnW`,
    /// `nnnM` or `nnnY`, PS3.5 6.2), or nil when absent or unreadable.
    public var patientAgeYears: Double? {
        guard let s = patientAge?.trimmingSpaces(), s.count == 4, let n = Int(s.prefix(3)) else { return nil }
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
