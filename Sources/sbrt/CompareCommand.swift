import Base
import ArgumentParser
import Dosimetry
import Foundation
import PlanReview
import Reports

extension SBRT {
    struct CompareCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare",
            abstract: "DVH regression: compare two DVH exports (CSV/JSON from `sbrt dvh`) or two DICOM folders.",
            discussion: """
                Per structure (matched by name): differences in volume, mean, D95%, D5% and
                max, and a DVH agreement score (share of baseline curve points with a current
                point within the dose and volume tolerances, after Ebert 2010). Exit 1 when any
                difference is beyond tolerance, the agreement is below --min-agreement, or a
                baseline structure is missing; 0 otherwise; 2 on bad input. To catch a change
                of x %, use a tolerance below x %.

                Examples:
                  sbrt dvh Fixtures/pelvis --format csv --step 0.1 --out baseline.csv
                  sbrt compare baseline.csv Fixtures/pelvis
                  sbrt compare Fixtures/golden/dvh/pelvis.csv Fixtures/pelvis \\
                      --dose-tolerance 0.1Gy
                  sbrt compare old_plan/ new_plan/ --dose-tolerance 1% \\
                      --volume-tolerance 1% --json
                  sbrt compare Fixtures/pelvis Fixtures/gamma/pelvis_shifted \\
                      --gamma 3%/2mm --gamma-min-pass 95

                With --gamma (two DICOM folders or RT Dose files) the 3D gamma of CURRENT's
                dose against BASELINE's (global, normalised to the baseline maximum, as `sbrt
                gamma`) is reported beside the DVH comparison; --gamma-min-pass makes a lower
                pass rate fail (exit 1). See docs/compare.md and docs/gamma.md.
                """
        )

        @Argument(help: "Baseline: a DICOM folder, or a DVH export (.csv or .json from `sbrt dvh`).")
        var baseline: String

        @Argument(help: "Current: a DICOM folder, or a DVH export.")
        var current: String

        @Option(help: "Dose tolerance: N% (of --rx, else of the baseline's largest Dmax) or N Gy, e.g. 0.5% or 0.1Gy.")
        var doseTolerance: String = "0.5%"

        @Option(help: "Volume tolerance, % of each structure's volume.")
        var volumeTolerance: String = "0.5%"

        @Option(help: "Minimum DVH agreement score per structure, %.")
        var minAgreement: Double = 95

        @Option(help: "Reference dose for percentage dose tolerances, Gy (default: the baseline's largest Dmax).")
        var rx: Double?

        @Flag(help: "JSON instead of the table.")
        var json = false

        @Option(help: "Also compare the doses by 3D gamma with these criteria, e.g. 3%/2mm (see sbrt gamma).")
        var gamma: String?

        @Flag(name: .customLong("gamma-local"), help: "With --gamma: local gamma.")
        var gammaLocal = false

        @Option(name: .customLong("gamma-threshold"), help: "With --gamma: low-dose cutoff, % of the baseline maximum.")
        var gammaThreshold: String = "10%"

        @Option(name: .customLong("gamma-min-pass"), help: "With --gamma: exit 1 when the pass rate is below this %.")
        var gammaMinPass: Double?

        func validate() throws {
            _ = try Self.doseTolerance(doseTolerance)
            _ = try Self.volumeTolerance(volumeTolerance)
            try OptionRange.check(minAgreement, OptionRange.percent, "--min-agreement", unit: "%")
            try OptionRange.check(rx, OptionRange.rxGy, "--rx", unit: "Gy")
            if let gamma, GammaCriteria.parse(gamma) == nil {
                throw ValidationError("--gamma is D%/Tmm with D in 0.1–100 and T in 0.1–50, e.g. 3%/2mm (got \"\(gamma)\")")
            }
            guard GammaCommand.percent(gammaThreshold).map(GammaOptions.thresholdRange.contains) == true else {
                throw ValidationError("--gamma-threshold is a percentage from 0 to 100, e.g. 10%")
            }
            try OptionRange.check(gammaMinPass, OptionRange.percent, "--gamma-min-pass", unit: "%")
            if gamma == nil && (gammaLocal || gammaMinPass != nil) { throw ValidationError("--gamma-local and --gamma-min-pass go with --gamma") }
        }

        /// --dose-tolerance: N% within 0–100 % or N Gy within 0–100 Gy.
        static func doseTolerance(_ text: String) throws -> DoseTolerance {
            guard let t = DoseTolerance.parse(text) else { throw ValidationError("--dose-tolerance is N% or N Gy, e.g. 1% or 0.1Gy (got \"\(text)\")") }
            switch t {
            case .percent(let v): try OptionRange.check(v, OptionRange.percent, "--dose-tolerance", unit: "%")
            case .gy(let v): try OptionRange.check(v, OptionRange.doseToleranceGy, "--dose-tolerance", unit: "Gy")
            }
            return t
        }

        /// --volume-tolerance: N% within 0–100 %.
        static func volumeTolerance(_ text: String) throws -> Double {
            guard let v = Double(text.replacingOccurrences(of: "%", with: "").trimmingSpaces()) else {
                throw ValidationError("--volume-tolerance is N%, e.g. 1% (got \"\(text)\")")
            }
            return try OptionRange.check(v, OptionRange.percent, "--volume-tolerance", unit: "%")
        }

        /// The gamma of the two sides' doses, when asked for.
        func gammaReport() throws -> GammaReport? {
            guard let gamma else { return nil }
            for path in [baseline, current] where path.lowercased().hasSuffix(".csv") || path.lowercased().hasSuffix(".json") {
                throw SBRTError(.invalidRequest, "--gamma compares doses: this is a DVH export; give two DICOM folders or RT Dose files", file: path)
            }
            var options = GammaOptions(criteria: GammaCriteria.parse(gamma)!)
            options.local = gammaLocal
            options.thresholdPercent = GammaCommand.percent(gammaThreshold)!
            var report: GammaReport
            report = try GammaStudy.run(GammaRequest(referencePath: baseline, evaluatedPath: current, options: options)).report
            if let m = gammaMinPass { report.requirement = GammaReport.Requirement(minimumPassPct: m, met: (report.passRatePct ?? 0) >= m) }
            return report
        }

        func run() throws {
            var options = DVHComparison.Options()
            options.doseTolerance = try Self.doseTolerance(doseTolerance)
            options.volumeTolerancePercent = try Self.volumeTolerance(volumeTolerance)
            options.minimumAgreementPercent = minAgreement
            options.referenceDoseGy = rx
            let result: DVHComparison
            let b = try DVHSet.load(baseline)
            let c = try DVHSet.load(current)
            result = DVHComparison.run(baseline: b, current: c, options: options)
            let gammaResult = try gammaReport()
            if json {
                print(try JSONOutput.text(Output(comparison: result, gamma: gammaResult)), terminator: "")
            } else {
                print(ReportText.comparison(result), terminator: "")
                if let g = gammaResult { print(Self.gammaLine(g)) }
            }
            if !result.passed || gammaResult?.requirement?.met == false { throw ExitCode(1) }
        }

        /// The comparison's JSON with a `gamma` object beside its keys.
        struct Output: Encodable {
            var comparison: DVHComparison
            var gamma: GammaReport?
            enum Key: String, CodingKey { case gamma }
            func encode(to encoder: Encoder) throws {
                try comparison.encode(to: encoder)
                var c = encoder.container(keyedBy: Key.self)
                try c.encodeIfPresent(gamma, forKey: .gamma)
            }
        }

        static func gammaLine(_ g: GammaReport) -> String {
            let f = { (x: Double?) in x.map { String(format: "%.2f", $0) } ?? "–" }
            var s = "Gamma \(g.criteria), threshold \(GammaText.f(g.conventions.thresholdPercent, 1)) % of \(GammaText.f(g.conventions.normalisationGy, 2)) Gy: "
            s += "pass rate \(f(g.passRatePct)) % of \(g.pointsEvaluated) points, mean γ \(f(g.meanGamma)), 95th percentile \(f(g.p95Gamma))"
            if let q = g.requirement { s += q.met ? " (required ≥ \(f(q.minimumPassPct)) %: met)" : " — FAIL: required ≥ \(f(q.minimumPassPct)) %" }
            return s
        }
    }
}
