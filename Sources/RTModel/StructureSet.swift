import Base
import DICOM
import VoxelKit

/// One contour of an ROI: points in patient millimetres (PS3.3 C.8.8.6).
public struct Contour: Sendable {
    /// CLOSED_PLANAR, POINT, OPEN_PLANAR, OPEN_NONPLANAR (as written in the file).
    public var geometricType: String
    public var points: [Vec3]
    /// SOP Instance UIDs of the images the contour lies on (Contour Image Sequence).
    public var referencedSOPInstanceUIDs: [String]

    public init(geometricType: String, points: [Vec3], referencedSOPInstanceUIDs: [String] = []) {
        self.geometricType = geometricType
        self.points = points
        self.referencedSOPInstanceUIDs = referencedSOPInstanceUIDs
    }

    public var isClosedPlanar: Bool { geometricType == "CLOSED_PLANAR" || geometricType == "CLOSEDPLANAR_XOR" }

    /// Mean position of the points along `normal`, mm.
    public func meanOffset(along normal: Vec3) -> Double {
        guard !points.isEmpty else { return 0 }
        return points.reduce(0) { $0 + dot($1, normal) } / Double(points.count)
    }

    /// Largest distance of a point from the mean plane along `normal`, mm (0 for a planar contour).
    public func planarityError(along normal: Vec3) -> Double {
        let m = meanOffset(along: normal)
        return points.reduce(0) { max($0, abs(dot($1, normal) - m)) }
    }
}

/// A region of interest of a structure set, with its observations and contours.
public struct ROI: Sendable {
    public var number: Int
    public var name: String
    /// RT ROI Interpreted Type (3006,00A4): GTV, CTV, PTV, ORGAN, EXTERNAL, AVOIDANCE…; nil when absent.
    public var interpretedType: String?
    /// ROI Display Color (3006,002A), RGB 0–255; nil when absent.
    public var color: SIMD3<UInt8>?
    public var generationAlgorithm: String?
    public var frameOfReferenceUID: String?
    public var contours: [Contour]

    /// RT ROI Interpreted Type EXTERNAL: the body outline.
    public var isExternal: Bool { (interpretedType ?? "").uppercased() == "EXTERNAL" }

    /// Whether any of its contours is closed and planar (an ROI that has a volume).
    public var hasClosedContours: Bool { contours.contains(where: \.isClosedPlanar) }

    /// Number of distinct planes holding closed contours, positions compared along `normal`
    /// to within 0.01 mm.
    public func planeCount(normal: Vec3 = Vec3(0, 0, 1)) -> Int {
        planeOffsets(normal: normal).count
    }

    /// Distinct plane positions (mm along `normal`, ascending) of the closed contours.
    public func planeOffsets(normal: Vec3 = Vec3(0, 0, 1)) -> [Double] {
        let offsets = contours.filter(\.isClosedPlanar).map { $0.meanOffset(along: normal) }.sorted()
        var out: [Double] = []
        for o in offsets where out.last.map({ abs($0 - o) > 0.01 }) ?? true { out.append(o) }
        return out
    }

    /// Axis-aligned bounds of all points, or nil without points.
    public var bounds: (min: Vec3, max: Vec3)? {
        var lo = Vec3(repeating: .infinity), hi = Vec3(repeating: -.infinity)
        var any = false
        for c in contours { for p in c.points { lo = pointwiseMin(lo, p); hi = pointwiseMax(hi, p); any = true } }
        return any ? (lo, hi) : nil
    }
}

/// An RT Structure Set (PS3.3 A.19): ROIs joined from the Structure Set ROI, ROI Contour
/// and RT ROI Observations sequences by ROI Number.
public struct StructureSet: Sendable {
    public var path: String
    public var sopInstanceUID: String
    public var label: String?
    public var name: String?
    public var studyInstanceUID: String?
    /// Frames of reference named by the Referenced Frame of Reference Sequence.
    public var frameOfReferenceUIDs: [String]
    /// SOP Instance UIDs of the images the structure set refers to.
    public var referencedImageUIDs: Set<String>
    /// Series Instance UIDs named by RT Referenced Series (the images it was drawn on).
    public var referencedSeriesUIDs: [String]
    public var rois: [ROI]
    public var warnings: [Warning]

    /// Reads the structure set of `file`.
    /// - Throws: `SBRTError` naming the file and the ROI for unusable contour data.
    public init(file: DICOMFile) throws {
        let ds = file.dataSet
        let path = file.path ?? "?"
        self.path = path
        sopInstanceUID = file.sopInstanceUID ?? ""
        label = ds.string(.structureSetLabel)
        name = ds.string(.structureSetName)
        studyInstanceUID = ds.string(.studyInstanceUID)
        var warnings: [Warning] = []

        var forUIDs: [String] = []
        var images = Set<String>()
        var series: [String] = []
        for f in ds.sequence(.referencedFrameOfReferenceSequence) ?? [] {
            if let u = f.string(.frameOfReferenceUID) { forUIDs.append(u) }
            for study in f.sequence(.rtReferencedStudySequence) ?? [] {
                for s in study.sequence(.rtReferencedSeriesSequence) ?? [] {
                    if let u = s.string(.seriesInstanceUID), !series.contains(u) { series.append(u) }
                    for img in s.sequence(.contourImageSequence) ?? [] {
                        if let u = img.string(.referencedSOPInstanceUID) { images.insert(u) }
                    }
                }
            }
        }
        frameOfReferenceUIDs = forUIDs
        referencedImageUIDs = images
        referencedSeriesUIDs = series

        guard let roiItems = ds.sequence(.structureSetROISequence) else {
            throw SBRTError(.invalidValue, "RT Structure Set has no Structure Set ROI Sequence (3006,0020)", file: path)
        }
        var rois: [ROI] = []
        var indexOfNumber: [Int: Int] = [:]
        for item in roiItems {
            guard let number = try? item.int(.roiNumber) else {
                throw SBRTError(.invalidValue, "an ROI of the Structure Set ROI Sequence has no ROI Number (3006,0022)", file: path)
            }
            if indexOfNumber[number] != nil {
                throw SBRTError(.invalidValue, "ROI Number \(number) is used twice in the Structure Set ROI Sequence", file: path)
            }
            indexOfNumber[number] = rois.count
            rois.append(ROI(number: number, name: item.string(.roiName) ?? "ROI \(number)",
                            interpretedType: nil, color: nil,
                            generationAlgorithm: item.string(.roiGenerationAlgorithm),
                            frameOfReferenceUID: item.string(.referencedFrameOfReferenceUID), contours: []))
        }
        for item in ds.sequence(.roiContourSequence) ?? [] {
            guard let ref = try? item.int(.referencedROINumber), let idx = indexOfNumber[ref] else {
                warnings.append(Warning(kind: "orphan-roi-contour",
                                        message: "an ROI Contour item refers to ROI number \((try? item.int(.referencedROINumber)).flatMap { $0 }.map(String.init) ?? "(none)"), which the Structure Set ROI Sequence does not define; ignored",
                                        files: [path]))
                continue
            }
            let roiName = rois[idx].name
            if let rgb = try? item.ints(.roiDisplayColor), rgb.count == 3 {
                rois[idx].color = SIMD3(UInt8(clamping: rgb[0]), UInt8(clamping: rgb[1]), UInt8(clamping: rgb[2]))
            }
            rois[idx].contours += try Self.contours(item, roiName: roiName, path: path, warnings: &warnings)
        }
        for item in ds.sequence(.rtROIObservationsSequence) ?? [] {
            if let ref = try? item.int(.referencedROINumber), let idx = indexOfNumber[ref] {
                if let t = item.string(.rtROIInterpretedType), !t.isEmpty { rois[idx].interpretedType = t }
            }
        }
        self.rois = rois
        self.warnings = warnings
    }

    /// The contours of one ROI Contour item. Contour Data must be x,y,z triplets of finite
    /// numbers within ±10 m (`InputLimits.coordinateMM`); empty contours are dropped with a
    /// warning.
    /// - Throws: `SBRTError` naming the file, the ROI, the attribute and the value.
    static func contours(_ item: DataSet, roiName: String, path: String, warnings: inout [Warning]) throws -> [Contour] {
        let items = item.sequence(.contourSequence) ?? []
        // Contours are parsed concurrently (a body's 160 contours hold tens of thousands of
        // decimal strings), then taken in order: the same contours, warnings and first error.
        var parsed = [Result<(Contour?, [Warning]), Error>?](repeating: nil, count: items.count)
        parsed.withUnsafeMutableBufferPointer { out in
            let out = out
            Parallel.forEachChunk(items.count, minimumChunk: 16) { _, range in
                for k in range { out[k] = Result { try contour(items[k], roiName: roiName, path: path) } }
            }
        }
        var result: [Contour] = []
        for p in parsed {
            let (c, w) = try p!.get()
            warnings += w
            if let c { result.append(c) }
        }
        return result
    }

    /// One item of the Contour Sequence: its contour (nil when it has no points) and warnings.
    static func contour(_ c: DataSet, roiName: String, path: String) throws -> (Contour?, [Warning]) {
        let limit = InputLimits.coordinateMM
        var warnings: [Warning] = []
        let type = c.string(.contourGeometricType) ?? "CLOSED_PLANAR"
        let values: [Double]
        do {
            values = try c.doubles(.contourData) ?? []
        } catch let e as SBRTError {
            throw SBRTError(.invalidValue, "ROI \"\(roiName)\": Contour Data (3006,0050) is unreadable: \(e.message)", file: path)
        }
        guard values.count % 3 == 0 else {
            throw SBRTError(.invalidValue, "ROI \"\(roiName)\": Contour Data (3006,0050) holds \(values.count) numbers, not a multiple of 3 (x,y,z triplets)", file: path)
        }
        if let n = values.firstIndex(where: { !($0.isFinite && abs($0) <= limit) }) {
            throw SBRTError(.invalidValue, "ROI \"\(roiName)\": Contour Data (3006,0050) holds \(InputLimits.number(values[n])) (point \(n / 3 + 1), \(["x", "y", "z"][n % 3])), outside ±\(InputLimits.number(limit)) mm", file: path)
        }
        var points: [Vec3] = []
        points.reserveCapacity(values.count / 3)
        var n = 0
        while n < values.count { points.append(Vec3(values[n], values[n + 1], values[n + 2])); n += 3 }
        if let declared = try? c.int(.numberOfContourPoints), declared != points.count {
            warnings.append(Warning(kind: "contour-point-count",
                                    message: "ROI \"\(roiName)\": a contour declares \(declared) points but holds \(points.count); the data is used",
                                    files: [path]))
        }
        if points.isEmpty {
            warnings.append(Warning(kind: "empty-contour", message: "ROI \"\(roiName)\": a contour has no points; ignored", files: [path]))
            return (nil, warnings)
        }
        let refs = (c.sequence(.contourImageSequence) ?? []).compactMap { $0.string(.referencedSOPInstanceUID) }
        return (Contour(geometricType: type, points: points, referencedSOPInstanceUIDs: refs), warnings)
    }

    /// The ROI named `name` (case-insensitive, surrounding spaces ignored).
    public func roi(named name: String) -> ROI? {
        rois.first { StructureName.same($0.name, name) }
    }
}
