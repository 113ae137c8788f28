import Base
import Dosimetry
import Foundation
import RTModel

/// The verdict of one row: RTOG levels "per protocol" and "minor deviation", anything
/// beyond the minor level a "major deviation"; "not evaluable" when the number is not
/// known (the row's `reason` says why). Not evaluable is never a pass.
public enum Verdict: String, Codable, Sendable, Comparable {
    case perProtocol = "per protocol"
    case minorDeviation = "minor deviation"
    case majorDeviation = "major deviation"
    case notEvaluable = "not evaluable"

    var severity: Int {
        switch self {
        case .perProtocol: return 0
        case .notEvaluable: return 1
        case .minorDeviation: return 2
        case .majorDeviation: return 3
        }
    }
    public static func < (a: Verdict, b: Verdict) -> Bool { a.severity < b.severity }
}

/// The outcome of a whole review.
///
/// "per protocol" only when at least one row was evaluated, every evaluated row is per
/// protocol, no row is not evaluable (a required structure missing included) and every
/// organ table had an organ-at-risk row evaluated; otherwise the worst deviation, or
/// "incomplete" when there is none.
public enum Overall: String, Codable, Sendable {
    case perProtocol = "per protocol"
    case incomplete
    case minorDeviation = "minor deviation"
    case majorDeviation = "major deviation"

    /// Whether the review passes (exit 0): complete and per protocol.
    public var passes: Bool { self == .perProtocol }
}

/// The notice every report carries.
public enum ResearchUse {
    public static let notice = "sbrt is a research and QA tool, not a medical device: the treatment planning system's numbers are authoritative for treatment."
}

/// When is a number known where a structure leaves the dose grid.
///
/// Parts of a structure outside the dose grid count at 0 Gy in its DVH. A row is **not
/// evaluable** when its number depends on dose the grid does not hold:
/// - the structure lies wholly outside the grid (≥ 99.95 % of its volume), or
/// - part of it (more than 0.05 %) lies outside and the largest dose inside the
///   structure at the grid's boundary (its outermost voxel layer) is at least 10 % of the
///   dose the row is about (the limit of a dose metric, the threshold of a volume
///   metric, Rx or 50 % Rx for the isodose indices): there the unknown part may carry
///   dose that matters.
/// Below 10 % the dose leaving the grid is taken as negligible, and the row says so.
public enum GridCoverageRule {
    public static let outsideFraction = 0.0005
    public static let negligibleFraction = 0.10

    public enum Outcome: Equatable, Sendable {
        case inside
        case negligible(String)
        case notEvaluable(String)
    }

    /// Assesses one structure's DVH for a row about `referenceDoseGy` (nil: unknown).
    public static func assess(_ dvh: DVH, structure: String, referenceDoseGy: Double?) -> Outcome {
        let pct = 100 * dvh.outsideFraction
        if dvh.outsideFraction >= 1 - outsideFraction {
            return .notEvaluable(String(format: "%@ lies wholly outside the dose grid (%.1f %% of its volume): its dose is not known", structure, pct))
        }
        guard dvh.outsideFraction > outsideFraction else { return .inside }
        let part = String(format: "%.1f %% of %@ lies outside the dose grid", pct, structure)
        guard let b = dvh.boundaryMaxGy, let ref = referenceDoseGy, ref > 0 else {
            return .notEvaluable(part + " and the dose at the grid's boundary cannot be weighed against the row's dose")
        }
        let share = 100 * b / ref
        if b >= negligibleFraction * ref {
            return .notEvaluable(part + String(format: ", and the dose at the grid's boundary inside it (%.2f Gy) is %.0f %% of the %.2f Gy the row is about (≥ %.0f %%: not negligible)", b, share, ref, 100 * negligibleFraction))
        }
        return .negligible(part + String(format: " (counted at 0 Gy); the dose at the grid's boundary inside it (%.2f Gy) is %.1f %% of the %.2f Gy the row is about: negligible", b, share, ref))
    }

    /// The dose (Gy) a row's number depends on: a dose metric's limit, a volume metric's
    /// threshold, Rx for CI/PCI/R100/HI, 50 % Rx for R50/GI, D2cm's limit in Gy.
    public static func referenceDoseGy(_ m: Metric, limit: Double?, rx: Double?) -> Double? {
        switch m.kind {
        case .doseAtPercent, .doseAtCC, .dmin, .dmean, .dmax:
            guard let limit else { return nil }
            return m.unit == .percentRx ? rx.map { limit / 100 * $0 } : limit
        case .volumeAtGy(let x), .criticalVolumeGy(let x): return x
        case .volumeAtPercentRx(let x): return rx.map { x / 100 * $0 }
        case .rtogCI, .paddickCI, .r100, .homogeneityIndex: return rx
        case .r50, .gradientIndex: return rx.map { 0.5 * $0 }
        case .d2cm: return limit.flatMap { l in rx.map { l / 100 * $0 } }
        }
    }
}
