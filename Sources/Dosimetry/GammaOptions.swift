import Foundation

/// Gamma criteria: a dose difference (% of the normalisation dose, or of the local
/// reference dose) and a distance to agreement (mm), written `3%/2mm`.
public struct GammaCriteria: Sendable, Equatable, CustomStringConvertible {
    public var dosePercent: Double
    public var distanceMM: Double

    /// Accepted ranges: 0.1–100 % and 0.1–50 mm.
    public static let doseRange = 0.1...100.0
    public static let distanceRange = 0.1...50.0

    public init(dosePercent: Double, distanceMM: Double) {
        self.dosePercent = dosePercent
        self.distanceMM = distanceMM
    }

    /// Parses `D%/Tmm` (the `%` and `mm` may be left out: `3/2`); nil when malformed, not
    /// finite or outside `doseRange` / `distanceRange`.
    public static func parse(_ text: String) -> GammaCriteria? {
        let parts = text.replacingOccurrences(of: " ", with: "").lowercased().split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        var d = String(parts[0]), t = String(parts[1])
        if d.hasSuffix("%") { d.removeLast() }
        if t.hasSuffix("mm") { t.removeLast(2) }
        guard let dose = Double(d), let dist = Double(t), dose.isFinite, dist.isFinite,
              doseRange.contains(dose), distanceRange.contains(dist) else { return nil }
        return GammaCriteria(dosePercent: dose, distanceMM: dist)
    }

    public var description: String { "\(GammaCriteria.number(dosePercent))%/\(GammaCriteria.number(distanceMM))mm" }

    static func number(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%g", x) }
}

/// What global gamma's dose criterion and the low-dose cutoff are percentages of.
public enum GammaNormalisation: Sendable, Equatable {
    /// The largest reference dose (the default, as in Low et al. 1998 and TG-218).
    case referenceMaximum
    /// The plan's prescription (Target Prescription Dose of the reference folder's plan).
    case prescription
    /// A dose in Gy.
    case doseGy(Double)
}

/// How to compute gamma.
public struct GammaOptions: Sendable {
    public var criteria: GammaCriteria
    /// Local gamma: the dose criterion is a percentage of each reference point's dose.
    public var local = false
    /// Reference points below this percentage of the normalisation dose are not evaluated.
    public var thresholdPercent = 10.0
    public var normalisation: GammaNormalisation = .referenceMaximum
    /// The largest γ searched for; points with none below it report this value and fail.
    public var maxGamma = 2.0
    /// Tolerance on each γ: the reported γ̂ satisfies γ̂ − ε ≤ γ ≤ γ̂.
    public var tolerance = 1e-3

    public static let thresholdRange = 0.0...100.0
    public static let maxGammaRange = 1.1...10.0
    public static let toleranceRange = 1e-6...0.05

    public init(criteria: GammaCriteria) { self.criteria = criteria }

    /// "3%/2mm global" or "3%/2mm local".
    public var label: String { "\(criteria) \(local ? "local" : "global")" }
}
