import VoxelKit
import Base
import ArgumentParser
import DICOM
import Dosimetry
import Foundation
import RTModel

extension SBRT {
    struct CompositeCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "composite",
            abstract: "Voxel-wise cumulative EQD2/BED composite of several courses (re-irradiation).",
            discussion: """
                Each course is converted voxel by voxel with its own number of fractions (d =
                D/n per voxel), then the courses are summed on a reference grid (the newest
                course's dose grid, or --grid ct). A course is an RT Dose file or a folder:
                PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME][:plan=LABEL][:per-session].
                Each course is read as every command reads a folder (docs/study.md): PLAN,
                FRACTION (the whole fraction group) and MULTI_PLAN doses are course totals used
                as they are; the BEAM doses of one plan are summed (a missing beam is an
                error); a per-session dose (FRACTION_SESSION, BEAM_SESSION, CONTROL_POINT) is
                refused unless stated with :per-session (or --per-session-dose for every
                course), then multiplied by the fractions. Fractions come from the course's RT
                Plan, else must be given.

                α/β: --alpha-beta everywhere, --structure-alpha-beta inside structures (a voxel
                whose centre is inside); structures named as CNS (cord, cauda equina,
                brainstem, plexus, optic nerves…) take 2 Gy unless set; where structures
                overlap the lowest α/β wins. Recovery is off unless --recovery or
                --recovery-model is given, and then it is named in every output.

                Example:
                  sbrt composite --course Fixtures/reirradiation/prior:date=2025-03-02 \\
                                 --course Fixtures/pelvis:date=2026-01-15 \\
                                 --alpha-beta 3 --structure-alpha-beta "GTV=10" \\
                                 --out composite.dcm --report report.json
                Exit codes: 0 for a complete clean review (every flag evaluated, none
                raised); 1 when a flag is raised or not evaluable (e.g. a structure outside
                an earlier course's dose grid, or an undated course); the outputs are still
                written. 2 for bad input.
                See docs/composite.md.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

        @Option(name: .customLong("course"), help: "PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME][:plan=LABEL][:per-session]; repeat for each course.")
        var courses: [String] = []

        @Option(help: "Folder with the structure set (and CT) on the reference frame of reference (default: the newest course's folder).")
        var structures: String?

        @Option(name: .customLong("structure-set"), help: "An RT Structure Set file to use instead of the structures folder's choice.")
        var structureSet: String?

        @OptionGroup var perSession: PerSessionOption

        @Option(name: .customLong("alpha-beta"), help: "Default α/β in Gy.")
        var alphaBeta: Double = 3

        @Option(name: .customLong("structure-alpha-beta"), help: "α/β inside structures, e.g. \"SpinalCord=2,GTV=10\" (CNS structures default to 2).")
        var structureAlphaBeta: String?

        @Option(help: "eqd2 (default), bed or physical.")
        var quantity: DoseQuantity = .eqd2

        @Option(name: .customLong("lq-linear-above"), help: "LQ-L: linear above this dose per fraction (Gy) [NV].")
        var lqLinearAbove: Double?

        @Option(help: "Recovery fractions per course: \"prior=0.25\" (label or 1-based course number).")
        var recovery: String?

        @Option(name: .customLong("recovery-model"), help: "Time-based recovery: simple, jones-grant, jones-grant-fitted (Jones–Grant: intervals of 1–3 years, α/β 2 Gy voxels).")
        var recoveryModel: RecoveryModel?

        @Option(name: .customLong("tolerance-bed"), help: "Tolerance BED (Gy) for the Jones–Grant model.")
        var toleranceBED: Double?

        @Option(name: .customLong("transform"), help: "[LABEL=]16 numbers (row-major 4×4, course → reference); repeatable.")
        var transforms: [String] = []

        @Option(help: "Reference grid: dose (the newest course's dose grid) or ct.")
        var grid: CompositeRequest.GridChoice = .dose

        @Option(name: .customLong("structure"), help: "Report only this structure; repeatable.")
        var reportStructures: [String] = []

        @Option(help: "Write the composite RT Dose here.")
        var out: String

        @Option(help: "Also write the composite as NRRD (for 3D Slicer).")
        var nrrd: String?

        @Option(help: "Write the JSON report here.")
        var report: String?

        @Option(help: "Standard output: table (default) or json.")
        var format: Format = .table

        @Flag(help: "Skip the per-structure report (faster; flags need it).")
        var noReport = false

        @Flag(help: "Print timings of the stages to standard error.")
        var timings = false

        func validate() throws {
            guard !courses.isEmpty else { throw ValidationError("give at least one --course") }
            for c in courses { _ = try Self.course(c) }
            try OptionRange.check(alphaBeta, OptionRange.alphaBetaGy, "--alpha-beta", unit: "Gy")
            _ = try OptionRange.pairs(structureAlphaBeta, OptionRange.alphaBetaGy, "--structure-alpha-beta", unit: "Gy")
            try OptionRange.check(lqLinearAbove, OptionRange.linearAboveGy, "--lq-linear-above", unit: "Gy")
            try OptionRange.check(toleranceBED, OptionRange.toleranceBEDGy, "--tolerance-bed", unit: "Gy")
            for (k, r) in try OptionRange.pairs(recovery, 0...1, "--recovery") where r >= 1 {
                throw ValidationError("--recovery \(k)=\(InputLimits.number(r)): a recovery fraction is at least 0 and below 1")
            }
            if recovery != nil && recoveryModel != nil { throw ValidationError("give --recovery or --recovery-model, not both") }
            _ = try parsedTransforms()
        }

        /// One --course (`CourseSpec.parse` checks its fraction count against
        /// `InputLimits.fractions`); a parse error, with the course syntax, is a usage
        /// error (exit 2) also when raised during option validation.
        static func course(_ text: String) throws -> CourseSpec {
            do { return try CourseSpec.parse(text) } catch let e as SBRTError {
                throw ValidationError("--course: " + e.message + hint(e))
            }
        }

        /// The --transform options: [LABEL=]16 finite numbers, a plausible transform
        /// (translation within ±10 m, 3×3 part within ±100).
        func parsedTransforms() throws -> [(String?, RigidTransform)] {
            try transforms.map { t in
                var label: String?
                var numbers = t
                if let eq = t.firstIndex(of: "=") {
                    label = String(t[..<eq])
                    numbers = String(t[t.index(after: eq)...])
                }
                let values = numbers.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\\" }).map { Double($0) }
                guard values.count == 16, values.allSatisfy({ $0 != nil }) else {
                    throw ValidationError("--transform \(t): 16 numbers are needed (row-major 4×4), got \(values.count)")
                }
                do {
                    let transform = try RigidTransform(values.map { $0! })
                    try transform.checkPlausible()
                    return (label, transform)
                } catch let e as SBRTError { throw ValidationError("--transform \(t): \(e.message)") }
            }
        }

        func request() throws -> CompositeRequest {
            var request = CompositeRequest()
            request.courses = try courses.map(Self.course)
            request.structuresPath = structures
            request.structureSetPath = structureSet
            request.perSessionDose = perSession.perSessionDose
            request.defaultAlphaBeta = alphaBeta
            request.structureAlphaBeta = try OptionRange.pairs(structureAlphaBeta, OptionRange.alphaBetaGy, "--structure-alpha-beta", unit: "Gy")
            request.quantity = quantity
            request.linearAboveGy = lqLinearAbove
            for (k, r) in try OptionRange.pairs(recovery, 0...1, "--recovery") { request.recoveryFractions[k] = r }
            request.recoveryModel = recoveryModel
            request.toleranceBED = toleranceBED
            request.transforms = try parsedTransforms()
            request.grid = grid
            request.reportStructures = reportStructures
            request.computeReport = !noReport
            return request
        }

        func run() throws {
            // Every output path is checked before the work, and the outputs are written
            // together at the end (all or none: docs/safety.md).
            try OutputFiles.validate([out, nrrd, report].compactMap { $0 })
            let t0 = Date()
            let result: CompositeResult
            do {
                result = try Composite.run(try request())
            } catch var e as SBRTError {
                e.message += CompositeCommand.hint(e)
                throw e
            }
            let t1 = Date()
            var json = ""
            if report != nil || format == .json {
                json = try JSONOutput.text(result.report)
            }
            var outputs = OutputFiles()
            outputs.add(segments: try DICOMWriter.encodeFileSegments(result.dataSet), to: out)
            if let nrrd {
                let r = result.report
                outputs.add(NRRDWriter.encode(result.volume, comments: ["sbrt composite: \(r.quantity) in Gy; \(r.recovery.description)"],
                                              keyValues: [("sbrt_quantity", r.quantity), ("sbrt_units", "Gy"),
                                                          ("sbrt_alpha_beta_default_gy", String(r.alphaBeta.defaultGy)),
                                                          ("sbrt_recovery", r.recovery.description)]), to: nrrd)
            }
            if let report { outputs.add(json, to: report) }
            try outputs.commit()
            if timings {
                func show(_ name: String, _ s: Double) {
                    printError("timing: " + name.padding(toLength: 24, withPad: " ", startingAt: 0) + String(format: "%8.1f ms", s * 1000))
                }
                for (name, s) in result.timings { show(name, s) }
                show("write", Date().timeIntervalSince(t1))
                show("total (after parsing)", Date().timeIntervalSince(t0))
            }
            switch format {
            case .json: print(json, terminator: "")
            case .table: print(CompositeFormatter.table(result.report, out: out), terminator: "")
            }
            if format == .json { for w in result.report.warnings { printError("warning: \(w)") } }
            // As `sbrt check`: 0 only for a complete clean review (outputs are written either way).
            if result.report.flags.contains(where: { $0.exceeded || !$0.evaluable }) { throw ExitCode(1) }
        }

        /// The option (or course option) that resolves a library error, in words.
        static func hint(_ e: SBRTError) -> String {
            let m = e.message
            let rules: [(Bool, String)] = [
                (m.hasPrefix("course \""), " (PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME][:plan=LABEL][:per-session])"),
                (e.kind == .doseType && m.contains("one treatment session"), " (add :per-session to the course, or --per-session-dose for every course)"),
                (e.kind == .doseType && m.contains("fraction count is unknown"), " (PATH:fractions=N)"),
                (e.kind == .missingAttribute && m.contains("number of fractions is unknown"), " (PATH:fractions=N)"),
                (e.kind == .ambiguous && m.contains("RT Plan"), " (PATH:plan=LABEL|UID)"),
                (e.kind == .ambiguous && m.contains("Structure Set"), " (--structure-set FILE)"),
                (e.kind == .ambiguous || e.kind == .noDose, " (give the RT Dose file as the course PATH)"),
                (e.kind == .noStructureSet, " (--structures FOLDER, --structure-set FILE)"),
                (e.kind == .frameOfReference && m.contains("registration is needed"), " (--transform LABEL=m00,m01,…,m33)"),
                (m.contains("recovery fraction names"), " (--recovery)"),
                (m.contains("a transform names"), " (--transform)"),
                (m.contains("two courses are labelled"), " (PATH:label=NAME)"),
                (m.contains("cannot be applied to a physical sum"), " (--quantity eqd2 or bed)"),
                (m.contains("needs the tolerance BED"), " (--tolerance-bed GY)"),
                (m.contains("needs the date of every course"), " (PATH:date=YYYY-MM-DD)"),
                (m.contains("Jones–Grant recovery curves were fitted"), " (leave out --recovery-model, or give --recovery LABEL=FRACTION)"),
                (m.contains("applies only where α/β is 2 Gy"), " (--structure-alpha-beta NAME=2 for the cord)"),
                (e.kind == .structureNotFound && m.contains("to give an α/β"), " (--structure-alpha-beta)"),
                (e.kind == .structureNotFound, " (--structure)"),
                (e.kind == .noImages, " (--grid dose, or --structures FOLDER with the CT)"),
            ]
            return rules.first { $0.0 }?.1 ?? ""
        }
    }
}

/// Terminal rendering of a composite report.
enum CompositeFormatter {
    static func table(_ r: CompositeReport, out: String) -> String {
        var s = ""
        func line(_ t: String = "") { s += t + "\n" }
        let q = r.quantity == "physical" ? "physical dose" : r.quantity.uppercased()
        line("Composite \(q) (Gy) written to \(out)")
        line("Model: \(r.model). α/β: \(num(r.alphaBeta.defaultGy)) Gy by default"
             + (r.alphaBeta.structures.isEmpty ? "" : ", " + r.alphaBeta.structures.map { "\($0.name) \(num($0.alphaBetaGy)) (\(sourceText($0.source)), \($0.voxelsWhereUsed) voxels)" }.joined(separator: ", ") + "; lowest wins on overlap"))
        let recovery = r.recovery.description.hasPrefix("recovery ") ? String(r.recovery.description.dropFirst(9)) : r.recovery.description
        line("Recovery: \(r.recovery.applied ? recovery : "none (off by default)")")
        line("Reference grid: \(r.referenceGrid.source), \(r.referenceGrid.size.map(String.init).joined(separator: "×")) at \(r.referenceGrid.spacingMM.map { String(format: "%.2f", $0) }.joined(separator: "×")) mm")
        line()
        line("Courses:")
        for c in r.courses {
            line("  \(c.label): \(c.fractions) fx (\(c.fractionsSource))\(c.date.map { ", \($0)" } ?? ""), max \(String(format: "%.2f", c.maxPhysicalGy)) Gy, \(c.registration), coverage \(String(format: "%.1f", c.coveragePercent)) %, recovery \(c.recovery)")
            line("    dose: \(c.doseSummary)")
        }
        for i in r.intervals { line("  interval \(i.from) → \(i.to): \(i.days) days (\(String(format: "%.1f", i.months)) months)") }
        if !r.structures.isEmpty { structureTable(r, line) }
        let raised = r.flags.filter(\.exceeded), open = r.flags.filter { !$0.evaluable }
        line()
        if r.flags.isEmpty {
            line("Flags: none evaluated (no organ, cord, thecal sac or vertebra structure, and no dated courses).")
        } else {
            line("Flags: \(raised.count) raised, \(open.count) not evaluable, of \(r.flags.count) (plain sums, α/β 2 Gy; cumulative limits on the sum of the courses' maxima).")
            for f in raised {
                line("  ! \(f.structure.map { $0 + ": " } ?? "")\(f.message)")
                if let n = f.note { line("      note: \(n)") }
                line("      \(f.source) — \(f.status)")
            }
            for f in open {
                line("  ? \(f.structure.map { $0 + ": " } ?? "")\(f.rule) not evaluable: \(f.reason ?? "")")
            }
            for f in r.flags where f.evaluable && !f.exceeded { if let n = f.note { line("  · \(f.structure.map { $0 + ": " } ?? "")\(f.rule): \(n)") } }
        }
        if !r.warnings.isEmpty {
            line()
            line("Warnings (\(r.warnings.count)):")
            for w in r.warnings { line("  \(w)") }
        }
        return s
    }

    /// Per structure and course: EQD2 and BED metrics, the α/β and its source; then BED₂
    /// sums of maxima beside voxel-wise maxima.
    static func structureTable(_ r: CompositeReport, _ line: (String) -> Void) {
        line("")
        let w = max(12, r.structures.map(\.name.count).max() ?? 12)
        func pad(_ t: String, _ n: Int, right: Bool = true) -> String {
            let f = String(repeating: " ", count: max(0, n - t.count))
            return right ? f + t + " " : t + f + " "
        }
        func n(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "n/e" }
        line(pad("Structure", w, right: false) + pad("α/β", 10) + pad("course", 10, right: false)
             + ["EQD2 Dmax", "D0.035cc", "D1cc", "Dmean", "BED Dmax", "D0.035cc", "D1cc", "Dmean"].map { pad($0, 10) }.joined())
        for e in r.structures {
            let tag = e.alphaBetaSource == .globalDefault ? "" : e.alphaBetaSource == .cnsDefault ? " cns" : " user"
            let ab = e.alphaBetaGy.map(num).joined(separator: "/") + tag
            var first = true
            func row(_ label: String, _ a: CompositeReport.Metrics, _ b: CompositeReport.Metrics, _ mark: String = "") {
                line(pad(first ? e.name : "", w, right: false) + pad(first ? ab : "", 10) + pad(label, 10, right: false)
                     + [a.dmax, a.d0035cc, a.d1cc, a.dmean, b.dmax, b.d0035cc, b.d1cc, b.dmean].map { pad(n($0), 10) }.joined() + mark)
                first = false
            }
            for c in e.courses {
                row(c.label, c.eqd2, c.bed, c.coverage == .complete ? "" : String(format: "  %@ (%.1f %% outside the course's grid, counted at 0 Gy)",
                                                                                    c.coverage == .outside ? "not evaluable" : "partial", c.outsideGridPercent))
            }
            let partial = e.courses.filter { $0.coverage != .complete }.map(\.label)
            row("cumulative", e.cumulativeEQD2, e.cumulativeBED, partial.isEmpty ? "" : "  partial (without the dose outside \(partial.joined(separator: ", "))'s grid)")
        }
        line("α/β: cns = CNS default (\(num(r.alphaBeta.cnsDefaultGy)) Gy), user = given; otherwise the default.")
        line("EQD2/BED Dmax: the maximum of the voxel-wise EQD2/BED map in the structure (interpolated between voxels); the flags' BED₂ is the BED of the course's physical Dmax, which can be lower (BED is convex in dose).")
        let organs = r.structures.filter { $0.bed2 != nil }
        guard !organs.isEmpty else { return }
        line("")
        line("BED₂ (α/β 2 Gy, no recovery), Gy₂: sum of the courses' maxima (the basis of published limits) | voxel-wise cumulative maximum")
        for e in organs {
            let b = e.bed2!
            line("  " + pad(e.name, w, right: false) + String(format: "%9.1f | %9.1f", b.sumOfMaxima, b.voxelWiseMax)
                 + "   (courses: " + b.courseMaxima.map { String(format: "%.1f", $0) }.joined(separator: " + ") + ")")
        }
    }

    static func sourceText(_ s: AlphaBetaSource) -> String {
        switch s {
        case .user: return "given"
        case .cnsDefault: return "CNS default"
        case .globalDefault: return "default"
        }
    }

    static func num(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%g", x) }
}
