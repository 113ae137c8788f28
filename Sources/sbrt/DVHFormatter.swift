import Dosimetry
import Foundation

/// Terminal and CSV renderings of DVH results.
enum DVHFormatter {
    static func n(_ v: Double?, _ digits: Int = 2) -> String {
        guard let v else { return "n/e" }
        return String(format: "%.\(digits)f", v)
    }

    static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        if s.count >= w { return s + " " }
        let fill = String(repeating: " ", count: w - s.count)
        return right ? fill + s + " " : s + fill + " "
    }

    static func table(_ r: DVHReport, folder: String) -> String {
        var out = ""
        func line(_ s: String = "") { out += s + "\n" }
        var head = "DVH of \(folder): dose \((r.provenance.doseFile as NSString).lastPathComponent)"
        if let rx = r.prescription.rxGy { head += ", Rx \(n(rx)) Gy (\(r.prescription.source ?? ""))" } else { head += ", no prescription (indices needing Rx are not evaluable; give --rx)" }
        if let f = r.prescription.fractions { head += ", \(f) fractions" }
        line(head)
        line("Dose: \(r.dose.summationType.isEmpty ? "no" : r.dose.summationType) Dose Summation Type: \(r.dose.summary)")
        line("End caps: \(r.conventions.endCap). V(D) = volume receiving ≥ D; Dx by linear interpolation on the cumulative DVH.")
        line()
        let metricNames = r.structures.first?.metrics.map(\.metric) ?? []
        let nameWidth = max(9, r.structures.map(\.name.count).max() ?? 9)
        var header = pad("Structure", nameWidth) + pad("Volume cc", 10, right: true) + pad("Dmin Gy", 8, right: true) + pad("Dmean Gy", 9, right: true) + pad("Dmax Gy", 8, right: true)
        let units = r.structures.first?.metrics.map { $0.unit } ?? []
        // A metric that names its unit ("V100%[%]", "D2cc[Gy]") is not followed by it again.
        func title(_ m: String, _ u: String) -> String { u.isEmpty || m.hasSuffix("[\(u)]") ? m : m + " " + u }
        let widths = zip(metricNames, units).map { max(8, title($0.0, $0.1).count) }
        for ((m, u), w) in zip(zip(metricNames, units), widths) { header += pad(title(m, u), w, right: true) }
        line(header)
        for s in r.structures {
            var row = pad(s.name, nameWidth) + pad(n(s.volumeCC, 3), 10, right: true) + pad(n(s.minGy), 8, right: true)
                + pad(n(s.meanGy), 9, right: true) + pad(n(s.maxGy), 8, right: true)
            for (m, w) in zip(s.metrics, widths) {
                let digits = m.unit == "" ? 3 : 2
                row += pad(isNotTarget(m) ? "—" : n(m.value, digits), w, right: true)
            }
            line(row)
        }
        var notes = r.structures.flatMap { s in s.metrics.filter { !isNotTarget($0) }.compactMap { m in m.note.map { (m.value == nil ? "n/e = " : "note: ") + "\(s.name) \(m.metric): \($0)" } } }
        if r.structures.contains(where: { $0.metrics.contains(where: isNotTarget) }) {
            notes.append("— = not a target: HI, CI, PCI, GI, R50, R100 and D2cm are computed for targets (RT ROI Interpreted Type GTV, CTV or PTV, or --target NAME)")
        }
        let warnings = r.structures.flatMap { s in s.warnings.map { "\(s.name): \($0)" } }
        if !notes.isEmpty || !warnings.isEmpty {
            line()
            for w in warnings { line("warning: \(w)") }
            // Say each "not evaluable" reason once per metric.
            var seen = Set<String>()
            for note in notes {
                let key = note.split(separator: ":", maxSplits: 1).last.map(String.init) ?? note
                if seen.insert(key).inserted { line(note) }
            }
        }
        return out
    }

    /// A target index left out because the structure is not a target.
    static func isNotTarget(_ m: MetricResult) -> Bool { m.value == nil && (m.note?.hasPrefix("not a target") ?? false) }

    static func comparison(_ rows: [EmbeddedComparison], hasEmbedded: Bool) -> String {
        var out = "\nPlanning system's embedded DVHs (TPS) beside sbrt's:\n"
        guard hasEmbedded else { return out + "  the RT Dose carries no DVH sequence.\n" }
        guard !rows.isEmpty else { return out + "  none of the requested structures has an embedded DVH.\n" }
        let w = max(9, rows.map(\.structure.count).max() ?? 9)
        out += pad("Structure", w) + pad("", 5) + pad("Vol cc", 9, right: true) + pad("Dmin", 7, right: true) + pad("Dmean", 7, right: true)
            + pad("Dmax", 7, right: true) + pad("D95", 7, right: true) + pad("D50", 7, right: true) + pad("D5", 7, right: true) + "  largest gap\n"
        for c in rows {
            func cells(_ pick: (EmbeddedComparison.Pair) -> Double?, _ digits: Int = 2) -> [String] {
                [c.volume, c.minGy, c.meanGy, c.maxGy, c.d95Gy, c.d50Gy, c.d5Gy].enumerated().map { i, p in
                    pad(n(pick(p), i == 0 ? 3 : digits), i == 0 ? 9 : 7, right: true)
                }
            }
            out += pad(c.structure, w) + pad("TPS", 5) + cells { $0.planningSystem }.joined() + "\n"
            out += pad("", w) + pad("sbrt", 5) + cells { $0.sbrt }.joined()
                + String(format: "  %.1f %% of volume at %.2f Gy", c.largestGapPercent, c.largestGapAtGy) + "\n"
        }
        out += "TPS values are computed from its DVH data (not its summary attributes); D values in Gy.\n"
        return out
    }
}
