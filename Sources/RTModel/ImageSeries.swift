import Base
import DICOM
import Foundation
import VoxelKit

/// One image of a series: where it lies and where its pixels are.
public struct ImageSlice: Sendable {
    public var file: DICOMFile
    public var path: String
    public var sopInstanceUID: String
    /// The image's SOP Class (CT, MR or PET Image Storage), for references to it.
    public var sopClassUID: String
    public var plane: ImagePlane
    /// Position along the series' slice normal, mm (dot(IPP, normal)).
    public var offset: Double
    public var instanceNumber: Int?
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
}

/// A series of classic single-frame CT, MR or PET images assembled into a volume geometry.
///
/// Slices are ordered by their position along the slice normal (row × column
/// cosines), never by Instance Number or Slice Location; spacing comes from the
/// positions, not from Slice Thickness. The `grid` has axisK along the normal and
/// origin at the first slice's first pixel. What the values mean (HU, MR signal, SUV)
/// is in `values`; `loadValues()` decodes them.
public struct ImageSeries: Sendable {
    public var modality: ImageModality
    /// What the decoded values mean and how they are made from the stored pixels.
    public var values: ImageValues
    public var seriesInstanceUID: String
    public var seriesNumber: Int?
    public var studyInstanceUID: String?
    public var frameOfReferenceUID: String?
    public var seriesDescription: String?
    public var patientPosition: String?
    public var slices: [ImageSlice]
    public var rows: Int
    public var columns: Int
    public var bitsAllocated: Int
    public var bitsStored: Int
    public var pixelRepresentation: Int
    /// The regular lattice of the series (slice spacing = median gap between slices).
    public var grid: Grid
    /// Gaps between consecutive slices, mm.
    public var gaps: [Double]
    /// Problems with the series geometry: irregular or missing slices, tilted stacks.
    public var warnings: [Warning]
    /// One entry per plane of `grid` (k order).
    public var lattice: [LatticePlane]

    public var orientationCode: String { slices[0].plane.orientationCode }

    /// "MR series 2.25.… "T1 planning"" for messages.
    public var displayName: String {
        "\(modality.displayName) series \(seriesInstanceUID)" + (seriesDescription.map { " \"\($0)\"" } ?? "")
    }

    /// Assembles the series from its files (all with the same Series Instance UID and
    /// the same modality).
    /// - Throws: `SBRTError` naming the file: missing geometry, differing orientation,
    ///   size or spacing, two slices at one position, an unsupported pixel format.
    public init(files: [DICOMFile], modality: ImageModality) throws {
        precondition(!files.isEmpty)
        let first = files[0].dataSet
        let firstPath = files[0].path
        self.modality = modality
        values = try ImageValues.of(modality, first, file: firstPath)
        seriesInstanceUID = first.string(.seriesInstanceUID) ?? ""
        seriesNumber = try? first.int(.seriesNumber)
        studyInstanceUID = first.string(.studyInstanceUID)
        frameOfReferenceUID = first.string(.frameOfReferenceUID)
        seriesDescription = first.string(.seriesDescription)
        patientPosition = first.string(.patientPosition)
        slices = try Self.readSlices(files, modality: modality, series: seriesInstanceUID)
        let rows = try first.requireUInt16(.rows, "Rows", file: firstPath)
        let bitsAllocated = try first.requireUInt16(.bitsAllocated, "Bits Allocated", file: firstPath)
        (self.rows, self.bitsAllocated) = (rows, bitsAllocated)
        columns = try first.requireUInt16(.columns, "Columns", file: firstPath)
        bitsStored = (try? first.requireUInt16(.bitsStored, "Bits Stored", file: firstPath)) ?? bitsAllocated
        pixelRepresentation = (try? first.requireUInt16(.pixelRepresentation, "Pixel Representation", file: firstPath)) ?? 0
        gaps = []
        warnings = []
        lattice = []
        grid = Grid(size: SIMD3(1, 1, 1), origin: Vec3(0, 0, 0), spacing: Vec3(1, 1, 1))
        try checkPixelFormat(first, file: firstPath)
        let typical = try measureGaps(sliceThickness: try first.sliceThicknessMM(file: firstPath))
        try buildLattice(typical: typical)
    }

    /// The slices of `files` with their planes, ordered along the first slice's normal.
    static func readSlices(_ files: [DICOMFile], modality: ImageModality, series: String) throws -> [ImageSlice] {
        var slices: [ImageSlice] = []
        slices.reserveCapacity(files.count)
        for f in files {
            let path = f.path ?? "?"
            let ds = f.dataSet
            if let frames = try? ds.int(.numberOfFrames), frames > 1 {
                throw SBRTError(.unsupported, "a \(modality.displayName) image with \(frames) frames: multi-frame images are not read", file: path)
            }
            let slope = try ds.optionalDouble(.rescaleSlope, "Rescale Slope", file: path) ?? 1
            let intercept = try ds.optionalDouble(.rescaleIntercept, "Rescale Intercept", file: path) ?? 0
            slices.append(ImageSlice(
                file: f, path: path, sopInstanceUID: f.sopInstanceUID ?? "",
                sopClassUID: f.sopClassUID ?? modality.sopClassUID,
                plane: try ImagePlane(ds, file: path), offset: 0,
                instanceNumber: try? ds.int(.instanceNumber),
                rescaleSlope: slope, rescaleIntercept: intercept))
        }
        let normal = slices[0].plane.normal
        for n in slices.indices {
            let p = slices[n].plane
            if length(cross(p.normal, normal)) > 1e-3 {
                throw SBRTError(.invalidValue, "slice orientation differs from the rest of series \(series)", file: slices[n].path)
            }
            slices[n].offset = dot(p.position, normal)
        }
        slices.sort { $0.offset < $1.offset }
        return slices
    }

    /// Bits, samples, sizes and spacings agree across the series, and every value the
    /// rescale can make is a finite Float.
    func checkPixelFormat(_ first: DataSet, file firstPath: String?) throws {
        guard rows > 0, columns > 0 else { throw SBRTError(.invalidValue, "image has \(rows) rows and \(columns) columns", file: firstPath) }
        guard [8, 16, 32].contains(bitsAllocated), bitsStored >= 1, bitsStored <= bitsAllocated else {
            throw SBRTError(.unsupported, "unsupported pixel format: Bits Allocated \(bitsAllocated), Bits Stored \(bitsStored)", file: firstPath)
        }
        let samples = (try? first.int(.samplesPerPixel)) ?? 1
        guard samples == 1 else { throw SBRTError(.unsupported, "\(modality.displayName) image with \(samples) samples per pixel is not supported", file: firstPath) }
        let largestStored = pow(2.0, Double(bitsStored))
        for s in slices {
            let ds = s.file.dataSet
            let r = try ds.requireUInt16(.rows, "Rows", file: s.path)
            let c = try ds.requireUInt16(.columns, "Columns", file: s.path)
            if r != rows || c != columns {
                throw SBRTError(.invalidValue, "image is \(c)×\(r) but the series is \(columns)×\(rows)", file: s.path)
            }
            if abs(s.plane.rowSpacing - slices[0].plane.rowSpacing) > 1e-4 || abs(s.plane.columnSpacing - slices[0].plane.columnSpacing) > 1e-4 {
                throw SBRTError(.invalidValue, "pixel spacing differs from the rest of the series", file: s.path)
            }
            let extreme = (abs(s.rescaleSlope) * largestStored + abs(s.rescaleIntercept)) * values.factor
            guard extreme < 1e30 else {
                throw SBRTError(.invalidValue, "Rescale Slope \(s.rescaleSlope) and Intercept \(s.rescaleIntercept) make values beyond 1e30", file: s.path)
            }
        }
    }

    /// Gaps between slices, their median (the lattice spacing), and the warnings about
    /// missing, irregular and tilted slices.
    /// - Throws: when two slices share a position.
    mutating func measureGaps(sliceThickness: Double?) throws -> Double {
        let kind = modality.displayName
        for n in 1..<max(1, slices.count) { gaps.append(slices[n].offset - slices[n - 1].offset) }
        let sortedGaps = gaps.sorted()
        let typical = sortedGaps.isEmpty ? (sliceThickness.flatMap { $0 > 0 ? $0 : nil } ?? 1.0) : sortedGaps[sortedGaps.count / 2]
        let tolerance = max(0.01, 0.01 * typical)
        if let dup = gaps.firstIndex(where: { $0 < tolerance }) {
            throw SBRTError(.invalidValue, "two \(kind) slices share position \(fmt(slices[dup].offset)) mm along the slice normal (\(slices[dup].path) and \(slices[dup + 1].path)); the folder may hold two series with the same UID", file: slices[dup].path)
        }
        var missing: [String] = []
        var irregular = false
        for (n, g) in gaps.enumerated() where abs(g - typical) > tolerance {
            let ratio = g / typical
            if ratio > 1.5 && abs(ratio - ratio.rounded()) * typical < tolerance * 5 {
                missing.append("\(Int(ratio.rounded()) - 1) between \(fmt(slices[n].offset)) and \(fmt(slices[n + 1].offset)) mm")
            } else {
                irregular = true
            }
        }
        // The kinds keep their historical names (missing-ct-slices…) for every modality.
        if !missing.isEmpty {
            warnings.append(Warning(kind: "missing-ct-slices",
                                    message: "\(kind) series \(seriesInstanceUID) has gaps of missing slices (regular spacing \(fmt(typical)) mm): \(missing.joined(separator: "; ")); the volume fills them by linear interpolation"))
        }
        if irregular {
            warnings.append(Warning(kind: "irregular-ct-spacing",
                                    message: "\(kind) series \(seriesInstanceUID) has irregular slice spacing: gaps from \(fmt(sortedGaps.first ?? 0)) to \(fmt(sortedGaps.last ?? 0)) mm (median \(fmt(typical)) mm); the volume is resampled linearly onto a regular lattice at the median spacing"))
        }
        let p0 = slices[0].plane.position, normal = slices[0].plane.normal
        let maxShift = slices.map { s -> Double in
            let d = s.plane.position - p0
            return length(d - normal * dot(d, normal))
        }.max() ?? 0
        if maxShift > 0.01 {
            warnings.append(Warning(kind: "tilted-ct-stack",
                                    message: "\(kind) slice positions drift up to \(fmt(maxShift)) mm in-plane (gantry tilt or sheared stack); volume geometry ignores the drift"))
        }
        return typical
    }

    /// The regular lattice: from the first slice to the last at the median spacing.
    /// Slices on it are copied; lattice planes without a slice (missing or irregular
    /// slices) are interpolated linearly between the neighbouring slices.
    /// - Throws: `SBRTError` when the spacing is outside `InputLimits.spacingMM` or the
    ///   volume would hold more than 2³¹ voxels (`ImagePlane.latticePlaneCount`).
    mutating func buildLattice(typical: Double) throws {
        let tolerance = max(0.01, 0.01 * typical)
        var lattice: [LatticePlane] = []
        let span = slices[slices.count - 1].offset - slices[0].offset
        let nz = try ImagePlane.latticePlaneCount(spanMM: span, spacingMM: typical, rows: rows, columns: columns, file: slices[0].path)
        if slices.count == 1 {
            lattice = [LatticePlane(below: 0, above: 0, weightAbove: 0)]
        } else {
            var s = 0
            for m in 0..<nz {
                let z = slices[0].offset + Double(m) * typical
                while s + 1 < slices.count && slices[s + 1].offset <= z + tolerance { s += 1 }
                if abs(slices[s].offset - z) <= tolerance || s + 1 == slices.count {
                    lattice.append(LatticePlane(below: s, above: s, weightAbove: 0))
                } else {
                    let t = (z - slices[s].offset) / (slices[s + 1].offset - slices[s].offset)
                    lattice.append(LatticePlane(below: s, above: s + 1, weightAbove: Swift.max(0, Swift.min(1, t))))
                }
            }
        }
        self.lattice = lattice
        let pl = slices[0].plane
        grid = Grid(size: SIMD3(columns, rows, lattice.count), origin: pl.position,
                    spacing: Vec3(pl.columnSpacing, pl.rowSpacing, typical),
                    axisI: pl.rowCosine, axisJ: pl.columnCosine, axisK: pl.normal)
    }

    /// How one plane of the regular `grid` is made from the slices.
    public struct LatticePlane: Sendable, Equatable {
        public var below: Int
        public var above: Int
        /// Weight of slice `above` (0 when the plane is a slice).
        public var weightAbove: Double
        /// The slice index when the lattice plane is an actual slice.
        public var slice: Int? { below == above || weightAbove == 0 ? below : nil }
    }

    /// Whether every plane of the grid is an acquired slice (no interpolated planes).
    public var isRegular: Bool { lattice.count == slices.count }

    /// Offsets of the slices along the normal, mm, increasing.
    public var sliceOffsets: [Double] { slices.map(\.offset) }
}

func fmt(_ v: Double, _ digits: Int = 2) -> String {
    String(format: "%.\(digits)f", v)
}
