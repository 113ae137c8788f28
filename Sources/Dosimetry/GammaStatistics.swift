import Foundation

/// Summary of a set of γ values: pass rate, mean, 95th percentile, maximum, histogram.
///
/// A point passes when γ ≤ 1. Values above max-gamma are counted at max-gamma (mean,
/// percentile, maximum). The 95th percentile is the nearest-rank value: the ⌈0.95·n⌉-th
/// smallest γ.
public struct GammaStatistics: Codable, Sendable, Equatable {
    public var points: Int
    public var passed: Int
    /// 100·passed/points; nil without points.
    public var passRatePct: Double?
    public var meanGamma: Double?
    public var p95Gamma: Double?
    public var maxGamma: Double?
    /// Points whose γ lies within the search tolerance of 1 (their pass/fail is still
    /// exact: the search refines them until it is settled, see `GammaKernel`).
    public var withinToleranceOfOne: Int

    /// Statistics of `values` (γ of evaluated points; capped values included).
    public init(_ values: [Float], tolerance: Double) {
        points = values.count
        passed = values.reduce(0) { $0 + ($1 <= 1 ? 1 : 0) }
        withinToleranceOfOne = values.reduce(0) { $0 + (abs(Double($1) - 1) <= tolerance ? 1 : 0) }
        guard !values.isEmpty else { return }
        passRatePct = 100 * Double(passed) / Double(points)
        meanGamma = values.reduce(0.0) { $0 + Double($1) } / Double(points)
        let sorted = values.sorted()
        let rank = Int((0.95 * Double(points)).rounded(.up))
        p95Gamma = Double(sorted[max(0, min(points, rank) - 1)])
        maxGamma = Double(sorted[points - 1])
    }
}

/// One bar of the γ histogram: points with `from` ≤ γ < `to`; the last bar (`to` nil) holds
/// the points at max-gamma (none found below it).
public struct GammaBin: Codable, Sendable, Equatable {
    public var from: Double
    public var to: Double?
    public var count: Int

    /// Bars of width `width` from 0 up to `maxGamma`, then the bar of points at `maxGamma`.
    public static func histogram(_ values: [Float], maxGamma: Double, width: Double = 0.1) -> [GammaBin] {
        let regular = max(1, Int((maxGamma / width - 1e-9).rounded(.up)))
        var counts = [Int](repeating: 0, count: regular + 1)
        for v in values {
            let g = Double(v)
            if g >= maxGamma { counts[regular] += 1; continue }
            counts[min(regular - 1, max(0, Int(g / width)))] += 1
        }
        var bins: [GammaBin] = (0..<regular).map { n in
            GammaBin(from: Double(n) * width, to: min(maxGamma, Double(n + 1) * width), count: counts[n])
        }
        bins.append(GammaBin(from: maxGamma, to: nil, count: counts[regular]))
        return bins
    }
}

/// The pass rate inside one structure.
public struct GammaStructureResult: Codable, Sendable {
    public var name: String
    public var statistics: GammaStatistics
    /// Why a structure has no result (no evaluated point inside), or a caveat.
    public var note: String?
}
