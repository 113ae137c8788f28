import Base
import ArgumentParser
import Batch
import Dosimetry
import Foundation
import Rendering
import RTModel
import VoxelKit

extension SBRT {
    struct RenderCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "render",
            abstract: "PNG figures: image slices (CT, MR, PET) with isodose lines and structures, DVH plots, and both side by side.",
            discussion: """
                A slice shows the planning images (CT, MR or PET; bilinear, windowed), isodose
                lines (levels in % of Rx or in Gy, coloured hot red at Rx to blue at low dose),
                structure outlines in their ROI colours, a legend, orientation letters from the
                images' direction cosines, a scale bar and a caption without patient
                identifiers. Rx comes from --rx or the plan; % levels without one are an error.
                --image N draws another series of the folder (numbered as `sbrt info` lists
                them) under the same lines, resampled onto the slice: one on the same frame of
                reference or joined by a Spatial Registration.

                Examples:
                  sbrt render Fixtures/pelvis --figure --out figure1.png
                  sbrt render Fixtures/pelvis --out slice.png --through PTV \\
                      --isodose 105,100,90,80,50,30
                  sbrt render Fixtures/pelvis --out sag.png --view sagittal \\
                      --window bone --colorwash
                  sbrt render Fixtures/pelvis --dvh --out dvh.png --svg dvh.svg
                  sbrt render Fixtures/pelvis --through PTV --all-slices --out-dir slices/
                  sbrt render Fixtures/registered_mr --out mr.png --image 2 --through PTV
                  sbrt render --population --db cohort.sqlite --structure PTV --by site \\
                      --out band.png
                See docs/render.md.
                """
        )

        @Argument(help: "A folder of DICOM files (CT, MR or PET images, RT Structure Set, RT Dose, RT Plan); none with --population.")
        var path: String?

        @Option(help: "Output PNG.")
        var out: String?

        @Option(help: "axial (default), sagittal or coronal.")
        var view: ViewOrientation = .axial

        @Option(name: .customLong("slice-z"), help: "Axial slice at this patient z, mm (snapped to the nearest image slice).")
        var sliceZ: Double?

        @Option(name: .customLong("slice-x"), help: "Sagittal slice at this patient x, mm.")
        var sliceX: Double?

        @Option(name: .customLong("slice-y"), help: "Coronal slice at this patient y, mm.")
        var sliceY: Double?

        @Option(help: "Slice through the centroid of this structure (default: the first PTV).")
        var through: String?

        @Flag(help: "Slice through the dose maximum.")
        var atMax = false

        @Option(help: "Isodose levels in % of Rx, comma-separated (default 105,100,90,80,50,30).")
        var isodose: String?

        @Option(name: .customLong("isodose-gy"), help: "Isodose levels in Gy, comma-separated, e.g. 40,35,20,10.")
        var isodoseGy: String?

        @OptionGroup var prescription: PrescriptionOptions

        @Flag(help: "Translucent colour fill between isodose levels.")
        var colorwash = false

        @Option(help: "Structures to outline, comma-separated (default: all but EXTERNAL).")
        var structures: String?

        @Option(help: "Display window: W/L such as 350/50 in the image's values, or for CT soft (W400/L40, the CT default), bone (W1800/L400), lung (W1500/L-600). MR and PET default to the 1st–99th percentile inside BODY.")
        var window: String?

        @Option(name: .customLong("image"), help: ArgumentHelp("The image series under the figure: its number in `sbrt info` or its Series Instance UID; on the plan's frame of reference or joined to it by a Spatial Registration in the folder (default: the planning images).", valueName: "series-uid|n"))
        var image: String?

        @Option(help: "Frame the slice around this structure.")
        var zoomTo: String?

        @Option(help: "Margin around --zoom-to, mm.")
        var padding: Double = 30

        @Option(help: "Width of the slice image in pixels (default 1024; 900 in --figure), or of the DVH plot.")
        var size: Int?

        @OptionGroup var study: StudyOptions

        @Flag(help: "Draw the DVH plot instead of a slice.")
        var dvh = false

        @Option(name: .customLong("constraint"), help: ArgumentHelp("A constraint to mark on the DVH plot, STRUCTURE:METRIC OP LIMIT, e.g. \"Rectum:D0.035cc<38\" or \"SacralPlexus:V30Gy[cc]<5\"; repeat for several. Drawn green when met, red when violated.", valueName: "constraint"))
        var constraints: [String] = []

        @Option(help: "With --dvh or --population: also write the plot as SVG to this file.")
        var svg: String?

        @Flag(help: "A population DVH from a batch database (--db): median and inter-quartile band of --structure across the plans.")
        var population = false

        @Option(help: "With --population: the database written by `sbrt batch` (SQLite file or postgresql:// URL).")
        var db: String?

        @Option(name: .customLong("structure"), help: "With --population: the structure (name as stored, ASCII case ignored).")
        var populationStructure: String?

        @Option(help: "With --population: one band per protocol (--protocol of the batch run) or per site (from the RT Plan Label; docs/batch.md).")
        var by: PopulationDVH.Grouping = .none

        @Flag(help: "Panel A (slice) and panel B (DVH) side by side, like Figure 1 of the review.")
        var figure = false

        @Flag(help: "Render every slice through the structure of --through (or --zoom-to) into --out-dir.")
        var allSlices = false

        @Option(help: "Folder for --all-slices (created if missing).")
        var outDir: String?

        func validate() throws {
            if population || db != nil || populationStructure != nil || by != .none {
                try validatePopulation()
                return
            }
            guard path != nil else { throw ValidationError("give a folder of DICOM files (or --population --db FILE)") }
            let selectors = [sliceZ != nil, sliceX != nil, sliceY != nil, atMax, through != nil && !allSlices].filter { $0 }.count
            guard selectors <= 1 else { throw ValidationError("give at most one of --slice-z, --slice-x, --slice-y, --through, --at-max") }
            if isodose != nil && isodoseGy != nil { throw ValidationError("give --isodose (% of Rx) or --isodose-gy, not both") }
            if let size, !(64...8192).contains(size) { throw ValidationError("--size must be 64 to 8192 pixels") }
            try OptionRange.check(padding, OptionRange.paddingMM, "--padding", unit: "mm")
            try OptionRange.check(sliceX, OptionRange.coordinateMM, "--slice-x", unit: "mm")
            try OptionRange.check(sliceY, OptionRange.coordinateMM, "--slice-y", unit: "mm")
            try OptionRange.check(sliceZ, OptionRange.coordinateMM, "--slice-z", unit: "mm")
            if let isodose { _ = try Self.levels(isodose, option: "--isodose") }
            if let isodoseGy { _ = try Self.levels(isodoseGy, option: "--isodose-gy") }
            if let window {
                guard let w = DisplayWindow(parsing: window), w.width >= 1e-6, w.width <= 1e6, abs(w.level) <= 1e6 else {
                    throw ValidationError("--window must be soft, bone, lung or W/L with 10⁻⁶ ≤ W ≤ 10⁶ and |L| ≤ 10⁶ (e.g. 400/40)")
                }
            }
            if image != nil && dvh { throw ValidationError("--image chooses the image under a slice; --dvh draws no slice") }
            if dvh && figure { throw ValidationError("--dvh and --figure are exclusive (--figure includes the DVH)") }
            if svg != nil && !dvh { throw ValidationError("--svg needs --dvh") }
            if allSlices {
                guard outDir != nil else { throw ValidationError("--all-slices needs --out-dir") }
                guard through != nil || zoomTo != nil else { throw ValidationError("--all-slices needs --through STRUCTURE") }
                if dvh || figure || out != nil { throw ValidationError("--all-slices writes into --out-dir; drop --out, --dvh and --figure") }
            } else {
                if outDir != nil { throw ValidationError("--out-dir goes with --all-slices; use --out for one file") }
                if out == nil && !(dvh && svg != nil) { throw ValidationError("give --out FILE.png") }
            }
        }

        static func levels(_ text: String, option: String) throws -> [Double] {
            let values = text.split(separator: ",").map { $0.trimmingSpaces() }
            let numbers = values.compactMap { Double($0.hasSuffix("%") ? String($0.dropLast()) : $0) }
            let range = option == "--isodose" ? OptionRange.isodosePercent : OptionRange.isodoseGy
            guard !values.isEmpty, numbers.count == values.count, numbers.allSatisfy({ $0.isFinite && range.contains($0) }) else {
                throw ValidationError("\(option) must be numbers within \(InputLimits.describe(range, option == "--isodose" ? "%" : "Gy")) separated by commas, e.g. 105,100,90,80,50,30 (got \"\(text)\")")
            }
            return numbers
        }

        /// The --constraint options as plot markers, each evaluated on its structure's DVH.
        func markers(_ curves: [DVHCurve], _ rx: Double?) throws -> [DVHMarker] {
            try constraints.map { text in
                guard let colon = text.firstIndex(of: ":") else {
                    throw SBRTError(.invalidRequest, "--constraint \"\(text)\": write STRUCTURE:METRIC OP LIMIT, e.g. Rectum:D0.035cc<38")
                }
                let name = text[..<colon].trimmingSpaces()
                let rest = String(text[text.index(after: colon)...])
                guard let op = ["<=", ">=", "<", ">"].first(where: { rest.contains($0) }), let r = rest.range(of: op),
                      let limit = Double(rest[r.upperBound...].trimmingSpaces()) else {
                    throw SBRTError(.invalidRequest, "--constraint \"\(text)\": the limit must follow <, <=, > or >= as a number")
                }
                let metricText = rest[..<r.lowerBound].trimmingSpaces()
                let metric: Metric
                do { metric = try Metric.parse(metricText) } catch let e as Metric.ParseError { throw SBRTError(.invalidRequest, "--constraint \"\(text)\": \(e.description)") }
                guard let curve = curves.first(where: { StructureName.same($0.name, name) }) else {
                    throw SBRTError(.invalidRequest, "--constraint \"\(text)\": no plotted structure named \"\(name)\" (plotted: \(curves.map(\.name).joined(separator: ", ")))")
                }
                let dvh = curve.dvh
                func pct(_ cc: Double) -> Double { dvh.volumeCC > 0 ? 100 * cc / dvh.volumeCC : 0 }
                let point: (Double, Double)
                switch (metric.kind, metric.unit) {
                case (.doseAtPercent(let x), .gy): point = (limit, x)
                case (.doseAtCC(let x), .gy): point = (limit, pct(x))
                case (.dmax, .gy): point = (limit, 0)
                case (.volumeAtGy(let x), .percentVolume): point = (x, limit)
                case (.volumeAtGy(let x), .cc): point = (x, pct(limit))
                default:
                    throw SBRTError(.invalidRequest, "--constraint \"\(text)\": only Dx%[Gy], Dxcc[Gy], Dmax[Gy] and VxGy[%|cc] are points on a DVH")
                }
                let value = DVHAnalysis.evaluate(metric, dvh: dvh, rx: rx, isodose: { nil }, d2cm: { nil }).value
                let met = value.map { v -> Bool in
                    switch op { case "<": return v < limit; case "<=": return v <= limit; case ">": return v > limit; default: return v >= limit }
                }
                return DVHMarker(doseGy: point.0, volumePercent: point.1, label: "\(name) \(metricText) \(op) \(String(format: "%g", limit))",
                                 colour: curve.colour, met: met)
            }
        }

        func run() throws {
            do {
                try render()
            } catch var e as SBRTError {
                // The library says what is missing; the CLI names the option that gives it.
                if e.message.contains("need the prescription") { e.message += " (--rx GY, or --isodose-gy)" }
                else if e.message.contains("does not select a") { e.message += " (--slice-x, --slice-y, --slice-z)" }
                else if e.message.contains("slice at the dose maximum") { e.message += " (--at-max)" }
                throw e
            }
        }

        func render() throws {
            if population {
                try runPopulation()
                return
            }
            let path = self.path!
            try OutputFiles.validate([out, svg].compactMap { $0 })
            var request = try sliceRequest()
            if dvh {
                // The DVH plot needs no images: they are not read.
                try runDVH(try study.resolve(path, needs: [.dose, .structureSet], rx: prescription), request)
                return
            }
            let resolved = try study.resolve(path, needs: [.images], rx: prescription)
            let render = try RenderStudy.load(resolved, image: image)
            try Self.checkWindow(window, render)
            if allSlices {
                try runAllSlices(render, &request, source: provenance(resolved))
                return
            }
            let slice = try SliceRenderer.render(render, request)
            var image = slice.panel
            if figure {
                let indices = try SliceRenderer.structureIndices(render, request.structures)
                let curves = try Figure.dvhCurves(resolved, rois: render.rois, indices: indices)
                let h = slice.panel.height
                let label = doseLabel(resolved)
                let plot = DVHPlot.render(curves, rxGy: label == "Gy" ? slice.rxGy : nil, width: Int((Double(h) * 1.15).rounded()), height: h, doseLabel: label, markers: try markers(curves, slice.rxGy))
                image = Figure.compose([slice.panel, plot], labelColours: [.white, .black])
            }
            try PNGEncoder.write(image, to: out!, text: [("Source", provenance(resolved)), ("Description", slice.caption)])
            print("\(out!): \(request.orientation.rawValue) slice at \(slice.positionLabel)\(figure ? " with the DVH" : ""), \(image.width)×\(image.height) px")
        }

        /// The slice request the options describe.
        func sliceRequest() throws -> SliceRequest {
            var request = SliceRequest()
            request.orientation = view
            if let z = sliceZ { request.position = .coordinate(axis: 2, mm: z) }
            if let x = sliceX { request.position = .coordinate(axis: 0, mm: x) }
            if let y = sliceY { request.position = .coordinate(axis: 1, mm: y) }
            if let t = through, !allSlices { request.position = .through(t) }
            if atMax { request.position = .atMaximumDose }
            request.window = window.flatMap(DisplayWindow.init(parsing:))
            if let isodose { request.isodose = .percent(try Self.levels(isodose, option: "--isodose")) }
            if let isodoseGy { request.isodose = .gy(try Self.levels(isodoseGy, option: "--isodose-gy")) }
            request.rxGy = prescription.rx
            request.colorwash = colorwash
            request.structures = structures.map { $0.split(separator: ",").map { $0.trimmingSpaces() }.filter { !$0.isEmpty } }
            request.zoomTo = zoomTo
            request.paddingMM = padding
            request.widthPx = size ?? (figure ? 900 : 1024)
            return request
        }

        /// A composite from `sbrt composite` is labelled with its quantity (Gy EQD2, Gy BED).
        func doseLabel(_ resolved: ResolvedStudy) -> String {
            resolved.dose?.primary.quantityLabel.map { "Gy \($0)" } ?? "Gy"
        }

        /// The DVH plot alone (PNG and/or SVG), written together.
        func runDVH(_ resolved: ResolvedStudy, _ request: SliceRequest) throws {
            let rois = resolved.structureSet?.rois ?? []
            let indices = try SliceRenderer.structureIndices(rois, request.structures)
            let curves = try Figure.dvhCurves(resolved, rois: rois, indices: indices)
            let rxGy = request.rxGy ?? resolved.rx?.value
            let label = doseLabel(resolved)
            let w = size ?? 1000, h = Int((Double(size ?? 1000) * 0.72).rounded())
            let marks = try markers(curves, rxGy)
            var outputs = OutputFiles()
            if let out {
                let text = [("Source", provenance(resolved)), ("Description", "Cumulative DVH of \(curves.map(\.name).joined(separator: ", "))")]
                outputs.add(try PNGEncoder.encode(DVHPlot.render(curves, rxGy: label == "Gy" ? rxGy : nil, width: w, height: h, doseLabel: label, markers: marks), text: text), to: out)
            }
            if let svg {
                outputs.add(DVHPlot.svg(curves, rxGy: label == "Gy" ? rxGy : nil, width: w, height: h, doseLabel: label, markers: marks), to: svg)
            }
            try outputs.commit()
            if let out { print("\(out): DVH of \(curves.count) structure(s), \(w)×\(h) px") }
            if let svg { print("\(svg): DVH of \(curves.count) structure(s) (SVG)") }
        }

        /// Every slice through a structure, one PNG each, into --out-dir.
        func runAllSlices(_ study: RenderStudy, _ request: inout SliceRequest, source: String) throws {
            let name = through ?? zoomTo!
            let dir = outDir!
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw SBRTError(.io, "cannot create the folder", file: dir)
            }
            let levels = try SliceRenderer.levels(study, request)
            let indices = try SliceRenderer.structureIndices(study, request.structures)
            let points = try slicePoints(study, name, request.orientation)
            // One framing for the whole stack, so the slices line up.
            request.position = .through(name)
            let (centre, _) = try SliceRenderer.slicePoint(study, request)
            let frame = try SliceRenderer.view(study, request, through: centre)
            var outputs = OutputFiles()
            for (n, p) in points.enumerated() {
                request.position = .point(p)
                let (q, label) = try SliceRenderer.slicePoint(study, request)
                var v = frame
                v.centre = frame.centre + v.normal * dot(q - frame.centre, v.normal)
                let r = SliceRenderer.render(study, request, view: v, positionLabel: label, levels: levels, structures: indices)
                let value = label.split(separator: "=").last.map { $0.trimmingSpaces() } ?? ""
                let axis = label.split(separator: " ").first.map(String.init) ?? "p"
                let file = (dir as NSString).appendingPathComponent(
                    String(format: "%@_%03d_%@%@.png", request.orientation.rawValue, n + 1, axis,
                           value.replacingOccurrences(of: "−", with: "-").replacingOccurrences(of: " ", with: "")))
                outputs.add(try PNGEncoder.encode(r.panel, text: [("Source", source), ("Description", r.caption)]), to: file)
            }
            try outputs.commit()
            print("\(dir): \(points.count) \(request.orientation.rawValue) slice(s) through \(name)")
        }

        /// Patient-free provenance for the PNG metadata: software, dose, plan and image identifiers.
        func provenance(_ study: ResolvedStudy) -> String {
            var parts = ["sbrt \(SBRT.version) render"]
            if let d = study.dose { parts.append("RT Dose \(d.sopInstanceUIDs.joined(separator: " + ")) (\(d.summationType.isEmpty ? "no summation type" : d.summationType))") }
            if let p = study.plan { parts.append("RT Plan \(p.label ?? p.sopInstanceUID)") }
            if let s = study.images { parts.append("\(s.modality.displayName) series \(s.seriesInstanceUID)") }
            if let image, let b = try? study.selectImages(image), b.series.seriesInstanceUID != study.images?.seriesInstanceUID {
                parts.append("image \(b.series.modality.displayName) series \(b.series.seriesInstanceUID) (\(b.registration))")
            }
            return parts.joined(separator: "; ")
        }

        /// CT presets are windows in HU: on MR or PET they are refused (W/L is not).
        static func checkWindow(_ window: String?, _ study: RenderStudy) throws {
            let modality = study.background.series.modality
            if let window, DisplayWindow.isPreset(window), modality != .ct {
                throw SBRTError(.invalidRequest, "--window \(window) is a CT preset in HU, but the image is \(modality.displayName): give W/L in its values (e.g. 800/400), or leave the default percentile window")
            }
        }

        /// One point per plane of the planning images (along the view's normal) that the structure spans.
        func slicePoints(_ study: RenderStudy, _ name: String, _ orientation: ViewOrientation) throws -> [Vec3] {
            let n = try study.roiIndex(name)
            let g = study.images.grid
            let a = orientation == .axial ? 2 : orientation == .sagittal ? 0 : 1
            let pts = study.rois[n].contours.filter(\.isClosedPlanar).flatMap(\.points)
            guard !pts.isEmpty, let c = study.centroid(n) else { throw SBRTError(.invalidRequest, "ROI \"\(study.rois[n].name)\" has no closed contours") }
            let idx = pts.map { g.continuousIndex(of: $0)[a] }
            let lo = max(0, Checked.clamped(idx.min()!.rounded())), hi = min([g.nx, g.ny, g.nz][a] - 1, Checked.clamped(idx.max()!.rounded()))
            guard lo <= hi else { throw SBRTError(.invalidRequest, "ROI \"\(study.rois[n].name)\" lies outside the planning images") }
            let ci = g.continuousIndex(of: c)
            let axis = [g.axisI, g.axisJ, g.axisK][a] * g.spacing[a]
            return (lo...hi).map { c + axis * (Double($0) - ci[a]) }
        }
    }
}
