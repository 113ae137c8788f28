import Base
import ArgumentParser
import Dosimetry
import Foundation
import Geometry
import RTModel

extension SBRT {
    struct DVHCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dvh",
            abstract: "Dose–volume histograms, metrics and plan indices of the structures of a plan.",
            discussion: """
                Structures are ROI names or expressions: union A+B, difference A-B,
                intersection A&B, symmetric difference A^B, parentheses; names are
                case-insensitive, quote names with spaces or operators ("Lung L"). Without
                --structure: every ROI with contours.

                Metrics (TG-263): D95%, D0.035cc, Dmin, Dmean, Dmax ([Gy] or [%] of Rx); V20Gy,
                V100% ([cc] or [%] of the structure); CV13.5Gy (volume below); HI (ICRU 83), CI
                (RTOG), PCI (Paddick), GI (Paddick), R50, R100, D2cm (% of Rx): for targets
                only (ROIs of type GTV, CTV, PTV, or named with --target), each with the
                isodose volume connected to it (several lesions: per lesion). Rx comes from
                --rx or the plan's Target Prescription Dose, never guessed. The folder is read
                as `sbrt info` shows (docs/study.md).

                Examples:
                  sbrt dvh Fixtures/pelvis
                  sbrt dvh Fixtures/pelvis --structure PTV --structure "PTV-GTV" \\
                      --metrics "D95%,D2%,HI,CI,GI,R50"
                  sbrt dvh Fixtures/pelvis --format csv --out dvh.csv
                  sbrt dvh Fixtures/pelvis --compare-embedded
                  sbrt dvh DIR --structure "PTV_eval" --target PTV_eval --metrics "CI,R50,D2cm"
                See docs/dvh.md.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

        @Argument(help: "A folder of DICOM files (CT, RT Structure Set, RT Dose, RT Plan).")
        var path: String

        @Option(name: .customLong("structure"), help: "A structure name or expression; repeat for several.")
        var structures: [String] = []

        @Option(name: .customLong("target"), help: "A structure (name or expression) to treat as a target for HI, CI, PCI, GI, R50, R100 and D2cm, besides the ROIs of type GTV, CTV and PTV; repeat for several.")
        var targets: [String] = []

        @OptionGroup var study: StudyOptions
        @OptionGroup var prescription: PrescriptionOptions

        @Option(help: "Comma-separated metrics, e.g. \"D95%,D0.035cc,V20Gy,V20Gy[%],Dmean,HI,CI,GI,R50\".")
        var metrics: String = "D98%,D95%,D50%,D2%,D0.035cc,V100%[%]"

        @Option(help: "End caps: prism (default), none, interpolated.")
        var endCap: EndCap = .prism

        @Option(help: "Output: table (default), csv (cumulative DVH rows), json.")
        var format: Format = .table

        @Option(help: "Dose step of the CSV rows, Gy.")
        var step: Double = 0.01

        @Option(help: "Write the output to this file (atomically) instead of standard output.")
        var out: String?

        @Flag(help: "Show the planning system's embedded DVHs beside sbrt's.")
        var compareEmbedded = false

        func validate() throws {
            try OptionRange.check(step, 0.001...10, "--step", unit: "Gy")
        }

        func run() throws {
            try OutputFiles.validate(out.map { [$0] } ?? [])
            var request = DVHRequest()
            request.structures = structures
            request.targets = targets
            request.metrics = try parseMetrics(metrics)
            request.options.endCap = endCap
            let analysis = try DVHAnalysis.run(try study.resolve(path, needs: [.dose, .structureSet], rx: prescription), request)
            var text: String
            var comparisons: [EmbeddedComparison] = []
            if compareEmbedded {
                for dvh in analysis.dvhs {
                    guard let number = analysis.roiNumbers[dvh.name], let theirs = analysis.embedded[number] else { continue }
                    comparisons.append(EmbeddedComparison(structure: dvh.name, roiNumber: number, ours: dvh, theirs: theirs))
                }
            }
            switch format {
            case .table:
                text = DVHFormatter.table(analysis.report, folder: path)
                if compareEmbedded { text += DVHFormatter.comparison(comparisons, hasEmbedded: !analysis.embedded.isEmpty) }
            case .csv:
                text = try DVHTable.csv(analysis.dvhs, stepGy: step)
            case .json:
                struct Output: Encodable { var report: DVHReport; var embeddedComparison: [EmbeddedComparison]? }
                text = try JSONOutput.text(Output(report: analysis.report, embeddedComparison: compareEmbedded ? comparisons : nil))
            }
            if let out {
                try OutputFiles.write(text, to: out)
            } else {
                print(text, terminator: "")
            }
            for s in analysis.report.structures where format != .table {
                for w in s.warnings { printError("warning: \(s.name): \(w)") }
            }
        }
    }
}
