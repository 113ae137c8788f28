import Base
import DICOM
import Foundation

/// The modality of an image series sbrt reads: classic single-frame CT, MR and PET
/// (PT) images (PS3.3 A.3, A.4, A.21).
public enum ImageModality: String, Sendable, Codable, CaseIterable {
    case ct = "CT"
    case mr = "MR"
    case pet = "PT"

    /// The storage SOP Class of the classic single-frame object.
    public var sopClassUID: String {
        switch self {
        case .ct: return SOPClass.ctImage
        case .mr: return SOPClass.mrImage
        case .pet: return SOPClass.petImage
        }
    }

    /// The name people use: CT, MR, PET.
    public var displayName: String { self == .pet ? "PET" : rawValue }

    /// The modality of a classic image object by its SOP Class, or by Modality (0008,0060)
    /// when the file names no SOP Class; nil for every other object (Enhanced images too).
    public init?(sopClassUID: String?, modality: String?) {
        switch sopClassUID ?? "" {
        case SOPClass.ctImage: self = .ct
        case SOPClass.mrImage: self = .mr
        case SOPClass.petImage: self = .pet
        case "":
            guard let m = modality.flatMap(ImageModality.init(rawValue:)) else { return nil }
            self = m
        default: return nil
        }
    }
}

/// What the values of an image series mean, and how they are made from the stored
/// pixels: value = (stored × Rescale Slope + Rescale Intercept) × `factor`, with the
/// rescale of each image.
///
/// - CT: Hounsfield units (the rescale, PS3.3 C.11.1.1.2).
/// - MR: signal intensity without units (the rescale when present, else the stored value).
/// - PET: body-weight SUV (g/ml) when the tags allow it (see `pet(_:file:)`), else the
///   rescaled values in the file's Units, and `note` says why no SUV.
public struct ImageValues: Sendable, Equatable, Codable {
    public enum Quantity: String, Sendable, Codable {
        case hounsfield = "HU"
        case signal
        case suvBodyWeight = "SUVbw"
        /// PET values as stored (after the rescale), in the file's Units.
        case petRaw = "pet-raw"
    }

    public var quantity: Quantity
    /// The unit to print beside a value: "HU", "" (MR signal), "g/ml" (SUVbw), or the
    /// PET Units (0054,1001) as written (BQML, CNTS…).
    public var unit: String
    /// Multiplies the rescaled value (1 except for SUV from Bq/ml).
    public var factor: Double
    /// How the values were made, in a sentence (info, captions, reports).
    public var note: String

    public init(quantity: Quantity, unit: String, factor: Double = 1, note: String) {
        self.quantity = quantity
        self.unit = unit
        self.factor = factor
        self.note = note
    }

    /// A short label: "HU", "MR signal (no units)", "SUVbw", "PET BQML (no SUV)".
    public var label: String {
        switch quantity {
        case .hounsfield: return "HU"
        case .signal: return "MR signal (no units)"
        case .suvBodyWeight: return "SUVbw"
        case .petRaw: return "PET \(unit.isEmpty ? "raw values" : unit) (no SUV)"
        }
    }

    static let hounsfield = ImageValues(quantity: .hounsfield, unit: "HU", note: "Hounsfield units: stored × Rescale Slope + Rescale Intercept")
    static let mrSignal = ImageValues(quantity: .signal, unit: "", note: "MR signal intensity without units: stored × Rescale Slope + Rescale Intercept where present")

    /// The values of a series of `modality` whose first image is `ds`.
    static func of(_ modality: ImageModality, _ ds: DataSet, file: String?) throws -> ImageValues {
        switch modality {
        case .ct: return .hounsfield
        case .mr: return .mrSignal
        case .pet: return try pet(ds, file: file)
        }
    }
}
