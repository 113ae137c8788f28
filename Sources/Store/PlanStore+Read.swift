import Foundation

/// One metric value with the plan it belongs to: a row of `sbrt batch export`.
public struct MetricRow: Sendable, Equatable {
    public var planKey: String
    public var folder: String
    public var patientID: String?
    public var planLabel: String?
    public var structure: String
    public var metric: String
    public var value: Double?
    public var unit: String
    public var note: String?

    public init(planKey: String, folder: String, patientID: String?, planLabel: String?, structure: String, metric: String,
                value: Double?, unit: String, note: String?) {
        self.planKey = planKey
        self.folder = folder
        self.patientID = patientID
        self.planLabel = planLabel
        self.structure = structure
        self.metric = metric
        self.value = value
        self.unit = unit
        self.note = note
    }
}

/// The overall outcome of one plan's protocol review, with the plan (the view `plan_reviews`).
public struct ReviewRow: Sendable, Equatable {
    public var planKey: String
    public var folder: String
    public var patientID: String?
    public var planLabel: String?
    public var review: ReviewRecord
}

/// One structure's stored DVH with the plan it belongs to (population DVH plots).
public struct CurveRow: Sendable, Equatable {
    public var planKey: String
    public var folder: String
    public var patientID: String?
    /// RT Plan Label of the plan, when it has one.
    public var planLabel: String?
    /// The options the plan was computed with (canonical JSON), for grouping by protocol.
    public var optionsJSON: String
    public var structure: String
    public var curve: StoredDVH

    public init(planKey: String, folder: String, patientID: String?, planLabel: String?, optionsJSON: String, structure: String,
                curve: StoredDVH) {
        self.planKey = planKey
        self.folder = folder
        self.patientID = patientID
        self.planLabel = planLabel
        self.optionsJSON = optionsJSON
        self.structure = structure
        self.curve = curve
    }
}

extension PlanStore {
    /// Metric values of every stored plan, optionally of one structure (matched without
    /// regard to ASCII case) and one metric (exact TG-263 text).
    ///
    /// Order (deterministic, the same on both backends): folder and plan key by their
    /// bytes, then the structures and metrics in the order they were written.
    public func metricRows(structure: String? = nil, metric: String? = nil) throws -> [MetricRow] {
        let collate = connection.dialect.bytewiseCollation
        var sql = """
            SELECT m.plan_key, p.folder, p.patient_id, p.plan_label, m.structure, m.metric, m.value, m.unit, m.note
            FROM metrics m
            JOIN plans p ON p.plan_key = m.plan_key
            JOIN structures s ON s.plan_key = m.plan_key AND s.structure = m.structure
            WHERE 1 = 1
            """
        var args: [DatabaseValue] = []
        if let structure {
            sql += " AND lower(m.structure) = lower(?)"
            args.append(.text(structure))
        }
        if let metric {
            sql += " AND m.metric = ?"
            args.append(.text(metric))
        }
        sql += " ORDER BY p.folder COLLATE \(collate), m.plan_key COLLATE \(collate), s.position, m.position"
        return try locked {
            try connection.query(sql, args).map { r in
                MetricRow(planKey: try r.text(0), folder: try r.text(1), patientID: try r.optionalText(2),
                          planLabel: try r.optionalText(3), structure: try r.text(4), metric: try r.text(5),
                          value: try r.optionalDouble(6), unit: try r.text(7), note: try r.optionalText(8))
            }
        }
    }

    /// The stored DVH of `structure` (ASCII case ignored) in every plan that has it,
    /// ordered by folder and plan key (bytewise).
    public func dvhCurves(structure: String) throws -> [CurveRow] {
        let collate = connection.dialect.bytewiseCollation
        let sql = """
            SELECT c.plan_key, p.folder, p.patient_id, p.plan_label, p.options_json, c.structure,
                   c.encoding, c.curve, c.bins, c.bin_width_gy, c.total_volume_cc
            FROM dvh_curves c JOIN plans p ON p.plan_key = c.plan_key
            WHERE lower(c.structure) = lower(?)
            ORDER BY p.folder COLLATE \(collate), c.plan_key COLLATE \(collate), c.structure COLLATE \(collate)
            """
        return try locked {
            try connection.query(sql, [.text(structure)]).map { r in
                CurveRow(planKey: try r.text(0), folder: try r.text(1), patientID: try r.optionalText(2),
                         planLabel: try r.optionalText(3), optionsJSON: try r.text(4),
                         structure: try r.text(5), curve: try Self.curve(r, from: 6))
            }
        }
    }

    /// The overall outcome of every stored protocol review (of `protocolID` only, when
    /// given), ordered by folder, plan key and protocol id (bytewise).
    public func reviewRows(protocolID: String? = nil) throws -> [ReviewRow] {
        let collate = connection.dialect.bytewiseCollation
        let filter = protocolID == nil ? "" : "WHERE protocol_id = ? "
        return try locked {
            try connection.query("""
                SELECT plan_key, folder, patient_id, plan_label, protocol_id, overall, reason FROM plan_reviews
                \(filter)ORDER BY folder COLLATE \(collate), plan_key COLLATE \(collate), protocol_id COLLATE \(collate)
                """, protocolID.map { [.text($0)] } ?? []).map { r in
                ReviewRow(planKey: try r.text(0), folder: try r.text(1), patientID: try r.optionalText(2), planLabel: try r.optionalText(3),
                          review: ReviewRecord(protocolID: try r.text(4), overall: try r.text(5), reason: try r.optionalText(6)))
            }
        }
    }

    /// Every recorded failure, ordered by folder and failure key (bytewise).
    public func failures() throws -> [FailureRecord] {
        let collate = connection.dialect.bytewiseCollation
        return try locked {
            try connection.query("""
                SELECT folder, kind, message, file, plan_key, occurred_at FROM failure_records
                ORDER BY folder COLLATE \(collate), failure_key COLLATE \(collate)
                """).map { r in
                FailureRecord(folder: try r.text(0), kind: try r.text(1), message: try r.text(2), file: try r.optionalText(3),
                              planKey: try r.optionalText(4), occurredAt: try Timestamp.date(r.text(5)))
            }
        }
    }

    /// The stored plan with all its rows, or nil.
    public func plan(planKey: String) throws -> PlanRecord? {
        try locked {
            let key: [DatabaseValue] = [.text(planKey)]
            let c = connection
            guard let p = try c.query("SELECT \(PlanRows.planColumns.joined(separator: ", ")) FROM plans WHERE plan_key = ?", key).first else {
                return nil
            }
            var plan = try Self.plan(p)
            let curves = try c.query("SELECT structure, encoding, curve, bins, bin_width_gy, total_volume_cc FROM dvh_curves WHERE plan_key = ?", key)
            var curveByName: [String: StoredDVH] = [:]
            for r in curves { curveByName[try r.text(0)] = try Self.curve(r, from: 1) }
            var metricsByName: [String: [MetricRecord]] = [:]
            for r in try c.query("SELECT structure, metric, value, unit, note FROM metrics WHERE plan_key = ? ORDER BY position", key) {
                metricsByName[try r.text(0), default: []].append(
                    MetricRecord(metric: try r.text(1), value: try r.optionalDouble(2), unit: try r.text(3), note: try r.optionalText(4)))
            }
            plan.structures = try c.query("""
                SELECT structure, roi_number, roi_type, volume_cc, min_gy, mean_gy, max_gy, outside_dose_grid_percent
                FROM structures WHERE plan_key = ? ORDER BY position
                """, key).map { r in
                let name = try r.text(0)
                guard let dvh = curveByName[name] else {
                    throw StoreError(.corruptData, "plan \(planKey): structure \(name) has no DVH curve", file: location.description)
                }
                return StructureRecord(name: name, roiNumber: try r.optionalInt(1), type: try r.optionalText(2),
                                       volumeCC: try r.double(3), minGy: try r.double(4), meanGy: try r.double(5),
                                       maxGy: try r.double(6), outsideDoseGridPercent: try r.double(7),
                                       metrics: metricsByName[name] ?? [], dvh: dvh)
            }
            plan.targetIndices = try Self.targetIndices(c, key)
            plan.verdicts = try Self.verdicts(c, key)
            plan.reviews = try c.query("SELECT protocol_id, overall, reason FROM protocol_reviews WHERE plan_key = ? ORDER BY protocol_id COLLATE \(c.dialect.bytewiseCollation)", key)
                .map { ReviewRecord(protocolID: try $0.text(0), overall: try $0.text(1), reason: try $0.optionalText(2)) }
            return plan
        }
    }

    private static func plan(_ r: Row) throws -> PlanRecord {
        PlanRecord(planKey: try r.text(0), folder: try r.text(1), patientID: try r.optionalText(2), planLabel: try r.optionalText(3),
                   doseSOPInstanceUIDs: try r.text(4).split(separator: "\\").map(String.init),
                   structureSetSOPInstanceUID: try r.text(5), planSOPInstanceUID: try r.optionalText(6),
                   ctSeriesInstanceUID: try r.optionalText(7), doseSummationType: try r.optionalText(8),
                   rxGy: try r.optionalDouble(9), rxSource: try r.optionalText(10), fractions: try r.optionalInt(11),
                   fractionsSource: try r.optionalText(12), sbrtVersion: try r.text(13), optionsJSON: try r.text(14),
                   createdAt: try Timestamp.date(r.text(15)))
    }

    /// A DVH curve from the columns encoding, curve, bins, bin_width_gy, total_volume_cc at `i`….
    private static func curve(_ r: Row, from i: Int) throws -> StoredDVH {
        try StoredDVH.decode(encoding: r.text(i), bytes: r.blob(i + 1), bins: r.int(i + 2),
                            binWidthGy: r.double(i + 3), totalVolumeCC: r.double(i + 4))
    }

    private static func targetIndices(_ c: DatabaseConnection, _ key: [DatabaseValue]) throws -> [TargetIndexRecord] {
        try c.query("SELECT target, index_name, value, unit, note FROM target_indices WHERE plan_key = ? ORDER BY position", key).map { r in
            TargetIndexRecord(target: try r.text(0), index: try r.text(1), value: try r.optionalDouble(2),
                              unit: try r.text(3), note: try r.optionalText(4))
        }
    }

    private static func verdicts(_ c: DatabaseConnection, _ key: [DatabaseValue]) throws -> [VerdictRecord] {
        try c.query("""
            SELECT protocol_id, constraint_text, structure, plan_structure, value, unit, comparator, limit_value,
                   minor_limit_value, verdict, margin, source, mark, note
            FROM protocol_verdicts WHERE plan_key = ? ORDER BY position
            """, key).map { r in
            VerdictRecord(protocolID: try r.text(0), constraint: try r.text(1), structure: try r.text(2),
                          planStructure: try r.optionalText(3), value: try r.optionalDouble(4), unit: try r.text(5),
                          comparator: try r.text(6), limit: try r.optionalDouble(7), minorLimit: try r.optionalDouble(8),
                          verdict: try r.text(9), margin: try r.optionalDouble(10), source: try r.text(11),
                          mark: try r.text(12), note: try r.optionalText(13))
        }
    }
}
