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

extension GridCoverageRule {
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
