import Base
import Foundation
import Store

/// `sbrt batch export`: the metric values of a store as CSV or JSON, for R, pandas or a
/// spreadsheet.
///
/// Rows come in the store's order (folder and plan key bytewise, then structures and
/// metrics in report order: `PlanStore.metricRows`), optionally one structure (ASCII
/// case ignored) and one metric (exact TG-263 text). Values are written with the
/// shortest text that reads back to the same double (Swift's `description`), so an
/// export loses nothing.
public enum BatchExport {
    /// The CSV columns, in order.
    public static let columns = ["plan_key", "folder", "patient_id", "plan_label", "structure", "metric", "value", "unit", "note"]

    /// The rows as CSV: a header of `columns`, then one line per value; an empty field for
    /// an absent value, patient ID, label or note; RFC 4180 quoting (`CSV`).
    public static func csv(_ rows: [MetricRow]) -> String {
        var out = CSV.row(columns)
        for r in rows {
            out += CSV.row([r.planKey, r.folder, r.patientID ?? "", r.planLabel ?? "", r.structure, r.metric,
                            r.value.map { "\($0)" } ?? "", r.unit, r.note ?? ""])
        }
        return out
    }

    /// The JSON document: the metric rows, the protocol reviews' overall outcomes and the
    /// failures of the store.
    public struct Document: Encodable {
        public var schema = "sbrt.batch-export/1"
        /// The database, as shown to a user (a PostgreSQL URL without its password).
        public var database: String
        public var structure: String?
        public var metric: String?
        public var metrics: [Metric]
        /// The overall outcome of every stored protocol review (`plan_reviews`).
        public var reviews: [Review]
        public var failures: [Failure]

        public struct Metric: Encodable {
            var planKey: String, folder: String, patientID: String?, planLabel: String?
            var structure: String, metric: String, value: Double?, unit: String, note: String?
        }

        public struct Review: Encodable {
            var planKey: String, folder: String, patientID: String?, planLabel: String?
            var protocolID: String, overall: String, reason: String?
        }

        public struct Failure: Encodable {
            var folder: String, kind: String, message: String, file: String?, planKey: String?, occurredAt: String
        }
    }

    /// The rows, reviews and failures as sbrt's JSON (`JSONOutput`: snake_case keys, sorted).
    /// - Throws: `SBRTError` (`.invalidValue`) for a non-finite value (the store refuses them).
    public static func json(_ rows: [MetricRow], reviews: [ReviewRow] = [], failures: [FailureRecord], database: String,
                            structure: String?, metric: String?) throws -> String {
        let time = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        let doc = Document(
            database: database, structure: structure, metric: metric,
            metrics: rows.map { .init(planKey: $0.planKey, folder: $0.folder, patientID: $0.patientID, planLabel: $0.planLabel,
                                      structure: $0.structure, metric: $0.metric, value: $0.value, unit: $0.unit, note: $0.note) },
            reviews: reviews.map { .init(planKey: $0.planKey, folder: $0.folder, patientID: $0.patientID, planLabel: $0.planLabel,
                                         protocolID: $0.review.protocolID, overall: $0.review.overall, reason: $0.review.reason) },
            failures: failures.map { .init(folder: $0.folder, kind: $0.kind, message: $0.message, file: $0.file,
                                           planKey: $0.planKey, occurredAt: time.format($0.occurredAt)) })
        return try JSONOutput.text(doc)
    }
}
