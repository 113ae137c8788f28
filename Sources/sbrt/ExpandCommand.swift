import Base
import ArgumentParser
import DICOM
import Foundation
import Geometry
import RTModel
import VoxelKit

extension SBRT {
    struct ExpandCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "expand",
            abstract: "Grow, shrink, crop and combine structures exactly in 3D, and write them as a new RT Structure Set.",
            discussion: """
                Margins are measured exactly from the structure's surface, and the result is
                contoured on every slice of the planning images (CT, MR or PET). The surface is
                the one the contours describe: interpolated between slices with rounded ends
                (default), or the planning systems' prism stack (--end-cap prism). Directions
                are the patient's: R, L, A, P, S, I. The output keeps every input ROI and
                appends the new one.

                Examples:
                  sbrt expand DIR --from GTV --margin 5 --name CTV --crop-to BONE \\
                      --out rtss.dcm
                  sbrt expand DIR --from CTV --margin-directions 3,3,3,5,5,5 --name PTV \\
                      --out rtss.dcm
                  sbrt expand DIR --from GTV --margin 10 --barrier "Lung_L,Bowel" \\
                      --name CTV --out rtss.dcm
                  sbrt expand DIR --from PTV --ring 0:20 --name Ring20 --out rtss.dcm
                  sbrt expand DIR --expression "PTV-(SpinalCord+2)" --name PTV_eval \\
                      --out rtss.dcm
                  sbrt expand --recipe systematic=1.5,random=2.0
                See docs/expand.md.
                """
        )

        @Argument(help: "A folder of DICOM files (planning images — CT, MR or PET — and RT Structure Set).")
        var path: String?

        @Option(help: "The structure to grow or shrink.")
        var from: String?

        // Unconditional parsing: "--margin -3" is a value, not an unknown option.
        @Option(parsing: .unconditional, help: "Margin in mm (negative shrinks: --margin -3).")
        var margin: Double?

        @Option(parsing: .unconditional, help: "Six margins in mm: right,left,anterior,posterior,superior,inferior.")
        var marginDirections: String?

        @Option(help: "Grow around these structures (comma-separated): distance along paths that avoid them.")
        var barrier: String?

        @Option(help: "A ring a:b mm around --from: (S+b) − (S+a).")
        var ring: String?

        @Option(help: "A structure expression: + union, - difference, & intersection, ^ symmetric difference, (S+m) margin.")
        var expression: String?

        @Option(help: "Keep the result inside this structure.")
        var cropTo: String?

        @Option(help: "Remove this structure, grown by an optional margin (S or S:mm); repeatable.")
        var avoid: [String] = []

        @Option(help: "Name of the new ROI.")
        var name: String?

        @Option(help: "RT ROI Interpreted Type (default from the name: PTV…, CTV…, GTV…, else CONTROL).")
        var type: String?

        @Option(help: "Source solid: interpolated (default; shape-based interpolation between slices, rounded ends) or prism (each contour extruded half way to its neighbours).")
        var endCap: EndCap = .interpolated

        @Option(help: "In-plane cell of the working lattice, mm.")
        var cell: Double = 0.5

        @OptionGroup var study: StructureSetOptions

        @Option(help: "Write the new structure set here (atomically).")
        var out: String?

        @Option(help: "Also write the new ROI as a 0/1 mask on the planning image grid (NRRD, for 3D Slicer).")
        var nrrd: String?

        @Option(help: "Print the van Herk PTV margin 2.5Σ + 0.7σ for \"systematic=Σ,random=σ\" (mm).")
        var recipe: String?

        @Flag(help: "Print timings of the stages to standard error.")
        var timings = false

        func validate() throws {
            if let recipe { _ = try Self.recipe(recipe); return }
            guard path != nil else { throw ValidationError("give a DICOM folder (or --recipe)") }
            guard name != nil else { throw ValidationError("--name is required") }
            guard expression != nil || from != nil else { throw ValidationError("give --from S (with --margin, --margin-directions or --ring) or --expression") }
            if expression != nil && from != nil { throw ValidationError("--expression and --from cannot be combined") }
            if from != nil && margin == nil && marginDirections == nil && ring == nil && cropTo == nil && avoid.isEmpty {
                throw ValidationError("give --margin, --margin-directions or --ring with --from")
            }
            if margin != nil && marginDirections != nil { throw ValidationError("--margin and --margin-directions cannot be combined") }
            try OptionRange.check(margin, OptionRange.marginMM, "--margin", unit: "mm")
            if barrier != nil && (marginDirections != nil || (margin ?? 0) <= 0) { throw ValidationError("--barrier needs a positive uniform --margin") }
            guard endCap != .none else { throw ValidationError("--end-cap must be prism or interpolated") }
            try OptionRange.check(cell, 0.05...2, "--cell", unit: "mm")
            if out == nil && nrrd == nil { throw ValidationError("give --out (RT Structure Set) and/or --nrrd") }
            if let d = marginDirections { _ = try Self.directions(d) }
            if let ring { _ = try Self.ring(ring) }
            for a in avoid { _ = try Self.avoidance(a) }
        }

        /// The six margins of --margin-directions, each within `OptionRange.marginMM`.
        static func directions(_ text: String) throws -> DirectionalMargin {
            guard let m = DirectionalMargin.parse(directions: text) else {
                throw ValidationError("--margin-directions needs six numbers in mm: right,left,anterior,posterior,superior,inferior")
            }
            for v in m.values { try OptionRange.check(v, OptionRange.marginMM, "--margin-directions", unit: "mm") }
            return m
        }

        /// The radii a:b of --ring, 0 ≤ a < b within `OptionRange.marginMM`.
        static func ring(_ text: String) throws -> (Double, Double) {
            let parts = text.split(separator: ":").map { Double(String($0).trimmingSpaces()) }
            guard parts.count == 2, let a = parts[0], let b = parts[1], a >= 0, b > a else {
                throw ValidationError("--ring must be a:b in mm with 0 ≤ a < b (e.g. 0:20)")
            }
            try OptionRange.check(b, OptionRange.marginMM, "--ring", unit: "mm")
            return (a, b)
        }

        /// The structure and margin of one --avoid (S or S:mm).
        static func avoidance(_ text: String) throws -> (String, Double) {
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { return (text, 0) }
            guard let mm = Double(parts[1]) else { throw ValidationError("--avoid takes S or S:mm, got \"\(text)\"") }
            return (parts[0], try OptionRange.check(mm, OptionRange.marginMM, "--avoid \(parts[0])", unit: "mm"))
        }

        func run() throws {
            if let recipe { try printRecipe(recipe); return }
            var stages: [(String, Double)] = []
            var t0 = Date()
            func lap(_ name: String) { stages.append((name, Date().timeIntervalSince(t0))); t0 = Date() }
            defer { if timings { printTimings(stages) } }
            try OutputFiles.validate([out, nrrd].compactMap { $0 })
            let resolved = try study.resolve(path!, needs: [.structureSet, .images])
            let ss = resolved.structureSet!
            let images = resolved.images!
            let newName = name!
            if ss.roi(named: newName) != nil { throw SBRTError(.invalidRequest, "an ROI named \"\(newName)\" already exists in \(ss.path); choose another --name") }
            let expr = try buildExpression(known: ss.rois.map(\.name))

            let frame = PlaneFrame(grid: images.grid)
            let shapes = ss.rois.map { PlanarShape(roi: $0, frame: frame) }
            let origin = dot(images.grid.origin, frame.n)
            let planesW = images.slices.map { $0.offset - origin }
            var options = MarginOptions()
            options.endCap = endCap
            options.cellMM = cell
            let engine = MarginEngine(frame: frame, sliceSpacing: images.grid.spacing.z, shapes: shapes, outputPlanes: planesW, options: options)
            lap("loading")
            let result: MarginResult
            result = try engine.evaluate(expr)
            stages += result.timings.map { ("  " + $0.stage, $0.seconds) }
            lap("margin engine")

            guard !result.planes.isEmpty else {
                throw SBRTError(.invalidRequest, "\(newName) = \(expr.description) (\(endCap.rawValue) source) is empty on every \(images.modality.displayName) slice; nothing written")
            }
            let shape = result.shape(name: newName, frame: frame)
            let layers = shape.prismLayers(sliceSpacing: images.grid.spacing.z)
            let prismCC = zip(shape.planeAreas, layers).reduce(0) { $0 + $1.0 * ($1.1.hi - $1.1.lo) } / 1000
            let interpolatedCC = shape.volumeMM3(endCap: .interpolated, sliceSpacing: images.grid.spacing.z) / 1000
            lap("volumes of the result")
            let kind = type ?? StructureSetWriter.interpretedType(forName: newName)
            let desc = "sbrt \(SBRT.version): \(expr.description), \(endCap.rawValue) source"
            try writeOutputs(result, name: newName, kind: kind, description: desc, structureSet: ss, images: images, frame: frame)
            lap("writing")
            let contourCount = result.planes.reduce(0) { $0 + $1.polygons.count }
            let pointCount = result.planes.reduce(0) { $0 + $1.polygons.reduce(0) { $0 + $1.count } }
            print("\(newName) = \(expr.description) (\(endCap.rawValue) source): \(String(format: "%.3f", interpolatedCC)) cc interpolated between its contours, \(String(format: "%.3f", prismCC)) cc as a prism stack; \(result.planes.count) planes, \(contourCount) contours, \(pointCount) points, type \(kind)")
            if let out { print("wrote \(out) (\(ss.rois.count) input ROIs + \(newName))") }
            if let nrrd { print("wrote \(nrrd)") }
        }

        /// The new structure set (`--out`) and the mask (`--nrrd`).
        func writeOutputs(_ result: MarginResult, name newName: String, kind: String, description desc: String,
                          structureSet ss: StructureSet, images: ImageSeries, frame: PlaneFrame) throws {
            var outputs = OutputFiles()
            if let out {
                var contours: [(points: [Vec3], sliceUID: String)] = []
                for p in result.planes {
                    for poly in p.polygons {
                        contours.append((poly.map { frame.patient($0.x, $0.y, p.w) }, images.slices[p.index].sopInstanceUID))
                    }
                }
                let file = try DICOMFile.read(path: ss.path)
                let roi = StructureSetWriter.NewROI(name: newName, interpretedType: kind,
                                                    color: StructureSetWriter.color(forType: kind, index: ss.rois.count),
                                                    contours: contours, description: String(desc.prefix(1000)))
                let ds = try StructureSetWriter.dataSet(base: file.dataSet, images: images, adding: [roi])
                outputs.add(segments: try DICOMWriter.encodeFileSegments(ds), to: out)
            }
            if let nrrd { outputs.add(mask(result, images: images, frame: frame, description: desc), to: nrrd) }
            try outputs.commit()
        }

        func buildExpression(known: [String]) throws -> MarginExpression {
            var e: MarginExpression
            if let expression {
                do { e = try MarginExpression.parse(expression, knownNames: known) } catch let p as StructureExpression.ParseError { throw SBRTError(.invalidRequest, p.description) }
            } else {
                let base = MarginExpression.roi(resolve(from!, known))
                if let ring {
                    let (a, b) = try Self.ring(ring)
                    let outer = MarginExpression.expansion(base, DirectionalMargin(uniformMM: b))
                    e = .difference(outer, a == 0 ? base : .expansion(base, DirectionalMargin(uniformMM: a)))
                } else if let d = marginDirections {
                    e = .expansion(base, try Self.directions(d))
                } else if let barrier, let margin {
                    let names = barrier.split(separator: ",").map { resolve(String($0).trimmingSpaces(), known) }
                    e = .geodesic(base, margin, barriers: names)
                } else if let margin {
                    e = .expansion(base, DirectionalMargin(uniformMM: margin))
                } else {
                    e = base
                }
            }
            if let cropTo { e = .intersection(e, .roi(resolve(cropTo, known))) }
            for a in avoid {
                let (name, mm) = try Self.avoidance(a)
                var sub = MarginExpression.roi(resolve(name, known))
                if mm != 0 { sub = .expansion(sub, DirectionalMargin(uniformMM: mm)) }
                e = .difference(e, sub)
            }
            for m in e.marginsMM { try OptionRange.check(m, OptionRange.marginMM, "a margin of --expression", unit: "mm") }
            return e
        }

        func printTimings(_ stages: [(String, Double)]) {
            for (name, s) in stages {
                printError("timing: " + name.padding(toLength: 36, withPad: " ", startingAt: 0) + String(format: "%8.1f ms", s * 1000))
            }
        }

        func resolve(_ name: String, _ known: [String]) -> String {
            StructureName.find(name, in: known) ?? name
        }

        /// Σ and σ of --recipe (`systematic=Σ,random=σ`, mm, each within `OptionRange.setupErrorMM`).
        static func recipe(_ text: String) throws -> (systematic: Double, random: Double) {
            var sys: Double?, rnd: Double?
            for part in text.split(separator: ",") {
                let kv = part.split(separator: "=").map { String($0).trimmingSpaces() }
                guard kv.count == 2, let v = Double(kv[1]) else { throw ValidationError("--recipe takes systematic=Σ,random=σ in mm") }
                try OptionRange.check(v, OptionRange.setupErrorMM, "--recipe \(kv[0])", unit: "mm")
                switch kv[0].lowercased() {
                case "systematic", "sigma_sys", "s": sys = v
                case "random", "sigma_rand", "r": rnd = v
                default: throw ValidationError("--recipe: unknown term \"\(kv[0])\" (use systematic=…,random=…)")
                }
            }
            guard let sys, let rnd else { throw ValidationError("--recipe needs both systematic=Σ and random=σ (mm)") }
            return (sys, rnd)
        }

        func printRecipe(_ text: String) throws {
            let (sys, rnd) = try Self.recipe(text)
            let m = VanHerk.marginMM(systematicMM: sys, randomMM: rnd)
            print(String(format: "PTV margin %.2f mm = 2.5 × %.2f + 0.7 × %.2f (van Herk et al., IJROBP 2000;47:1121: minimum CTV dose ≥ 95 %% for 90 %% of patients)", m, sys, rnd))
        }

        /// The new ROI as a 0/1 NRRD mask on the image grid (a voxel is in when its cell is at least half covered).
        func mask(_ r: MarginResult, images: ImageSeries, frame: PlaneFrame, description: String) -> Data {
            let g = images.grid
            var vol = Volume<Float>(grid: g, repeating: 0)
            var kOfSlice: [Int: Int] = [:]
            for (k, l) in images.lattice.enumerated() { if let s = l.slice { kOfSlice[s] = k } }
            for p in r.planes {
                guard let k = kOfSlice[p.index] else { continue }
                let inside = PolygonCoverage.pixelMask(p.polygons, spacingU: g.spacing.x, spacingV: g.spacing.y, nu: g.nx, nv: g.ny)
                for i in 0..<inside.count where inside[i] { vol.voxels[k * g.sliceCount + i] = 1 }
            }
            return NRRDWriter.encode(vol, comments: [description])
        }
    }
}
