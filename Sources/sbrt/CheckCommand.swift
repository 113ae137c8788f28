import Base
import ArgumentParser
import Dosimetry
import Foundation
import Geometry
import PlanReview
import Reports
import RTModel

extension SBRT {
    struct CheckCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "check",
            abstract: "Check a plan against a protocol's dose–volume constraints, or a patient against a trial's eligibility rules.",
            discussion: """
                Each row: constraint (TG-263 syntax), structure, value, limit, verdict (per protocol,
                minor deviation, major deviation), margin to the limit (> 0 inside, < 0 beyond) and the
                row's source with its provenance mark ([V] verified, [S] secondary, [NV] not verified,
                [R] stated by the review). Structures are matched through TG-263 names and aliases;
                --map adds your own. Exit 1 on any major deviation or missing required structure
                (or, with --eligibility, any rule not met), 0 otherwise, 2 on bad input.

                Examples:
                  sbrt check Fixtures/pelvis --protocol tg101
                  sbrt check Fixtures/pelvis --protocol nct01763970 --age 17 --html review.html
                  sbrt check DIR --protocol rtog0915 --map-structure "Lungs=Lung_L+Lung_R-GTV"
                  sbrt check DIR --protocol my-protocol.toml --json
                  sbrt check Fixtures/pelvis --eligibility pediatric-sarcoma-sbrt --age 8 --lesions GTV
                  sbrt protocols
                See docs/check.md and docs/protocols.md.
                """
        )

        @Argument(help: "A folder of DICOM files (CT, RT Structure Set, RT Dose, RT Plan).")
        var path: String

        @Option(name: .customLong("protocol"), help: "A shipped protocol (see `sbrt protocols`) or a protocol file (.toml).")
        var protocolName: String?

        @Option(help: "A trial's eligibility rules instead of constraints, e.g. pediatric-sarcoma-sbrt.")
        var eligibility: String?

        @Option(help: "Number of fractions (overrides the plan's; picks the protocol's column).")
        var fractions: Int?

        @Option(help: "Prescription dose in Gy (overrides the plan's).")
        var rx: Double?

        @Option(help: "Patient age in years (age-dependent prescriptions and eligibility).")
        var age: Double?

        @Option(help: "With --eligibility: comma-separated lesion (GTV) names (default: every GTV).")
        var lesions: String?

        @Flag(help: "With --eligibility: the lesions are spinal metastases (BED note).")
        var spinal = false

        @Option(help: "A structure-name mapping file: lines `Canonical = \"plan name or A+B\"`.")
        var map: String?

        @Option(name: .customLong("map-structure"), help: "One mapping, Canonical=plan name or expression; repeat for several.")
        var mapStructure: [String] = []

        @Option(help: "An RT Dose file to use instead of the folder's dose.")
        var dose: String?

        @Option(help: "End caps: prism (default), none, interpolated.")
        var endCap: String = "prism"

        @Flag(help: "JSON instead of the table.")
        var json = false

        @Option(help: "Also write a self-contained HTML report (verdicts, DVH plot, isodose slices through each target).")
        var html: String?

        @Option(help: "Write the table or JSON to this file instead of standard output.")
        var out: String?

        func validate() throws {
            guard (protocolName == nil) != (eligibility == nil) else { throw ValidationError("give --protocol NAME|FILE or --eligibility NAME") }
            if let rx, !(rx > 0 && rx.isFinite) { throw ValidationError("--rx must be a positive dose in Gy") }
            if let fractions, fractions < 1 { throw ValidationError("--fractions must be at least 1") }
            if let age, !(age >= 0 && age < 130) { throw ValidationError("--age must be years between 0 and 130") }
            guard EndCap(rawValue: endCap) != nil else { throw ValidationError("--end-cap must be prism, none or interpolated") }
            if lesions != nil && eligibility == nil { throw ValidationError("--lesions goes with --eligibility") }
        }

        func run() throws {
            let library = shippedProtocols()
            let folder = try StudyFolder.load(path)

            if let eligibility {
                let proto = try library.load(eligibility)
                var req = EligibilityRequest()
                req.lesions = lesions.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } } ?? []
                req.age = age
                req.rxGy = rx
                req.fractions = fractions
                req.spinal = spinal
                req.dosePath = dose
                let report = try Eligibility.run(folder, proto, req)
                let text = json ? try JSONOutput.text(report) : ReportText.eligibility(report, folder: path)
                try emit(text)
                if let html {
                    try HTMLReport.write(HTMLReport.Content(title: "Eligibility: \(proto.name)", folder: folder, path: path, eligibility: report, dosePath: dose), to: html)
                    printError("\(html): HTML report written")
                }
                if !report.eligible { throw ExitCode(1) }
                return
            }

            let proto = try library.load(protocolName!)
            var request = CheckRequest()
            request.rxGy = rx
            request.fractions = fractions
            request.age = age
            request.dosePath = dose
            request.options.endCap = EndCap(rawValue: endCap)!
            if let map {
                let text = try InputFiles.readText(map)
                request.structureMap = try StructureMatcher.readMap(text, path: map)
            }
            for m in mapStructure {
                let parts = m.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw SBRTError(.invalidRequest, "--map-structure \"\(m)\": write Canonical=plan name") }
                request.structureMap[parts[0]] = parts[1]
            }
            let (report, _) = try PlanCheck.run(folder, proto, request)
            let text = json ? try JSONOutput.text(report) : ReportText.check(report, folder: path)
            try emit(text)
            if let html {
                try HTMLReport.write(HTMLReport.Content(title: "\(proto.name) check", folder: folder, path: path, check: report, dosePath: dose), to: html)
                printError("\(html): HTML report written")
            }
            if report.rows.contains(where: { $0.verdict.fails }) { throw ExitCode(1) }
        }

        func emit(_ text: String) throws {
            if let out { try OutputFiles.write(text, to: out) } else { print(text, terminator: "") }
        }
    }
}
