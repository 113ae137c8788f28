import Dosimetry
import Foundation
import Store

/// The plan indices stored for every target of a plan (`target_indices`).
///
/// Targets are the structures whose RT ROI Interpreted Type (3006,00A4) is `PTV`, or,
/// when no structure of the plan has that type, those whose name starts with `PTV`
/// (ASCII case ignored). Each index is the value `sbrt dvh --metrics` reports for the
/// target (docs/dvh.md): HI (ICRU 83), CI (RTOG), PCI (Paddick), GI (Paddick), R50 and
/// D2cm (% of Rx). Indices that need the prescription are stored without a value, with
/// the reason in `note`, when the plan states none.
enum TargetIndices {
    static let names = ["HI", "CI", "PCI", "GI", "R50", "D2cm"]
    static let metrics: [Metric] = names.map { try! Metric.parse($0) }

    /// The names of the targets among `structures` (name, RT ROI Interpreted Type).
    static func targets(_ structures: [(name: String, type: String?)]) -> [String] {
        let typed = structures.filter { $0.type?.uppercased() == "PTV" }.map(\.name)
        if !typed.isEmpty { return typed }
        return structures.filter { $0.name.uppercased().hasPrefix("PTV") }.map(\.name)
    }

    /// Every index of every target of `analysis`.
    static func records(_ analysis: DVHAnalysis) -> [TargetIndexRecord] {
        let targets = targets(analysis.report.structures.map { ($0.name, $0.type) })
        var out: [TargetIndexRecord] = []
        for t in targets {
            for m in metrics {
                guard let r = analysis.metric(m, of: t) else { continue }
                out.append(TargetIndexRecord(target: t, index: m.text, value: r.value, unit: r.unit, note: r.note))
            }
        }
        return out
    }
}
