/// A DICOM attribute tag: a (group, element) pair, ordered as the standard orders data elements.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let group: UInt16
    public let element: UInt16

    @inlinable
    public init(_ group: UInt16, _ element: UInt16) {
        self.group = group
        self.element = element
    }

    /// The tag as one 32-bit number, group in the high half (the order of the standard).
    @inlinable
    public var combined: UInt32 { UInt32(group) << 16 | UInt32(element) }

    @inlinable
    public init(combined: UInt32) {
        self.init(UInt16(truncatingIfNeeded: combined >> 16), UInt16(truncatingIfNeeded: combined))
    }

    /// Odd groups (other than 1, 3, 5, 7, FFFF) hold private attributes.
    public var isPrivate: Bool { group & 1 == 1 && group > 0x0008 && group != 0xFFFF }

    /// Group length elements (gggg,0000).
    public var isGroupLength: Bool { element == 0 }

    public static func < (a: Tag, b: Tag) -> Bool { a.combined < b.combined }

    /// `(GGGG,EEEE)` in upper-case hexadecimal, as dcmdump and the standard print tags.
    public var description: String {
        "(" + hex4(group) + "," + hex4(element) + ")"
    }
}

@usableFromInline
func hex4(_ v: UInt16) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
}

extension Tag {
    // Item and delimiters (PS3.5 §7.5)
    public static let item = Tag(0xFFFE, 0xE000)
    public static let itemDelimitation = Tag(0xFFFE, 0xE00D)
    public static let sequenceDelimitation = Tag(0xFFFE, 0xE0DD)

    // File meta information (PS3.10 §7.1)
    public static let fileMetaInformationGroupLength = Tag(0x0002, 0x0000)
    public static let fileMetaInformationVersion = Tag(0x0002, 0x0001)
    public static let mediaStorageSOPClassUID = Tag(0x0002, 0x0002)
    public static let mediaStorageSOPInstanceUID = Tag(0x0002, 0x0003)
    public static let transferSyntaxUID = Tag(0x0002, 0x0010)
    public static let implementationClassUID = Tag(0x0002, 0x0012)
    public static let implementationVersionName = Tag(0x0002, 0x0013)

    // Patient, study, series, instance
    public static let specificCharacterSet = Tag(0x0008, 0x0005)
    public static let imageType = Tag(0x0008, 0x0008)
    public static let instanceCreationDate = Tag(0x0008, 0x0012)
    public static let instanceCreationTime = Tag(0x0008, 0x0013)
    public static let sopClassUID = Tag(0x0008, 0x0016)
    public static let sopInstanceUID = Tag(0x0008, 0x0018)
    public static let studyDate = Tag(0x0008, 0x0020)
    public static let seriesDate = Tag(0x0008, 0x0021)
    public static let contentDate = Tag(0x0008, 0x0023)
    public static let studyTime = Tag(0x0008, 0x0030)
    public static let contentTime = Tag(0x0008, 0x0033)
    public static let accessionNumber = Tag(0x0008, 0x0050)
    public static let modality = Tag(0x0008, 0x0060)
    public static let manufacturer = Tag(0x0008, 0x0070)
    public static let institutionName = Tag(0x0008, 0x0080)
    public static let referringPhysicianName = Tag(0x0008, 0x0090)
    public static let stationName = Tag(0x0008, 0x1010)
    public static let studyDescription = Tag(0x0008, 0x1030)
    public static let seriesDescription = Tag(0x0008, 0x103E)
    public static let operatorsName = Tag(0x0008, 0x1070)
    public static let manufacturerModelName = Tag(0x0008, 0x1090)
    public static let referencedSOPClassUID = Tag(0x0008, 0x1150)
    public static let referencedSOPInstanceUID = Tag(0x0008, 0x1155)
    public static let patientName = Tag(0x0010, 0x0010)
    public static let patientID = Tag(0x0010, 0x0020)
    public static let patientBirthDate = Tag(0x0010, 0x0030)
    public static let patientSex = Tag(0x0010, 0x0040)
    public static let patientAge = Tag(0x0010, 0x1010)
    public static let sliceThickness = Tag(0x0018, 0x0050)
    public static let softwareVersions = Tag(0x0018, 0x1020)
    public static let patientPosition = Tag(0x0018, 0x5100)
    public static let studyInstanceUID = Tag(0x0020, 0x000D)
    public static let seriesInstanceUID = Tag(0x0020, 0x000E)
    public static let studyID = Tag(0x0020, 0x0010)
    public static let seriesNumber = Tag(0x0020, 0x0011)
    public static let instanceNumber = Tag(0x0020, 0x0013)
    public static let imagePositionPatient = Tag(0x0020, 0x0032)
    public static let imageOrientationPatient = Tag(0x0020, 0x0037)
    public static let frameOfReferenceUID = Tag(0x0020, 0x0052)
    public static let positionReferenceIndicator = Tag(0x0020, 0x1040)
    public static let sliceLocation = Tag(0x0020, 0x1041)

    // Image pixel module
    public static let samplesPerPixel = Tag(0x0028, 0x0002)
    public static let photometricInterpretation = Tag(0x0028, 0x0004)
    public static let numberOfFrames = Tag(0x0028, 0x0008)
    public static let frameIncrementPointer = Tag(0x0028, 0x0009)
    public static let rows = Tag(0x0028, 0x0010)
    public static let columns = Tag(0x0028, 0x0011)
    public static let pixelSpacing = Tag(0x0028, 0x0030)
    public static let bitsAllocated = Tag(0x0028, 0x0100)
    public static let bitsStored = Tag(0x0028, 0x0101)
    public static let highBit = Tag(0x0028, 0x0102)
    public static let pixelRepresentation = Tag(0x0028, 0x0103)
    public static let smallestImagePixelValue = Tag(0x0028, 0x0106)
    public static let largestImagePixelValue = Tag(0x0028, 0x0107)
    public static let windowCenter = Tag(0x0028, 0x1050)
    public static let windowWidth = Tag(0x0028, 0x1051)
    public static let rescaleIntercept = Tag(0x0028, 0x1052)
    public static let rescaleSlope = Tag(0x0028, 0x1053)
    public static let rescaleType = Tag(0x0028, 0x1054)
    public static let pixelData = Tag(0x7FE0, 0x0010)

    // RT Dose (PS3.3 C.8.8.3)
    public static let dvhNormalizationPoint = Tag(0x3004, 0x0040)
    public static let dvhNormalizationDoseValue = Tag(0x3004, 0x0042)
    public static let dvhType = Tag(0x3004, 0x0001)
    public static let doseUnits = Tag(0x3004, 0x0002)
    public static let doseType = Tag(0x3004, 0x0004)
    public static let doseComment = Tag(0x3004, 0x0006)
    public static let doseSummationType = Tag(0x3004, 0x000A)
    public static let gridFrameOffsetVector = Tag(0x3004, 0x000C)
    public static let doseGridScaling = Tag(0x3004, 0x000E)
    public static let tissueHeterogeneityCorrection = Tag(0x3004, 0x0014)
    public static let dvhSequence = Tag(0x3004, 0x0050)
    public static let dvhDoseScaling = Tag(0x3004, 0x0052)
    public static let dvhVolumeUnits = Tag(0x3004, 0x0054)
    public static let dvhNumberOfBins = Tag(0x3004, 0x0056)
    public static let dvhData = Tag(0x3004, 0x0058)
    public static let dvhReferencedROISequence = Tag(0x3004, 0x0060)
    public static let dvhROIContributionType = Tag(0x3004, 0x0062)
    public static let dvhMinimumDose = Tag(0x3004, 0x0070)
    public static let dvhMaximumDose = Tag(0x3004, 0x0072)
    public static let dvhMeanDose = Tag(0x3004, 0x0074)

    // RT Structure Set (PS3.3 C.8.8.5–C.8.8.8)
    public static let structureSetLabel = Tag(0x3006, 0x0002)
    public static let structureSetName = Tag(0x3006, 0x0004)
    public static let structureSetDate = Tag(0x3006, 0x0008)
    public static let structureSetTime = Tag(0x3006, 0x0009)
    public static let referencedFrameOfReferenceSequence = Tag(0x3006, 0x0010)
    public static let rtReferencedStudySequence = Tag(0x3006, 0x0012)
    public static let rtReferencedSeriesSequence = Tag(0x3006, 0x0014)
    public static let contourImageSequence = Tag(0x3006, 0x0016)
    public static let structureSetROISequence = Tag(0x3006, 0x0020)
    public static let roiNumber = Tag(0x3006, 0x0022)
    public static let referencedFrameOfReferenceUID = Tag(0x3006, 0x0024)
    public static let roiName = Tag(0x3006, 0x0026)
    public static let roiGenerationAlgorithm = Tag(0x3006, 0x0036)
    public static let roiContourSequence = Tag(0x3006, 0x0039)
    public static let contourSequence = Tag(0x3006, 0x0040)
    public static let contourGeometricType = Tag(0x3006, 0x0042)
    public static let numberOfContourPoints = Tag(0x3006, 0x0046)
    public static let contourNumber = Tag(0x3006, 0x0048)
    public static let contourData = Tag(0x3006, 0x0050)
    public static let rtROIObservationsSequence = Tag(0x3006, 0x0080)
    public static let observationNumber = Tag(0x3006, 0x0082)
    public static let referencedROINumber = Tag(0x3006, 0x0084)
    public static let roiDisplayColor = Tag(0x3006, 0x002A)
    public static let rtROIInterpretedType = Tag(0x3006, 0x00A4)
    public static let roiInterpreter = Tag(0x3006, 0x00A6)

    // RT Plan (PS3.3 C.8.8.9–C.8.8.14)
    public static let rtPlanLabel = Tag(0x300A, 0x0002)
    public static let rtPlanName = Tag(0x300A, 0x0003)
    public static let rtPlanDate = Tag(0x300A, 0x0006)
    public static let rtPlanGeometry = Tag(0x300A, 0x000C)
    public static let doseReferenceSequence = Tag(0x300A, 0x0010)
    public static let doseReferenceNumber = Tag(0x300A, 0x0012)
    public static let doseReferenceStructureType = Tag(0x300A, 0x0014)
    public static let doseReferenceDescription = Tag(0x300A, 0x0016)
    public static let doseReferenceType = Tag(0x300A, 0x0020)
    public static let deliveryMaximumDose = Tag(0x300A, 0x0023)
    public static let targetMinimumDose = Tag(0x300A, 0x0025)
    public static let targetPrescriptionDose = Tag(0x300A, 0x0026)
    public static let targetMaximumDose = Tag(0x300A, 0x0027)
    public static let fractionGroupSequence = Tag(0x300A, 0x0070)
    public static let fractionGroupNumber = Tag(0x300A, 0x0071)
    public static let numberOfFractionsPlanned = Tag(0x300A, 0x0078)
    public static let numberOfBeams = Tag(0x300A, 0x0080)
    public static let beamDose = Tag(0x300A, 0x0084)
    public static let beamMeterset = Tag(0x300A, 0x0086)
    public static let numberOfBrachyApplicationSetups = Tag(0x300A, 0x00A0)
    public static let beamSequence = Tag(0x300A, 0x00B0)
    public static let beamName = Tag(0x300A, 0x00C2)
    public static let beamNumber = Tag(0x300A, 0x00C0)
    public static let beamType = Tag(0x300A, 0x00C4)
    public static let treatmentDeliveryType = Tag(0x300A, 0x00CE)
    public static let referencedRTPlanSequence = Tag(0x300C, 0x0002)
    public static let referencedBeamSequence = Tag(0x300C, 0x0004)
    public static let referencedBeamNumber = Tag(0x300C, 0x0006)
    public static let referencedStructureSetSequence = Tag(0x300C, 0x0060)
    public static let referencedDoseReferenceSequence = Tag(0x300C, 0x0050)
    public static let referencedDoseReferenceNumber = Tag(0x300C, 0x0051)
    public static let referencedFractionGroupSequence = Tag(0x300C, 0x0020)
    public static let referencedFractionGroupNumber = Tag(0x300C, 0x0022)
    public static let approvalStatus = Tag(0x300E, 0x0002)

    // PET series and image (PS3.3 C.8.9.1, C.8.9.2) and what SUV needs
    public static let seriesTime = Tag(0x0008, 0x0031)
    public static let acquisitionDate = Tag(0x0008, 0x0022)
    public static let acquisitionTime = Tag(0x0008, 0x0032)
    public static let acquisitionDateTime = Tag(0x0008, 0x002A)
    public static let patientWeight = Tag(0x0010, 0x1030)
    public static let radiopharmaceuticalStartTime = Tag(0x0018, 0x1072)
    public static let radionuclideTotalDose = Tag(0x0018, 0x1074)
    public static let radionuclideHalfLife = Tag(0x0018, 0x1075)
    public static let radiopharmaceuticalStartDateTime = Tag(0x0018, 0x1078)
    public static let correctedImage = Tag(0x0028, 0x0051)
    public static let radiopharmaceuticalInformationSequence = Tag(0x0054, 0x0016)
    public static let petUnits = Tag(0x0054, 0x1001)
    public static let decayCorrection = Tag(0x0054, 0x1102)

    // Spatial registration (PS3.3 C.20)
    public static let registrationSequence = Tag(0x0070, 0x0308)
    public static let matrixRegistrationSequence = Tag(0x0070, 0x0309)
    public static let matrixSequence = Tag(0x0070, 0x030A)
    public static let frameOfReferenceTransformationMatrixType = Tag(0x0070, 0x030C)
    public static let frameOfReferenceTransformationMatrix = Tag(0x3006, 0x00C6)
}
