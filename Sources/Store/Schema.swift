import Foundation

/// The store's schema and its migrations (documented table by table in docs/batch.md).
///
/// One logical schema on both backends; only type names differ (`SQLDialect`).
/// `sbrt_schema` holds one row per applied migration; the schema version is its largest
/// `version`. Migrations run on open, in one write transaction, under a lock (SQLite's
/// write lock; a PostgreSQL transaction-level advisory lock), so shards opening one
/// database at the same time migrate it once.
enum Schema {
    /// The newest schema version this code writes and reads.
    static var latestVersion: Int { migrations.last!.version }

    /// Key of the PostgreSQL advisory lock taken while migrating ('sbrt' in ASCII).
    static let advisoryLockKey: Int64 = 0x7362_7274

    struct Migration {
        var version: Int
        var description: String
        var statements: (SQLDialect) -> [String]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, description: "plans, structures, DVH curves, metrics, target indices, verdicts, failures",
                  statements: version1),
        Migration(version: 2, description: "protocol_reviews: the overall outcome of each plan's protocol review; view plan_reviews",
                  statements: version2),
    ]

    static func createSchemaTable(_ d: SQLDialect) -> String {
        """
        CREATE TABLE IF NOT EXISTS sbrt_schema (
            version \(d.integer) PRIMARY KEY,
            description TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )\(d.tableSuffix)
        """
    }

    /// Version 1: the tables of `sbrt batch` and the views `metric_values`,
    /// `structure_values` and `failures`.
    static func version1(_ d: SQLDialect) -> [String] {
        planTables(d) + resultTables(d) + failureTables(d) + views
    }

    /// Version 2: `protocol_reviews`, the overall outcome of each protocol review (per
    /// protocol, minor or major deviation, incomplete, with the reason), and the view
    /// `plan_reviews`. Plans stored before it have no row; `sbrt batch` computes them again.
    static func version2(_ d: SQLDialect) -> [String] {
        [
            """
            CREATE TABLE protocol_reviews (
                plan_key TEXT NOT NULL REFERENCES plans (plan_key) ON DELETE CASCADE,
                protocol_id TEXT NOT NULL,
                overall TEXT NOT NULL,
                reason TEXT,
                PRIMARY KEY (plan_key, protocol_id)
            )\(d.tableSuffix)
            """,
            """
            CREATE VIEW plan_reviews AS
            SELECT r.plan_key, p.folder, p.patient_id, p.plan_label, r.protocol_id, r.overall, r.reason
            FROM protocol_reviews r JOIN plans p ON p.plan_key = r.plan_key
            """,
        ]
    }

    /// Provenance of each plan, and its structures with their DVH curves.
    private static func planTables(_ d: SQLDialect) -> [String] {
        let (int, real, blob, strict) = (d.integer, d.real, d.blob, d.tableSuffix)
        return [
            """
            CREATE TABLE plans (
                plan_key TEXT PRIMARY KEY,
                folder TEXT NOT NULL,
                patient_id TEXT,
                plan_label TEXT,
                dose_sop_instance_uids TEXT NOT NULL,
                structure_set_sop_instance_uid TEXT NOT NULL,
                plan_sop_instance_uid TEXT,
                ct_series_instance_uid TEXT,
                dose_summation_type TEXT,
                rx_gy \(real),
                rx_source TEXT,
                fractions \(int),
                fractions_source TEXT,
                sbrt_version TEXT NOT NULL,
                options_json TEXT NOT NULL,
                created_at TEXT NOT NULL
            )\(strict)
            """,
            "CREATE INDEX plans_folder ON plans (folder)",
            """
            CREATE TABLE structures (
                plan_key TEXT NOT NULL REFERENCES plans (plan_key) ON DELETE CASCADE,
                structure TEXT NOT NULL,
                position \(int) NOT NULL,
                roi_number \(int),
                roi_type TEXT,
                volume_cc \(real) NOT NULL,
                min_gy \(real) NOT NULL,
                mean_gy \(real) NOT NULL,
                max_gy \(real) NOT NULL,
                outside_dose_grid_percent \(real) NOT NULL,
                PRIMARY KEY (plan_key, structure)
            )\(strict)
            """,
            "CREATE INDEX structures_structure ON structures (structure)",
            """
            CREATE TABLE dvh_curves (
                plan_key TEXT NOT NULL,
                structure TEXT NOT NULL,
                bin_width_gy \(real) NOT NULL,
                total_volume_cc \(real) NOT NULL,
                bins \(int) NOT NULL,
                encoding TEXT NOT NULL,
                curve \(blob) NOT NULL,
                PRIMARY KEY (plan_key, structure),
                FOREIGN KEY (plan_key, structure) REFERENCES structures (plan_key, structure) ON DELETE CASCADE
            )\(strict)
            """,
        ]
    }

    /// Metrics per structure, target indices and protocol verdicts per plan.
    private static func resultTables(_ d: SQLDialect) -> [String] {
        let (int, real, strict) = (d.integer, d.real, d.tableSuffix)
        return [
            """
            CREATE TABLE metrics (
                plan_key TEXT NOT NULL,
                structure TEXT NOT NULL,
                position \(int) NOT NULL,
                metric TEXT NOT NULL,
                value \(real),
                unit TEXT NOT NULL,
                note TEXT,
                PRIMARY KEY (plan_key, structure, position),
                FOREIGN KEY (plan_key, structure) REFERENCES structures (plan_key, structure) ON DELETE CASCADE
            )\(strict)
            """,
            "CREATE INDEX metrics_metric ON metrics (metric)",
            """
            CREATE TABLE target_indices (
                plan_key TEXT NOT NULL REFERENCES plans (plan_key) ON DELETE CASCADE,
                position \(int) NOT NULL,
                target TEXT NOT NULL,
                index_name TEXT NOT NULL,
                value \(real),
                unit TEXT NOT NULL,
                note TEXT,
                PRIMARY KEY (plan_key, position)
            )\(strict)
            """,
            """
            CREATE TABLE protocol_verdicts (
                plan_key TEXT NOT NULL REFERENCES plans (plan_key) ON DELETE CASCADE,
                position \(int) NOT NULL,
                protocol_id TEXT NOT NULL,
                constraint_text TEXT NOT NULL,
                structure TEXT NOT NULL,
                plan_structure TEXT,
                value \(real),
                unit TEXT NOT NULL,
                comparator TEXT NOT NULL,
                limit_value \(real),
                minor_limit_value \(real),
                verdict TEXT NOT NULL,
                margin \(real),
                source TEXT NOT NULL,
                mark TEXT NOT NULL,
                note TEXT,
                PRIMARY KEY (plan_key, position)
            )\(strict)
            """,
        ]
    }

    /// Plans and folders that could not be reviewed, keyed so a re-run replaces them.
    private static func failureTables(_ d: SQLDialect) -> [String] {
        [
            """
            CREATE TABLE failure_records (
                failure_key TEXT PRIMARY KEY,
                folder TEXT NOT NULL,
                kind TEXT NOT NULL,
                message TEXT NOT NULL,
                file TEXT,
                plan_key TEXT,
                occurred_at TEXT NOT NULL
            )\(d.tableSuffix)
            """,
            "CREATE INDEX failure_records_folder ON failure_records (folder)",
        ]
    }

    /// The views users query directly (the same SQL on both backends).
    private static let views = [
        """
        CREATE VIEW metric_values AS
        SELECT m.plan_key, p.folder, p.patient_id, m.structure, m.metric, m.value, m.unit, m.note
        FROM metrics m JOIN plans p ON p.plan_key = m.plan_key
        """,
        """
        CREATE VIEW structure_values AS
        SELECT s.plan_key, p.folder, p.patient_id, s.structure, s.roi_type, s.volume_cc,
               s.min_gy, s.mean_gy, s.max_gy, s.outside_dose_grid_percent
        FROM structures s JOIN plans p ON p.plan_key = s.plan_key
        """,
        """
        CREATE VIEW failures AS
        SELECT folder, kind, message, file, plan_key, occurred_at FROM failure_records
        """,
    ]
}
