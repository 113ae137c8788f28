import ArgumentParser
import Base
import Dosimetry
import Geometry
import Rendering

/// The ranges of the numeric options (docs/safety.md), checked in each command's
/// `validate()`: a value outside (or not finite: `inf`, `nan`) is a usage error (exit 2)
/// naming the option and the value. Option values are read by Swift's `Double(_:)`, so a
/// decimal comma (`1,5`) is not a number.
enum OptionRange {
    /// Margins, ring radii and avoidance margins, mm.
    static let marginMM: ClosedRange<Double> = -100...100
    /// Systematic and random set-up errors of --recipe, mm.
    static let setupErrorMM: ClosedRange<Double> = 0...50
    /// Patient coordinates (--slice-x/y/z), mm.
    static let coordinateMM: ClosedRange<Double> = -InputLimits.coordinateMM...InputLimits.coordinateMM
    /// Padding around --zoom-to, mm.
    static let paddingMM: ClosedRange<Double> = 0...500
    /// α/β, Gy.
    static let alphaBetaGy: ClosedRange<Double> = 0.1...100
    /// Dose per fraction above which LQ-L is linear, Gy.
    static let linearAboveGy: ClosedRange<Double> = 0.5...100
    /// Tolerance BED of the Jones–Grant model, Gy.
    static let toleranceBEDGy: ClosedRange<Double> = 1...1000
    /// Tolerances in % (dose, volume) and the agreement score, %.
    static let percent: ClosedRange<Double> = 0...100
    /// A dose tolerance in Gy.
    static let doseToleranceGy: ClosedRange<Double> = 0...100
    /// A prescription or reference dose, Gy.
    static let rxGy: ClosedRange<Double> = 0.01...200
    /// Isodose levels: % of Rx, and Gy.
    static let isodosePercent: ClosedRange<Double> = 0.01...1000
    static let isodoseGy: ClosedRange<Double> = 0.001...1000

    /// `value` when finite and within `range`, else a usage error naming `option`.
    @discardableResult
    static func check(_ value: Double, _ range: ClosedRange<Double>, _ option: String, unit: String = "") throws -> Double {
        guard value.isFinite, range.contains(value) else {
            throw ValidationError("\(option) must be a number within \(InputLimits.describe(range, unit)) (got \(InputLimits.number(value)))")
        }
        return value
    }

    /// `check` for an optional value.
    static func check(_ value: Double?, _ range: ClosedRange<Double>, _ option: String, unit: String = "") throws {
        if let value { try check(value, range, option, unit: unit) }
    }

    /// Parses `NAME=NUMBER,NAME=NUMBER…`, each number within `range`, names unique
    /// (case-insensitive).
    static func pairs(_ text: String?, _ range: ClosedRange<Double>, _ option: String, unit: String = "") throws -> [(String, Double)] {
        guard let text, !text.isEmpty else { return [] }
        var seen = Set<String>()
        return try text.split(separator: ",").map { part in
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
            guard kv.count == 2, !kv[0].isEmpty, let v = Double(kv[1]) else {
                let comma = Double(part.trimmingSpaces()) != nil ? " (a decimal comma? write 1.5, not 1,5)" : ""
                throw ValidationError("\(option): \"\(part)\" is not NAME=NUMBER\(comma)")
            }
            guard seen.insert(kv[0].lowercased()).inserted else {
                throw ValidationError("\(option): \"\(kv[0])\" is given twice")
            }
            return (kv[0], try check(v, range, "\(option) \(kv[0])", unit: unit))
        }
    }
}

extension ViewOrientation: ExpressibleByArgument {}
extension DoseQuantity: ExpressibleByArgument {}
extension RecoveryModel: ExpressibleByArgument {}
extension CompositeRequest.GridChoice: ExpressibleByArgument, CaseIterable {
    public static var allCases: [CompositeRequest.GridChoice] { [.dose, .ct] }
}
