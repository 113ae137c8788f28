import Base
import DICOM
import Foundation
import VoxelKit

extension ImageSeries {
    /// Decodes all slices into their values (`values`: HU for CT, MR signal, SUV or PET
    /// units) on `grid`: (stored × Rescale Slope + Rescale Intercept) × `values.factor`,
    /// with each image's rescale, as Float. Slices are decoded concurrently. Planes of the
    /// grid where a slice is missing (see `lattice`) are interpolated linearly between
    /// their neighbours; the series' warnings say so.
    /// - Complexity: O(voxels); 4 bytes per voxel.
    /// - Throws: for compressed or short pixel data, naming the file.
    public func loadValues() throws -> Volume<Float> {
        let sliceSize = rows * columns
        let decoded = try decodeSlices(0..<slices.count)
        if isRegular { return Volume(grid: grid, voxels: decoded) }
        var voxels = [Float](repeating: 0, count: grid.count)
        for (m, plane) in lattice.enumerated() {
            let dst = m * sliceSize
            if let k = plane.slice {
                voxels[dst..<(dst + sliceSize)] = decoded[(k * sliceSize)..<((k + 1) * sliceSize)]
            } else {
                let a = plane.below * sliceSize, b = plane.above * sliceSize
                let t = Float(plane.weightAbove)
                for i in 0..<sliceSize { voxels[dst + i] = decoded[a + i] * (1 - t) + decoded[b + i] * t }
            }
        }
        return Volume(grid: grid, voxels: voxels)
    }

    /// Decodes only the images `planes` of a regular series: their values on the sub-grid
    /// of those planes (same axes and spacing, origin at the first), for a figure that
    /// draws only some of them. A series with missing planes, or a range covering every
    /// image, is decoded whole (`loadValues()`).
    /// - Complexity: O(voxels of the planes).
    /// - Throws: as `loadValues()`.
    public func loadValues(planes: Range<Int>) throws -> Volume<Float> {
        let lo = Swift.max(0, planes.lowerBound), hi = Swift.min(slices.count, planes.upperBound)
        guard isRegular, lo < hi, hi - lo < slices.count else { return try loadValues() }
        let sub = Grid(size: SIMD3(grid.nx, grid.ny, hi - lo), origin: grid.position(0, 0, Double(lo)), spacing: grid.spacing,
                       axisI: grid.axisI, axisJ: grid.axisJ, axisK: grid.axisK)
        return Volume(grid: sub, voxels: try decodeSlices(lo..<hi))
    }

    /// The values of the images `range`, one after another, decoded concurrently.
    func decodeSlices(_ range: Range<Int>) throws -> [Float] {
        let sliceSize = rows * columns
        // Not zero-filled first: every slice writes all of its voxels (or the load throws
        // and the array is dropped), and leaving the first touch of the fresh pages to the
        // decoding threads spreads their page faults over the cores.
        var failures = [Error?](repeating: nil, count: range.count)
        let decoded = [Float](unsafeUninitializedCapacity: range.count * sliceSize) { out, initialized in
            let dst = out
            failures.withUnsafeMutableBufferPointer { fail in
                let fails = fail
                Parallel.forEach(range.count) { n in
                    do {
                        try decodeSlice(range.lowerBound + n, into: UnsafeMutableBufferPointer(rebasing: dst[(n * sliceSize)..<((n + 1) * sliceSize)]))
                    } catch {
                        fails[n] = error
                    }
                }
            }
            initialized = range.count * sliceSize
        }
        if let e = failures.first(where: { $0 != nil }) { throw e! }
        return decoded
    }

    /// The smallest and largest value of the series (in `values`' quantity).
    ///
    /// Scans the stored values for their extremes and rescales only those two (the
    /// rescale is monotonic), so no volume is built. Concurrent over slices.
    public func valueRange() throws -> (min: Double, max: Double) {
        var ranges = [(Double, Double)](repeating: (0, 0), count: slices.count)
        var failures = [Error?](repeating: nil, count: slices.count)
        let factor = values.factor
        ranges.withUnsafeMutableBufferPointer { r in
            let rr = r
            failures.withUnsafeMutableBufferPointer { f in
                let ff = f
                Parallel.forEach(slices.count) { k in
                    do {
                        let (lo, hi) = try storedRange(k)
                        let s = slices[k]
                        let a = (lo * s.rescaleSlope + s.rescaleIntercept) * factor
                        let b = (hi * s.rescaleSlope + s.rescaleIntercept) * factor
                        rr[k] = (Swift.min(a, b), Swift.max(a, b))
                    } catch {
                        ff[k] = error
                    }
                }
            }
        }
        if let e = failures.first(where: { $0 != nil }) { throw e! }
        return (ranges.map(\.0).min() ?? 0, ranges.map(\.1).max() ?? 0)
    }

    /// The stored pixel bytes of slice `k`, checked for length.
    func pixelBytes(_ k: Int) throws -> Data {
        let s = slices[k]
        let data = try s.file.nativePixelData()
        let need = rows * columns * (bitsAllocated / 8)
        guard data.count >= need else {
            throw SBRTError(.truncated, "pixel data holds \(data.count) bytes, but \(columns)×\(rows) pixels of \(bitsAllocated) bits need \(need)", file: s.path)
        }
        return data
    }

    /// Smallest and largest stored value of slice `k` (after masking to Bits Stored).
    func storedRange(_ k: Int) throws -> (Double, Double) {
        let n = rows * columns
        if bitsAllocated == 16 && bitsStored == 16 {
            let data = try pixelBytes(k)
            return data.withUnsafeBytes { raw -> (Double, Double) in
                let base = raw.baseAddress!
                if pixelRepresentation == 1 {
                    var lo = Int16.max, hi = Int16.min
                    for i in 0..<n {
                        let v = base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)
                        lo = Swift.min(lo, v); hi = Swift.max(hi, v)
                    }
                    return (Double(lo), Double(hi))
                }
                var lo = UInt16.max, hi = UInt16.min
                for i in 0..<n {
                    let v = base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    lo = Swift.min(lo, v); hi = Swift.max(hi, v)
                }
                return (Double(lo), Double(hi))
            }
        }
        // Other layouts: decode with a unit rescale through the general path.
        let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { buf.deallocate() }
        try decodeSlice(k, into: buf, slope: 1, intercept: 0)
        var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
        for v in buf { lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        return (Double(lo), Double(hi))
    }

    /// Decodes slice `k` into values: stored × slope + intercept, by default the image's
    /// rescale times `values.factor`.
    func decodeSlice(_ k: Int, into out: UnsafeMutableBufferPointer<Float>, slope: Double? = nil, intercept: Double? = nil) throws {
        let s = slices[k]
        let data = try pixelBytes(k)
        let n = rows * columns
        precondition(out.count >= n, "slice buffer too small")
        let a = slope ?? s.rescaleSlope * values.factor
        let b = intercept ?? s.rescaleIntercept * values.factor
        let shift = bitsAllocated - bitsStored
        let dst = out.baseAddress!
        // Writing through the base pointer keeps bounds checks out of the loops, so the
        // compiler vectorises them; the arithmetic is in Double, rounded once to Float.
        data.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            switch (bitsAllocated, pixelRepresentation == 1) {
            case (16, true):
                for i in 0..<n {
                    let v = (base.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self) << shift) >> shift
                    dst[i] = Float(Double(v) * a + b)
                }
            case (16, false):
                let mask: UInt16 = bitsStored >= 16 ? 0xFFFF : UInt16((1 << bitsStored) - 1)
                for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & mask) * a + b) }
            case (32, true):
                for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)) * a + b) }
            case (32, false):
                for i in 0..<n { dst[i] = Float(Double(base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) * a + b) }
            case (8, true):
                for i in 0..<n { dst[i] = Float(Double(base.load(fromByteOffset: i, as: Int8.self)) * a + b) }
            default:
                for i in 0..<n { dst[i] = Float(Double(base.load(fromByteOffset: i, as: UInt8.self)) * a + b) }
            }
        }
    }
}
