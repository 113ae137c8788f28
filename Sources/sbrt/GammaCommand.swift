import ArgumentParser
import Base
import Dosimetry
import Foundation
import Rendering
import RTModel
import VoxelKit

extension SBRT {
    struct GammaCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gamma",
            abstract: "3D gamma index between two doses (Low et al. 1998): pass rate, statistics, map, picture.",
            discussion: """
                REF and EVAL are RT Dose files or plan folders on one frame of reference (any
                grids, spacings, orientations). Every reference voxel centre with dose ≥
                --threshold (% of the normalisation dose) is evaluated; its γ is the exact
                minimum over the trilinear interpolation of EVAL, within the search tolerance.
                Global gamma takes ΔD as % of the normalisation dose (the reference maximum,
                the plan's prescription, or a dose in Gy); local gamma as % of each point's
                reference dose. γ ≤ 1 passes. Exit 1 when --min-pass is given and not reached.

                Examples:
                  sbrt gamma Fixtures/pelvis Fixtures/gamma/pelvis_shifted --criteria 3%/2mm
                  sbrt gamma ref.dcm eval.dcm --criteria 2%/1mm --local --threshold 10% --json
                  sbrt gamma Fixtures/pelvis Fixtures/gamma/pelvis_shifted \\
                      --structure PTV --png gamma.png --nrrd gamma.nrrd
                See docs/gamma.md.
                """
        )

        @Argument(help: "Reference: an RT Dose file or a plan folder.")
        var reference: String

        @Argument(help: "Evaluated: an RT Dose file or a plan folder.")
        var evaluated: String

        @Option(help: "Dose difference / distance to agreement, e.g. 3%/2mm (0.1–100 %, 0.1–50 mm).")
        var criteria: String = "3%/2mm"

        @Flag(help: "Local gamma: the dose criterion is % of each reference point's dose.")
        var local = false

        @Option(help: "Low-dose cutoff, % of the normalisation dose (0–100).")
        var threshold: String = "10%"

        @Option(help: "Normalisation dose: max (reference maximum, default), rx (the reference plan's prescription), or a dose in Gy.")
        var normalise: String = "max"

        @Option(name: .customLong("max-gamma"), help: "Largest γ searched for (1.1–10); points with none below it report it.")
        var maxGamma: Double = 2

        @Option(help: "Tolerance on each γ (1e-6–0.05).")
        var tolerance: Double = 1e-3

        @Option(name: .customLong("structure"), help: "Also report the pass rate inside this structure; repeatable.")
        var structures: [String] = []

        @Flag(help: "JSON (schema sbrt.gamma/1) instead of the table.")
        var json = false

        @Option(help: "Write the gamma map on the reference grid as NRRD (−1 where not evaluated).")
        var nrrd: String?

        @Option(help: "Write an axial slice of the gamma map over the CT as PNG.")
        var png: String?

        @Option(name: .customLong("slice-z"), help: "With --png: the slice at this patient z, mm.")
        var sliceZ: Double?

        @Flag(name: .customLong("at-worst"), help: "With --png: the slice with the most failing points (the default).")
        var atWorst = false

        @Option(name: .customLong("min-pass"), help: "Exit 1 when the pass rate is below this %, e.g. 95.")
        var minPass: Double?

        func validate() throws {
            guard GammaCriteria.parse(criteria) != nil else {
                throw ValidationError("--criteria is D%/Tmm with D in 0.1–100 and T in 0.1–50, e.g. 3%/2mm (got \"\(criteria)\")")
            }
            guard Self.percent(threshold).map(GammaOptions.thresholdRange.contains) == true else {
                throw ValidationError("--threshold is a percentage from 0 to 100, e.g. 10% (got \"\(threshold)\")")
            }
            guard Self.normalisation(normalise) != nil else {
                throw ValidationError("--normalise is max, rx, or a positive dose in Gy below 10000, e.g. 40 or 40Gy (got \"\(normalise)\")")
            }
            guard maxGamma.isFinite, GammaOptions.maxGammaRange.contains(maxGamma) else { throw ValidationError("--max-gamma must be from 1.1 to 10") }
            guard tolerance.isFinite, GammaOptions.toleranceRange.contains(tolerance) else { throw ValidationError("--tolerance must be from 1e-6 to 0.05") }
            if let minPass, !(minPass.isFinite && (0...100).contains(minPass)) { throw ValidationError("--min-pass must be from 0 to 100 (%)") }
            if sliceZ != nil && atWorst { throw ValidationError("give --slice-z or --at-worst, not both") }
            try OptionRange.check(sliceZ, OptionRange.coordinateMM, "--slice-z", unit: "mm")
            if (sliceZ != nil || atWorst) && png == nil { throw ValidationError("--slice-z and --at-worst go with --png") }
            if let png, !png.lowercased().hasSuffix(".png") { throw ValidationError("--png must name a .png file") }
            if let nrrd, !nrrd.lowercased().hasSuffix(".nrrd") { throw ValidationError("--nrrd must name a .nrrd file") }
        }

        /// "10%" or "10" → 10.
        static func percent(_ text: String) -> Double? {
            var t = text.trimmingSpaces()
            if t.hasSuffix("%") { t.removeLast() }
            guard let v = Double(t), v.isFinite else { return nil }
            return v
        }

        static func normalisation(_ text: String) -> GammaNormalisation? {
            switch text.lowercased() {
            case "max": return .referenceMaximum
            case "rx": return .prescription
            default:
                var t = text.lowercased().trimmingSpaces()
                if t.hasSuffix("gy") { t.removeLast(2) }
                guard let v = Double(t.trimmingSpaces()), v.isFinite, v > 0, v < 10_000 else { return nil }
                return .doseGy(v)
            }
        }

        func options() -> GammaOptions {
            var o = GammaOptions(criteria: GammaCriteria.parse(criteria)!)
            o.local = local
            o.thresholdPercent = Self.percent(threshold)!
            o.normalisation = Self.normalisation(normalise)!
            o.maxGamma = maxGamma
            o.tolerance = tolerance
            return o
        }

        func run() throws {
            try OutputFiles.validate([nrrd, png].compactMap { $0 })
            var request = GammaRequest(referencePath: reference, evaluatedPath: evaluated, options: options())
            request.structures = structures
            var study = try GammaStudy.run(request)
            if let minPass {
                study.report.requirement = GammaReport.Requirement(minimumPassPct: minPass, met: (study.report.passRatePct ?? 0) >= minPass)
            }
            var outputs = OutputFiles()
            if let nrrd { outputs.add(nrrdData(study), to: nrrd) }
            let slice = try png.map { try picture(study, to: $0, outputs: &outputs) }
            try outputs.commit()
            print(json ? try JSONOutput.text(study.report) : GammaText.table(study.report), terminator: "")
            if let nrrd { printError("wrote \(nrrd)") }
            if let png, let slice { printError("wrote \(png): axial slice at \(slice)") }
            if !json { for w in study.report.warnings { printError("warning: \(w)") } }
            if let r = study.report.requirement, !r.met { throw ExitCode(1) }
        }

        /// The γ map as NRRD, with the criteria and both doses in its key/value lines.
        func nrrdData(_ study: GammaStudy) -> Data {
            let r = study.report
            return NRRDWriter.encode(study.map.gamma,
                                     comments: ["sbrt \(SBRT.version) gamma \(r.criteria); −1 = not evaluated (below the threshold)"],
                                     keyValues: [("sbrt_gamma_criteria", r.criteria), ("sbrt_gamma_threshold_gy", String(format: "%.6g", r.conventions.thresholdGy)),
                                                 ("sbrt_gamma_normalisation_gy", String(format: "%.6g", r.conventions.normalisationGy)),
                                                 ("sbrt_gamma_reference", r.reference.sopInstanceUID), ("sbrt_gamma_evaluated", r.evaluated.sopInstanceUID),
                                                 ("sbrt_gamma_not_evaluated", "-1")])
        }

        /// The axial slice of the γ map over the CT of REF (else EVAL), added to `outputs`;
        /// returns the slice's position label.
        func picture(_ study: GammaStudy, to path: String, outputs: inout OutputFiles) throws -> String {
            guard let input = [study.reference, study.evaluated].first(where: { $0.study.images != nil }) else {
                throw SBRTError(.noImages, "--png draws the gamma map over the CT, and neither \(reference) nor \(evaluated) holds the planning CT; give a plan folder with its CT")
            }
            var request = SliceRequest()
            request.isodose = .none
            let r = study.report
            let rate = r.passRatePct.map { String(format: "%.1f %%", $0) } ?? "–"
            request.overlay = GammaOverlay.overlay(study.map.gamma, maxGamma: maxGamma, title: "Gamma \(r.criteria)",
                                                   subtitle: "pass \(rate) of \(r.pointsEvaluated)",
                                                   caption: "gamma \(r.criteria), threshold \(r.conventions.thresholdPercent) %, pass \(rate)")
            if let z = sliceZ { request.position = .coordinate(axis: 2, mm: z) } else if let p = GammaOverlay.worstPoint(study.map.gamma) {
                request.position = .point(p)
            }
            let slice = try SliceRenderer.render(try RenderStudy.load(input.study), request)
            outputs.add(try PNGEncoder.encode(slice.panel, text: [("Source", "sbrt \(SBRT.version) gamma; RT Dose \(r.reference.sopInstanceUID) vs \(r.evaluated.sopInstanceUID)"),
                                                                 ("Description", slice.caption)]), to: path)
            return slice.positionLabel
        }
    }
}

/// Text and JSON forms of a gamma report.
enum GammaText {
    static func f(_ x: Double?, _ d: Int = 3) -> String { x.map { String(format: "%.\(d)f", $0) } ?? "–" }

    static func table(_ r: GammaReport) -> String {
        let c = r.conventions
        var s = "Gamma \(r.criteria) (\(c.doseCriterion)"
        s += c.doseCriterionGy.map { String(format: ": %.4g Gy", $0) } ?? ""
        s += "; DTA \(GammaText.f(c.distanceCriterionMM, 1)) mm)\n"
        s += "normalisation \(f(c.normalisationGy)) Gy (\(c.normalisation)); threshold \(f(c.thresholdPercent, 1)) % = \(f(c.thresholdGy)) Gy\n"
        s += "reference  \(r.reference.doseFile)  \(r.reference.grid)\n"
        s += "evaluated  \(r.evaluated.doseFile)  \(r.evaluated.grid)\n\n"
        s += "points evaluated  \(r.pointsEvaluated)\n"
        s += "pass rate (γ ≤ 1) \(f(r.passRatePct, 2)) %  (\(r.pointsPassed) of \(r.pointsEvaluated))\n"
        s += "mean γ \(f(r.meanGamma))   95th percentile \(f(r.p95Gamma))   max \(f(r.maxGammaFound))\n"
        s += "search: γ within \(r.search.toleranceGamma) of the exact minimum (largest certified error \(String(format: "%.2g", r.search.largestErrorBound))); "
        s += "\(r.search.pointsWithinToleranceOfOne) point(s) within it of 1, \(r.search.undecidedPoints) undecided\n"
        if let q = r.requirement {
            s += q.met ? "required pass rate \(f(q.minimumPassPct, 1)) %: met\n" : "FAIL: pass rate \(f(r.passRatePct, 2)) % is below the required \(f(q.minimumPassPct, 1)) %\n"
        }
        s += "\nhistogram\n" + histogram(r.histogram, total: r.pointsEvaluated)
        if !r.structures.isEmpty {
            s += "\nstructure            points   pass %   mean γ   95th γ\n"
            for st in r.structures {
                let t = st.statistics
                s += st.name.padding(toLength: 18, withPad: " ", startingAt: 0) + "  " + String(format: "%8d", t.points)
                s += "  " + f(t.passRatePct, 2).leftPadded(7) + "  " + f(t.meanGamma).leftPadded(7) + "  " + f(t.p95Gamma).leftPadded(7)
                s += (st.note.map { "  (\($0))" } ?? "") + "\n"
            }
        }
        return s
    }

    static func histogram(_ bins: [GammaBin], total: Int) -> String {
        let most = max(1, bins.map(\.count).max() ?? 1)
        return bins.map { b in
            let label = b.to.map { String(format: "%.1f–%.1f", b.from, $0) } ?? String(format: "≥ %.1f ", b.from)
            let bar = String(repeating: "#", count: Int((40 * Double(b.count) / Double(most)).rounded()))
            return label.leftPadded(9) + String(format: " %7d ", b.count) + bar + "\n"
        }.joined()
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
