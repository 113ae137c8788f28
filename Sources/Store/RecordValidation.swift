import Base

/// Checks of records where they enter the store: numbers finite, text free of NUL
/// (PostgreSQL cannot hold it), keys present. Nothing is written when a check fails.
enum RecordValidation {
    static func validate(_ p: PlanRecord) throws {
        let at = "plan \(p.planKey) (\(p.folder))"
        guard !p.planKey.isEmpty else { throw SBRTError(.invalidValue, "plan in \(p.folder) has an empty plan key") }
        guard !p.doseSOPInstanceUIDs.isEmpty else { throw SBRTError(.invalidValue, "\(at) names no dose") }
        if let bad = p.doseSOPInstanceUIDs.first(where: { $0.isEmpty || $0.contains("\\") }) {
            throw SBRTError(.invalidValue, "\(at): dose SOP Instance UID \"\(bad)\" is empty or holds a backslash")
        }
        try text([p.planKey, p.folder, p.patientID, p.planLabel, p.structureSetSOPInstanceUID, p.planSOPInstanceUID,
                  p.ctSeriesInstanceUID, p.doseSummationType, p.rxSource, p.fractionsSource, p.sbrtVersion, p.optionsJSON]
                 + p.doseSOPInstanceUIDs, at)
        try finite(p.rxGy, "\(at): prescription")
        for s in p.structures {
            let where_ = "\(at), structure \(s.name)"
            try text([s.name, s.type], where_)
            for (v, name) in [(s.volumeCC, "volume"), (s.minGy, "minimum dose"), (s.meanGy, "mean dose"),
                              (s.maxGy, "maximum dose"), (s.outsideDoseGridPercent, "outside-dose-grid percentage")] {
                try finite(v, "\(where_): \(name)")
            }
            for m in s.metrics {
                try text([m.metric, m.unit, m.note], where_)
                try finite(m.value, "\(where_): metric \(m.metric)")
            }
        }
        for t in p.targetIndices {
            try text([t.target, t.index, t.unit, t.note], at)
            try finite(t.value, "\(at): \(t.index) of \(t.target)")
        }
        for v in p.verdicts {
            try text([v.protocolID, v.constraint, v.structure, v.planStructure, v.unit, v.comparator, v.verdict,
                      v.source, v.mark, v.note], at)
            for x in [v.value, v.limit, v.minorLimit, v.margin] { try finite(x, "\(at): constraint \(v.constraint)") }
        }
        for r in p.reviews { try text([r.protocolID, r.overall, r.reason], at) }
    }

    static func validate(_ f: FailureRecord) throws {
        try text([f.folder, f.kind, f.message, f.file, f.planKey], "failure in \(f.folder)")
    }

    private static func finite(_ v: Double?, _ what: String) throws {
        if let v, !v.isFinite { throw SBRTError(.invalidValue, "\(what) is \(v), not a finite number") }
    }

    private static func text(_ values: [String?], _ what: String) throws {
        for case let s? in values where s.utf8.contains(0) {
            throw SBRTError(.invalidValue, "\(what): text holds a NUL character")
        }
    }
}
