import Base
import DICOM
import VoxelKit

/// Geometry of one image plane: Image Position, Image Orientation and Pixel Spacing (PS3.3 C.7.6.2).
public struct ImagePlane: Sendable, Equatable {
    /// Centre of the first transmitted pixel, mm.
    public var position: Vec3
    /// Direction of increasing column index (along a row).
    public var rowCosine: Vec3
    /// Direction of increasing row index (down a column).
    public var columnCosine: Vec3
    /// Distance between rows (PixelSpacing[0]) and between columns (PixelSpacing[1]), mm.
    public var rowSpacing: Double
    public var columnSpacing: Double

    /// The slice normal, row × column (the direction slices are ordered along).
    public var normal: Vec3 { normalize(cross(rowCosine, columnCosine)) }

    /// Reads the plane of `ds`; `file` names the file in errors.
    ///
    /// Every number is checked where it enters (docs/safety.md): positions within ±10 m,
    /// spacings 0.01–100 mm, orientation two unit vectors (to 1e-4) orthogonal to 1e-4.
    /// - Throws: `SBRTError` (`.invalidValue`) naming the file, the attribute and the value.
    public init(_ ds: DataSet, file: String?) throws {
        let ipp = try ds.requireDoubles(.imagePositionPatient, "Image Position (Patient)", count: 3, file: file)
        let iop = try ds.requireDoubles(.imageOrientationPatient, "Image Orientation (Patient)", count: 6, file: file)
        let ps = try ds.requireDoubles(.pixelSpacing, "Pixel Spacing", count: 2, file: file)
        let limit = InputLimits.coordinateMM
        try Checked.all(ipp, in: -limit...limit, unit: "mm", "Image Position (Patient) (0020,0032)", file: file)
        try Checked.all(ps, in: InputLimits.spacingMM, unit: "mm", "Pixel Spacing (0028,0030)", file: file)
        let (r, c) = try Self.orientation(iop, file: file)
        position = Vec3(ipp[0], ipp[1], ipp[2])
        rowCosine = r
        columnCosine = c
        rowSpacing = ps[0]
        columnSpacing = ps[1]
    }

    /// The row and column directions of Image Orientation (Patient), normalised, after
    /// checking that both are unit vectors and orthogonal within
    /// `InputLimits.orientationTolerance`.
    static func orientation(_ iop: [Double], file: String?) throws -> (Vec3, Vec3) {
        let r = Vec3(iop[0], iop[1], iop[2]), c = Vec3(iop[3], iop[4], iop[5])
        let tol = InputLimits.orientationTolerance
        let text = iop.map(InputLimits.number).joined(separator: "\\")
        for (v, which) in [(r, "row"), (c, "column")] where !(abs(length(v) - 1) <= tol) {
            throw SBRTError(.invalidValue, "Image Orientation (Patient) (0020,0037) is \(text): its \(which) direction has length \(length(v)), not 1 (within \(tol))", file: file)
        }
        let cosine = dot(r, c) / (length(r) * length(c))
        guard abs(cosine) <= tol else {
            throw SBRTError(.invalidValue, "Image Orientation (Patient) (0020,0037) is \(text): its row and column directions are not orthogonal (cosine \(cosine), tolerance \(tol))", file: file)
        }
        return (r / length(r), c / length(c))
    }

    public init(position: Vec3, rowCosine: Vec3, columnCosine: Vec3, rowSpacing: Double, columnSpacing: Double) {
        self.position = position
        self.rowCosine = rowCosine
        self.columnCosine = columnCosine
        self.rowSpacing = rowSpacing
        self.columnSpacing = columnSpacing
    }

    /// Patient orientation read from the direction cosines, for axis-aligned axial images:
    /// HFS, HFP, FFS, FFP, HFDL, HFDR, FFDL, FFDR (the conventions of PS3.3 C.7.3.1.1.2
    /// for images as scanners write them); otherwise `axial-oblique`, `sagittal`,
    /// `coronal` or `oblique`.
    public var orientationCode: String {
        func axis(_ v: Vec3) -> Vec3? {
            let t = 1e-3
            for (n, e) in [(0, v.x), (1, v.y), (2, v.z)] where abs(abs(e) - 1) < t {
                var u = Vec3(0, 0, 0)
                u[n] = e > 0 ? 1 : -1
                return u
            }
            return nil
        }
        let n = normal
        guard let r = axis(rowCosine), let c = axis(columnCosine) else {
            if abs(n.z) > 0.999 { return "axial-oblique" }
            return "oblique"
        }
        if abs(n.x) > 0.999 { return "sagittal" }
        if abs(n.y) > 0.999 { return "coronal" }
        let table: [(Vec3, Vec3, String)] = [
            (Vec3(1, 0, 0), Vec3(0, 1, 0), "HFS"),
            (Vec3(-1, 0, 0), Vec3(0, -1, 0), "HFP"),
            (Vec3(-1, 0, 0), Vec3(0, 1, 0), "FFS"),
            (Vec3(1, 0, 0), Vec3(0, -1, 0), "FFP"),
            (Vec3(0, -1, 0), Vec3(1, 0, 0), "HFDL"),
            (Vec3(0, 1, 0), Vec3(-1, 0, 0), "HFDR"),
            (Vec3(0, 1, 0), Vec3(1, 0, 0), "FFDL"),
            (Vec3(0, -1, 0), Vec3(-1, 0, 0), "FFDR"),
        ]
        for (tr, tc, code) in table where tr == r && tc == c { return code }
        return "axial"
    }
}

extension ImagePlane {
    /// The number of planes of a regular lattice from the first slice of a series to the
    /// last (`spanMM` apart) at `spacingMM`, after checking the spacing
    /// (`InputLimits.spacingMM`) and the size of the volume it makes (at most 2³¹ voxels of
    /// `rows × columns`).
    /// - Throws: `SBRTError` (`.invalidValue`, `.tooLarge`) naming `file`.
    public static func latticePlaneCount(spanMM: Double, spacingMM: Double, rows: Int, columns: Int, file: String?) throws -> Int {
        try Checked.all([spacingMM], in: InputLimits.spacingMM, unit: "mm", "the slice spacing of the series", file: file)
        guard let steps = Checked.int(spanMM / spacingMM, rounding: .toNearestOrAwayFromZero) else {
            throw SBRTError(.invalidValue, "the series spans \(spanMM) mm, which cannot be sampled at \(spacingMM) mm", file: file)
        }
        _ = try Checked.cellCount([columns, rows, steps + 1], what: "the image volume (Columns × Rows × planes)", file: file)
        return steps + 1
    }
}
