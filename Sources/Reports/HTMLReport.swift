import Base
import Foundation
import Dosimetry
import PlanReview
import Rendering
import RTModel
import VoxelKit

/// A single self-contained HTML review report: verdict table, DVH plot and isodose
/// slices through each target, images embedded as PNG data URIs, no scripts, no
/// external resources (readable offline in any browser).
public enum HTMLReport {
    /// What goes into a report.
    public struct Content {
        public var title: String
        public var study: ResolvedStudy
        public var path: String
        public var check: CheckReport?
        public var eligibility: EligibilityReport?
        /// DVHs already computed for the review, reused for the plot.
        public var analysis: DVHAnalysis?
        /// The image series under the slices (number or Series Instance UID, see
        /// `ResolvedStudy.selectImages`); nil for the planning images.
        public var image: String?

        public init(title: String, study: ResolvedStudy, path: String, check: CheckReport? = nil, eligibility: EligibilityReport? = nil,
                    analysis: DVHAnalysis? = nil, image: String? = nil) {
            self.title = title
            self.study = study
            self.path = path
            self.check = check
            self.eligibility = eligibility
            self.analysis = analysis
            self.image = image
        }
    }

    /// Renders the figures and writes the report as one output (`OutputFiles`).
    /// - Throws: `SBRTError` with the renderer's or the file system's message.
    public static func write(_ content: Content, to path: String) throws {
        try OutputFiles.write(try render(content), to: path)
    }

    /// Curves of the ROIs at `indices`: from the review's analysis where it has them,
    /// the rest computed on the same (already decoded) dose.
    /// DVHs are found under the names as expressions write them (`StructureMatcher.quote`:
    /// "Spinal Cord" in quotes), as the review asks for them.
    static func dvhCurves(_ c: Content, rois: [ROI], indices: [Int]) throws -> [DVHCurve] {
        var byName: [String: DVH] = [:]
        for d in c.analysis?.dvhs ?? [] { byName[d.name] = d }
        func known(_ name: String) -> DVH? { byName[StructureMatcher.quote(name)] }
        let missing = indices.filter { known(rois[$0].name) == nil }
        if !missing.isEmpty {
            var request = DVHRequest()
            request.structures = missing.map { StructureMatcher.quote(rois[$0].name) }
            for d in try DVHAnalysis.run(c.study, request).dvhs { byName[d.name] = d }
        }
        return indices.compactMap { n in
            known(rois[n].name).map { DVHCurve(name: rois[n].name, colour: SliceRenderer.colour(of: rois[n], index: n), dvh: $0) }
        }
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func num(_ v: Double?, _ d: Int = 2) -> String { v.map { String(format: "%.\(d)f", $0) } ?? "n/e" }

    /// The report's HTML text.
    public static func render(_ c: Content) throws -> String {
        var h = head(c)
        if let r = c.check { h += checkSection(r) }
        if let e = c.eligibility { h += eligibilitySection(e) }
        h += "<h2>Figures</h2>\n"
        for f in try figures(c) { h += "<figure><img alt=\"\(esc(f.caption))\" src=\"\(f.dataURI)\"><figcaption>\(esc(f.caption))</figcaption></figure>\n" }
        h += "<p class=\"note\">Marks: [V] checked against primary text; [S] secondary source; [NV] not verified — check the primary source before clinical use; [R] stated by Smile et al., Ann Palliat Med 2021 (the review behind sbrt); [D] derived here (sbrt's default where a trial text is silent).</p>\n"
        h += "<p class=\"notice\">\(esc(ResearchUse.notice))</p>\n</body></html>\n"
        return h
    }

    /// The report's figures: the DVH plot and axial slices through up to six targets
    /// (PTV and GTV by ROI type), as PNG data URIs with their captions.
    ///
    /// The figures are independent once the study is loaded, so they are drawn and
    /// encoded concurrently (one job per figure); their order is the plot, then the
    /// slices in ROI order.
    static func figures(_ c: Content) throws -> [(caption: String, dataURI: String)] {
        do {
            // The slices are axial, through the targets' centroids: only the images they
            // cut are decoded (a CT planning series; the others whole).
            let targetROIs = (c.study.structureSet?.rois ?? []).filter { Self.isSliceTarget($0) }.prefix(6)
            let planes = c.image == nil ? c.study.images.flatMap { RenderStudy.planes(through: Array(targetROIs), of: $0) } : nil
            let study = try RenderStudy.load(c.study, image: c.image, planes: planes)
            let jobs = figureJobs(c, study)
            var results = [Result<(caption: String, dataURI: String), Error>?](repeating: nil, count: jobs.count)
            results.withUnsafeMutableBufferPointer { out in
                let o = out
                Parallel.forEach(jobs.count) { i in o[i] = Result { try jobs[i]() } }
            }
            return try results.map { try $0!.get() }
        } catch let e as SBRTError {
            throw SBRTError(e.kind, "HTML report: \(e.message)", file: e.file)
        }
    }

    /// The ROIs the report's DVH plot draws (by index): every ROI with closed contours
    /// except the body outline (RT ROI Interpreted Type EXTERNAL).
    static func plotted(_ rois: [ROI]) -> [Int] {
        rois.indices.filter { !rois[$0].isExternal && rois[$0].hasClosedContours }
    }

    /// The names of the ROIs the DVH plot of a report on `study` draws: a review computes
    /// their DVHs in its own pass (`CheckRequest.alsoStructures`), so the report does not
    /// start a second one.
    public static func plottedStructures(_ study: ResolvedStudy) -> [String] {
        let rois = study.structureSet?.rois ?? []
        return plotted(rois).map { rois[$0].name }
    }

    /// One closure per figure: the DVH plot (when there is a dose and a drawable
    /// structure), then a slice through each target (at most six).
    private static func figureJobs(_ c: Content, _ study: RenderStudy) -> [() throws -> (caption: String, dataURI: String)] {
        var jobs: [() throws -> (caption: String, dataURI: String)] = []
        let rxGy = c.check?.rxGy ?? c.eligibility?.rxGy
        let indices = plotted(study.rois)
        if study.doseField != nil, !indices.isEmpty {
            jobs.append {
                let curves = try dvhCurves(c, rois: study.rois, indices: indices)
                let plot = DVHPlot.render(curves, rxGy: rxGy ?? study.plan?.prescriptionGy, width: 900, height: 620)
                return ("Cumulative DVH of \(curves.map(\.name).joined(separator: ", "))", try dataURI(plot))
            }
        }
        var targets = study.rois.indices.filter { Self.isSliceTarget(study.rois[$0]) }
        if targets.isEmpty, let t = study.defaultTargetIndex { targets = [t] }
        for n in targets.prefix(6) where study.rois[n].hasClosedContours {
            jobs.append {
                var req = SliceRequest()
                req.position = .through(study.rois[n].name)
                req.zoomTo = study.rois[n].name
                req.paddingMM = 40
                req.widthPx = 640
                if let rxGy { req.rxGy = rxGy }
                let s = try SliceRenderer.render(study, req)
                return ("Axial slice through \(study.rois[n].name): \(s.caption)", try dataURI(s.panel))
            }
        }
        return jobs
    }

    private static func dataURI(_ image: RGBAImage) throws -> String {
        "data:image/png;base64," + (try PNGEncoder.encode(image, compression: .fast)).base64EncodedString()
    }

    /// A structure the report draws a slice through: of RT ROI Interpreted Type PTV or GTV
    /// (not every target: a CTV or ITV slice would repeat the GTV's or PTV's).
    static func isSliceTarget(_ roi: ROI) -> Bool { ["PTV", "GTV"].contains((roi.interpretedType ?? "").uppercased()) }

    static func head(_ c: Content) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(esc(c.title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:24px;color:#1b1b1b;max-width:1400px}
        h1{font-size:1.5em;margin:0 0 4px} h2{font-size:1.15em;margin:28px 0 8px;border-bottom:1px solid #ccc}
        .meta{color:#555;font-size:.92em} table{border-collapse:collapse;font-size:.9em;margin:8px 0}
        th,td{border:1px solid #d0d0d0;padding:4px 8px;text-align:left;vertical-align:top} th{background:#f2f2f2}
        td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .ok{background:#e3f4e3} .minor{background:#fff3c4} .major{background:#f9d0d0;font-weight:600} .info{background:#eef1f7} .open{background:#e6e6e6;font-style:italic}
        .overall{display:inline-block;padding:6px 12px;border-radius:4px;font-weight:600;margin:8px 0}
        figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top} figcaption{font-size:.85em;color:#444;max-width:640px}
        img{border:1px solid #ccc;max-width:100%} .note{font-size:.85em;color:#444} ul{margin:4px 0}
        .notice{font-size:.9em;border:1px solid #b0b0b0;padding:6px 10px;background:#fafafa}
        </style></head><body>
        <h1>\(esc(c.title))</h1>
        <div class="meta">Plan folder: \(esc(c.path)) · generated by sbrt (offline, no network resources)</div>
        <p class="notice">\(esc(ResearchUse.notice))</p>

        """
    }

    static func cls(_ v: Verdict) -> String {
        switch v {
        case .perProtocol: return "ok"
        case .minorDeviation: return "minor"
        case .majorDeviation: return "major"
        case .notEvaluable: return "open"
        }
    }

    static func cls(_ o: Overall) -> String {
        switch o {
        case .perProtocol: return "ok"
        case .minorDeviation: return "minor"
        case .majorDeviation: return "major"
        case .incomplete: return "open"
        }
    }

    static func checkSection(_ r: CheckReport) -> String {
        var h = "<div class=\"meta\">Protocol: \(esc(r.protocolName)) (\(esc(r.protocolID)); \(esc(r.protocolSource.mark)) \(esc(r.protocolSource.source)))"
        if !r.included.isEmpty { h += " · includes \(esc(r.included.joined(separator: ", ")))" }
        h += "<br>Prescription: \(r.rxGy.map { num($0) + " Gy (" + esc(r.rxSource ?? "") + ")" } ?? "unknown") · fractions: \(r.fractions.map { "\($0) (" + esc(r.fractionsSource ?? "") + ")" } ?? "unknown")"
        if let a = r.age { h += " · age \(num(a, 0)) (\(esc(r.ageSource ?? "")))" }
        if let d = r.dose { h += "<br>Dose: \(esc(d.summationType.isEmpty ? "no" : d.summationType)) Dose Summation Type: \(esc(d.summary))" }
        h += "</div>\n<div class=\"overall \(cls(r.overall))\">Overall: \(esc(r.overall.rawValue))</div>\n"
        if !r.incomplete.isEmpty {
            h += "<p class=\"note\">\(r.overall == .incomplete ? "Incomplete" : "Also incomplete"): \(esc(r.incomplete.joined(separator: "; ")))</p>\n"
        }
        h += "<h2>Verdicts</h2>\n<table><tr><th>Constraint</th><th>Structure</th><th>Value</th><th>Limit</th><th>Verdict</th><th>Margin</th><th>Mark</th><th>Source</th><th>Note</th></tr>\n"
        for row in r.rows { h += checkRow(row) }
        h += "</table>\n"
        let required = r.protocolStructuresNotFound.filter(\.required).map(\.name)
        let optional = r.protocolStructuresNotFound.filter { !$0.required }.map(\.name)
        if !required.isEmpty { h += "<p class=\"note\">Required protocol structures not found: \(esc(required.joined(separator: ", ")))</p>\n" }
        if !optional.isEmpty { h += "<p class=\"note\">Protocol structures not found (optional, not evaluated): \(esc(optional.joined(separator: ", ")))</p>\n" }
        if !r.planStructuresUnmatched.isEmpty { h += "<p class=\"note\">Plan structures matching no protocol structure: \(esc(r.planStructuresUnmatched.joined(separator: ", ")))</p>\n" }
        if !r.notes.isEmpty { h += "<ul class=\"note\">" + r.notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n" }
        h += "<p class=\"note\">Conventions: end caps \(esc(r.conventions.endCap)); \(esc(r.conventions.volumeAtDose)); \(esc(r.conventions.doseAtVolume)); \(esc(r.conventions.margin)); \(esc(r.conventions.tables)); \(esc(r.conventions.notEvaluable)).</p>\n"
        return h
    }

    static func checkRow(_ row: CheckReport.Row) -> String {
        let unit = row.unit.isEmpty ? "" : " " + row.unit
        var limit = row.limit.map { "\(row.comparator) \(num($0))\(unit)" } ?? "—"
        if let m = row.minorLimit { limit += " (minor \(row.comparator) \(num(m)))" }
        let structure = row.planStructure.map { $0 == row.structure ? $0 : "\(row.structure) → \($0)" } ?? row.structure
        let note = [row.reason.map { "not evaluable: " + $0 }, row.note].compactMap { $0 }.joined(separator: "; ")
        var h = "<tr class=\"\(cls(row.verdict))\"><td>\(esc(row.constraint))</td><td>\(esc(structure))</td><td class=\"num\">\(row.value.map { num($0) + unit } ?? "n/e")</td>"
        h += "<td class=\"num\">\(esc(limit))</td><td>\(esc(row.verdict.rawValue))</td><td class=\"num\">\(row.verdict == .notEvaluable ? "" : row.margin.map { String(format: "%+.2f", $0) + unit } ?? "")</td>"
        h += "<td>\(esc(row.mark))</td><td>\(esc(row.source))</td><td class=\"note\">\(esc(note))</td></tr>\n"
        return h
    }

    static func eligibilitySection(_ e: EligibilityReport) -> String {
        let overallClass: String = { switch e.overall { case .meets: return "ok"; case .doesNotMeet: return "major"; case .incomplete: return "open" } }()
        var h = "<div class=\"meta\">Prescription: \(e.rxGy.map { num($0) + " Gy" } ?? "unknown") in \(e.fractions.map { "\($0) fx" } ?? "? fx") · age \(e.age.map { num($0, 0) + " (" + esc(e.ageSource ?? "") + ")" } ?? "unknown")</div>\n"
        h += "<div class=\"overall \(overallClass)\">\(esc(ReportText.eligibilityOverall(e)))</div>\n"
        h += "<h2>Lesions</h2>\n<table><tr><th>Lesion</th><th>Greatest dimension (3D Feret)</th><th>Volume</th></tr>\n"
        for l in e.lesions { h += "<tr><td>\(esc(l.name))</td><td class=\"num\">\(String(format: "%.2f cm", l.feretMM / 10))</td><td class=\"num\">\(String(format: "%.2f cc", l.volumeCC))</td></tr>\n" }
        h += "</table>\n<h2>Rules</h2>\n<table><tr><th>Rule</th><th>Plan</th><th>Requirement</th><th>Outcome</th><th>Mark</th><th>Source</th><th>Note</th></tr>\n"
        for x in e.rules {
            let k: String = { switch x.outcome { case .eligible: return "ok"; case .notEligible: return "major"; case .flag: return "minor"; case .notEvaluable, .notChecked: return "open"; case .note, .notApplicable: return "info" } }()
            h += "<tr class=\"\(k)\"><td>\(esc(x.rule))</td><td>\(esc(x.value))</td><td>\(esc(x.requirement))</td><td>\(esc(x.outcome.rawValue))</td><td>\(esc(x.mark))</td><td>\(esc(x.source))</td><td class=\"note\">\(esc(x.note ?? ""))</td></tr>\n"
        }
        h += "</table>\n"
        if !e.notes.isEmpty { h += "<ul class=\"note\">" + e.notes.map { "<li>\(esc($0))</li>" }.joined() + "</ul>\n" }
        h += "<p class=\"note\">\(esc(e.conventions))</p>\n"
        return h
    }
}
