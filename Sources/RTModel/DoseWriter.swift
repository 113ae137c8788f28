import Base
import DICOM
import Foundation
import VoxelKit

/// Writes a dose volume as a DICOM RT Dose (PS3.3 A.18) on the DICOM writer, and as NRRD.
///
/// - Pixels: 32-bit unsigned, Dose Grid Scaling s chosen so the maximum maps near 4·10⁹
///   (quantisation error ≤ s/2 ≈ 1.2·10⁻¹⁰ of the maximum, far below the 10⁻⁴ required).
///   The scaling written is the exact decimal string used for quantising.
/// - Geometry: Image Orientation from the grid's first two axes; the grid's third axis
///   must be ± their cross product (else the grid cannot be an RT Dose and the writer
///   throws). Grid Frame Offset Vector is relative (first value 0), decreasing when the
///   third axis points against the normal.
/// - Patient, study and frame of reference are copied from a template data set (the
///   reference course's RT Dose), with new series and instance UIDs.
public enum DoseWriter {
    /// What the written dose is: recorded in Dose Type, Series Description, Dose Comment
    /// and Image Comments.
    public struct Description: Sendable {
        /// PHYSICAL or EFFECTIVE.
        public var doseType: String
        /// PLAN, MULTI_PLAN…
        public var summationType: String
        /// Series Description (LO, ≤ 64 characters; longer text is cut).
        public var seriesDescription: String
        /// Dose Comment (LO, ≤ 64 characters; longer text is cut).
        public var doseComment: String
        /// Image Comments (LT): the full description (quantity, α/β, recovery, courses).
        public var imageComments: String
        /// SOP Instance UIDs of the RT Plans summed (Referenced RT Plan Sequence).
        public var referencedPlanUIDs: [String]

        public init(doseType: String, summationType: String, seriesDescription: String, doseComment: String,
                    imageComments: String, referencedPlanUIDs: [String]) {
            self.doseType = doseType
            self.summationType = summationType
            self.seriesDescription = seriesDescription
            self.doseComment = doseComment
            self.imageComments = imageComments
            self.referencedPlanUIDs = referencedPlanUIDs
        }
    }

    /// Stored values and the scaling: dose ≈ stored × scaling.
    public struct Quantised: Sendable {
        /// The stored values as the Pixel Data holds them: 32-bit unsigned, little-endian.
        public var pixelData: Data
        public var scaling: Double
        /// The dose a reader gets back (stored × scaling, as `DoseGrid.loadDose` computes it).
        public var dequantised: [Float]
    }

    /// The stored integer of a non-negative scaled dose `x`: `UInt32(x.rounded())` (half
    /// away from zero), `UInt32.max` from 2³² − 1 up. Written without libm's `round` (a
    /// call per voxel): the integer part, plus one when the fraction — exact, as x minus
    /// its integer part always is — is at least a half.
    @inline(__always)
    static func storedValue(_ x: Double) -> UInt32 {
        guard x < 4_294_967_295 else { return UInt32.max }
        let t = UInt32(x)
        return t &+ (x - Double(t) >= 0.5 ? 1 : 0)
    }

    /// The largest value above 0 (0 when none; NaNs passed over).
    static func largestPositive(_ dose: [Float]) -> Float {
        dose.withUnsafeBufferPointer { DoseField.largest(in: $0, above: 0).value }
    }

    /// Quantises non-negative doses to 32-bit unsigned integers.
    public static func quantise(_ dose: [Float]) -> Quantised {
        let maxValue = largestPositive(dose)
        var scaling = maxValue > 0 ? Double(maxValue) / 4.0e9 : 1
        // The scaling as the file will hold it (a DS of ≤ 16 characters), read back.
        scaling = Double(DecimalString.format(scaling)) ?? scaling
        let s = scaling, inv = 1 / scaling
        let n = dose.count
        // Every element is written by exactly one chunk, so the buffers are not zero-filled
        // first. The stored values go straight into the Pixel Data's bytes (no copy later).
        var back = [Float]()
        let pixels = HugePages.data(count: n * MemoryLayout<UInt32>.size) { st in
            back = [Float](unsafeUninitializedCapacity: n) { bk, bkCount in
                HugePages.advise(bk)
                dose.withUnsafeBufferPointer { src in
                    let stp = st.bindMemory(to: UInt32.self).baseAddress!, bkp = bk.baseAddress!, sp = src.baseAddress!
                    Parallel.forEachChunk(n, minimumChunk: 1 << 16) { _, range in
                        for v in range {
                            let q = storedValue(Swift.max(0, Double(sp[v])) * inv)
                            stp[v] = q.littleEndian
                            bkp[v] = Float(Double(q) * s)
                        }
                    }
                }
                bkCount = n
            }
        }
        return Quantised(pixelData: pixels, scaling: scaling, dequantised: back)
    }

    /// The RT Dose data set for `grid` and quantised values.
    /// - Throws: `SBRTError` when the grid's third axis is not along the image normal.
    public static func dataSet(grid: Grid, quantised q: Quantised, template: DataSet, frameOfReferenceUID: String,
                               description d: Description, now: Date = Date()) throws -> DataSet {
        let normal = cross(grid.axisI, grid.axisJ)
        let along = dot(normal, grid.axisK)
        guard abs(abs(along) - 1) < 1e-6 else {
            throw SBRTError(.invalidValue, "the dose grid's slice axis is not perpendicular to its rows and columns; it cannot be written as an RT Dose")
        }
        guard grid.nx <= 65535, grid.ny <= 65535 else { throw SBRTError(.invalidValue, "dose grid too large for Rows/Columns") }
        var ds = DataSet()
        ds.characterSet = template.characterSet
        // Patient and study: copied element by element (their bytes are in the template's character set).
        let copied: [Tag] = [.specificCharacterSet, .patientName, .patientID, .patientBirthDate, .patientSex,
                             .studyInstanceUID, .studyDate, .studyTime, .referringPhysicianName, .studyID,
                             .accessionNumber, .studyDescription]
        for tag in copied { if let e = template[tag] { ds[tag] = e } }
        for tag: Tag in [.patientName, .patientID, .patientBirthDate, .patientSex, .studyDate, .studyTime,
                         .referringPhysicianName, .studyID, .accessionNumber] where ds[tag] == nil {
            ds.set(tag, DataDictionary.vr(for: tag), strings: [])
        }
        if ds[.studyInstanceUID] == nil { ds.set(.studyInstanceUID, .UI, UID.generate()) }
        let date = CivilDate(now).compact
        let time = CivilDate.timeOfDay(now)

        ds.set(.instanceCreationDate, .DA, date)
        ds.set(.instanceCreationTime, .TM, time)
        ds.set(.sopClassUID, .UI, SOPClass.rtDose)
        ds.set(.sopInstanceUID, .UI, UID.generate())
        ds.set(.seriesDate, .DA, date)
        ds.set(.contentDate, .DA, date)
        ds.set(.contentTime, .TM, time)
        ds.set(.modality, .CS, "RTDOSE")
        ds.set(.manufacturer, .LO, "sbrt")
        ds.set(.seriesDescription, .LO, String(d.seriesDescription.prefix(64)))
        ds.set(.operatorsName, .PN, strings: [])
        ds.set(.manufacturerModelName, .LO, "sbrt composite")
        ds.set(.sliceThickness, decimals: [grid.spacing.z])
        ds.set(.softwareVersions, .LO, "sbrt 0.1.0")
        ds.set(.seriesInstanceUID, .UI, UID.generate())
        ds.set(.seriesNumber, integers: [900])
        ds.set(.instanceNumber, integers: [1])
        ds.set(.imagePositionPatient, decimals: [grid.origin.x, grid.origin.y, grid.origin.z])
        ds.set(.imageOrientationPatient, decimals: [grid.axisI.x, grid.axisI.y, grid.axisI.z, grid.axisJ.x, grid.axisJ.y, grid.axisJ.z])
        ds.set(.frameOfReferenceUID, .UI, frameOfReferenceUID)
        ds.set(.positionReferenceIndicator, .LO, strings: [])
        ds.set(Tag(0x0020, 0x4000), .LT, d.imageComments)
        ds.set(.samplesPerPixel, .US, binary: [UInt16(1)])
        ds.set(.photometricInterpretation, .CS, "MONOCHROME2")
        ds.set(.numberOfFrames, integers: [grid.nz])
        ds.set(.frameIncrementPointer, .AT, binary: [UInt16(0x3004), UInt16(0x000C)])
        ds.set(.rows, .US, binary: [UInt16(grid.ny)])
        ds.set(.columns, .US, binary: [UInt16(grid.nx)])
        ds.set(.pixelSpacing, decimals: [grid.spacing.y, grid.spacing.x])
        ds.set(.bitsAllocated, .US, binary: [UInt16(32)])
        ds.set(.bitsStored, .US, binary: [UInt16(32)])
        ds.set(.highBit, .US, binary: [UInt16(31)])
        ds.set(.pixelRepresentation, .US, binary: [UInt16(0)])
        ds.set(.doseUnits, .CS, "GY")
        ds.set(.doseType, .CS, d.doseType)
        ds.set(.doseComment, .LO, String(d.doseComment.prefix(64)))
        ds.set(.doseSummationType, .CS, d.summationType)
        let sign = along > 0 ? 1.0 : -1.0
        ds.set(.gridFrameOffsetVector, decimals: (0..<grid.nz).map { sign * Double($0) * grid.spacing.z })
        ds.set(.doseGridScaling, .DS, DecimalString.format(q.scaling))
        ds.set(.referencedRTPlanSequence, items: d.referencedPlanUIDs.map { uid in
            var item = DataSet()
            item.set(.referencedSOPClassUID, .UI, SOPClass.rtPlan)
            item.set(.referencedSOPInstanceUID, .UI, uid)
            return item
        })
        ds.set(.pixelData, .OW, data: q.pixelData)
        return ds
    }

    /// Writes the RT Dose atomically (temporary file, then rename).
    public static func write(_ dataSet: DataSet, to path: String) throws {
        try DICOMWriter.write(dataSet, to: path)
    }
}

/// Writes volumes as NRRD (teem NRRD0004): raw little-endian float32, `space:
/// left-posterior-superior`, `space directions` = the grid's axes × spacing, `space
/// origin` = the centre of the first voxel; what 3D Slicer reads as a scalar volume in
/// DICOM patient (LPS) coordinates.
public enum NRRDWriter {
    public static func encode(_ volume: Volume<Float>, comments: [String] = [], keyValues: [(String, String)] = []) -> Data {
        let g = volume.grid
        func vec(_ v: Vec3) -> String { "(\(num(v.x)),\(num(v.y)),\(num(v.z)))" }
        var header = "NRRD0004\n# Complete NRRD file format specification at:\n# http://teem.sourceforge.net/nrrd/format.html\n"
        for c in comments { header += "# " + c.replacingOccurrences(of: "\n", with: " ") + "\n" }
        header += "type: float\ndimension: 3\nspace: left-posterior-superior\n"
        header += "sizes: \(g.nx) \(g.ny) \(g.nz)\n"
        header += "space directions: \(vec(g.axisI * g.spacing.x)) \(vec(g.axisJ * g.spacing.y)) \(vec(g.axisK * g.spacing.z))\n"
        header += "kinds: domain domain domain\nendian: little\nencoding: raw\n"
        header += "space origin: \(vec(g.origin))\n"
        for (k, v) in keyValues { header += "\(k):=\(v.replacingOccurrences(of: "\n", with: " "))\n" }
        header += "\n"
        var data = Data(header.utf8)
        volume.voxels.withUnsafeBytes { data.append(contentsOf: $0) }
        return data
    }

    public static func write(_ volume: Volume<Float>, to path: String, comments: [String] = [], keyValues: [(String, String)] = []) throws {
        try OutputFiles.write(encode(volume, comments: comments, keyValues: keyValues), to: path)
    }

    static func num(_ x: Double) -> String {
        let r = x == 0 ? 0 : x
        return String(format: "%.10g", r)
    }
}
