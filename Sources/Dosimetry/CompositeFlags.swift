import Base
import Foundation

/// Structure classes the re-irradiation rules apply to, recognised by name.
///
/// Matching: the name is lower-cased and stripped of everything but letters and digits
/// (`Spinal_Cord` → `spinalcord`); names containing `prv` are never matched (a planning
/// risk volume is not the organ).
/// - cord: contains `cord` (SpinalCord, Cord, Spinal_Cord), `thecal` or `cauda`
///   (thecal sac and cauda equina: Sahgal 2012 scored the thecal sac).
/// - CNS: the cord names, and names containing `brain` (Brain, Brainstem), `chiasm`,
///   `opticn` / `opticnerve` / `opticnrv`, `spinalcanal` or `cns`.
/// - vertebra: contains `vertebra` (Vertebra, VertebralBody, Bone_Vertebra), or is a
///   vertebral level such as `C5`, `T11`, `L3`, `S1` or `Th12`, alone or with `VB` before
///   or after it (`VB_T12`, `T12_VB`).
public struct StructureClass: Sendable, Equatable, Codable {
    public var cns: Bool
    public var cord: Bool
    public var vertebra: Bool

    public init(name: String) {
        let key = StructureName.compact(name)
        if key.contains("prv") {
            cns = false; cord = false; vertebra = false
            return
        }
        cord = key.contains("cord") || key.contains("thecal") || key.contains("cauda")
        cns = cord || ["brain", "chiasm", "opticn", "spinalcanal", "cns"].contains { key.contains($0) }
        var level = false
        if let r = key.range(of: #"^(vb)?(c|th|t|l|s)([0-9]{1,2})(vb)?$"#, options: .regularExpression), r.lowerBound == key.startIndex {
            level = true
        }
        vertebra = key.contains("vertebra") || level
    }
}

/// One evaluated rule of the re-irradiation evidence (domain.md §3.5–3.6).
public struct CompositeFlag: Codable, Sendable, Equatable {
    /// Stable identifier, e.g. `chandy2020-cumulative-bed2`.
    public var rule: String
    public var structure: String?
    public var course: String?
    public var value: Double?
    public var threshold: Double
    public var unit: String
    /// Whether the value is beyond the threshold (the flag is raised).
    public var exceeded: Bool
    public var message: String
    public var source: String
    /// [V], [S] or [NV] as in domain.md, with what exactly has that status.
    public var status: String
}

/// The inputs of the rules for one structure: maxima per course and cumulative.
public struct FlagStructureInput: Sendable {
    public var name: String
    public var kind: StructureClass
    /// Per course (in course order): Dmax as BED at α/β = 2 (Gy₂), no recovery.
    public var courseBED2Max: [Double]
    /// Dmax of the voxel-wise sum of the courses' BED at α/β = 2 (Gy₂), no recovery.
    public var cumulativeBED2Max: Double
    /// Per course: physical Dmax (Gy).
    public var coursePhysicalMax: [Double]

    public init(name: String, kind: StructureClass, courseBED2Max: [Double], cumulativeBED2Max: Double, coursePhysicalMax: [Double]) {
        self.name = name
        self.kind = kind
        self.courseBED2Max = courseBED2Max
        self.cumulativeBED2Max = cumulativeBED2Max
        self.coursePhysicalMax = coursePhysicalMax
    }
}

public struct FlagCourseInput: Sendable {
    public var label: String
    public var fractions: Int
    public var date: Date?
    public init(label: String, fractions: Int, date: Date?) {
        self.label = label
        self.fractions = fractions
        self.date = date
    }
}

/// The re-irradiation rules. Every rule is evaluated on **plain** sums (no recovery
/// discount), at α/β = 2 whatever the map used for the composite, because the rules were
/// stated that way.
public enum CompositeFlags {
    static let nieder = "Nieder C et al., IJROBP 2006;66:1446"
    static let sahgal2012 = "Sahgal A et al., IJROBP 2012;82:107; HyTEC, Sahgal et al., IJROBP 2021 (doi 10.1016/j.ijrobp.2019.09.038)"

    /// Whole months from `a` to `b` as a fraction (days / 30.4375), and whether b is at
    /// least `months` calendar months after a.
    public static func interval(from a: Date, to b: Date) -> (days: Int, months: Double) {
        let days = Int(((b.timeIntervalSince(a)) / 86400).rounded())
        return (days, Double(days) / 30.4375)
    }

    public static func isAtLeast(months: Int, from a: Date, to b: Date) -> Bool {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        guard let limit = cal.date(byAdding: .month, value: months, to: a) else { return false }
        return b >= limit
    }

    public static func evaluate(structures: [FlagStructureInput], courses: [FlagCourseInput]) -> [CompositeFlag] {
        var flags: [CompositeFlag] = []
        // Intervals between consecutive courses (in date order).
        let dated = courses.enumerated().filter { $0.element.date != nil }.sorted { $0.element.date! < $1.element.date! }
        var shortest: (months: Double, lessThan6: Bool, lessThan5: Bool)?
        for (a, b) in zip(dated, dated.dropFirst()) {
            let (_, months) = interval(from: a.element.date!, to: b.element.date!)
            let lt6 = !isAtLeast(months: 6, from: a.element.date!, to: b.element.date!)
            let lt5 = !isAtLeast(months: 5, from: a.element.date!, to: b.element.date!)
            flags.append(CompositeFlag(
                rule: "interval-6-months", structure: nil, course: "\(a.element.label)→\(b.element.label)",
                value: months, threshold: 6, unit: "months", exceeded: lt6,
                message: lt6 ? "re-irradiation within 6 months of the previous course (\(fmt(months, 1)) months): toxicity rose in that setting"
                    : "interval \(fmt(months, 1)) months (≥ 6)",
                source: "\(nieder) (≥ 6 months) [V]; Kirkpatrick (QUANTEC) 2010: repair evident ≈ 6 months [V]",
                status: "[V] for the cited intervals; no single primary study verified for 'within 6 months → more toxicity' (domain.md §3.6)"))
            if shortest == nil || months < shortest!.months { shortest = (months, lt6, lt5) }
        }
        let allDated = dated.count == courses.count && courses.count > 1
        let newest = courses.count - 1   // the composite's reference course is passed last by the caller

        for s in structures {
            if s.kind.cns {
                flags.append(CompositeFlag(
                    rule: "chandy2020-cumulative-bed2-200", structure: s.name, course: nil, value: s.cumulativeBED2Max,
                    threshold: 200, unit: "Gy2 (BED, a/b 2, Dmax)", exceeded: s.cumulativeBED2Max > 200,
                    message: "cumulative BED₂ Dmax \(fmt(s.cumulativeBED2Max, 1)) Gy₂ " + (s.cumulativeBED2Max > 200 ? "> 200 Gy₂: late toxicity reported above it" : "≤ 200 Gy₂"),
                    source: "Chandy E et al., Clin Oncol 2020 (doi 10.1016/j.clon.2019.11.005) [V: paper]",
                    status: "[NV]: the 200 Gy₂ threshold is not verified against the paper (domain.md §3.6)"))
            }
            if s.kind.cord {
                // Nieder 2006.
                flags.append(CompositeFlag(
                    rule: "nieder2006-cumulative-bed2", structure: s.name, course: nil, value: s.cumulativeBED2Max,
                    threshold: 135.5, unit: "Gy2 (BED, a/b 2, Dmax)", exceeded: s.cumulativeBED2Max > 135.5,
                    message: "cumulative BED₂ Dmax \(fmt(s.cumulativeBED2Max, 1)) Gy₂ " + (s.cumulativeBED2Max > 135.5 ? "> 135.5 Gy₂: beyond the range where myelopathy risk appeared small" : "≤ 135.5 Gy₂"),
                    source: nieder, status: "[V] (α/β 2 Gy for cervical/thoracic cord; Nieder used 4 Gy for lumbar cord)"))
                for (c, v) in s.courseBED2Max.enumerated() where c < courses.count {
                    flags.append(CompositeFlag(
                        rule: "nieder2006-course-bed2", structure: s.name, course: courses[c].label, value: v,
                        threshold: 98, unit: "Gy2 (BED, a/b 2, Dmax)", exceeded: v > 98,
                        message: "course \(courses[c].label): BED₂ Dmax \(fmt(v, 1)) Gy₂ " + (v > 98 ? "> 98 Gy₂ (Nieder's per-course condition)" : "≤ 98 Gy₂"),
                        source: nieder, status: "[V]"))
                }
                if let sh = shortest {
                    flags.append(CompositeFlag(
                        rule: "nieder2006-interval", structure: s.name, course: nil, value: sh.months, threshold: 6, unit: "months",
                        exceeded: sh.lessThan6, message: sh.lessThan6 ? "shortest interval \(fmt(sh.months, 1)) months < 6 (Nieder's condition)" : "shortest interval \(fmt(sh.months, 1)) months ≥ 6",
                        source: nieder, status: "[V]"))
                }
                // Sahgal 2012 / HyTEC: Pmax nBED = EQD2 at α/β 2 = BED₂ / 2.
                let cumN = s.cumulativeBED2Max / 2
                flags.append(CompositeFlag(
                    rule: "sahgal2012-cumulative-nbed", structure: s.name, course: nil, value: cumN, threshold: 70,
                    unit: "Gy2/2 (nBED = EQD2 a/b 2, Pmax)", exceeded: cumN > 70,
                    message: "cumulative Pmax nBED \(fmt(cumN, 1)) Gy₂/₂ " + (cumN > 70 ? "> ~70 Gy₂/₂" : "≤ ~70 Gy₂/₂"),
                    source: sahgal2012, status: "[V] (HyTEC [V abstract]); Sahgal scored the thecal sac"))
                if courses.count > 1, newest < s.courseBED2Max.count {
                    let sbrt = s.courseBED2Max[newest] / 2
                    flags.append(CompositeFlag(
                        rule: "sahgal2012-sbrt-course-nbed", structure: s.name, course: courses[newest].label, value: sbrt, threshold: 25,
                        unit: "Gy2/2 (nBED, Pmax)", exceeded: sbrt > 25,
                        message: "re-irradiation (newest) course Pmax nBED \(fmt(sbrt, 1)) Gy₂/₂ " + (sbrt > 25 ? "> 25 Gy₂/₂" : "≤ 25 Gy₂/₂"),
                        source: sahgal2012, status: "[V]"))
                    let share = cumN > 0 ? 100 * sbrt / cumN : 0
                    flags.append(CompositeFlag(
                        rule: "sahgal2012-sbrt-share", structure: s.name, course: courses[newest].label, value: share, threshold: 50,
                        unit: "% of cumulative nBED", exceeded: share > 50,
                        message: "the newest course is \(fmt(share, 0)) % of the cumulative Pmax nBED " + (share > 50 ? "(> ~50 %)" : "(≤ ~50 %)"),
                        source: sahgal2012, status: "[V]"))
                    if let sh = shortest {
                        flags.append(CompositeFlag(
                            rule: "sahgal2012-interval", structure: s.name, course: nil, value: sh.months, threshold: 5, unit: "months",
                            exceeded: sh.lessThan5, message: sh.lessThan5 ? "shortest interval \(fmt(sh.months, 1)) months < 5" : "shortest interval \(fmt(sh.months, 1)) months ≥ 5",
                            source: sahgal2012, status: "[V]"))
                    }
                }
            }
            if s.kind.vertebra {
                for (c, dmax) in s.coursePhysicalMax.enumerated() where c < courses.count {
                    let perFx = dmax / Double(courses[c].fractions)
                    let high = VertebralFractureRisk.isHighestRisk(dosePerFractionGy: perFx)
                    flags.append(CompositeFlag(
                        rule: "sahgal2013-vertebra-dose-per-fraction", structure: s.name, course: courses[c].label, value: perFx,
                        threshold: VertebralFractureRisk.thresholdGyPerFraction, unit: "Gy per fraction (Dmax/n)", exceeded: high,
                        message: "course \(courses[c].label): \(fmt(perFx, 1)) Gy per fraction at Dmax " + (high ? "≥ 24 Gy: highest vertebral compression fracture risk" : "< 24 Gy"),
                        source: VertebralFractureRisk.source,
                        status: "[V]; Sahgal graded the prescription dose per fraction, here Dmax/n (conservative proxy)"))
                }
            }
        }
        if !allDated && courses.count > 1 {
            flags.append(CompositeFlag(rule: "interval-unknown", structure: nil, course: nil, value: nil, threshold: 6, unit: "months",
                                       exceeded: false, message: "not every course has a date (:date=YYYY-MM-DD): intervals not evaluated",
                                       source: "", status: ""))
        }
        return flags
    }
}

func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
