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
                Each row: constraint (TG-263 syntax), structure, value, limit, verdict (per
                protocol, minor deviation, major deviation, or not evaluable with the reason),
                margin to the limit (> 0 inside, < 0 beyond) and the row's source with its
                provenance mark ([V] verified, [S] secondary, [NV] not verified, [R] stated by
                the review, [D] derived here / sbrt's default). Structures are matched through
                TG-263 names and aliases (case, spaces, laterality words, British spellings);
                --map adds your own. Targets (GTV, PTV…) are checked per lesion. The folder is
                read as `sbrt info` shows (docs/study.md); a per-session dose is refused unless
                --per-session-dose.

                Exit 0 only for a complete review with every row per protocol; 1 for any
                deviation or an incomplete review (a row not evaluable, a required structure
                missing, nothing evaluated, an organ table with no organ evaluated) — with
                --eligibility, for a rule not met or not evaluable; 2 for bad input.

                Examples:
                  sbrt check Fixtures/pelvis --protocol tg101
                  sbrt check Fixtures/pelvis --protocol nct01763970 --age 17 --html review.html
                  sbrt check DIR --protocol rtog0915 --map-structure "Lungs=Lung_L+Lung_R-GTV"
                  sbrt check DIR --protocol my-protocol.toml --json
                  sbrt check Fixtures/pelvis --eligibility pediatric-sarcoma-sbrt \\
                      --age 8 --lesions GTV
                  sbrt protocols
                See docs/check.md and docs/protocols.md.
                """
        )

        @Argument(help: "A folder of DICOM files (CT, MR or PET images, RT Structure Set, RT Dose, RT Plan).")
        var path: String

        @Option(name: .customLong("protocol"), help: "A shipped protocol (see `sbrt protocols`) or a protocol file (.toml).")
        var protocolName: String?

        @Option(help: "A trial's eligibility rules instead of constraints, e.g. pediatric-sarcoma-sbrt.")
        var eligibility: String?

        @OptionGroup var prescription: PrescriptionOptions

        @Option(help: "Patient age in years (age-dependent prescriptions and eligibility); default: the plan's Patient's Age.")
        var age: Double?

        @Option(help: "With --eligibility: comma-separated lesion (GTV) names (default: every GTV).")
        var lesions: String?

        @Flag(help: "With --eligibility: the lesions are spinal metastases (BED note).")
        var spinal = false

        @Option(help: "A structure-name mapping file: lines `Canonical = \"plan name or A+B\"`.")
        var map: String?

        @Option(name: .customLong("map-structure"), help: "One mapping, Canonical=plan name or expression; repeat for several.")
        var mapStructure: [String] = []

        @OptionGroup var study: StudyOptions

        @Option(help: "End caps: prism (default), none, interpolated.")
        var endCap: EndCap = .prism

        @Flag(help: "JSON instead of the table.")
        var json = false

        @Option(help: "Also write a self-contained HTML report (verdicts, DVH plot, isodose slices through each target).")
        var html: String?

        @Option(name: .customLong("image"), help: ArgumentHelp("With --html: the image series under the slices, by its number in `sbrt info` or its Series Instance UID (default: the planning images).", valueName: "series-uid|n"))
        var image: String?

        @Option(help: "Write the table or JSON to this file instead of standard output.")
        var out: String?

        func validate() throws {
            guard (protocolName == nil) != (eligibility == nil) else { throw ValidationError("give --protocol NAME|FILE or --eligibility NAME") }
            try OptionRange.check(age, 0...130, "--age", unit: "years")
            if lesions != nil && eligibility == nil { throw ValidationError("--lesions goes with --eligibility") }
            if image != nil && html == nil { throw ValidationError("--image chooses the image under the HTML report's slices; it goes with --html") }
        }

        func run() throws {
            try OutputFiles.validate([out, html].compactMap { $0 })
            let library = shippedProtocols()
            let resolved = try study.resolve(path, needs: [.dose, .structureSet], rx: prescription, age: age)
            if let eligibility {
                try checkEligibility(try library.loadEligibility(eligibility), resolved)
                return
            }
            let proto = try library.load(protocolName!)
            var request = CheckRequest()
            request.options.endCap = endCap
            if let map { request.structureMap = try StructureMatcher.readMap(try InputFiles.readText(map), path: map) }
            for m in mapStructure {
                let parts = m.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { throw ValidationError("--map-structure \"\(m)\": write Canonical=plan name") }
                request.structureMap[parts[0]] = parts[1]
            }
            // The HTML report's DVH plot (every structure with closed contours but the body
            // outline): its DVHs come from the review's pass, with the review's end caps.
            if html != nil { request.alsoStructures = HTMLReport.plottedStructures(resolved) }
            let (report, analysis) = try withHint { try PlanCheck.run(resolved, proto, request) }
            var outputs = OutputFiles()
            let text = json ? try JSONOutput.text(report) : ReportText.check(report, folder: path)
            if let html {
                let content = HTMLReport.Content(title: "\(proto.name) check", study: resolved, path: path, check: report, analysis: analysis, image: image)
                outputs.add(try HTMLReport.render(content), to: html)
            }
            try emit(text, with: outputs)
            if let html { printError("\(html): HTML report written") }
            if !report.overall.passes { throw ExitCode(1) }
        }

        /// Runs `body`; an error of the check gets the option that resolves it.
        func withHint<T>(_ body: () throws -> T) throws -> T {
            do {
                return try body()
            } catch var e as SBRTError {
                if e.message.contains("states no fraction count") { e.message += " (--fractions N)" }
                else if e.message.contains("-fraction column") { e.message += " (--fractions N checks a tabulated column deliberately)" }
                else if e.message.hasPrefix("mapping ") { e.message += " (--map FILE, --map-structure Canonical=name)" }
                else if e.message.hasPrefix("lesion \"") { e.message += " (--lesions)" }
                throw e
            }
        }

        func checkEligibility(_ proto: ReviewProtocol, _ resolved: ResolvedStudy) throws {
            var req = EligibilityRequest()
            req.lesions = lesions.map { $0.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty } } ?? []
            req.spinal = spinal
            let report = try withHint { try Eligibility.run(resolved, proto, req) }
            var outputs = OutputFiles()
            if let html {
                let content = HTMLReport.Content(title: "Eligibility: \(proto.name)", study: resolved, path: path, eligibility: report, image: image)
                outputs.add(try HTMLReport.render(content), to: html)
            }
            try emit(json ? try JSONOutput.text(report) : ReportText.eligibility(report, folder: path), with: outputs)
            if let html { printError("\(html): HTML report written") }
            if report.overall != .meets { throw ExitCode(1) }
        }

        /// Writes the table (or JSON) and the other outputs together, or none of them.
        func emit(_ text: String, with outputs: OutputFiles) throws {
            var all = outputs
            if let out { all.add(text, to: out) }
            try all.commit()
            if out == nil { print(text, terminator: "") }
        }
    }
}
