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
                Each course is converted voxel by voxel with its own number of fractions
                (d = D/n per voxel), then the courses are summed on a reference grid (the
                newest course's dose grid, or --grid ct). A course is an RT Dose file or a
                folder: PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME]. Fractions come from
                the course's RT Plan when present, else must be given. FRACTION doses are
                multiplied by the fractions; BEAM doses of one plan are summed first.

                α/β: --alpha-beta everywhere, --structure-alpha-beta inside structures (a voxel
                whose centre is inside); where structures overlap the lowest α/β wins.
                Recovery is off unless --recovery or --recovery-model is given, and then it is
                named in every output.

                Example:
                  sbrt composite --course Fixtures/reirradiation/prior:date=2025-03-02 \\
                                 --course Fixtures/pelvis:date=2026-01-15 \\
                                 --alpha-beta 3 --structure-alpha-beta "SacralPlexus=2,GTV=10" \\
                                 --out composite.dcm --report report.json
                See docs/composite.md.
                """
        )

        enum Format: String, ExpressibleByArgument, CaseIterable { case table, json }

        @Option(name: .customLong("course"), help: "PATH[:fractions=N][:date=YYYY-MM-DD][:label=NAME]; repeat for each course.")
        var courses: [String] = []

        @Option(help: "Folder with the structure set (and CT) on the reference frame of reference (default: the newest course's folder).")
        var structures: String?

        @Option(name: .customLong("alpha-beta"), help: "Default α/β in Gy.")
        var alphaBeta: Double = 3

        @Option(name: .customLong("structure-alpha-beta"), help: "α/β inside structures, e.g. \"SpinalCord=2,GTV=10\".")
        var structureAlphaBeta: String?

        @Option(help: "eqd2 (default), bed or physical.")
        var quantity: DoseQuantity = .eqd2

        @Option(name: .customLong("lq-linear-above"), help: "LQ-L: linear above this dose per fraction (Gy) [NV].")
        var lqLinearAbove: Double?

        @Option(help: "Recovery fractions per course: \"prior=0.25\" (label or 1-based course number).")
        var recovery: String?

        @Option(name: .customLong("recovery-model"), help: "Time-based recovery: simple, jones-grant, jones-grant-fitted.")
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

        /// One --course, with its fraction count within `InputLimits.fractions`.
        static func course(_ text: String) throws -> CourseSpec {
            let spec = try CourseSpec.parse(text)
            if let n = spec.fractions, !InputLimits.fractions.contains(n) {
                throw ValidationError("--course \(text): fractions must be within \(InputLimits.fractions.lowerBound)–\(InputLimits.fractions.upperBound) (got \(n))")
            }
            return spec
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
            let result = try Composite.run(try request())
            let t1 = Date()
            var json = ""
            if report != nil || format == .json {
                json = try JSONOutput.text(result.report)
            }
            var outputs = OutputFiles()
            outputs.add(try DICOMWriter.encodeFile(result.dataSet), to: out)
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
        line("Model: \(r.model). α/β: \(num(r.alphaBeta.defaultGy)) Gy" + (r.alphaBeta.structures.isEmpty ? "" : ", " + r.alphaBeta.structures.map { "\($0.name) \(num($0.alphaBetaGy)) (\($0.voxelsWhereUsed) voxels)" }.joined(separator: ", ") + "; lowest wins on overlap"))
        let recovery = r.recovery.description.hasPrefix("recovery ") ? String(r.recovery.description.dropFirst(9)) : r.recovery.description
        line("Recovery: \(r.recovery.applied ? recovery : "none (off by default)")")
        line("Reference grid: \(r.referenceGrid.source), \(r.referenceGrid.size.map(String.init).joined(separator: "×")) at \(r.referenceGrid.spacingMM.map { String(format: "%.2f", $0) }.joined(separator: "×")) mm")
        line()
        line("Courses:")
        for c in r.courses {
            line("  \(c.label): \(c.fractions) fx (\(c.fractionsSource))\(c.date.map { ", \($0)" } ?? ""), \(c.summation), max \(String(format: "%.2f", c.maxPhysicalGy)) Gy, \(c.registration), coverage \(String(format: "%.1f", c.coveragePercent)) %, recovery \(c.recovery)")
        }
        for i in r.intervals { line("  interval \(i.from) → \(i.to): \(i.days) days (\(String(format: "%.1f", i.months)) months)") }
        if !r.structures.isEmpty {
            line()
            let w = max(12, r.structures.map(\.name.count).max() ?? 12)
            func pad(_ t: String, _ n: Int, right: Bool = true) -> String {
                let f = String(repeating: " ", count: max(0, n - t.count))
                return right ? f + t + " " : t + f + " "
            }
            func n(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "n/e" }
            line(pad("Structure", w, right: false) + pad("α/β", 6) + pad("course", 10, right: false)
                 + ["EQD2 Dmax", "D0.035cc", "D1cc", "Dmean", "BED Dmax", "D0.035cc", "D1cc", "Dmean"].map { pad($0, 10) }.joined())
            for e in r.structures {
                let ab = e.alphaBetaGy.map(num).joined(separator: "/")
                var first = true
                func row(_ label: String, _ a: CompositeReport.Metrics, _ b: CompositeReport.Metrics) {
                    line(pad(first ? e.name : "", w, right: false) + pad(first ? ab : "", 6) + pad(label, 10, right: false)
                         + [a.dmax, a.d0035cc, a.d1cc, a.dmean, b.dmax, b.d0035cc, b.d1cc, b.dmean].map { pad(n($0), 10) }.joined())
                    first = false
                }
                for c in e.courses { row(c.label, c.eqd2, c.bed) }
                row("cumulative", e.cumulativeEQD2, e.cumulativeBED)
            }
        }
        let raised = r.flags.filter(\.exceeded)
        line()
        if r.flags.isEmpty {
            line("Flags: none evaluated (no CNS, cord or vertebra structure by name, and no dated courses).")
        } else {
            line("Flags: \(raised.count) raised of \(r.flags.count) evaluated (plain sums, α/β 2 Gy).")
            for f in raised {
                line("  ! \(f.structure.map { $0 + ": " } ?? "")\(f.message)")
                line("      \(f.source) — \(f.status)")
            }
        }
        if !r.warnings.isEmpty {
            line()
            line("Warnings (\(r.warnings.count)):")
            for w in r.warnings { line("  \(w)") }
        }
        return s
    }

    static func num(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(format: "%g", x) }
}
