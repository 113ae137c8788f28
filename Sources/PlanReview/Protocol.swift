import Base
import Dosimetry
import Foundation

/// Where a number comes from and how far it was checked, as the protocol files mark
/// it: [V] checked against primary text, [S] secondary source, [NV] not verified, [R]
/// stated by the review behind the project (Smile et al. 2021), [D] derived here.
public struct Provenance: Codable, Sendable, Equatable {
    /// The citation, e.g. "TG-101 Table III (Benedict 2010)".
    public var source: String
    /// "[V]", "[S]", "[NV]", "[R]" or "[D]".
    public var mark: String
    /// A caveat shown beside the verdict (conflicts, unverified readings).
    public var note: String?

    public static let marks: Set<String> = ["[V]", "[S]", "[NV]", "[R]", "[D]"]
}

/// A comparison of a value with a limit.
public enum Comparator: String, Codable, Sendable, CaseIterable {
    case less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="

    public func holds(_ value: Double, _ limit: Double) -> Bool {
        switch self {
        case .less: return value < limit
        case .lessOrEqual: return value <= limit
        case .greater: return value > limit
        case .greaterOrEqual: return value >= limit
        }
    }

    /// Room left before the limit is crossed: positive inside, negative beyond, in the
    /// metric's unit (limit − value for upper limits, value − limit for lower limits).
    public func margin(_ value: Double, _ limit: Double) -> Double {
        switch self {
        case .less, .lessOrEqual: return limit - value
        case .greater, .greaterOrEqual: return value - limit
        }
    }

    /// Parses "<", "<=", "≤", ">", ">=", "≥" at the start of `text`; returns the rest.
    static func prefix(of text: String) -> (Comparator, String)? {
        let t = text.trimmingSpaces()
        for (s, c) in [("<=", Comparator.lessOrEqual), ("≤", .lessOrEqual), (">=", .greaterOrEqual), ("≥", .greaterOrEqual), ("<", .less), (">", .greater)] where t.hasPrefix(s) {
            return (c, String(t.dropFirst(s.count)).trimmingSpaces())
        }
        return nil
    }
}

/// A limit: per protocol, or from a conformity table interpolated on the target volume.
public enum Limit: Sendable, Equatable {
    /// A fixed number, with an optional "minor deviation" number.
    case fixed(perProtocol: Double, minor: Double?)
    /// Rows (volume cc, per-protocol limit, minor limit) sorted by volume: interpolated
    /// linearly on the structure's volume, never extrapolated.
    case byVolume([VolumeRow])

    public struct VolumeRow: Sendable, Equatable, Codable {
        public var volumeCC: Double
        public var perProtocol: Double
        public var minor: Double?
    }
}

/// One dose–volume constraint of a protocol in TG-263 syntax, e.g. `D0.035cc[Gy] <= 30`
/// on SpinalCord for 5 fractions.
public struct Constraint: Sendable {
    /// Canonical structure name (TG-263), resolved through the alias table and the user map.
    public var structure: String
    public var metric: Metric
    public var comparator: Comparator
    public var limit: Limit
    /// The fraction count this row applies to; nil for any.
    public var fractions: Int?
    /// A missing required structure fails the check; an optional one is listed as absent.
    public var required: Bool
    public var provenance: Provenance
    /// Where the row was read from ("file:line").
    public var origin: String
    /// The id of the protocol file the row belongs to (an included table keeps its own).
    public var table: String = ""
    /// Another published value of the same limit where sources conflict: both are
    /// checked, the worse verdict counts (the stricter value), and both are shown.
    public var alternative: Alternative?

    /// A conflicting published version of a constraint, with its own source.
    public struct Alternative: Sendable {
        public var metric: Metric
        public var comparator: Comparator
        public var limit: Double
        public var provenance: Provenance
        public var text: String { "\(metric.text) \(comparator.rawValue) \(Constraint.format(limit))" }
    }

    /// The constraint as written, e.g. "D0.035cc[Gy] <= 30".
    public var text: String {
        switch limit {
        case .fixed(let p, _): return "\(metric.text) \(comparator.rawValue) \(Self.format(p))"
        case .byVolume: return "\(metric.text) \(comparator.rawValue) table(volume)"
        }
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e9 ? String(Int(v)) : String(format: "%g", v)
    }
}

/// A prescription rule: the dose and fraction count a protocol prescribes, optionally
/// only for an age range.
public struct PrescriptionRule: Sendable {
    public var doseGy: Double
    public var fractions: Int
    /// Applies when age ≥ this (years); nil for no lower bound.
    public var minimumAge: Double?
    /// Applies when age < this (years); nil for no upper bound.
    public var belowAge: Double?
    /// The verdict when the plan's prescription differs: major by default, minor with
    /// `level = "minor"`.
    public var mismatchIsMinor: Bool
    /// An accepted option rather than the protocol's prescription (`option = true`, e.g.
    /// a reduced dose that "can be considered"): a plan using it is per protocol, with a
    /// note; a plan not using it is not a deviation from it.
    public var isOption: Bool = false
    public var provenance: Provenance
    public var origin: String

    /// Whether the rule has an age bound.
    public var hasAgeBound: Bool { minimumAge != nil || belowAge != nil }

    public func applies(toAge age: Double?) -> Bool {
        guard let age else { return !hasAgeBound }
        if let m = minimumAge, age < m { return false }
        if let b = belowAge, age >= b { return false }
        return true
    }
}

/// A parameter of an eligibility rule with its source, e.g. `max_lesions = 5`.
public struct EligibilityParameter: Sendable {
    public var rule: String
    public var values: [String: ProtocolValue]
    public var provenance: Provenance
    public var origin: String

    public func number(_ key: String) -> Double? { values[key]?.number }
}

/// A protocol: named constraints, conformity tables and prescription rules read from a
/// protocol file, with the files it includes already merged in.
public struct ReviewProtocol: Sendable {
    public var id: String
    public var aliases: [String]
    public var name: String
    public var provenance: Provenance
    /// Fraction columns the protocol tabulates (TG-101: 1, 3, 5); empty when rows apply to any.
    public var fractionColumns: [Int]
    public var notes: [String]
    public var constraints: [Constraint]
    public var prescriptions: [PrescriptionRule]
    public var eligibility: [EligibilityParameter]
    /// Ids of the protocols merged in.
    public var included: [String]
    /// Ids of the organ tables among this protocol and its includes (`organ_table =
    /// true`): a review of which no organ-at-risk row was evaluated is incomplete.
    public var organTables: [String] = []
    public var path: String

    public func eligibilityRule(_ rule: String) -> EligibilityParameter? { eligibility.first { $0.rule == rule } }

    /// Reads a protocol file; `include` names are resolved through `resolve`.
    /// - Throws: `SBRTError` naming the file and line at fault.
    public static func parse(_ text: String, path: String, resolve: (String) throws -> ReviewProtocol) throws -> ReviewProtocol {
        let doc = try ProtocolDocument.parse(text, file: path)
        guard let head = doc.table("protocol") else { throw SBRTError(.invalidProtocol, "\(path): no [protocol] table (id, name, source, mark)") }
        let r = ProtocolReader(path: path)
        let id = try r.string(head, "id")!
        let headProvenance = try r.provenance(head, inherit: nil)
        var p = ReviewProtocol(
            id: id,
            aliases: try (head["aliases"]?.array ?? []).map { v in guard let s = v.string else { throw r.fail(head, "aliases", "aliases are quoted strings") }; return s },
            name: try r.string(head, "name")!,
            provenance: headProvenance,
            fractionColumns: try (head["fractions"]?.array ?? []).map { v in
                guard let n = v.number, n >= 1, n == n.rounded() else { throw r.fail(head, "fractions", "fractions are whole numbers ≥ 1") }
                return Int(n)
            },
            notes: (head["notes"]?.array ?? []).compactMap(\.string),
            constraints: [], prescriptions: [], eligibility: [], included: [], path: path)
        if head["organ_table"]?.bool == true { p.organTables = [id] }
        p.constraints = try doc.array("constraint").map { try r.constraint($0, table: id, inherit: headProvenance) }
        p.prescriptions = try doc.array("prescription").map { try r.prescription($0, inherit: headProvenance) }
        for t in doc.array("eligibility") {
            guard let rule = try r.string(t, "rule") else { continue }
            var values: [String: ProtocolValue] = [:]
            for e in t.entries where !["rule", "source", "mark", "note"].contains(e.key) { values[e.key] = e.value }
            p.eligibility.append(EligibilityParameter(rule: rule, values: values, provenance: try r.provenance(t, inherit: headProvenance),
                                                      origin: "\(path):\(t.line)"))
        }
        for v in head["include"]?.array ?? [] {
            guard let name = v.string else { throw r.fail(head, "include", "include lists protocol ids as quoted strings") }
            let other = try resolve(name)
            p.constraints += other.constraints
            p.included.append(other.id)
            p.organTables += other.organTables
            if p.fractionColumns.isEmpty == false, !other.fractionColumns.isEmpty {
                p.fractionColumns = Array(Set(p.fractionColumns).union(other.fractionColumns)).sorted()
            }
        }
        return p
    }

    /// Splits "D0.035cc[Gy] <= 30" into metric, comparison and the limit text.
    public static func parseConstraintText(_ text: String, at origin: String) throws -> (Metric, Comparator, String) {
        guard let k = text.firstIndex(where: { "<>≤≥".contains($0) }) else {
            throw SBRTError(.invalidProtocol, "\(origin): \"\(text)\" has no comparison (<, <=, >, >=)")
        }
        let metricText = text[..<k].trimmingSpaces()
        guard let (comparator, rest) = Comparator.prefix(of: String(text[k...])) else {
            throw SBRTError(.invalidProtocol, "\(origin): cannot read the comparison in \"\(text)\"")
        }
        let metric: Metric
        do { metric = try Metric.parse(metricText) } catch let e as Metric.ParseError { throw SBRTError(.invalidProtocol, "\(origin): \(e.description)") }
        return (metric, comparator, rest)
    }
}

/// Reads the tables of one protocol file, every error naming the file and line.
struct ProtocolReader {
    var path: String

    func fail(_ t: ProtocolTable, _ key: String, _ why: String) -> SBRTError {
        SBRTError(.invalidProtocol, "\(path):\(t.lineOf(key)): \(why)")
    }

    func string(_ t: ProtocolTable, _ key: String, required: Bool = true) throws -> String? {
        guard let v = t[key] else {
            if required { throw SBRTError(.invalidProtocol, "\(path):\(t.line): [\(t.name)] needs \(key) = \"…\"") }
            return nil
        }
        guard let s = v.string else { throw fail(t, key, "\(key) must be a quoted string") }
        return s
    }

    func mark(_ t: ProtocolTable, _ key: String, _ m: String) throws -> String {
        guard Provenance.marks.contains(m) else { throw fail(t, key, "\(key) must be one of \(Provenance.marks.sorted().joined(separator: ", ")), got \"\(m)\"") }
        return m
    }

    func provenance(_ t: ProtocolTable, inherit: Provenance?) throws -> Provenance {
        let source = try string(t, "source", required: inherit == nil) ?? inherit!.source
        let m = try mark(t, "mark", try string(t, "mark", required: inherit == nil) ?? inherit!.mark)
        return Provenance(source: source, mark: m, note: try string(t, "note", required: false))
    }

    /// A `[[constraint]]` table.
    func constraint(_ t: ProtocolTable, table: String, inherit: Provenance) throws -> Constraint {
        let structure = try string(t, "structure")!
        guard let text = try string(t, "constraint") else { throw fail(t, "constraint", "missing constraint") }
        let (metric, comparator, rest) = try ReviewProtocol.parseConstraintText(text, at: "\(path):\(t.lineOf("constraint"))")
        var fractions: Int?
        if let f = t["fractions"] {
            guard let n = f.number, n >= 1, n <= 1000, n == n.rounded() else { throw fail(t, "fractions", "fractions must be a whole number ≥ 1") }
            fractions = Int(n)
        }
        let limit = rest == "table" ? try tableLimit(t) : try fixedLimit(t, comparator, rest)
        var c = Constraint(structure: structure, metric: metric, comparator: comparator, limit: limit,
                           fractions: fractions, required: t["required"]?.bool ?? false,
                           provenance: try provenance(t, inherit: inherit), origin: "\(path):\(t.line)", table: table)
        if let alt = try string(t, "alternative", required: false) {
            let (am, ac, ar) = try ReviewProtocol.parseConstraintText(alt, at: "\(path):\(t.lineOf("alternative"))")
            guard let av = Double(ar), av.isFinite else { throw fail(t, "alternative", "\"\(ar)\" is not a number") }
            guard case .fixed = limit else { throw fail(t, "alternative", "an alternative goes with a fixed limit, not a table") }
            let source = try string(t, "alternative_source", required: true)!
            let m = try mark(t, "alternative_mark", try string(t, "alternative_mark", required: false) ?? c.provenance.mark)
            c.alternative = .init(metric: am, comparator: ac, limit: av, provenance: Provenance(source: source, mark: m, note: nil))
        }
        return c
    }

    func tableLimit(_ t: ProtocolTable) throws -> Limit {
        guard let rows = t["by_volume"]?.array, !rows.isEmpty else {
            throw fail(t, "constraint", "a table limit needs by_volume = [[volume_cc, per_protocol, minor], …]")
        }
        var parsed: [Limit.VolumeRow] = []
        for r in rows {
            guard let a = r.array, a.count == 2 || a.count == 3, let v = a[0].number, let l = a[1].number else {
                throw fail(t, "by_volume", "each by_volume row is [volume_cc, per_protocol] or [volume_cc, per_protocol, minor]")
            }
            parsed.append(.init(volumeCC: v, perProtocol: l, minor: a.count == 3 ? a[2].number : nil))
        }
        guard zip(parsed, parsed.dropFirst()).allSatisfy({ $0.volumeCC < $1.volumeCC }) else {
            throw fail(t, "by_volume", "by_volume rows must be in increasing volume")
        }
        return .byVolume(parsed)
    }

    func fixedLimit(_ t: ProtocolTable, _ comparator: Comparator, _ rest: String) throws -> Limit {
        guard let v = Double(rest), v.isFinite else { throw fail(t, "constraint", "\"\(rest)\" is not a number (or `table`)") }
        var minor: Double?
        if let m = t["minor"] {
            guard let ms = m.string, let (mc, mv) = Comparator.prefix(of: ms), mc == comparator, let mn = Double(mv) else {
                throw fail(t, "minor", "minor is written like \"\(comparator.rawValue) 25\" (same comparison as the constraint)")
            }
            guard comparator.holds(mn, v) == false || mn == v else {
                throw fail(t, "minor", "the minor-deviation limit must be looser than the per-protocol limit")
            }
            minor = mn
        }
        return .fixed(perProtocol: v, minor: minor)
    }

    /// A `[[prescription]]` table.
    func prescription(_ t: ProtocolTable, inherit: Provenance) throws -> PrescriptionRule {
        guard let d = t["dose_gy"]?.number, d > 0, d.isFinite else { throw fail(t, "dose_gy", "[[prescription]] needs dose_gy = number") }
        guard let f = t["fractions"]?.number, f >= 1, f <= 1000, f == f.rounded() else { throw fail(t, "fractions", "[[prescription]] needs fractions = whole number") }
        var rule = PrescriptionRule(doseGy: d, fractions: Int(f), minimumAge: t["min_age"]?.number, belowAge: t["below_age"]?.number,
                                    mismatchIsMinor: t["level"]?.string == "minor",
                                    provenance: try provenance(t, inherit: inherit), origin: "\(path):\(t.line)")
        rule.isOption = t["option"]?.bool ?? false
        return rule
    }
}
