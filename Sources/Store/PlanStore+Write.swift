import Base
import Foundation

extension PlanStore {
    /// Whether a plan with this key is stored (the orchestrator skips it unless `--rescan`).
    public func contains(planKey: String) throws -> Bool {
        try locked { try !connection.query("SELECT 1 FROM plans WHERE plan_key = ?", [.text(planKey)]).isEmpty }
    }

    /// The keys of every stored plan (one query, for skipping a whole cohort at once).
    public func storedPlanKeys() throws -> Set<String> {
        try locked { Set(try connection.query("SELECT plan_key FROM plans").map { try $0.text(0) }) }
    }

    /// The keys of plans computed with a protocol (`"protocol_id"` in their options) that
    /// have no `protocol_reviews` row: written before schema version 2, so their review's
    /// overall outcome is unknown and `sbrt batch` computes them again.
    public func planKeysLackingReview() throws -> Set<String> {
        try locked {
            Set(try connection.query("""
                SELECT p.plan_key FROM plans p
                WHERE p.options_json LIKE '%"protocol_id":%'
                  AND NOT EXISTS (SELECT 1 FROM protocol_reviews r WHERE r.plan_key = p.plan_key)
                """).map { try $0.text(0) })
        }
    }

    /// Stores `plan`, replacing any earlier copy with the same key, in one transaction:
    /// upsert of the plan row, delete and insert of its structures, DVH curves, metrics,
    /// target indices, verdicts and review outcomes, and removal of the failures it supersedes: those
    /// recorded with its key, the key-less failures of its folder that name no file, and
    /// the failures whose `failureKey` is in `clearingFailures` (the orchestrator's key
    /// for an earlier failure of the same discovered plan). A failure naming another file
    /// of the folder (another plan of a patient folder, an unreadable file) stays. Writing
    /// the same plan twice leaves one copy (the second); `--rescan` is this replacement.
    ///
    /// - Throws: `SBRTError` of kind `.invalidValue` (nothing written) for a non-finite
    ///   number, a NUL in text, an empty key or dose UID list; `.database` when a row
    ///   breaks a key (two structures with one name, say), another writer held the lock
    ///   past the busy timeout, or the connection failed — the transaction is rolled
    ///   back and any earlier copy of the plan stays as it was.
    public func write(_ plan: PlanRecord, clearingFailures: [String] = []) throws {
        try RecordValidation.validate(plan)
        try locked {
            try writeTransaction { c in
                try PlanRows.write(plan, on: c)
                for key in clearingFailures {
                    try c.execute("DELETE FROM failure_records WHERE failure_key = ?", [.text(key)])
                }
            }
        }
    }

    /// Records a failure, replacing an earlier one with the same `failureKey`. A failure
    /// never removes a stored plan.
    public func recordFailure(_ failure: FailureRecord) throws {
        try RecordValidation.validate(failure)
        try locked {
            try writeTransaction { c in
                try c.execute("""
                    INSERT INTO failure_records (failure_key, folder, kind, message, file, plan_key, occurred_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (failure_key) DO UPDATE SET folder = excluded.folder, kind = excluded.kind,
                        message = excluded.message, file = excluded.file, plan_key = excluded.plan_key,
                        occurred_at = excluded.occurred_at
                    """, [.text(failure.failureKey), .text(failure.folder), .text(failure.kind), .text(failure.message),
                          DatabaseValue(failure.file), DatabaseValue(failure.planKey), .text(Timestamp.text(failure.occurredAt))])
            }
        }
    }

    /// Removes the failures with these `failureKey`s (one transaction); keys not stored
    /// are ignored. The batch orchestrator clears failures of files that have since
    /// become readable.
    public func removeFailures(keys: [String]) throws {
        guard !keys.isEmpty else { return }
        try locked {
            try writeTransaction { c in
                for key in keys { try c.execute("DELETE FROM failure_records WHERE failure_key = ?", [.text(key)]) }
            }
        }
    }

    /// Removes a plan and all its rows (one transaction). Returns whether it was stored.
    @discardableResult
    public func deletePlan(planKey: String) throws -> Bool {
        try locked {
            try writeTransaction { c in
                let found = try !c.query("SELECT 1 FROM plans WHERE plan_key = ?", [.text(planKey)]).isEmpty
                try PlanRows.deleteChildren(of: planKey, on: c)
                try c.execute("DELETE FROM plans WHERE plan_key = ?", [.text(planKey)])
                return found
            }
        }
    }
}

/// The statements that write one plan's rows (inside a transaction opened by the caller).
enum PlanRows {
    static let planColumns = [
        "plan_key", "folder", "patient_id", "plan_label", "dose_sop_instance_uids", "structure_set_sop_instance_uid",
        "plan_sop_instance_uid", "ct_series_instance_uid", "dose_summation_type", "rx_gy", "rx_source",
        "fractions", "fractions_source", "sbrt_version", "options_json", "created_at",
    ]

    /// Parameters per multi-row INSERT; below SQLite's (32 766) and PostgreSQL's (65 535) limits.
    static let parametersPerStatement = 960

    static func write(_ plan: PlanRecord, on c: DatabaseConnection) throws {
        let key = DatabaseValue.text(plan.planKey)
        let updates = planColumns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        try c.execute("""
            INSERT INTO plans (\(planColumns.joined(separator: ", ")))
            VALUES (\(placeholders(planColumns.count)))
            ON CONFLICT (plan_key) DO UPDATE SET \(updates)
            """, planValues(plan))
        try deleteChildren(of: plan.planKey, on: c)
        try insert(on: c, "structures", ["plan_key", "structure", "position", "roi_number", "roi_type", "volume_cc",
                                         "min_gy", "mean_gy", "max_gy", "outside_dose_grid_percent"],
                   plan.structures.enumerated().map { i, s in
                       [key, .text(s.name), .integer(Int64(i)), DatabaseValue(s.roiNumber), DatabaseValue(s.type),
                        .real(s.volumeCC), .real(s.minGy), .real(s.meanGy), .real(s.maxGy), .real(s.outsideDoseGridPercent)]
                   })
        try insert(on: c, "dvh_curves", ["plan_key", "structure", "bin_width_gy", "total_volume_cc", "bins", "encoding", "curve"],
                   plan.structures.map { s in
                       [key, .text(s.name), .real(s.dvh.binWidthGy), .real(s.dvh.totalVolumeCC),
                        .integer(Int64(s.dvh.cumulativeCC.count)), .text(StoredDVH.encoding), .blob(s.dvh.encoded())]
                   })
        try insert(on: c, "metrics", ["plan_key", "structure", "position", "metric", "value", "unit", "note"],
                   plan.structures.flatMap { s in
                       s.metrics.enumerated().map { i, m in
                           [key, .text(s.name), .integer(Int64(i)), .text(m.metric), DatabaseValue(m.value), .text(m.unit), DatabaseValue(m.note)]
                       }
                   })
        try insert(on: c, "target_indices", ["plan_key", "position", "target", "index_name", "value", "unit", "note"],
                   plan.targetIndices.enumerated().map { i, t in
                       [key, .integer(Int64(i)), .text(t.target), .text(t.index), DatabaseValue(t.value), .text(t.unit), DatabaseValue(t.note)]
                   })
        try insert(on: c, "protocol_verdicts", ["plan_key", "position", "protocol_id", "constraint_text", "structure", "plan_structure",
                                                "value", "unit", "comparator", "limit_value", "minor_limit_value", "verdict",
                                                "margin", "source", "mark", "note"],
                   plan.verdicts.enumerated().map { i, v in
                       [key, .integer(Int64(i)), .text(v.protocolID), .text(v.constraint), .text(v.structure), DatabaseValue(v.planStructure),
                        DatabaseValue(v.value), .text(v.unit), .text(v.comparator), DatabaseValue(v.limit), DatabaseValue(v.minorLimit),
                        .text(v.verdict), DatabaseValue(v.margin), .text(v.source), .text(v.mark), DatabaseValue(v.note)]
                   })
        try insert(on: c, "protocol_reviews", ["plan_key", "protocol_id", "overall", "reason"],
                   plan.reviews.map { [key, .text($0.protocolID), .text($0.overall), DatabaseValue($0.reason)] })
        try c.execute("DELETE FROM failure_records WHERE plan_key = ? OR (plan_key IS NULL AND folder = ? AND file IS NULL)",
                      [key, .text(plan.folder)])
    }

    static func planValues(_ p: PlanRecord) -> [DatabaseValue] {
        [.text(p.planKey), .text(p.folder), DatabaseValue(p.patientID), DatabaseValue(p.planLabel),
         .text(p.doseSOPInstanceUIDs.joined(separator: "\\")), .text(p.structureSetSOPInstanceUID),
         DatabaseValue(p.planSOPInstanceUID), DatabaseValue(p.ctSeriesInstanceUID), DatabaseValue(p.doseSummationType),
         DatabaseValue(p.rxGy), DatabaseValue(p.rxSource), DatabaseValue(p.fractions), DatabaseValue(p.fractionsSource),
         .text(p.sbrtVersion), .text(p.optionsJSON), .text(Timestamp.text(p.createdAt))]
    }

    /// Deletes a plan's child rows, children of structures first.
    static func deleteChildren(of planKey: String, on c: DatabaseConnection) throws {
        for table in ["dvh_curves", "metrics", "structures", "target_indices", "protocol_verdicts", "protocol_reviews"] {
            try c.execute("DELETE FROM \(table) WHERE plan_key = ?", [.text(planKey)])
        }
    }

    /// Inserts `rows` into `table` with multi-row `INSERT … VALUES (?, …), (?, …)`
    /// statements of at most `parametersPerStatement` bound parameters each.
    static func insert(on c: DatabaseConnection, _ table: String, _ columns: [String], _ rows: [[DatabaseValue]]) throws {
        let perStatement = max(1, parametersPerStatement / columns.count)
        let row = "(" + placeholders(columns.count) + ")"
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(rows.count, start + perStatement)]
            let sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
                + Array(repeating: row, count: chunk.count).joined(separator: ", ")
            try c.execute(sql, chunk.flatMap { $0 })
            start += chunk.count
        }
    }

    static func placeholders(_ n: Int) -> String {
        Array(repeating: "?", count: n).joined(separator: ", ")
    }
}
