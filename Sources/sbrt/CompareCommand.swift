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
                Per structure (matched by name): differences in volume, mean, D95%, D5% and max, and a
                DVH agreement score (share of baseline curve points with a current point within the
                dose and volume tolerances, after Ebert 2010). Exit 1 when any difference is beyond
                tolerance, the agreement is below --min-agreement, or a baseline structure is missing;
                0 otherwise; 2 on bad input. To catch a change of x %, use a tolerance below x %.

                Examples:
                  sbrt dvh Fixtures/pelvis --format csv --step 0.1 --out baseline.csv
                  sbrt compare baseline.csv Fixtures/pelvis
                  sbrt compare Fixtures/golden/dvh/pelvis.csv Fixtures/pelvis --dose-tolerance 0.1Gy
                  sbrt compare old_plan/ new_plan/ --dose-tolerance 1% --volume-tolerance 1% --json
                See docs/compare.md.
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

        func validate() throws {
            guard DoseTolerance.parse(doseTolerance) != nil else { throw ValidationError("--dose-tolerance is N% or N Gy, e.g. 1% or 0.1Gy") }
            guard let v = Double(volumeTolerance.replacingOccurrences(of: "%", with: "").trimmingCharacters(in: .whitespaces)), v >= 0 else {
                throw ValidationError("--volume-tolerance is N%, e.g. 1%")
            }
            guard (0...100).contains(minAgreement) else { throw ValidationError("--min-agreement is 0 to 100") }
            if let rx, !(rx > 0) { throw ValidationError("--rx must be positive") }
        }

        func run() throws {
            var options = DVHComparison.Options()
            options.doseTolerance = DoseTolerance.parse(doseTolerance)!
            options.volumeTolerancePercent = Double(volumeTolerance.replacingOccurrences(of: "%", with: "").trimmingCharacters(in: .whitespaces))!
            options.minimumAgreementPercent = minAgreement
            options.referenceDoseGy = rx
            let result: DVHComparison
            let b = try DVHSet.load(baseline)
            let c = try DVHSet.load(current)
            result = DVHComparison.run(baseline: b, current: c, options: options)
            if json {
                print(try JSONOutput.text(result), terminator: "")
            } else {
                print(ReportText.comparison(result), terminator: "")
            }
            if !result.passed { throw ExitCode(1) }
        }
    }
}
