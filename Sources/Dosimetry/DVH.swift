import Base
import Foundation

/// A dose–volume histogram of one structure, with the queries clinicians use.
///
/// Conventions (stated in every report):
/// - V(D) is the volume receiving **at least** D (≥).
/// - The histogram is held as masses (cc) in bins of `binWidthGy`, built from
///   weighted samples each spread uniformly over the dose range its sample box
///   spans in the trilinear dose field; queries interpolate linearly between bin
///   edges, so results are continuous in D and in x.
/// - Dx (x % or x cc) is inf{D : V(≥D) ≤ x}, by linear interpolation on the cumulative
///   curve: the minimum dose of the hottest x (pymedphys RFC §7.7.1 definition).
public struct DVH: Sendable {
    public var name: String
    /// Total volume of the structure, cc (including any part outside the dose grid).
    public var volumeCC: Double
    public var minGy: Double
    public var meanGy: Double
    public var maxGy: Double
    /// Fraction (0–1) of the volume outside the dose grid, counted at 0 Gy.
    public var outsideFraction: Double
    /// The largest dose sampled inside the structure within the dose grid's outermost
    /// voxel layer (between the outermost voxel centres and the grid's faces), Gy; nil
    /// when no sample of the structure lies there. Where part of a structure is outside
    /// the grid, this is the dose at the grid boundary the unknown part continues from.
    public var boundaryMaxGy: Double?
    public var binWidthGy: Double
    /// `cumulativeCC[j]` = volume receiving ≥ j·binWidthGy, for j = 0…bins.
    public var cumulativeCC: [Double]
    /// How the structure was sampled.
    public var sampling: Sampling

    public struct Sampling: Sendable, Codable, Equatable {
        public var endCap: String
        /// In-plane cell size, mm.
        public var cellMM: Double
        /// Largest sub-slice thickness along the plane normal, mm.
        public var maxSubSliceMM: Double
        public var samples: Int
        public var vertexSamples: Int

        public init(endCap: String, cellMM: Double, maxSubSliceMM: Double, samples: Int, vertexSamples: Int) {
            self.endCap = endCap
            self.cellMM = cellMM
            self.maxSubSliceMM = maxSubSliceMM
            self.samples = samples
            self.vertexSamples = vertexSamples
        }
    }

    public init(name: String, volumeCC: Double, minGy: Double, meanGy: Double, maxGy: Double,
                outsideFraction: Double, binWidthGy: Double, cumulativeCC: [Double], sampling: Sampling,
                boundaryMaxGy: Double? = nil) {
        self.name = name
        self.volumeCC = volumeCC
        self.minGy = minGy
        self.meanGy = meanGy
        self.maxGy = maxGy
        self.outsideFraction = outsideFraction
        self.boundaryMaxGy = boundaryMaxGy
        self.binWidthGy = binWidthGy
        self.cumulativeCC = cumulativeCC
        self.sampling = sampling
    }

    /// Volume (cc) receiving at least `doseGy`, interpolated between bin edges.
    public func volumeCC(atLeast doseGy: Double) -> Double {
        if doseGy <= 0 { return volumeCC }
        if doseGy > maxGy { return 0 }
        let x = doseGy / binWidthGy
        guard let j = Checked.int(x.rounded(.down)) else { return 0 }
        if j + 1 >= cumulativeCC.count { return cumulativeCC.last ?? 0 }
        let t = x - Double(j)
        return cumulativeCC[j] * (1 - t) + cumulativeCC[j + 1] * t
    }

    /// Percentage of the structure's volume receiving at least `doseGy`.
    public func volumePercent(atLeast doseGy: Double) -> Double {
        volumeCC > 0 ? 100 * volumeCC(atLeast: doseGy) / volumeCC : 0
    }

    /// The minimum dose received by the hottest `cc` of the structure (Dxcc):
    /// D = inf{D : V(≥D) ≤ cc} on the cumulative curve, interpolated linearly between
    /// bin edges. Where the curve is flat at exactly `cc` (two separate dose regions),
    /// this is the lower end of the flat stretch; `flatStretch(atCC:)` says so.
    /// Returns nil when `cc` exceeds the volume; `maxGy` for `cc` = 0.
    public func dose(hottestCC cc: Double) -> Double? {
        guard cc <= volumeCC * (1 + 1e-12), cc >= 0 else { return nil }
        if cc <= 0 { return maxGy }
        if cc >= volumeCC { return minGy }
        // First edge whose cumulative volume is ≤ cc (the curve is non-increasing).
        // Volumes within 1e-9 of the total count as equal, so a flat stretch at cc is found
        // at its start whatever the rounding of the sums.
        let target = cc + max(1e-12, 1e-9 * volumeCC)
        var lo = 0, hi = cumulativeCC.count - 1
        if cumulativeCC[hi] > target { return maxGy }
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulativeCC[mid] <= target { hi = mid } else { lo = mid + 1 }
        }
        if lo == 0 { return 0 }
        let v0 = cumulativeCC[lo - 1], v1 = cumulativeCC[lo]
        let t = v0 > v1 ? min(1, max(0, (v0 - cc) / (v0 - v1))) : 1
        let d = (Double(lo - 1) + t) * binWidthGy
        return min(max(d, minGy), maxGy)
    }

    /// The dose range over which the cumulative curve stays at `cc` (to 1e-9 of the
    /// volume), when it is wider than 0.05 Gy: there Dx is ill-posed (any dose in the
    /// range has exactly `cc` above it), as for two equal islands at different doses.
    public func flatStretch(atCC cc: Double) -> ClosedRange<Double>? {
        let tol = max(1e-9, 1e-9 * volumeCC)
        guard let first = cumulativeCC.firstIndex(where: { abs($0 - cc) <= tol }) else { return nil }
        var last = first
        while last + 1 < cumulativeCC.count && abs(cumulativeCC[last + 1] - cc) <= tol { last += 1 }
        let a = Double(first) * binWidthGy, b = Double(last) * binWidthGy
        return b - a > 0.05 ? a...b : nil
    }

    /// The minimum dose received by the hottest `percent` % of the structure (Dx%).
    public func dose(hottestPercent percent: Double) -> Double? {
        guard percent >= 0, percent <= 100 else { return nil }
        if percent >= 100 { return minGy }
        return dose(hottestCC: volumeCC * percent / 100)
    }

    /// The cumulative curve resampled at `stepGy` from 0 to the first step above `maxGy`.
    /// The number of rows `curve(stepGy:)` gives, or nil when beyond any table.
    public func curveCount(stepGy: Double) -> Int? {
        guard stepGy > 0, maxGy.isFinite else { return 1 }
        return Checked.int((max(0, maxGy) / stepGy).rounded(.down)).map { $0 + 2 }
    }

    public func curve(stepGy: Double) -> [(doseGy: Double, volumeCC: Double)] {
        var out: [(Double, Double)] = []
        guard stepGy > 0, maxGy.isFinite else { return [(0, volumeCC)] }
        var n = 0
        while true {
            let d = Double(n) * stepGy
            out.append((d, volumeCC(atLeast: d)))
            if d > maxGy { break }
            n += 1
        }
        return out
    }
}
