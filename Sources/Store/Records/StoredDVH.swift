import Base
import Foundation

/// A structure's cumulative DVH in the store's compact form: volumes (cc) as 32-bit
/// floats at a fixed dose step, from 0 Gy to the first step above the maximum dose.
///
/// `cumulativeCC[j]` is the volume receiving at least `j × binWidthGy` (≥, as in
/// `sbrt dvh`). Stored in `dvh_curves.curve` with encoding `f32le`: `bins` values, each
/// 4 bytes, IEEE-754 binary32, little-endian, no header; `bin_width_gy`,
/// `total_volume_cc` (the structure volume, a double) and `bins` are columns beside it.
/// Each value keeps 24 significant bits (relative rounding ≤ 2⁻²⁴ ≈ 6·10⁻⁸); the
/// structure statistics and metrics, stored as doubles, are exact.
///
/// Outside Swift: `numpy.frombuffer(curve, dtype="<f4")`, or in R
/// `readBin(curve, "double", size = 4, n = bins, endian = "little")`.
public struct StoredDVH: Sendable, Equatable {
    /// The name of the only encoding so far, stored in `dvh_curves.encoding`.
    public static let encoding = "f32le"
    /// The default dose step, Gy (the `--step` default of `sbrt dvh --format csv`).
    public static let defaultBinWidthGy = 0.01
    /// Upper bound on the number of steps (10⁷: 100 000 Gy at 0.01 Gy), so that a
    /// corrupt maximum dose can never ask for an unbounded allocation.
    public static let maximumBins = 10_000_000

    public var binWidthGy: Double
    /// Total volume of the structure, cc (including any part outside the dose grid).
    public var totalVolumeCC: Double
    public var cumulativeCC: [Float]

    /// A curve from its values as they are.
    ///
    /// - Throws: `SBRTError` of kind `.invalidValue` when the step is not a positive
    ///   finite number, the total volume is negative or not finite, or a value is
    ///   negative or not finite; `.tooLarge` for more than `maximumBins` values.
    public init(binWidthGy: Double, totalVolumeCC: Double, cumulativeCC: [Float]) throws {
        guard binWidthGy.isFinite, binWidthGy > 0 else {
            throw SBRTError(.invalidValue, "DVH bin width \(binWidthGy) Gy is not a positive number")
        }
        guard totalVolumeCC.isFinite, totalVolumeCC >= 0 else {
            throw SBRTError(.invalidValue, "DVH total volume \(totalVolumeCC) cc is not a non-negative number")
        }
        guard cumulativeCC.count <= Self.maximumBins else {
            throw SBRTError(.tooLarge, "DVH has \(cumulativeCC.count) bins, more than \(Self.maximumBins)")
        }
        if let bad = cumulativeCC.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw SBRTError(.invalidValue, "DVH volume \(cumulativeCC[bad]) cc at bin \(bad) is not a non-negative number")
        }
        self.binWidthGy = binWidthGy
        self.totalVolumeCC = totalVolumeCC
        self.cumulativeCC = cumulativeCC
    }

    /// Samples a cumulative DVH at `binWidthGy` steps from 0 Gy to the first step above
    /// `maxDoseGy` (the rows of `sbrt dvh --format csv`): `floor(max/step) + 2` values,
    /// each `Float(volumeCCAtLeast(j × step))`.
    ///
    /// - Complexity: O(bins) calls of `volumeCCAtLeast`.
    /// - Throws: `SBRTError` of kind `.invalidValue` for a non-finite or negative maximum
    ///   dose, `.tooLarge` for one that needs more than `maximumBins` steps, and as
    ///   `init(binWidthGy:totalVolumeCC:cumulativeCC:)`.
    public init(binWidthGy: Double = StoredDVH.defaultBinWidthGy, totalVolumeCC: Double, maxDoseGy: Double,
                volumeCCAtLeast: (Double) -> Double) throws {
        guard maxDoseGy.isFinite, maxDoseGy >= 0, binWidthGy.isFinite, binWidthGy > 0 else {
            throw SBRTError(.invalidValue, "cannot sample a DVH to \(maxDoseGy) Gy in steps of \(binWidthGy) Gy")
        }
        let steps = (maxDoseGy / binWidthGy).rounded(.down)
        guard steps + 2 <= Double(Self.maximumBins) else {
            throw SBRTError(.tooLarge, "a DVH to \(maxDoseGy) Gy in steps of \(binWidthGy) Gy needs more than \(Self.maximumBins) bins")
        }
        let values = (0..<(Int(steps) + 2)).map { Float(volumeCCAtLeast(Double($0) * binWidthGy)) }
        try self.init(binWidthGy: binWidthGy, totalVolumeCC: totalVolumeCC, cumulativeCC: values)
    }

    /// The `f32le` bytes of `cumulativeCC`.
    ///
    /// - Complexity: O(bins).
    public func encoded() -> [UInt8] {
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 * cumulativeCC.count)
        for v in cumulativeCC {
            let bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Decodes a stored curve (the columns of one `dvh_curves` row).
    ///
    /// - Throws: `SBRTError` of kind `.database` for an unknown encoding, a byte count that is not
    ///   `4 × bins`, or values the initialiser rejects.
    public static func decode(encoding: String, bytes: [UInt8], bins: Int, binWidthGy: Double,
                              totalVolumeCC: Double) throws -> StoredDVH {
        guard encoding == Self.encoding else {
            throw SBRTError(.database, "DVH curve encoding \"\(encoding)\" is not \(Self.encoding)")
        }
        guard bins >= 0, bins <= maximumBins, bytes.count == 4 * bins else {
            throw SBRTError(.database, "DVH curve holds \(bytes.count) bytes where \(bins) float32 values (\(4 * max(0, bins)) bytes) were expected")
        }
        var values = [Float](repeating: 0, count: bins)
        for j in 0..<bins {
            let b = 4 * j
            let bits = UInt32(bytes[b]) | UInt32(bytes[b + 1]) << 8 | UInt32(bytes[b + 2]) << 16 | UInt32(bytes[b + 3]) << 24
            values[j] = Float(bitPattern: bits)
        }
        do {
            return try StoredDVH(binWidthGy: binWidthGy, totalVolumeCC: totalVolumeCC, cumulativeCC: values)
        } catch let e as SBRTError {
            throw SBRTError(.database, "stored DVH curve: \(e.message)")
        }
    }

    /// Volume (cc) receiving at least `doseGy`, linearly interpolated between steps;
    /// the last value (0 for a curve sampled past its maximum) beyond the last step.
    public func volumeCC(atLeast doseGy: Double) -> Double {
        guard let first = cumulativeCC.first, let last = cumulativeCC.last else { return 0 }
        if doseGy <= 0 { return Double(first) }
        let x = doseGy / binWidthGy
        guard x < Double(cumulativeCC.count - 1) else { return Double(last) }
        let j = Int(x.rounded(.down))
        let t = x - Double(j)
        return Double(cumulativeCC[j]) * (1 - t) + Double(cumulativeCC[j + 1]) * t
    }
}
