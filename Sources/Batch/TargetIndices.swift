import Dosimetry
import Foundation
import Store

/// The plan indices stored for every target of a plan (`target_indices`).
///
/// Targets are what `sbrt dvh` takes as targets (`DVHAnalysis.isTarget`): the ROIs whose
/// RT ROI Interpreted Type (3006,00A4) is GTV, CTV, PTV or ITV. Each index is the value
/// `sbrt dvh --metrics` reports for that structure (docs/dvh.md): HI (ICRU 83), CI (RTOG),
/// PCI (Paddick), GI (Paddick), R50, R100 and D2cm (% of Rx), with its isodose volumes
/// connected to the target. An index that needs the prescription is stored without a
/// value, with the reason in `note`, when the plan states none.
enum TargetIndices {
    static let names = ["HI", "CI", "PCI", "GI", "R50", "R100", "D2cm"]
    static let metrics: [Metric] = names.map { try! Metric.parse($0) }

    /// Every index of every target of `analysis`, targets in report order.
    static func records(_ analysis: DVHAnalysis) -> [TargetIndexRecord] {
        var out: [TargetIndexRecord] = []
        for t in analysis.report.structures.map(\.name) where analysis.isTarget(t) {
            for m in metrics {
                guard let r = analysis.metric(m, of: t) else { continue }
                out.append(TargetIndexRecord(target: t, index: m.text, value: r.value, unit: r.unit, note: r.note))
            }
        }
        return out
    }
}
