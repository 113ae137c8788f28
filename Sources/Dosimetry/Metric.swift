import Base
import Foundation

/// A DVH metric or plan index in AAPM TG-263 syntax.
///
/// Dose metrics: `D95%`, `D0.035cc` (dose to the hottest x % or x cc), `Dmin`, `Dmean`,
/// `Dmax`, each optionally `[Gy]` (default) or `[%]` (of the prescription).
/// Volume metrics: `V20Gy` (volume receiving ≥ 20 Gy), `V100%` (≥ 100 % of the
/// prescription), each optionally `[cc]` (default) or `[%]` (of the structure);
/// `CV13.5Gy` (critical volume: volume receiving *less* than 13.5 Gy).
/// Indices: `HI` (ICRU 83: (D2%−D98%)/D50%), `CI` (RTOG: PIV/TV), `PCI` (Paddick:
/// TV_PIV²/(TV·PIV)), `GI` (Paddick: PIV50%/PIV100%), `R50` and `R100` (PIV50% / TV,
/// PIV100% / TV), `D2cm` (maximum dose 2 cm or more from the target, % of Rx).
public struct Metric: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case doseAtPercent(Double)
        case doseAtCC(Double)
        case dmin, dmean, dmax
        case volumeAtGy(Double)
        case volumeAtPercentRx(Double)
        case criticalVolumeGy(Double)
        case homogeneityIndex, rtogCI, paddickCI, gradientIndex, r50, r100, d2cm
    }
    public enum Unit: String, Sendable { case gy = "Gy", percentRx = "%Rx", cc = "cc", percentVolume = "%", ratio = "", percentRxIndex = "% of Rx" }

    public var kind: Kind
    public var unit: Unit
    /// The text as the user wrote it.
    public var text: String

    public var description: String { text }

    public struct ParseError: Error, CustomStringConvertible { public var description: String }

    /// Parses one metric; case-insensitive for names, with or without a unit in brackets.
    public static func parse(_ raw: String) throws -> Metric {
        let text = raw.trimmingSpaces()
        var body = text
        var bracket: String?
        if let open = text.firstIndex(of: "["), text.hasSuffix("]") {
            body = String(text[..<open])
            bracket = String(text[text.index(after: open)..<text.index(before: text.endIndex)]).lowercased()
        }
        let lower = body.lowercased()
        func fail(_ why: String) -> ParseError { ParseError(description: "cannot read metric \"\(raw)\": \(why)") }
        func number(_ s: Substring) throws -> Double {
            guard let v = Double(s), v.isFinite, v >= 0 else { throw fail("\"\(s)\" is not a non-negative number") }
            return v
        }
        func doseUnit() throws -> Unit {
            switch bracket {
            case nil, "gy": return .gy
            case "%": return .percentRx
            default: throw fail("a dose is reported in [Gy] or [%] (of the prescription)")
            }
        }
        func volumeUnit() throws -> Unit {
            switch bracket {
            case nil, "cc", "cm3": return .cc
            case "%": return .percentVolume
            default: throw fail("a volume is reported in [cc] or [%] (of the structure)")
            }
        }
        func noUnit() throws { if bracket != nil { throw fail("this index takes no unit") } }
        switch lower {
        case "dmin": return Metric(kind: .dmin, unit: try doseUnit(), text: text)
        case "dmean": return Metric(kind: .dmean, unit: try doseUnit(), text: text)
        case "dmax": return Metric(kind: .dmax, unit: try doseUnit(), text: text)
        case "hi": try noUnit(); return Metric(kind: .homogeneityIndex, unit: .ratio, text: text)
        case "ci", "rtogci", "rtog_ci": try noUnit(); return Metric(kind: .rtogCI, unit: .ratio, text: text)
        case "pci", "paddickci", "paddick_ci", "cipaddick": try noUnit(); return Metric(kind: .paddickCI, unit: .ratio, text: text)
        case "gi", "paddickgi": try noUnit(); return Metric(kind: .gradientIndex, unit: .ratio, text: text)
        case "r50", "r50%": try noUnit(); return Metric(kind: .r50, unit: .ratio, text: text)
        case "r100", "r100%": try noUnit(); return Metric(kind: .r100, unit: .ratio, text: text)
        case "d2cm":
            if bracket != nil && bracket != "%" { throw fail("D2cm is reported in % of the prescription") }
            return Metric(kind: .d2cm, unit: .percentRxIndex, text: text)
        default: break
        }
        if lower.hasPrefix("cv"), lower.hasSuffix("gy") {
            let v = try number(lower.dropFirst(2).dropLast(2))
            return Metric(kind: .criticalVolumeGy(v), unit: try volumeUnit(), text: text)
        }
        if lower.hasPrefix("d") {
            let rest = lower.dropFirst()
            if rest.hasSuffix("%") { return Metric(kind: .doseAtPercent(try percent(number(rest.dropLast()))), unit: try doseUnit(), text: text) }
            if rest.hasSuffix("cc") { return Metric(kind: .doseAtCC(try number(rest.dropLast(2))), unit: try doseUnit(), text: text) }
            throw fail("a dose metric is Dx% or Dxcc")
        }
        if lower.hasPrefix("v") {
            let rest = lower.dropFirst()
            if rest.hasSuffix("gy") { return Metric(kind: .volumeAtGy(try number(rest.dropLast(2))), unit: try volumeUnit(), text: text) }
            if rest.hasSuffix("%") { return Metric(kind: .volumeAtPercentRx(try number(rest.dropLast())), unit: try volumeUnit(), text: text) }
            throw fail("a volume metric is VxGy or Vx% (of the prescription)")
        }
        throw fail("unknown metric (the metrics are listed in docs/dvh.md)")

        func percent(_ v: Double) throws -> Double {
            guard v <= 100 else { throw fail("a percentage of volume is at most 100") }
            return v
        }
    }

    /// Parses a comma-separated list.
    public static func parseList(_ text: String) throws -> [Metric] {
        try text.split(separator: ",").map { try parse(String($0)) }
    }

    /// Whether evaluating this metric needs the prescription.
    public var needsPrescription: Bool {
        switch kind {
        case .volumeAtPercentRx, .rtogCI, .paddickCI, .gradientIndex, .r50, .r100, .d2cm: return true
        default: return unit == .percentRx
        }
    }

    /// Whether this is a target-level index (HI, CI, PCI, GI, R50, R100, D2cm): computed
    /// for targets only.
    public var isTargetIndex: Bool {
        switch kind {
        case .homogeneityIndex, .rtogCI, .paddickCI, .gradientIndex, .r50, .r100, .d2cm: return true
        default: return false
        }
    }

    /// Whether this index is computed from the isodose volumes or the dose around the
    /// target rather than from the structure's DVH alone.
    public var needsIsodose: Bool { isTargetIndex && kind != .homogeneityIndex }

    /// The unit written beside a value.
    public var unitLabel: String {
        switch unit {
        case .gy: return "Gy"
        case .percentRx: return "% Rx"
        case .cc: return "cc"
        case .percentVolume: return "%"
        case .ratio: return ""
        case .percentRxIndex: return "% Rx"
        }
    }
}
