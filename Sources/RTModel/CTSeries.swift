import Base
import DICOM
import Dispatch
import Foundation
import VoxelKit

/// One CT image of a series: where it lies and where its pixels are.
public struct CTSlice: Sendable {
    public var file: DICOMFile
    public var path: String
    public var sopInstanceUID: String
    public var plane: ImagePlane
    /// Position along the series' slice normal, mm (dot(IPP, normal)).
    public var offset: Double
    public var instanceNumber: Int?
    public var rescaleSlope: Double
    public var rescaleIntercept: Double
}

/// A CT series assembled into a volume geometry.
///
/// Slices are ordered by their position along the slice normal (row × column
/// cosines), never by Instance Number or Slice Location; spacing comes from the
/// positions, not from Slice Thickness. The `grid` has axisK along the normal and
/// origin at the first slice's first pixel. HU = stored × RescaleSlope + RescaleIntercept.
public struct CTSeries: Sendable {
    public var seriesInstanceUID: String
    public var studyInstanceUID: String?
    public var frameOfReferenceUID: String?
    public var seriesDescription: String?
    public var patientPosition: String?
    public var slices: [CTSlice]
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

    public var orientationCode: String { slices[0].plane.orientationCode }

    /// Assembles the series from its files (all with the same Series Instance UID).
    public init(files: [DICOMFile]) throws {
        precondition(!files.isEmpty)
        var slices: [CTSlice] = []
        slices.reserveCapacity(files.count)
        for f in files {
            let path = f.path ?? "?"
            let ds = f.dataSet
            let plane = try ImagePlane(ds, file: path)
            slices.append(CTSlice(
                file: f, path: path,
                sopInstanceUID: f.sopInstanceUID ?? "",
                plane: plane, offset: 0,
                instanceNumber: try? ds.int(.instanceNumber),
                rescaleSlope: try ds.optionalDouble(.rescaleSlope, "Rescale Slope", file: path) ?? 1,
                rescaleIntercept: try ds.optionalDouble(.rescaleIntercept, "Rescale Intercept", file: path) ?? 0))
        }
        let first = files[0].dataSet
        let firstPath = files[0].path
        let normal = slices[0].plane.normal
        var warnings: [Warning] = []
        for n in slices.indices {
            let p = slices[n].plane
            if length(cross(p.normal, normal)) > 1e-3 {
                throw SBRTError(.invalidValue, "slice orientation differs from the rest of series \(first.string(.seriesInstanceUID) ?? "")", file: slices[n].path)
            }
            slices[n].offset = dot(p.position, normal)
        }
        slices.sort { $0.offset < $1.offset }

        rows = try first.requireUInt16(.rows, "Rows", file: firstPath)
        columns = try first.requireUInt16(.columns, "Columns", file: firstPath)
        bitsAllocated = try first.requireUInt16(.bitsAllocated, "Bits Allocated", file: firstPath)
        bitsStored = (try? first.requireUInt16(.bitsStored, "Bits Stored", file: firstPath)) ?? bitsAllocated
        pixelRepresentation = (try? first.requireUInt16(.pixelRepresentation, "Pixel Representation", file: firstPath)) ?? 0
        guard rows > 0, columns > 0 else { throw SBRTError(.invalidValue, "image has \(rows) rows and \(columns) columns", file: firstPath) }
        guard [8, 16, 32].contains(bitsAllocated), bitsStored >= 1, bitsStored <= bitsAllocated else {
            throw SBRTError(.invalidValue, "unsupported pixel format: Bits Allocated \(bitsAllocated), Bits Stored \(bitsStored)", file: firstPath)
        }
        let samples = (try? first.int(.samplesPerPixel)) ?? 1
        guard samples == 1 else { throw SBRTError(.invalidValue, "CT with \(samples) samples per pixel is not supported", file: firstPath) }
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
        }

        // Gaps, regularity, missing slices, in-plane shifts (tilt).
        var gaps: [Double] = []
        for n in 1..<max(1, slices.count) { gaps.append(slices[n].offset - slices[n - 1].offset) }
        let sortedGaps = gaps.sorted()
        let typical = sortedGaps.isEmpty ? (try? first.double(.sliceThickness)).flatMap { $0 } ?? 1.0 : sortedGaps[sortedGaps.count / 2]
        let tolerance = max(0.01, 0.01 * typical)
        if let dup = gaps.firstIndex(where: { $0 < tolerance }) {
            throw SBRTError(.invalidValue, "two CT slices share position \(String(format: "%.2f", slices[dup].offset)) mm along the slice normal (\(slices[dup].path) and \(slices[dup + 1].path)); the folder may hold two series with the same UID", file: slices[dup].path)
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
        if !missing.isEmpty {
            warnings.append(Warning(kind: "missing-ct-slices",
                                    message: "CT series \(first.string(.seriesInstanceUID) ?? "") has gaps of missing slices (regular spacing \(fmt(typical)) mm): \(missing.joined(separator: "; ")); the volume fills them by linear interpolation"))
        }
        if irregular {
            warnings.append(Warning(kind: "irregular-ct-spacing",
                                    message: "CT series \(first.string(.seriesInstanceUID) ?? "") has irregular slice spacing: gaps from \(fmt(sortedGaps.first ?? 0)) to \(fmt(sortedGaps.last ?? 0)) mm (median \(fmt(typical)) mm); the volume is resampled linearly onto a regular lattice at the median spacing"))
        }
        let p0 = slices[0].plane.position
        var maxShift = 0.0
        for s in slices {
            let d = s.plane.position - p0
            let inPlane = d - normal * dot(d, normal)
            maxShift = max(maxShift, length(inPlane))
        }
        if maxShift > 0.01 {
            warnings.append(Warning(kind: "tilted-ct-stack",
                                    message: "CT slice positions drift up to \(fmt(maxShift)) mm in-plane (gantry tilt or sheared stack); volume geometry ignores the drift"))
        }

        self.slices = slices
        self.gaps = gaps
        self.warnings = warnings
        seriesInstanceUID = first.string(.seriesInstanceUID) ?? ""
        studyInstanceUID = first.string(.studyInstanceUID)
        frameOfReferenceUID = first.string(.frameOfReferenceUID)
        seriesDescription = first.string(.seriesDescription)
        patientPosition = first.string(.patientPosition)
        let pl = slices[0].plane
        // The regular lattice: from the first slice to the last at the median spacing.
        // Slices on it are copied; lattice planes without a slice (missing or irregular
        // slices) are interpolated linearly between the neighbouring slices.
        var lattice: [LatticePlane] = []
        if slices.count == 1 {
            lattice = [LatticePlane(below: 0, above: 0, weightAbove: 0)]
        } else {
            let span = slices[slices.count - 1].offset - slices[0].offset
            let nz = Int((span / typical).rounded()) + 1
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
        grid = Grid(size: SIMD3(columns, rows, lattice.count), origin: pl.position,
                    spacing: Vec3(pl.columnSpacing, pl.rowSpacing, slices.count > 1 ? typical : (try? first.double(.sliceThickness)).flatMap { $0 } ?? 1),
                    axisI: pl.rowCosine, axisJ: pl.columnCosine, axisK: normal)
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

    /// One entry per plane of `grid` (k order).
    public var lattice: [LatticePlane]

    /// Whether every plane of the grid is an acquired slice (no interpolated planes).
    public var isRegular: Bool { lattice.count == slices.count }

    /// Offsets of the slices along the normal, mm, increasing.
    public var sliceOffsets: [Double] { slices.map(\.offset) }

    // MARK: Pixels

    /// Decodes all slices into Hounsfield units on `grid`, rounded to integers and clamped
    /// to Int16. Slices are decoded concurrently. Planes of the grid where a slice is
    /// missing (see `lattice`) are interpolated linearly between their neighbours; the
    /// series' warnings say so.
    /// - Throws: for compressed or short pixel data, naming the file.
    public func loadHU() throws -> Volume<Int16> {
        let sliceSize = rows * columns
        // Decode the acquired slices (straight into place when the series is regular).
        // Not zero-filled first: every slice writes all of its voxels (or the load throws
        // and the array is dropped), and leaving the first touch of the fresh pages to the
        // decoding threads spreads their page faults over the cores instead of doing them
        // in one serial memset.
        var failures = [Error?](repeating: nil, count: slices.count)
        let decoded = [Int16](unsafeUninitializedCapacity: slices.count * sliceSize) { out, initialized in
            let dst = out
            failures.withUnsafeMutableBufferPointer { fail in
                let fails = fail
                DispatchQueue.concurrentPerform(iterations: slices.count) { k in
                    do {
                        try decodeSlice(k, into: UnsafeMutableBufferPointer(rebasing: dst[(k * sliceSize)..<((k + 1) * sliceSize)]))
                    } catch {
                        fails[k] = error
                    }
                }
            }
            initialized = slices.count * sliceSize
        }
        if let e = failures.first(where: { $0 != nil }) { throw e! }
        if isRegular { return Volume(grid: grid, voxels: decoded) }
        var voxels = [Int16](repeating: 0, count: grid.count)
        for (m, plane) in lattice.enumerated() {
            let dst = m * sliceSize
            if let k = plane.slice {
                voxels[dst..<(dst + sliceSize)] = decoded[(k * sliceSize)..<((k + 1) * sliceSize)]
            } else {
                let a = plane.below * sliceSize, b = plane.above * sliceSize
                let t = plane.weightAbove
                for i in 0..<sliceSize {
                    let v = Double(decoded[a + i]) * (1 - t) + Double(decoded[b + i]) * t
                    voxels[dst + i] = Int16(v.rounded())
                }
            }
        }
        return Volume(grid: grid, voxels: voxels)
    }

    /// The smallest and largest HU of the series.
    ///
    /// Scans the stored values for their extremes and rescales only those two
    /// (the rescale is monotonic), so no HU volume is built. Concurrent over slices.
    public func huRange() throws -> (min: Int, max: Int) {
        var ranges = [(Double, Double)](repeating: (0, 0), count: slices.count)
        var failures = [Error?](repeating: nil, count: slices.count)
        ranges.withUnsafeMutableBufferPointer { r in
            let rr = r
            failures.withUnsafeMutableBufferPointer { f in
                let ff = f
                DispatchQueue.concurrentPerform(iterations: slices.count) { k in
                    do {
                        let (lo, hi) = try storedRange(k)
                        let s = slices[k]
                        let a = lo * s.rescaleSlope + s.rescaleIntercept
                        let b = hi * s.rescaleSlope + s.rescaleIntercept
                        rr[k] = (Swift.min(a, b), Swift.max(a, b))
                    } catch {
                        ff[k] = error
                    }
                }
            }
        }
        if let e = failures.first(where: { $0 != nil }) { throw e! }
        let lo = ranges.map(\.0).min() ?? 0, hi = ranges.map(\.1).max() ?? 0
        // Clamped to what Int holds: an absurd but finite Rescale Slope (say 1e20) must
        // give a silly range, not a trap.
        func int(_ v: Double) -> Int { Int(Swift.max(-9.0e18, Swift.min(9.0e18, v.rounded()))) }
        return (int(lo), int(hi))
    }

    /// Smallest and largest stored value of slice `k` (after masking to Bits Stored).
    func storedRange(_ k: Int) throws -> (Double, Double) {
        let s = slices[k]
        let data = try s.file.nativePixelData()
        let n = rows * columns
        let bytesPer = bitsAllocated / 8
        guard data.count >= n * bytesPer else {
            throw SBRTError(.invalidValue, "pixel data holds \(data.count) bytes, but \(columns)×\(rows) pixels of \(bitsAllocated) bits need \(n * bytesPer)", file: s.path)
        }
        if bitsAllocated == 16 && bitsStored == 16 {
            return data.withUnsafeBytes { raw -> (Double, Double) in
                let base = raw.baseAddress!
                if pixelRepresentation == 1 {
                    var lo = Int16.max, hi = Int16.min
                    for i in 0..<n {
                        let v = base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)
                        lo = Swift.min(lo, v); hi = Swift.max(hi, v)
                    }
                    return (Double(lo), Double(hi))
                } else {
                    var lo = UInt16.max, hi = UInt16.min
                    for i in 0..<n {
                        let v = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                        lo = Swift.min(lo, v); hi = Swift.max(hi, v)
                    }
                    return (Double(lo), Double(hi))
                }
            }
        }
        // Other layouts: decode with unit rescale through the general path.
        let buf = UnsafeMutableBufferPointer<Int16>.allocate(capacity: n)
        defer { buf.deallocate() }
        var unit = self
        unit.slices[k].rescaleSlope = 1
        unit.slices[k].rescaleIntercept = 0
        try unit.decodeSlice(k, into: buf)
        var lo = Int16.max, hi = Int16.min
        for v in buf { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        return (Double(lo), Double(hi))
    }

    /// Decodes slice `k` into HU.
    func decodeSlice(_ k: Int, into out: UnsafeMutableBufferPointer<Int16>) throws {
        let s = slices[k]
        let data = try s.file.nativePixelData()
        let n = rows * columns
        let bytesPer = bitsAllocated / 8
        guard data.count >= n * bytesPer else {
            throw SBRTError(.invalidValue, "pixel data holds \(data.count) bytes, but \(columns)×\(rows) pixels of \(bitsAllocated) bits need \(n * bytesPer)", file: s.path)
        }
        let slope = s.rescaleSlope, intercept = s.rescaleIntercept
        let signed = pixelRepresentation == 1
        let shift = bitsAllocated - bitsStored
        precondition(out.count >= n, "slice buffer too small")
        // Integer fast paths: a 16-bit stored value plus an intercept clamped to ±2^17 gives
        // the same clamped HU as the unclamped intercept (beyond ±2^17 every voxel clamps
        // to the same end), cannot overflow Int32 (so `&+`), and cannot trap converting a
        // huge or infinite intercept. Writing through the base pointer keeps bounds checks
        // out of the loop, so the compiler vectorises it.
        @inline(__always) func clampedIntercept(_ v: Double) -> Int32 {
            Int32(Swift.max(-131_072, Swift.min(131_072, v)))
        }
        let dst = out.baseAddress!
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            @inline(__always) func store(_ i: Int, _ stored: Double) {
                let hu = (stored * slope + intercept).rounded()
                out[i] = Int16(Swift.max(-32768, Swift.min(32767, hu)))
            }
            switch (bitsAllocated, signed) {
            case (16, true):
                if slope == 1 && intercept == intercept.rounded() && shift == 0 {
                    let b = clampedIntercept(intercept)
                    for i in 0..<n {
                        let v = Int32(base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)) &+ b
                        dst[i] = Int16(truncatingIfNeeded: Swift.max(-32768, Swift.min(32767, v)))
                    }
                } else {
                    for i in 0..<n {
                        let v = (base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self) << shift) >> shift
                        store(i, Double(v))
                    }
                }
            case (16, false):
                let mask: UInt16 = bitsStored >= 16 ? 0xFFFF : UInt16((1 << bitsStored) - 1)
                if slope == 1 && intercept == intercept.rounded() {
                    let b = clampedIntercept(intercept)
                    for i in 0..<n {
                        let v = Int32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & mask) &+ b
                        dst[i] = Int16(truncatingIfNeeded: Swift.max(-32768, Swift.min(32767, v)))
                    }
                } else {
                    for i in 0..<n { store(i, Double(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & mask)) }
                }
            case (32, true):
                for i in 0..<n { store(i, Double(base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
            case (32, false):
                for i in 0..<n { store(i, Double(base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case (8, true):
                for i in 0..<n { store(i, Double(base.load(fromByteOffset: i, as: Int8.self))) }
            default:
                for i in 0..<n { store(i, Double(base.load(fromByteOffset: i, as: UInt8.self))) }
            }
        }
    }
}

func fmt(_ v: Double, _ digits: Int = 2) -> String {
    String(format: "%.\(digits)f", v)
}
