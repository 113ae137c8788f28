import Foundation
import Store
import TestSupport

/// Deterministic synthetic plan records for the store's tests and `sbrt-store-probe`:
/// plan `index` always has the same content, with awkward doubles (random bit patterns,
/// subnormals, values that do not survive a decimal round trip at 15 digits).
public enum SyntheticPlans {
    public static let sbrtVersion = "0.0.0-test"
    public static let optionsJSON = #"{"end_cap":"prism","metrics":["D95%","D0.035cc","V20Gy[%]","Dmean"]}"#

    public static func key(_ index: Int) -> String {
        PlanKey.make(doseSOPInstanceUIDs: doseUIDs(index), structureSetSOPInstanceUID: "2.25.\(index).2",
                     optionsJSON: optionsJSON, sbrtVersion: sbrtVersion)
    }

    static func doseUIDs(_ index: Int) -> [String] {
        index % 3 == 0 ? ["2.25.\(index).1.1", "2.25.\(index).1.2"] : ["2.25.\(index).1"]
    }

    /// Plan `index` with `structures` structures of `bins` DVH steps each; `variant`
    /// changes every number (a "rescan" that computed something else).
    public static func plan(_ index: Int, structures: Int = 4, bins: Int = 1500, metrics: Int = 5, variant: Int = 0) -> PlanRecord {
        var rng = SplitMix64(seed: UInt64(index) &* 0x9E37_79B9 &+ UInt64(variant) &* 7919 &+ 1)
        func number(_ scale: Double) -> Double { scale * rng.next01() }
        var plan = PlanRecord(
            planKey: key(index), folder: "cohort/patient-\(index % 7)/plan-\(index)", patientID: index % 5 == 0 ? nil : "PAT-\(index % 7)",
            planLabel: "SBRT Lung \(index) – “ß” ✓", doseSOPInstanceUIDs: doseUIDs(index), structureSetSOPInstanceUID: "2.25.\(index).2",
            planSOPInstanceUID: index % 4 == 0 ? nil : "2.25.\(index).3", ctSeriesInstanceUID: "2.25.\(index).4",
            doseSummationType: index % 3 == 0 ? "BEAM" : "PLAN", rxGy: index % 6 == 0 ? nil : 0.1 + 0.2 + Double(index),
            rxSource: "RT Plan Target Prescription Dose", fractions: index % 6 == 0 ? nil : 1 + index % 5,
            fractionsSource: "RT Plan Number of Fractions Planned", sbrtVersion: sbrtVersion, optionsJSON: optionsJSON,
            createdAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(index) + 0.125))
        let specials: [Double] = [Double.leastNonzeroMagnitude, 1e-300, 0.1 + 0.2, 1 / 3, Double.pi * 1e10, -2.5e-7]
        for s in 0..<structures {
            let volume = number(500) + 0.001
            let metrics = (0..<metrics).map { n -> MetricRecord in
                let m = n % 5
                let value: Double? = m == 4 ? nil : (m == 3 ? specials[(index + s + n) % specials.count] : Double(bitPattern: 0x4000_0000_0000_0000 | (rng.next() >> 12)))
                return MetricRecord(metric: ["D95%", "D0.035cc", "V20Gy[%]", "Dmean", "D2cc"][m] + (n >= 5 ? "#\(n)" : ""), value: value,
                                    unit: ["Gy", "Gy", "%", "Gy", "Gy"][m], note: value == nil ? "not evaluable: the structure is smaller than 2 cc" : nil)
            }
            var cumulative = [Float](repeating: 0, count: bins)
            var v = Float(volume)
            for j in 0..<bins {
                cumulative[j] = v
                v *= Float(1 - 0.01 * rng.next01())
            }
            let dvh = try! StoredDVH(binWidthGy: 0.01, totalVolumeCC: volume, cumulativeCC: cumulative)
            plan.structures.append(StructureRecord(
                name: s == 0 ? "PTV" : "OAR \(s)", roiNumber: s == 2 ? nil : s + 1, type: s == 0 ? "PTV" : "ORGAN",
                volumeCC: volume, minGy: number(10), meanGy: number(30) + 1e-13, maxGy: Double(bins) * 0.01,
                outsideDoseGridPercent: s == 1 ? 0.5 : 0, metrics: metrics, dvh: dvh))
        }
        plan.targetIndices = [TargetIndexRecord(target: "PTV", index: "CI", value: number(2)),
                              TargetIndexRecord(target: "PTV", index: "D2cm", value: nil, unit: "%",
                                                note: "not evaluable: the dose grid does not reach 2 cm beyond the target")]
        plan.verdicts = [VerdictRecord(protocolID: "tg101-5fx", constraint: "V20Gy < 10 %", structure: "Lungs", planStructure: "OAR 1",
                                       value: number(15), unit: "%", comparator: "<", limit: 10, minorLimit: 15, verdict: "minor deviation",
                                       margin: -number(5), source: "Benedict et al., Med Phys 2010;37:4078 (TG-101), Table III", mark: "[S]"),
                         VerdictRecord(protocolID: "tg101-5fx", constraint: "Dmax < 30 Gy", structure: "SpinalCord", planStructure: nil,
                                       value: nil, unit: "Gy", comparator: "<", limit: 30, verdict: "missing structure",
                                       margin: nil, source: "TG-101 Table III", mark: "[S]", note: "no plan structure matches SpinalCord")]
        plan.reviews = [ReviewRecord(protocolID: "tg101-5fx", overall: "minor deviation",
                                     reason: "1 row not evaluable: Dmax < 30 Gy [SpinalCord]")]
        return plan
    }
}
