import Base
import DICOM
import Foundation
import VoxelKit

/// A DVH stored in an RT Dose by the system that made it (PS3.3 C.8.8.4), as
/// cumulative dose/volume points computed from DVH Data.
///
/// DVH Data holds pairs (bin width, volume); dose edges are the running sum of the
/// widths times DVH Dose Scaling. The summary attributes (min/mean/max) in the file
/// are kept as reported, but sbrt's own `minGy`/`meanGy`/`maxGy` are computed from
/// the data, because some systems write the summaries in % although units say Gy.
public struct EmbeddedDVH: Sendable {
    public var referencedROINumbers: [Int]
    /// CUMULATIVE, DIFFERENTIAL or NATURAL, as in the file.
    public var type: String
    public var doseUnits: String
    public var volumeUnits: String
    /// Cumulative curve: `volumes[n]` receives at least `doses[n]`.
    public var doses: [Double]
    public var volumes: [Double]
    public var reportedMinimum: Double?
    public var reportedMaximum: Double?
    public var reportedMean: Double?

    /// Total volume (the cumulative volume at the first edge), in `volumeUnits`.
    public var totalVolume: Double { volumes.first ?? 0 }

    /// Lowest dose edge at which the cumulative volume falls below the total.
    public var minDose: Double {
        guard let v0 = volumes.first, v0 > 0 else { return 0 }
        for n in volumes.indices where volumes[n] < v0 * (1 - 1e-9) { return doses[max(0, n - 1)] }
        return doses.last ?? 0
    }

    /// Upper edge of the last bin with volume.
    public var maxDose: Double {
        for n in volumes.indices.reversed() where volumes[n] > 0 {
            return n + 1 < doses.count ? doses[n + 1] : doses[n]
        }
        return 0
    }

    /// Mean dose from the differential volumes at bin centres.
    public var meanDose: Double {
        guard let v0 = volumes.first, v0 > 0 else { return 0 }
        var sum = 0.0
        for n in volumes.indices {
            let next = n + 1 < volumes.count ? volumes[n + 1] : 0
            let hi = n + 1 < doses.count ? doses[n + 1] : doses[n]
            sum += (volumes[n] - next) * (doses[n] + hi) / 2
        }
        return sum / v0
    }
}

/// An RT Dose grid (PS3.3 C.8.8.3) in Gy on a patient-space `Grid`.
///
/// Frame positions come from Grid Frame Offset Vector in either form the standard
/// allows: relative to Image Position (first element 0) or absolute patient z
/// (first element equal to the position's z, axial orientation only); offsets may
/// decrease, in which case `grid.axisK` points against the image normal.
public struct DoseGrid: Sendable {
    public var path: String
    public var sopInstanceUID: String
    public var studyInstanceUID: String?
    public var frameOfReferenceUID: String?
    public var seriesDescription: String?
    /// Dose Comment (3004,0006), if any.
    public var comment: String?
    /// GY or RELATIVE.
    public var units: String
    /// PHYSICAL, EFFECTIVE or ERROR.
    public var doseType: String
    /// PLAN, MULTI_PLAN, FRACTION, BEAM, BRACHY…
    public var summationType: String
    public var scaling: Double
    public var bitsAllocated: Int
    public var grid: Grid
    /// "relative" or "absolute": how Grid Frame Offset Vector was read.
    public var frameOffsetForm: String
    public var referencedPlanUIDs: [String]
    /// Beam numbers a BEAM (or BEAM_SESSION) dose names (Referenced RT Plan Sequence →
    /// Referenced Fraction Group Sequence → Referenced Beam Sequence).
    public var referencedBeamNumbers: [Int]
    public var embeddedDVHs: [EmbeddedDVH]
    public var warnings: [Warning]
    public let file: DICOMFile

    /// Reads an RT Dose. Geometry and scaling are checked where they enter
    /// (docs/safety.md): the image plane (`ImagePlane`), Rows × Columns × Frames at most
    /// 2³¹ values, frame offsets within ±10 m and evenly spaced 0.01–100 mm apart, Dose
    /// Grid Scaling within `InputLimits.doseGridScaling`, and pixel data long enough.
    /// - Throws: `SBRTError` naming the file, the attribute and the value.
    public init(file: DICOMFile) throws {
        self.file = file
        let ds = file.dataSet
        let path = file.path ?? "?"
        self.path = path
        sopInstanceUID = file.sopInstanceUID ?? ""
        studyInstanceUID = ds.string(.studyInstanceUID)
        frameOfReferenceUID = ds.string(.frameOfReferenceUID)
        seriesDescription = ds.string(.seriesDescription)
        comment = ds.string(.doseComment)
        units = ds.string(.doseUnits) ?? ""
        doseType = ds.string(.doseType) ?? ""
        summationType = ds.string(.doseSummationType) ?? ""
        var warnings: [Warning] = []
        if units.isEmpty {
            warnings.append(Warning(kind: "dose-units-missing", message: "RT Dose has no Dose Units (3004,0002); values taken as Gy", files: [path]))
            units = "GY"
        }
        let plane = try ImagePlane(ds, file: path)
        let rows = try ds.requireUInt16(.rows, "Rows", file: path)
        let cols = try ds.requireUInt16(.columns, "Columns", file: path)
        let frames = ds.contains(.numberOfFrames) ? try ds.requireInt(.numberOfFrames, "Number of Frames", file: path) : 1
        guard rows > 0, cols > 0, frames > 0 else {
            throw SBRTError(.invalidValue, "dose grid has \(cols) columns, \(rows) rows, \(frames) frames", file: path)
        }
        _ = try Checked.cellCount([cols, rows, frames], what: "the dose grid (Columns × Rows × Number of Frames)", file: path)
        bitsAllocated = try ds.requireUInt16(.bitsAllocated, "Bits Allocated", file: path)
        guard bitsAllocated == 16 || bitsAllocated == 32 else {
            throw SBRTError(.invalidValue, "dose Bits Allocated is \(bitsAllocated); RT Dose uses 16 or 32", file: path)
        }
        scaling = try Self.scaling(ds, path: path, warnings: &warnings)
        let axis = try Self.frameAxis(ds, plane: plane, frames: frames, path: path, warnings: &warnings)
        frameOffsetForm = axis.form
        grid = Grid(size: SIMD3(cols, rows, frames),
                    origin: plane.position + plane.normal * axis.first,
                    spacing: Vec3(plane.columnSpacing, plane.rowSpacing, abs(axis.step)),
                    axisI: plane.rowCosine, axisJ: plane.columnCosine, axisK: axis.step >= 0 ? plane.normal : -plane.normal)
        let planRefs = ds.sequence(.referencedRTPlanSequence) ?? []
        referencedPlanUIDs = planRefs.compactMap { $0.string(.referencedSOPInstanceUID) }
        referencedBeamNumbers = planRefs.flatMap { ref in
            (ref.sequence(.referencedFractionGroupSequence) ?? []).flatMap { g in
                (g.sequence(.referencedBeamSequence) ?? []).compactMap { ((try? $0.int(.referencedBeamNumber)) ?? nil) }
            }
        }
        embeddedDVHs = Self.embeddedDVHs(ds, path: path, warnings: &warnings)
        self.warnings = warnings

        // Check the pixel data length now so a short file fails at load, not later.
        let need = cols * rows * frames * bitsAllocated / 8
        let have = try file.nativePixelData().count
        guard have >= need else {
            throw SBRTError(.invalidValue, "dose pixel data holds \(have) bytes, but \(cols)×\(rows)×\(frames) values of \(bitsAllocated) bits need \(need)", file: path)
        }
    }

    /// Dose Grid Scaling (1 with a warning when absent), within `InputLimits.doseGridScaling`.
    static func scaling(_ ds: DataSet, path: String, warnings: inout [Warning]) throws -> Double {
        guard ds.contains(.doseGridScaling) else {
            warnings.append(Warning(kind: "dose-scaling-missing", message: "RT Dose has no Dose Grid Scaling (3004,000E); 1 assumed", files: [path]))
            return 1
        }
        return try ds.requireDoubles(.doseGridScaling, "Dose Grid Scaling", in: InputLimits.doseGridScaling, unit: "", file: path)[0]
    }

    /// Where the frames lie along the plane normal: the first frame's offset from Image
    /// Position, the signed step between frames, and how Grid Frame Offset Vector was read.
    static func frameAxis(_ ds: DataSet, plane: ImagePlane, frames: Int, path: String, warnings: inout [Warning]) throws -> (first: Double, step: Double, form: String) {
        let normal = plane.normal
        let limit = InputLimits.coordinateMM
        var offsets: [Double]
        if frames == 1 && !ds.contains(.gridFrameOffsetVector) {
            offsets = [0]
        } else {
            offsets = try ds.requireDoubles(.gridFrameOffsetVector, "Grid Frame Offset Vector", in: -limit...limit, unit: "mm", file: path)
        }
        guard offsets.count == frames else {
            throw SBRTError(.invalidValue, "Grid Frame Offset Vector (3004,000C) has \(offsets.count) values for \(frames) frames", file: path)
        }
        var form = "relative"
        if abs(offsets[0]) > 1e-6 {
            let axial = abs(abs(normal.z) - 1) < 1e-6
            if axial && abs(offsets[0] - plane.position.z) < 1e-3 {
                form = "absolute"
                offsets = offsets.map { ($0 - plane.position.z) * normal.z }
            } else {
                warnings.append(Warning(kind: "dose-frame-offsets",
                                        message: "Grid Frame Offset Vector starts at \(offsets[0]) mm, neither 0 nor the Image Position z; read as offsets from Image Position along the normal",
                                        files: [path]))
            }
        }
        guard frames > 1 else { return (offsets[0], try ds.sliceThicknessMM(file: path) ?? 1, form) }
        let step = offsets[1] - offsets[0]
        guard abs(step) > 1e-6 else {
            throw SBRTError(.invalidValue, "Grid Frame Offset Vector repeats a position (\(offsets[0]) mm)", file: path)
        }
        for n in 1..<frames {
            let d = offsets[n] - offsets[n - 1]
            if abs(d - step) > max(1e-3, 1e-3 * abs(step)) {
                throw SBRTError(.invalidValue, "Grid Frame Offset Vector is not evenly spaced (gap \(d) mm after \(step) mm at frame \(n)); irregular dose grids are not supported", file: path)
            }
        }
        let mean = (offsets[frames - 1] - offsets[0]) / Double(frames - 1)
        try Checked.all([abs(mean)], in: InputLimits.spacingMM, unit: "mm", "the spacing of Grid Frame Offset Vector (3004,000C)", file: path)
        return (offsets[0], mean, form)
    }

    /// The readable embedded DVHs; an unreadable one is a warning, not an error.
    static func embeddedDVHs(_ ds: DataSet, path: String, warnings: inout [Warning]) -> [EmbeddedDVH] {
        var dvhs: [EmbeddedDVH] = []
        for (n, item) in (ds.sequence(.dvhSequence) ?? []).enumerated() {
            do {
                dvhs.append(try DoseGrid.decodeDVH(item))
            } catch {
                let why = (error as? SBRTError)?.message ?? "unreadable"
                warnings.append(Warning(kind: "embedded-dvh-unreadable", message: "embedded DVH \(n + 1): \(why); ignored", files: [path]))
            }
        }
        return dvhs
    }

    /// What an EFFECTIVE dose holds, for labels: "EQD2" or "BED" when its Series Description
    /// or Dose Comment says so (as sbrt composite writes), "effective" otherwise; nil for a
    /// physical dose.
    public var quantityLabel: String? {
        guard doseType.uppercased() == "EFFECTIVE" else { return nil }
        let text = ((seriesDescription ?? "") + " " + (comment ?? "")).uppercased()
        if text.contains("EQD2") { return "EQD2" }
        if text.contains("BED") { return "BED" }
        return "effective"
    }

    static func decodeDVH(_ item: DataSet) throws -> EmbeddedDVH {
        let refs = (item.sequence(.dvhReferencedROISequence) ?? []).compactMap { try? $0.int(.referencedROINumber) }.compactMap { $0 }
        let data: [Double]
        do {
            data = try item.doubles(.dvhData) ?? []
        } catch let e as SBRTError {
            throw SBRTError(.invalidValue, "DVH Data is unreadable: \(e.message)")
        }
        guard data.count >= 2, data.count % 2 == 0 else {
            throw SBRTError(.invalidValue, "DVH Data holds \(data.count) numbers; pairs of (dose bin width, volume) are required")
        }
        if let bad = data.first(where: { !$0.isFinite }) {
            throw SBRTError(.invalidValue, "DVH Data holds \(bad), not a finite number")
        }
        let scale = ((try? item.double(.dvhDoseScaling)) ?? nil) ?? 1
        guard scale.isFinite, scale > 0 else { throw SBRTError(.invalidValue, "DVH Dose Scaling is \(scale); it must be a positive number") }
        let type = item.string(.dvhType) ?? "CUMULATIVE"
        var doses: [Double] = [0]
        var vols: [Double] = []
        var edge = 0.0
        var n = 0
        while n < data.count {
            edge += data[n] * scale
            doses.append(edge)
            vols.append(data[n + 1])
            n += 2
        }
        if type == "DIFFERENTIAL" {
            var acc = 0.0
            for m in vols.indices.reversed() { acc += vols[m]; vols[m] = acc }
        }
        // Bin widths and volumes that no DVH holds (a dose beyond 10⁵, a negative width, a
        // volume beyond 10⁹ in any unit) would make its statistics infinite or undefined.
        guard edge.isFinite, edge <= 1e5, doses.allSatisfy({ $0 >= 0 }), zip(doses, doses.dropFirst()).allSatisfy({ $0 <= $1 }),
              vols.allSatisfy({ $0.isFinite && abs($0) <= 1e9 }) else {
            throw SBRTError(.invalidValue, "DVH Data holds bin widths or volumes that no DVH has (negative widths, doses beyond 10⁵ or volumes beyond 10⁹)")
        }
        vols.append(0)
        func reported(_ t: Tag) -> Double? { ((try? item.double(t)) ?? nil).flatMap { $0.isFinite ? $0 : nil } }
        return EmbeddedDVH(referencedROINumbers: refs, type: type,
                           doseUnits: item.string(.doseUnits) ?? "", volumeUnits: item.string(.dvhVolumeUnits) ?? "",
                           doses: doses, volumes: vols,
                           reportedMinimum: reported(.dvhMinimumDose), reportedMaximum: reported(.dvhMaximumDose),
                           reportedMean: reported(.dvhMeanDose))
    }

    /// Decodes the dose values (stored × Dose Grid Scaling), in the file's units.
    public func loadDose() throws -> Volume<Float> {
        let data = try file.nativePixelData()
        let n = grid.count
        let signed = ((try? file.dataSet.int(.pixelRepresentation)) ?? nil) == 1
        let s = scaling
        // Every case below writes all n values, so the array is not zero-filled first;
        // writing through the base pointer keeps bounds checks out of the loops.
        let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            HugePages.advise(buffer)
            let dst = buffer.baseAddress!
            data.withUnsafeBytes { raw in
                let base = raw.baseAddress!
                switch (bitsAllocated, signed) {
                case (32, false):
                    for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) * s) }
                case (32, true):
                    for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) * s) }
                case (16, true):
                    for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) * s) }
                default:
                    for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) * s) }
                }
            }
            initialized = n
        }
        return Volume(grid: grid, voxels: out)
    }

    /// The largest stored value times the scaling, without building the volume.
    public func maxDose() throws -> Double {
        let data = try file.nativePixelData()
        let n = grid.count
        let signed = ((try? file.dataSet.int(.pixelRepresentation)) ?? nil) == 1
        var best: Double = 0
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            switch (bitsAllocated, signed) {
            case (32, false):
                var m: UInt32 = 0
                for i in 0..<n { m = max(m, base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
                best = Double(m)
            case (32, true):
                var m = Int32.min
                for i in 0..<n { m = max(m, base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) }
                best = Double(m)
            case (16, true):
                var m = Int16.min
                for i in 0..<n { m = max(m, base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) }
                best = Double(m)
            default:
                var m: UInt16 = 0
                for i in 0..<n { m = max(m, base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
                best = Double(m)
            }
        }
        return best * scaling
    }
}
