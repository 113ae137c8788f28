import Base
import Dosimetry
import Foundation
import RTModel

/// DVHs to compare, from a `sbrt dvh` export (CSV curves or JSON summary) or computed
/// from a DICOM folder.
public struct DVHSet: Sendable {
    public enum Kind: String, Codable, Sendable { case csv, json, dicom }

    public struct Entry: Sendable {
        public var name: String
        public var volumeCC: Double
        public var meanGy: Double?
        public var maxGy: Double?
        public var d95Gy: Double?
        public var d5Gy: Double?
        /// Cumulative curve (dose Gy, volume cc), increasing dose; nil for a JSON summary.
        public var curve: [(doseGy: Double, volumeCC: Double)]?
        /// The exact DVH when computed from DICOM.
        public var dvh: DVH?
    }

    public var kind: Kind
    public var source: String
    public var entries: [Entry]

    /// Reads `path`: a folder (DICOM, DVHs computed with default options), a `.json`
    /// (`sbrt dvh --format json`) or a CSV (`sbrt dvh --format csv`).
    /// - Throws: `SBRTError` naming the file and line, and the DVH engine's errors.
    public static func load(_ path: String, study: StudyRequest = StudyRequest()) throws -> DVHSet {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw SBRTError(.invalidProtocol, "\(path): no such file or folder") }
        if isDir.boolValue {
            let a = try DVHAnalysis.run(try ResolvedStudy.resolve(path, study), DVHRequest())
            return DVHSet(kind: .dicom, source: path, entries: a.dvhs.map { d in
                Entry(name: d.name, volumeCC: d.volumeCC, meanGy: d.meanGy, maxGy: d.maxGy, d95Gy: d.dose(hottestPercent: 95),
                      d5Gy: d.dose(hottestPercent: 5), curve: nil, dvh: d)
            })
        }
        let text = try InputFiles.readText(path)
        let data = Data(text.utf8)
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("{") { return try parseJSON(data, path: path) }
        return try parseCSV(text, path: path)
    }

    /// Parses `sbrt dvh --format csv`: `structure,dose_gy,volume_cc,volume_pct` rows.
    public static func parseCSV(_ text: String, path: String) throws -> DVHSet {
        let table = try DVHTable.read(text, path: path)
        return DVHSet(kind: .csv, source: path, entries: table.map { entryFromCurve($0.name, $0.curve) })
    }

    /// Summary statistics read off a sampled cumulative curve (the same way for both sides
    /// of a comparison): volume V(0); mean = ∫V dD / V(0) (trapezoids); max = the first
    /// sampled dose with V = 0; D95/D5 by linear interpolation on the curve.
    public static func entryFromCurve(_ name: String, _ curve: [(doseGy: Double, volumeCC: Double)]) -> Entry {
        let v0 = curve.first?.volumeCC ?? 0
        var integral = 0.0
        for (a, b) in zip(curve, curve.dropFirst()) { integral += 0.5 * (a.volumeCC + b.volumeCC) * (b.doseGy - a.doseGy) }
        let maxGy = curve.first { $0.volumeCC <= 0 }?.doseGy ?? curve.last?.doseGy
        return Entry(name: name, volumeCC: v0, meanGy: v0 > 0 ? integral / v0 : 0, maxGy: maxGy,
                     d95Gy: doseAt(curve, cc: 0.95 * v0), d5Gy: doseAt(curve, cc: 0.05 * v0), curve: curve, dvh: nil)
    }

    /// inf{D : V(D) ≤ cc} on the sampled curve, interpolated linearly between samples.
    static func doseAt(_ curve: [(doseGy: Double, volumeCC: Double)], cc: Double) -> Double? {
        guard let first = curve.first else { return nil }
        if first.volumeCC <= cc { return first.doseGy }
        guard let k = curve.firstIndex(where: { $0.volumeCC <= cc }) else { return nil }
        let a = curve[k - 1], b = curve[k]
        let t = a.volumeCC > b.volumeCC ? (a.volumeCC - cc) / (a.volumeCC - b.volumeCC) : 1
        return a.doseGy + t * (b.doseGy - a.doseGy)
    }

    static func parseJSON(_ data: Data, path: String) throws -> DVHSet {
        struct Export: Decodable {
            struct Report: Decodable { var structures: [S] }
            struct S: Decodable { var name: String; var volumeCc: Double; var meanGy: Double; var maxGy: Double; var metrics: [M] }
            struct M: Decodable { var metric: String; var value: Double?; var unit: String }
            var report: Report
        }
        let dec = JSONOutput.decoder()
        let e: Export
        do { e = try dec.decode(Export.self, from: data) } catch {
            throw SBRTError(.invalidValue, "not a DVH export in sbrt's JSON format: \(JSONOutput.problem(error))", file: path)
        }
        for s in e.report.structures where !([s.volumeCc, s.meanGy, s.maxGy] + s.metrics.compactMap(\.value)).allSatisfy(\.isFinite) {
            throw SBRTError(.invalidValue, "not a DVH export in sbrt's JSON format: structure \"\(s.name)\" has a number that is not finite", file: path)
        }
        return DVHSet(kind: .json, source: path, entries: e.report.structures.map { s in
            func metric(_ names: [String]) -> Double? {
                s.metrics.first { m in names.contains(m.metric.lowercased()) && m.unit == "Gy" }?.value
            }
            return Entry(name: s.name, volumeCC: s.volumeCc, meanGy: s.meanGy, maxGy: s.maxGy,
                         d95Gy: metric(["d95%", "d95%[gy]"]), d5Gy: metric(["d5%", "d5%[gy]"]), curve: nil, dvh: nil)
        })
    }

    /// This set reduced to curves sampled at `doses` (for a like-for-like comparison with a CSV).
    func sampled(at doses: [String: [Double]]) -> DVHSet {
        var out = self
        out.kind = .csv
        out.entries = entries.map { e in
            guard let dvh = e.dvh, let ds = doses[e.name] ?? doses.values.first else { return e }
            return Self.entryFromCurve(e.name, ds.map { (doseGy: $0, volumeCC: dvh.volumeCC(atLeast: $0)) })
        }
        return out
    }
}

/// A tolerance on doses: a percentage of a reference dose, or Gy.
public enum DoseTolerance: Sendable, Equatable, Codable {
    case percent(Double)
    case gy(Double)

    /// Parses "1%", "0.5 %", "0.1Gy", "0.1 Gy".
    public static func parse(_ s: String) -> DoseTolerance? {
        let t = s.trimmingSpaces().lowercased()
        if t.hasSuffix("%"), let v = Double(t.dropLast().trimmingSpaces()), v >= 0 { return .percent(v) }
        if t.hasSuffix("gy"), let v = Double(t.dropLast(2).trimmingSpaces()), v >= 0 { return .gy(v) }
        return nil
    }
}

/// The comparison of two DVH sets: per structure the differences in volume, mean, D95,
/// D5 and max, and a DVH agreement score.
public struct DVHComparison: Codable, Sendable {
    public var schema = "sbrt.compare/1"
    public var baseline: String
    public var current: String
    public var mode: String
    public var doseToleranceGy: Double
    public var doseToleranceText: String
    public var referenceDoseGy: Double
    public var volumeTolerancePercent: Double
    public var minimumAgreementPercent: Double
    public var structures: [Structure]
    public var onlyInBaseline: [String]
    public var onlyInCurrent: [String]
    public var passed: Bool
    public var conventions: String

    public struct Quantity: Codable, Sendable {
        public var name: String
        public var unit: String
        public var baseline: Double?
        public var current: Double?
        public var difference: Double?
        public var tolerance: Double
        public var withinTolerance: Bool
    }

    public struct Structure: Codable, Sendable {
        public var name: String
        public var currentName: String
        public var quantities: [Quantity]
        /// % of baseline curve points with a current point within the dose and volume tolerance (nil without curves).
        public var agreementPercent: Double?
        public var passed: Bool
        public var failures: [String]
    }

    public struct Options: Sendable {
        public var doseTolerance: DoseTolerance = .percent(0.5)
        /// % of each structure's baseline volume (volume differences) and percentage points
        /// of the relative DVH (agreement score).
        public var volumeTolerancePercent = 0.5
        public var minimumAgreementPercent = 95.0
        /// Reference dose for percentage dose tolerances; nil for the baseline's largest Dmax.
        public var referenceDoseGy: Double?
        public init() {}
    }

    /// Compares `current` with `baseline`.
    public static func run(baseline b0: DVHSet, current c0: DVHSet, options: Options) -> DVHComparison {
        var b = b0, c = c0
        var mode = "\(b.kind.rawValue) vs \(c.kind.rawValue)"
        // Like with like: a CSV side makes the other side a curve sampled at the same doses.
        if b.kind == .csv && c.kind == .dicom {
            c = c.sampled(at: Dictionary(b.entries.map { ($0.name, $0.curve!.map(\.doseGy)) }, uniquingKeysWith: { a, _ in a }))
            mode += " (current sampled at the baseline's doses; statistics from the curves on both sides)"
        } else if c.kind == .csv && b.kind == .dicom {
            b = b.sampled(at: Dictionary(c.entries.map { ($0.name, $0.curve!.map(\.doseGy)) }, uniquingKeysWith: { a, _ in a }))
            mode += " (baseline sampled at the current's doses; statistics from the curves on both sides)"
        }
        let refDose = options.referenceDoseGy ?? (b.entries.compactMap(\.maxGy).max() ?? 0)
        let doseTol: Double
        switch options.doseTolerance {
        case .percent(let p): doseTol = p / 100 * refDose
        case .gy(let g): doseTol = g
        }
        let tolText: String = {
            switch options.doseTolerance {
            case .percent(let p): return String(format: "%g %% of %.2f Gy = %.3f Gy", p, refDose, doseTol)
            case .gy(let g): return String(format: "%g Gy", g)
            }
        }()
        var structures: [Structure] = []
        var onlyB: [String] = []
        var usedC = Set<String>()
        for be in b.entries {
            let ce = c.entries.first { $0.name == be.name } ?? c.entries.first { StructureName.key($0.name) == StructureName.key(be.name) }
            guard let ce else { onlyB.append(be.name); continue }
            usedC.insert(ce.name)
            var qs: [Quantity] = []
            let volTol = options.volumeTolerancePercent / 100 * be.volumeCC
            func q(_ name: String, _ unit: String, _ x: Double?, _ y: Double?, _ tol: Double) {
                let d = (x != nil && y != nil) ? y! - x! : nil
                qs.append(Quantity(name: name, unit: unit, baseline: x, current: y, difference: d, tolerance: tol,
                                   withinTolerance: d.map { abs($0) <= tol + 1e-12 } ?? (x == nil && y == nil)))
            }
            q("volume", "cc", be.volumeCC, ce.volumeCC, volTol)
            q("mean", "Gy", be.meanGy, ce.meanGy, doseTol)
            q("D95%", "Gy", be.d95Gy, ce.d95Gy, doseTol)
            q("D5%", "Gy", be.d5Gy, ce.d5Gy, doseTol)
            q("max", "Gy", be.maxGy, ce.maxGy, doseTol)
            // Quantities one side lacks (a JSON export without D95%) are not compared.
            qs = qs.filter { !($0.baseline == nil || $0.current == nil) || ($0.baseline == nil && $0.current == nil) == false }
            qs = qs.filter { $0.baseline != nil && $0.current != nil }
            let score = agreement(be, ce, doseTolGy: doseTol, volumeTolPercent: options.volumeTolerancePercent)
            var failures = qs.filter { !$0.withinTolerance }.map { String(format: "%@ differs by %+.3f %@ (tolerance %.3f)", $0.name, $0.difference!, $0.unit, $0.tolerance) }
            if let s = score, s < options.minimumAgreementPercent { failures.append(String(format: "DVH agreement %.1f %% < %.1f %%", s, options.minimumAgreementPercent)) }
            structures.append(Structure(name: be.name, currentName: ce.name, quantities: qs, agreementPercent: score, passed: failures.isEmpty, failures: failures))
        }
        let onlyC = c.entries.map(\.name).filter { !usedC.contains($0) }
        return DVHComparison(
            baseline: b0.source, current: c0.source, mode: mode, doseToleranceGy: doseTol, doseToleranceText: tolText,
            referenceDoseGy: refDose, volumeTolerancePercent: options.volumeTolerancePercent,
            minimumAgreementPercent: options.minimumAgreementPercent, structures: structures, onlyInBaseline: onlyB, onlyInCurrent: onlyC,
            passed: onlyB.isEmpty && structures.allSatisfy(\.passed),
            conventions: "differences are current − baseline; dose tolerance \(tolText); volume tolerance \(options.volumeTolerancePercent) % of each structure's baseline volume; agreement score (after Ebert 2010): share of baseline curve points (dose, % volume), up to the first dose with zero volume, that have a current curve point within the ellipse (ΔD/dose tolerance)² + (ΔV/volume tolerance)² ≤ 1; a structure only in the baseline fails, one only in the current is listed")
    }

    /// The agreement score, % of baseline points; nil when either side has no curve.
    static func agreement(_ b: DVHSet.Entry, _ c: DVHSet.Entry, doseTolGy: Double, volumeTolPercent: Double) -> Double? {
        // 0.01 Gy steps, coarser only for doses beyond 1000 Gy (at most 10⁵ points a curve).
        func sampled(_ d: DVH) -> [(doseGy: Double, volumeCC: Double)] { d.curve(stepGy: max(0.01, d.maxGy / 100_000)) }
        let bc: [(doseGy: Double, volumeCC: Double)]
        if let curve = b.curve { bc = curve } else if let d = b.dvh { bc = sampled(d) } else { return nil }
        let cc: [(doseGy: Double, volumeCC: Double)]
        if let curve = c.curve { cc = curve } else if let d = c.dvh { cc = sampled(d) } else { return nil }
        guard b.volumeCC > 0, c.volumeCC > 0, !cc.isEmpty else { return nil }
        let bv = bc.map { 100 * $0.volumeCC / b.volumeCC }, cv = cc.map { 100 * $0.volumeCC / c.volumeCC }
        let cd = cc.map(\.doseGy)
        let dTol = max(doseTolGy, 1e-9), vTol = max(volumeTolPercent, 1e-9)
        let lastPoint = bc.firstIndex { $0.volumeCC <= 0 } ?? (bc.count - 1)
        var pass = 0
        for i in 0...lastPoint {
            let d = bc[i].doseGy, v = bv[i]
            // Current points within ±dose tolerance (doses increase).
            var lo = 0, hi = cd.count
            while lo < hi { let m = (lo + hi) / 2; if cd[m] < d - dTol { lo = m + 1 } else { hi = m } }
            var ok = false
            var j = lo
            while j < cd.count && cd[j] <= d + dTol {
                let x = (cd[j] - d) / dTol, y = (cv[j] - v) / vTol
                if x * x + y * y <= 1 + 1e-12 { ok = true; break }
                j += 1
            }
            // Between samples: the current curve interpolated at the baseline dose.
            if !ok, let k = cd.firstIndex(where: { $0 >= d }) {
                let vi: Double
                if k == 0 || cd[k] == d { vi = cv[k] } else {
                    let t = (d - cd[k - 1]) / (cd[k] - cd[k - 1]); vi = cv[k - 1] + t * (cv[k] - cv[k - 1])
                }
                ok = abs(vi - v) <= vTol
            }
            if ok { pass += 1 }
        }
        return 100 * Double(pass) / Double(lastPoint + 1)
    }
}
