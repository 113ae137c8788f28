import Base
import Foundation

/// Structure classes the re-irradiation rules and the α/β defaults apply to, recognised
/// by name (and by RT ROI Interpreted Type where one is given).
///
/// Names are read through `StructureName.key` (case, spaces, underscores, hyphens and
/// laterality words ignored, British spellings read as American: `Lt Brachial Plexus`,
/// `BrachialPlexus_L` and `BRACHIAL-PLEXUS-LEFT` are read alike). Names containing `prv`
/// are never classed (a planning risk volume is not the organ).
/// - cord: contains `cord` (SpinalCord, Cord, Spinal_Cord) or `cauda` (cauda equina).
/// - thecal sac: contains `thecal` (ThecalSac, Thecal_Sac): the structure Sahgal 2012
///   scored.
/// - CNS: cord and thecal-sac names, and names containing `brain` (Brain, Brainstem),
///   `chiasm`, `optic` (optic nerves, tracts, chiasm), `plex` (brachial, lumbar,
///   lumbosacral and sacral plexus; TG-263 `BrachialPlex`), `spinalcanal`, `hippocamp`,
///   `nerveroot`, `sacralnerve` or `cns`.
/// - vertebra: contains `vertebra` (Vertebra, VertebralBody, Bone_Vertebra), or is a
///   vertebral level such as `C5`, `T11`, `L3`, `S1` or `Th12`, alone or with `VB` before
///   or after it (`VB_T12`, `T12_VB`).
/// - target: RT ROI Interpreted Type GTV, CTV, PTV or ITV, or a name beginning with
///   `gtv`, `ctv`, `ptv`, `itv` or `igtv`.
/// - organ: neither a target, nor the external contour (type EXTERNAL, or named Body,
///   External, Outline), nor a planning risk volume, nor of a non-anatomical type (only
///   ORGAN, AVOIDANCE or no type count).
public struct StructureClass: Sendable, Equatable, Codable {
    public var cns: Bool
    public var cord: Bool
    public var thecalSac: Bool
    public var vertebra: Bool
    public var target: Bool
    public var organ: Bool

    static let cnsWords = ["cord", "cauda", "thecal", "brain", "chiasm", "optic", "plex", "spinalcanal", "hippocamp", "nerveroot", "sacralnerve", "cns"]
    static let targetTypes: Set<String> = ["GTV", "CTV", "PTV", "ITV"]
    static let organTypes: Set<String> = ["", "ORGAN", "AVOIDANCE"]

    public init(name: String, interpretedType: String? = nil) {
        let key = StructureName.key(name)
        let type = (interpretedType ?? "").trimmingSpaces().uppercased()
        target = Self.targetTypes.contains(type) || ["gtv", "ctv", "ptv", "itv", "igtv"].contains { key.hasPrefix($0) }
        if key.contains("prv") {
            (cns, cord, thecalSac, vertebra, organ) = (false, false, false, false, false)
            return
        }
        cord = key.contains("cord") || key.contains("cauda")
        thecalSac = key.contains("thecal")
        cns = Self.cnsWords.contains { key.contains($0) }
        let compact = StructureName.compact(name)
        let level = compact.range(of: #"^(vb)?(c|th|t|l|s)([0-9]{1,2})(vb)?$"#, options: .regularExpression) != nil
        vertebra = compact.contains("vertebra") || level
        let external = type == "EXTERNAL" || ["body", "external", "outline"].contains(key)
        organ = !target && !external && Self.organTypes.contains(type)
    }
}

/// One evaluated rule of the re-irradiation evidence, with its publication.
public struct CompositeFlag: Codable, Sendable, Equatable {
    /// Stable identifier, e.g. `chandy2020-cumulative-bed2`.
    public var rule: String
    public var structure: String?
    public var course: String?
    /// The value the rule is evaluated on. For the cumulative rules: the sum of each
    /// course's maximum, the quantity the published limits were built on.
    public var value: Double?
    /// For the cumulative rules: the maximum of the voxel-wise cumulative map, beside
    /// `value` (it is never larger, up to interpolation).
    public var voxelWiseValue: Double? = nil
    public var threshold: Double
    public var unit: String
    /// Whether the value is beyond the threshold (the flag is raised).
    public var exceeded: Bool
    public var message: String
    public var source: String
    /// [V] (verified against the publication), [S] (from a peer implementation) or [NV]
    /// (not verified), with what exactly has that status.
    public var status: String
    /// Why the flag is not evaluable (nil when it was evaluated): its value depends on
    /// dose a course's grid does not hold (`GridCoverageRule`), or on a date not given.
    /// A not evaluable flag is never "not exceeded".
    public var reason: String? = nil
    /// What the value rests on beyond the message: a negligible dose outside a course's
    /// grid, or a raised flag's value that is a lower bound.
    public var note: String? = nil

    public var evaluable: Bool { reason == nil }
}

/// The inputs of the rules for one structure: maxima per course and cumulative.
public struct FlagStructureInput: Sendable {
    public var name: String
    public var kind: StructureClass
    /// Per course (in course order): the BED at α/β = 2 (Gy₂) of the course's physical
    /// Dmax in the structure, with the course's fractions; no recovery.
    public var courseBED2Max: [Double]
    /// Dmax of the voxel-wise sum of the courses' BED at α/β = 2 (Gy₂), no recovery.
    public var cumulativeBED2Max: Double
    /// Per course: physical Dmax (Gy).
    public var coursePhysicalMax: [Double]
    /// Per course: the fraction (0–1) of the structure outside the course's dose grid
    /// (registered, resampled onto the reference grid); empty when not known (taken as 0).
    public var courseOutsideFraction: [Double] = []
    /// Per course: the course's physical dose at its grid's boundary inside the structure
    /// (Gy; nil when no sample lies there), and its BED₂ with the course's fractions.
    public var courseBoundaryGy: [Double?] = []
    public var courseBoundaryBED2: [Double?] = []

    public init(name: String, kind: StructureClass, courseBED2Max: [Double], cumulativeBED2Max: Double, coursePhysicalMax: [Double]) {
        self.name = name
        self.kind = kind
        self.courseBED2Max = courseBED2Max
        self.cumulativeBED2Max = cumulativeBED2Max
        self.coursePhysicalMax = coursePhysicalMax
    }

    /// Σ over the courses of each course's BED₂ maximum: how the published cumulative
    /// limits were built (Nieder 2006, Sahgal 2012 summed the courses' maximum point doses).
    public var sumOfMaximaBED2: Double { courseBED2Max.reduce(0, +) }
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
/// stated that way. Cumulative rules are evaluated on the **sum of each course's
/// maximum** (the quantity the published limits were built on), with the voxel-wise
/// cumulative maximum given beside it.
///
/// Each rule applies to the structures it was defined on: Chandy 2020's cumulative BED₂
/// to every organ; Nieder 2006 to the spinal cord; Sahgal 2012 / HyTEC to the thecal sac
/// (to the cord, said so, when no thecal sac is evaluated); Sahgal 2013 to vertebrae.
public enum CompositeFlags {
    static let nieder = "Nieder C et al., IJROBP 2006;66:1446"
    static let sahgal2012 = "Sahgal A et al., IJROBP 2012;82:107; HyTEC, Sahgal et al., IJROBP 2021 (doi 10.1016/j.ijrobp.2019.09.038)"
    static let chandy = "Chandy E et al., Clin Oncol 2020 (doi 10.1016/j.clon.2019.11.005) [V: paper]"
    static let sumOfMaxima = "the sum of the courses' maxima (the basis of the published limit)"

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

    /// The shortest interval between consecutive dated courses.
    struct Shortest {
        var months: Double
        var lessThan6: Bool
        var lessThan5: Bool
    }

    /// Every rule for `structures`; `courses` in date order with the composite's reference
    /// (newest) course last.
    public static func evaluate(structures: [FlagStructureInput], courses: [FlagCourseInput]) -> [CompositeFlag] {
        var (flags, shortest) = intervalFlags(courses)
        let sacEvaluated = structures.contains { $0.kind.thecalSac }
        for s in structures {
            if s.kind.organ { flags.append(chandyFlag(s).covered(s, courses, bed2: 1)) }
            if s.kind.cord { flags += niederFlags(s, courses, shortest) }
            if s.kind.thecalSac || (s.kind.cord && !sacEvaluated) {
                flags += sahgalFlags(s, courses, shortest, onCordInstead: !s.kind.thecalSac)
            }
            if s.kind.vertebra { flags += vertebraFlags(s, courses) }
        }
        let allDated = courses.allSatisfy { $0.date != nil }
        if !allDated && courses.count > 1 {
            flags.append(CompositeFlag(rule: "interval-unknown", structure: nil, course: nil, value: nil, threshold: 6, unit: "months",
                                       exceeded: false, message: "not every course has a date: intervals not evaluated",
                                       source: "", status: "", reason: "not every course has a date: the intervals are not known"))
        }
        return flags
    }

    /// One flag per pair of consecutive dated courses (in date order), and the shortest interval.
    static func intervalFlags(_ courses: [FlagCourseInput]) -> ([CompositeFlag], Shortest?) {
        var flags: [CompositeFlag] = []
        let dated = courses.filter { $0.date != nil }.sorted { $0.date! < $1.date! }
        var shortest: Shortest?
        for (a, b) in zip(dated, dated.dropFirst()) {
            let (_, months) = interval(from: a.date!, to: b.date!)
            let lt6 = !isAtLeast(months: 6, from: a.date!, to: b.date!)
            let lt5 = !isAtLeast(months: 5, from: a.date!, to: b.date!)
            flags.append(CompositeFlag(
                rule: "interval-6-months", structure: nil, course: "\(a.label)→\(b.label)",
                value: months, threshold: 6, unit: "months", exceeded: lt6,
                message: lt6 ? "re-irradiation within 6 months of the previous course (\(fmt(months, 1)) months): toxicity rose in that setting"
                    : "interval \(fmt(months, 1)) months (≥ 6)",
                source: "\(nieder) (≥ 6 months) [V]; Kirkpatrick (QUANTEC) 2010: repair evident ≈ 6 months [V]",
                status: "[V] for the cited intervals; no single primary study verified for 'within 6 months → more toxicity'"))
            if shortest == nil || months < shortest!.months { shortest = Shortest(months: months, lessThan6: lt6, lessThan5: lt5) }
        }
        return (flags, shortest)
    }

    /// "… as the sum of the courses' maxima (…) > limit; voxel-wise cumulative maximum …".
    static func cumulativeMessage(_ what: String, _ sum: Double, _ voxelWise: Double, _ limit: Double, _ unit: String, _ beyond: String) -> String {
        "\(what) \(fmt(sum, 1)) \(unit) as \(sumOfMaxima) " + (sum > limit ? "> \(fmt(limit, 1)) \(unit): \(beyond)" : "≤ \(fmt(limit, 1)) \(unit)")
            + "; voxel-wise cumulative maximum \(fmt(voxelWise, 1)) \(unit)"
    }

    /// Chandy 2020: cumulative BED₂ > 200 Gy₂, on every organ.
    static func chandyFlag(_ s: FlagStructureInput) -> CompositeFlag {
        let sum = s.sumOfMaximaBED2
        return CompositeFlag(
            rule: "chandy2020-cumulative-bed2-200", structure: s.name, course: nil, value: sum, voxelWiseValue: s.cumulativeBED2Max,
            threshold: 200, unit: "Gy2 (BED, a/b 2, Dmax)", exceeded: sum > 200,
            message: cumulativeMessage("cumulative BED₂", sum, s.cumulativeBED2Max, 200, "Gy₂", "late toxicity was more likely above it"),
            source: chandy, status: "[NV]: the 200 Gy₂ threshold is not verified against the paper; applied to every organ")
    }

    /// Nieder 2006, on the spinal cord: cumulative BED₂ ≤ 135.5 Gy₂, each course ≤ 98 Gy₂, interval ≥ 6 months.
    static func niederFlags(_ s: FlagStructureInput, _ courses: [FlagCourseInput], _ shortest: Shortest?) -> [CompositeFlag] {
        let sum = s.sumOfMaximaBED2
        var flags = [CompositeFlag(
            rule: "nieder2006-cumulative-bed2", structure: s.name, course: nil, value: sum, voxelWiseValue: s.cumulativeBED2Max,
            threshold: 135.5, unit: "Gy2 (BED, a/b 2, Dmax)", exceeded: sum > 135.5,
            message: cumulativeMessage("cumulative BED₂", sum, s.cumulativeBED2Max, 135.5, "Gy₂", "beyond the range where myelopathy risk appeared small"),
            source: nieder, status: "[V] (α/β 2 Gy for cervical/thoracic cord; Nieder used 4 Gy for lumbar cord)").covered(s, courses, bed2: 1)]
        for (c, v) in s.courseBED2Max.enumerated() where c < courses.count {
            flags.append(CompositeFlag(
                rule: "nieder2006-course-bed2", structure: s.name, course: courses[c].label, value: v,
                threshold: 98, unit: "Gy2 (BED, a/b 2, Dmax)", exceeded: v > 98,
                message: "course \(courses[c].label): BED₂ Dmax \(fmt(v, 1)) Gy₂ " + (v > 98 ? "> 98 Gy₂ (Nieder's per-course condition)" : "≤ 98 Gy₂"),
                source: nieder, status: "[V]").covered(s, courses, only: c, bed2: 1))
        }
        if let sh = shortest {
            flags.append(CompositeFlag(
                rule: "nieder2006-interval", structure: s.name, course: nil, value: sh.months, threshold: 6, unit: "months",
                exceeded: sh.lessThan6, message: sh.lessThan6 ? "shortest interval \(fmt(sh.months, 1)) months < 6 (Nieder's condition)" : "shortest interval \(fmt(sh.months, 1)) months ≥ 6",
                source: nieder, status: "[V]"))
        }
        return flags
    }

    /// Sahgal 2012 / HyTEC on the thecal sac (Pmax nBED = EQD2 at α/β 2 = BED₂/2):
    /// cumulative ≤ ~70 Gy₂/₂, the SBRT (newest) course ≤ 25 Gy₂/₂ and ≤ ~50 % of the
    /// cumulative, interval ≥ 5 months. On the cord when no thecal sac is evaluated.
    static func sahgalFlags(_ s: FlagStructureInput, _ courses: [FlagCourseInput], _ shortest: Shortest?, onCordInstead: Bool) -> [CompositeFlag] {
        let status = onCordInstead
            ? "[V] (HyTEC [V abstract]); applied to the cord because no thecal sac structure was evaluated: Sahgal scored the thecal sac, whose Pmax is at least the cord's, so an excess in the sac may be missed"
            : "[V] (HyTEC [V abstract]); the thecal sac, as Sahgal scored it"
        let cumN = s.sumOfMaximaBED2 / 2
        var flags = [CompositeFlag(
            rule: "sahgal2012-cumulative-nbed", structure: s.name, course: nil, value: cumN, voxelWiseValue: s.cumulativeBED2Max / 2, threshold: 70,
            unit: "Gy2/2 (nBED = EQD2 a/b 2, Pmax)", exceeded: cumN > 70,
            message: cumulativeMessage("cumulative Pmax nBED", cumN, s.cumulativeBED2Max / 2, 70, "Gy₂/₂", "beyond ~70 Gy₂/₂"),
            source: sahgal2012, status: status).covered(s, courses, bed2: 0.5)]
        let newest = courses.count - 1
        guard courses.count > 1, newest < s.courseBED2Max.count else { return flags }
        let sbrt = s.courseBED2Max[newest] / 2
        flags.append(CompositeFlag(
            rule: "sahgal2012-sbrt-course-nbed", structure: s.name, course: courses[newest].label, value: sbrt, threshold: 25,
            unit: "Gy2/2 (nBED, Pmax)", exceeded: sbrt > 25,
            message: "re-irradiation (newest) course Pmax nBED \(fmt(sbrt, 1)) Gy₂/₂ " + (sbrt > 25 ? "> 25 Gy₂/₂" : "≤ 25 Gy₂/₂"),
            source: sahgal2012, status: status).covered(s, courses, only: newest, bed2: 0.5))
        let share = cumN > 0 ? 100 * sbrt / cumN : 0
        var shareFlag = CompositeFlag(
            rule: "sahgal2012-sbrt-share", structure: s.name, course: courses[newest].label, value: share, threshold: 50,
            unit: "% of cumulative nBED", exceeded: share > 50,
            message: "the newest course is \(fmt(share, 0)) % of the cumulative Pmax nBED (sum of the courses' maxima) " + (share > 50 ? "(> ~50 %)" : "(≤ ~50 %)"),
            source: sahgal2012, status: status)
        // A share is no bound: it is not evaluable when either of its parts is not known.
        let parts = flags.filter { $0.structure == s.name && ($0.rule == "sahgal2012-cumulative-nbed" || $0.rule == "sahgal2012-sbrt-course-nbed") }
        let partReasons = parts.compactMap(\.reason) + parts.filter { $0.exceeded && $0.note != nil }.compactMap(\.note)
        if !partReasons.isEmpty { shareFlag.markNotEvaluable(partReasons.joined(separator: "; ")) }
        flags.append(shareFlag)
        if let sh = shortest {
            flags.append(CompositeFlag(
                rule: "sahgal2012-interval", structure: s.name, course: nil, value: sh.months, threshold: 5, unit: "months",
                exceeded: sh.lessThan5, message: sh.lessThan5 ? "shortest interval \(fmt(sh.months, 1)) months < 5" : "shortest interval \(fmt(sh.months, 1)) months ≥ 5",
                source: sahgal2012, status: status))
        }
        return flags
    }

    /// Sahgal 2013, per course: Dmax/n in the highest vertebral-fracture-risk group
    /// (`VertebralFractureRisk`, the rule eligibility uses).
    static func vertebraFlags(_ s: FlagStructureInput, _ courses: [FlagCourseInput]) -> [CompositeFlag] {
        s.coursePhysicalMax.enumerated().filter { $0.offset < courses.count }.map { c, dmax in
            let perFx = dmax / Double(courses[c].fractions)
            let high = VertebralFractureRisk.isHighestRisk(dosePerFractionGy: perFx)
            return CompositeFlag(
                rule: "sahgal2013-vertebra-dose-per-fraction", structure: s.name, course: courses[c].label, value: perFx,
                threshold: VertebralFractureRisk.thresholdGyPerFraction, unit: "Gy per fraction (Dmax/n)", exceeded: high,
                message: "course \(courses[c].label): \(fmt(perFx, 1)) Gy per fraction at Dmax "
                    + (high ? "≥ \(fmt(VertebralFractureRisk.thresholdGyPerFraction, 0)) Gy: highest vertebral compression fracture risk" : "< \(fmt(VertebralFractureRisk.thresholdGyPerFraction, 0)) Gy"),
                source: VertebralFractureRisk.source,
                status: "[V]; Sahgal graded the prescription dose per fraction, here Dmax/n (conservative proxy)")
                .covered(s, courses, only: c, physicalPerFraction: true)
        }
    }
}

extension CompositeFlag {
    /// The flag after `GridCoverageRule` on every course it depends on (`only`, else all):
    /// the course's dose at its grid's boundary inside the structure, in the flag's unit
    /// (BED₂ × `bed2`, or Dmax per fraction), against the flag's threshold. A course whose
    /// part is not evaluable makes the flag not evaluable, unless the flag is raised on
    /// the dose the grids hold: a maximum can only grow with the dose outside them, so a
    /// raised value is a lower bound, and stays raised with a note.
    func covered(_ s: FlagStructureInput, _ courses: [FlagCourseInput], only: Int? = nil,
                 bed2 factor: Double = 1, physicalPerFraction: Bool = false) -> CompositeFlag {
        guard s.courseOutsideFraction.count == courses.count, let structure else { return self }
        var reasons: [String] = [], notes: [String] = []
        for c in only.map({ [$0] }) ?? Array(courses.indices) {
            let boundary = physicalPerFraction ? s.courseBoundaryGy[c].map { $0 / Double(courses[c].fractions) } : s.courseBoundaryBED2[c].map { $0 * factor }
            switch GridCoverageRule.assess(outsideFraction: s.courseOutsideFraction[c], boundaryDose: boundary, referenceDose: threshold,
                                           structure: structure, grid: "course \(courses[c].label)'s dose grid",
                                           unit: physicalPerFraction ? "Gy per fraction" : factor == 1 ? "Gy₂" : "Gy₂/₂", about: "the flag") {
            case .inside: break
            case .negligible(let why): notes.append(why)
            case .notEvaluable(let why): reasons.append(why)
            }
        }
        var out = self
        if !reasons.isEmpty && exceeded {
            notes.insert("a lower bound: " + reasons.joined(separator: "; "), at: 0)
        } else if !reasons.isEmpty {
            out.markNotEvaluable(reasons.joined(separator: "; "))
        }
        if !notes.isEmpty { out.note = notes.joined(separator: "; ") }
        return out
    }

    /// Marks the flag not evaluable for `why`; the message keeps the value on the dose the grids hold.
    mutating func markNotEvaluable(_ why: String) {
        reason = why
        exceeded = false
        message = "not evaluable: " + why + "; on the dose the grids hold: " + message
    }
}

func fmt(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
