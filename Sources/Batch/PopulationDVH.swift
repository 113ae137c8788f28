import Base
import Foundation
import Store

/// The population DVH of a structure across stored plans: at each dose, the median and
/// the quartiles of the plans' volume % receiving at least that dose.
///
/// - Each plan's stored cumulative DVH (`StoredDVH`) is read as volume % of that plan's
///   structure (100 × cc / total cc), linearly interpolated between its 0.01 Gy steps and
///   0 beyond its last step; plans whose structure has no volume are left out.
/// - The dose axis has `samples` + 1 evenly spaced doses from 0 to the largest dose any
///   plan of the group reaches.
/// - Quartiles are sample quantiles of definition 7 of Hyndman & Fan (Am. Stat. 50:361,
///   1996), the default of R's `quantile` and NumPy's `percentile`: for sorted values
///   x₁…xₙ, Q(p) = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋) with h = (n − 1)p + 1.
/// - The median and quartiles are taken dose by dose, so the median curve is not any
///   one plan's curve (nor need it be a DVH of a real plan); it is monotone, as each
///   order statistic of non-increasing curves is.
public enum PopulationDVH {
    /// How plans are grouped into bands.
    public enum Grouping: String, Sendable, CaseIterable {
        /// One band of every plan.
        case none
        /// By the protocol the plans were checked against (`--protocol` of `sbrt batch`).
        case `protocol`
        /// By treatment site read from the RT Plan Label (`site(planLabel:)`).
        case site
    }

    /// One group's band.
    public struct Band: Sendable, Equatable {
        public var group: String
        /// Plans in the group.
        public var plans: Int
        public var doseGy: [Double]
        public var q1Percent: [Double]
        public var medianPercent: [Double]
        public var q3Percent: [Double]
    }

    /// The bands of `rows` (one structure's stored curves), grouped, groups in name order.
    /// - Throws: `SBRTError` of kind `.structureNotFound` when no plan has a non-empty
    ///   curve, `.invalidRequest` for fewer than 2 samples.
    public static func bands(_ rows: [CurveRow], by grouping: Grouping, samples: Int = 500) throws -> [Band] {
        guard samples >= 2, samples <= 100_000 else { throw SBRTError(.invalidRequest, "a population DVH needs 2 to 100000 dose samples") }
        let usable = rows.filter { $0.curve.totalVolumeCC > 0 && !$0.curve.cumulativeCC.isEmpty }
        guard !usable.isEmpty else {
            throw SBRTError(.structureNotFound, "no stored plan has a non-empty DVH of this structure")
        }
        let groups = Dictionary(grouping: usable) { group(of: $0, by: grouping) }
        return groups.keys.sorted().map { band(groups[$0]!, group: $0, samples: samples) }
    }

    /// The band of one group.
    static func band(_ rows: [CurveRow], group: String, samples: Int) -> Band {
        let top = rows.map { Double($0.curve.cumulativeCC.count - 1) * $0.curve.binWidthGy }.max() ?? 0
        let doses = (0...samples).map { top * Double($0) / Double(samples) }
        var b = Band(group: group, plans: rows.count, doseGy: doses, q1Percent: [], medianPercent: [], q3Percent: [])
        var column = [Double](repeating: 0, count: rows.count)
        for d in doses {
            for (n, r) in rows.enumerated() { column[n] = 100 * r.curve.volumeCC(atLeast: d) / r.curve.totalVolumeCC }
            column.sort()
            b.q1Percent.append(quantile(column, 0.25))
            b.medianPercent.append(quantile(column, 0.5))
            b.q3Percent.append(quantile(column, 0.75))
        }
        return b
    }

    /// Sample quantile `p` (0…1) of sorted `x`, Hyndman & Fan definition 7.
    static func quantile(_ x: [Double], _ p: Double) -> Double {
        guard !x.isEmpty else { return .nan }
        let h = Double(x.count - 1) * p
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, x.count - 1)
        return x[lo] + (h - Double(lo)) * (x[hi] - x[lo])
    }

    /// The group a plan's curve belongs to.
    static func group(of row: CurveRow, by grouping: Grouping) -> String {
        switch grouping {
        case .none: return "all plans"
        case .site: return site(planLabel: row.planLabel)
        case .protocol: return protocolID(optionsJSON: row.optionsJSON) ?? "(no protocol)"
        }
    }

    /// Words of a plan label that name a technique, not a site (upper case).
    static let techniqueWords: Set<String> = ["SBRT", "SABR", "SRS", "SRT", "FSRT", "HSRT", "VMAT", "IMRT", "ARC", "RA",
                                               "PLAN", "RT", "CK", "TOMO", "3D", "3DCRT", "BOOST", "IGRT"]

    /// The treatment site of a plan, read from its RT Plan Label (300A,0002): the label's
    /// words (split at `_`, `-`, `.`, `/`, spaces), upper-cased, without technique words
    /// (`techniqueWords`: SBRT, SABR, SRS, VMAT, …) and without words holding a digit
    /// (dose, fraction or version tags such as `40GY`, `5FX`, `V2`), joined by `_`.
    /// `SBRT_PELV` → `PELV`, `Lung R SBRT 54Gy` → `LUNG_R`, `(no site in label)` when
    /// nothing is left, `(no plan label)` without a label.
    public static func site(planLabel: String?) -> String {
        guard let label = planLabel, !label.trimmingSpaces().isEmpty else { return "(no plan label)" }
        let words = label.uppercased().split { "_-./ \t".contains($0) }.map(String.init)
        let kept = words.filter { w in !techniqueWords.contains(w) && !w.contains(where: \.isNumber) }
        return kept.isEmpty ? "(no site in label)" : kept.joined(separator: "_")
    }

    /// The protocol id in a plan's stored options (`protocol_id`), if any.
    static func protocolID(optionsJSON: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(optionsJSON.utf8)) as? [String: Any] else { return nil }
        return object["protocol_id"] as? String
    }
}
