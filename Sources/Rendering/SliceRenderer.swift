import Base
import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit

/// Where the slice of a figure lies.
public enum SlicePosition: Sendable, Equatable {
    /// Through the centroid of the first target (PTV, else GTV/CTV), else through the
    /// dose maximum, else through the middle of the planning images.
    case automatic
    /// Through the plane where patient coordinate `axis` (0 = x, 1 = y, 2 = z) is `mm`,
    /// measured along the view's normal from the middle of the planning images.
    case coordinate(axis: Int, mm: Double)
    /// Through the area-weighted centroid of the named structure.
    case through(String)
    /// Through the voxel of maximum dose.
    case atMaximumDose
    /// Through a patient point.
    case point(Vec3)
}

/// Which isodose lines to draw.
public enum IsodoseSpec: Sendable, Equatable {
    /// Levels in % of the prescription (which must be known).
    case percent([Double])
    /// Levels in Gy.
    case gy([Double])
    case none
}

/// What to draw on a slice.
public struct SliceRequest: Sendable {
    public var orientation: ViewOrientation = .axial
    public var position: SlicePosition = .automatic
    /// The display window; nil for the background's default (CT: soft tissue; MR and
    /// PET: a percentile window, see `BackgroundImage.load`).
    public var window: DisplayWindow?
    public var isodose: IsodoseSpec = .percent(IsodoseStyle.defaultPercentLevels)
    /// Prescription in Gy; nil to take the plan's (Target Prescription Dose).
    public var rxGy: Double?
    /// Fill between isodose levels with translucent colour.
    public var colorwash = false
    /// Structures to outline, by name; nil for every ROI with contours except EXTERNAL.
    public var structures: [String]?
    /// Frame the image around this structure (plus `paddingMM`) instead of the body.
    public var zoomTo: String?
    public var paddingMM: Double = 30
    /// Width of the image (without the legend strip), px.
    public var widthPx = 1024
    /// Draw the legend strip, orientation letters, scale bar and caption.
    public var annotations = true
    /// A layer drawn over the CT and dose, below the structure outlines, with its own
    /// legend section (e.g. a gamma map).
    public var overlay: SliceOverlay?

    public init() {}
}

/// A rendered slice panel and the geometry that made it (for tests and composition).
public struct SliceRendering: Sendable {
    /// The panel: the image at top left, the legend strip to its right, the caption below.
    public var panel: RGBAImage
    /// Geometry of the image part (its pixel (0, 0) is the panel's).
    public var view: SliceView
    /// The levels drawn, highest first.
    public var levels: [IsodoseLevel]
    /// Per level, the iso-lines in screen coordinates.
    public var isodoseLines: [[MarchingSquares.Polyline]]
    /// Per structure drawn, its outline paths (closed) in screen coordinates.
    public var outlines: [Outline]
    /// The patient-free caption (plan, slice, window, prescription).
    public var caption: String
    /// The slice position, e.g. "z = −12.5 mm".
    public var positionLabel: String
    /// The prescription used, Gy.
    public var rxGy: Double?

    public struct Outline: Sendable {
        public var name: String
        public var colour: Colour
        public var paths: [[SIMD2<Double>]]
    }
}

/// Draws CT slices with isodose lines, structure outlines and their legend.
public enum SliceRenderer {
    /// Colour of an ROI without ROI Display Color.
    static let fallbackColours = [Colour(255, 0, 255), Colour(0, 200, 255), Colour(255, 200, 0), Colour(150, 255, 150)]

    /// The display colour of ROI `n`.
    public static func colour(of roi: ROI, index n: Int) -> Colour {
        roi.color.map(Colour.init) ?? fallbackColours[n % fallbackColours.count]
    }

    /// The structures a request outlines (indices into the study's ROIs).
    public static func structureIndices(_ study: RenderStudy, _ names: [String]?) throws -> [Int] {
        try structureIndices(study.rois, names)
    }

    /// Indices of the ROIs named in `names` (case-insensitive), or of every ROI with closed
    /// contours that is not EXTERNAL.
    public static func structureIndices(_ rois: [ROI], _ names: [String]?) throws -> [Int] {
        if let names {
            return try names.map { name in
                guard let n = StructureName.index(of: name, in: rois.map(\.name)) else {
                    throw SBRTError(.structureNotFound, "no ROI named \"\(name)\"" + (rois.isEmpty ? " (the study has no structure set)" : " (structures: \(rois.map(\.name).joined(separator: ", ")))"))
                }
                return n
            }
        }
        return rois.indices.filter { n in
            !rois[n].isExternal && rois[n].contours.contains { $0.isClosedPlanar && $0.points.count >= 3 }
        }
    }

    /// The prescription of a request: `rxGy`, else the plan's.
    public static func prescription(_ study: RenderStudy, _ request: SliceRequest) -> Double? {
        request.rxGy ?? study.plan?.prescriptionGy
    }

    /// The isodose levels of a request.
    /// - Throws: `.invalidRequest` for % levels without a prescription, or non-positive levels.
    public static func levels(_ study: RenderStudy, _ request: SliceRequest) throws -> [IsodoseLevel] {
        guard let field = study.doseField else {
            if case .none = request.isodose { return [] }
            if request.isodose != .percent(IsodoseStyle.defaultPercentLevels) {
                throw SBRTError(.invalidRequest, "isodose lines were asked for, but the folder has no RT Dose")
            }
            return []
        }
        let rx = prescription(study, request)
        switch request.isodose {
        case .none: return []
        case .percent(let p):
            guard let rx else {
                throw SBRTError(.invalidRequest, "isodose levels in % need the prescription, and the plan states none: state the prescription in Gy, or give the levels in Gy")
            }
            guard p.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw SBRTError(.invalidRequest, "isodose levels must be positive percentages") }
            return IsodoseStyle.levels(percent: p, rxGy: rx)
        case .gy(let g):
            guard g.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw SBRTError(.invalidRequest, "isodose levels must be positive doses in Gy") }
            return IsodoseStyle.levels(gy: g, rxGy: rx, referenceGy: field.maxGy)
        }
    }

    /// The CT axis (0 = i, 1 = j, 2 = k) along the normal of `orientation`.
    static func normalAxis(_ o: ViewOrientation) -> Int { o == .axial ? 2 : o == .sagittal ? 0 : 1 }

    static let axisNames = ["x", "y", "z"]

    /// The point the slice passes through, snapped to the nearest CT plane along the
    /// view normal, and its label ("z = −12.5 mm").
    /// - Throws: `.invalidRequest` when the plane lies outside the planning images or a structure is unknown.
    public static func slicePoint(_ study: RenderStudy, _ request: SliceRequest) throws -> (point: Vec3, label: String) {
        let g = study.images.grid
        let (right, down) = SliceView.axes(request.orientation, grid: g)
        let normal = normalize(cross(right, down))
        let middle = g.position(Double(g.nx - 1) / 2, Double(g.ny - 1) / 2, Double(g.nz - 1) / 2)
        var p: Vec3
        switch request.position {
        case .automatic:
            if let t = study.defaultTargetIndex, let c = study.centroid(t) { p = c } else { p = study.maximumDosePosition ?? middle }
        case .coordinate(let axis, let mm):
            let c = normal[axis]
            guard abs(c) >= 0.5 else {
                throw SBRTError(.invalidRequest, "a \(axisNames[axis]) position does not select a \(request.orientation.rawValue) slice of this CT; give the position along \(axisNames[abs(normal.x) >= abs(normal.y) && abs(normal.x) >= abs(normal.z) ? 0 : abs(normal.y) >= abs(normal.z) ? 1 : 2])")
            }
            p = middle + normal * ((mm - middle[axis]) / c)
        case .through(let name):
            let n = try study.roiIndex(name)
            guard let c = study.centroid(n) else { throw SBRTError(.invalidRequest, "ROI \"\(study.rois[n].name)\" has no closed contours to go through") }
            p = c
        case .atMaximumDose:
            guard let m = study.maximumDosePosition else { throw SBRTError(.invalidRequest, "a slice at the dose maximum needs a dose grid; the folder has none") }
            p = m
        case .point(let q):
            p = q
        }
        let a = normalAxis(request.orientation)
        let n = [g.nx, g.ny, g.nz][a]
        let idx = g.continuousIndex(of: p)
        let axisVector = [g.axisI, g.axisJ, g.axisK][a] * g.spacing[a]
        // The patient coordinate that best names the plane: the largest component of the normal.
        let na = abs(normal.x) >= abs(normal.y) && abs(normal.x) >= abs(normal.z) ? 0 : abs(normal.y) >= abs(normal.z) ? 1 : 2
        guard idx[a] >= -0.5, idx[a] <= Double(n) - 0.5 else {
            let lo = g.position(idx.x, idx.y, idx.z) + axisVector * (0 - idx[a])
            let hi = g.position(idx.x, idx.y, idx.z) + axisVector * (Double(n - 1) - idx[a])
            throw SBRTError(.invalidRequest, "the \(request.orientation.rawValue) slice at \(axisNames[na]) = \(Format.number(p[na])) mm lies outside the \(study.images.modality.displayName) images (their planes span \(axisNames[na]) = \(Format.number(min(lo[na], hi[na]))) … \(Format.number(max(lo[na], hi[na]))) mm)")
        }
        let k = min(max(idx[a].rounded(), 0), Double(n - 1))
        p += axisVector * (k - idx[a])
        return (p, "\(axisNames[na]) = \(Format.number(p[na], decimals: 1)) mm")
    }

    /// The view of a request through `point`: framed on `zoomTo` (+ padding), else on the
    /// EXTERNAL structure (+ 10 mm) within the planning images, else on all of them.
    public static func view(_ study: RenderStudy, _ request: SliceRequest, through point: Vec3) throws -> SliceView {
        let g = study.images.grid
        let (right, down) = SliceView.axes(request.orientation, grid: g)
        func project(_ pts: [Vec3]) -> (SIMD2<Double>, SIMD2<Double>) {
            var lo = SIMD2(Double.infinity, .infinity), hi = -lo
            for q in pts {
                let s = SIMD2(dot(q - point, right), dot(q - point, down))
                lo = pointwiseMin(lo, s); hi = pointwiseMax(hi, s)
            }
            return (lo, hi)
        }
        var corners: [Vec3] = []
        for ci in [-0.5, Double(g.nx) - 0.5] { for cj in [-0.5, Double(g.ny) - 0.5] { for ck in [-0.5, Double(g.nz) - 0.5] {
            corners.append(g.position(ci, cj, ck))
        } } }
        var (lo, hi) = project(corners)
        if let zoom = request.zoomTo {
            let n = try study.roiIndex(zoom)
            let pts = study.rois[n].contours.flatMap(\.points)
            guard !pts.isEmpty else { throw SBRTError(.invalidRequest, "ROI \"\(study.rois[n].name)\" has no contour points to zoom to") }
            let (a, b) = project(pts)
            lo = a - request.paddingMM
            hi = b + request.paddingMM
        } else if let body = study.rois.firstIndex(where: \.isExternal),
                  !study.rois[body].contours.isEmpty {
            let (a, b) = project(study.rois[body].contours.flatMap(\.points))
            lo = pointwiseMax(lo, a - 10)
            hi = pointwiseMin(hi, b + 10)
        }
        guard hi.x > lo.x, hi.y > lo.y else { throw SBRTError(.invalidRequest, "nothing to frame: the field of view is empty") }
        let w = max(16, request.widthPx)
        let mmpp = (hi.x - lo.x) / Double(w)
        let h = min(4 * w, max(16, Checked.clamped(((hi.y - lo.y) / mmpp).rounded())))
        let centre = point + right * ((lo.x + hi.x) / 2) + down * ((lo.y + hi.y) / 2)
        return SliceView(orientation: request.orientation, right: right, down: down, centre: centre, mmPerPixel: mmpp, width: w, height: h)
    }

    /// Renders the slice of `request`.
    /// - Throws: `SBRTError.invalidRequest` (see `slicePoint`, `levels`, `structureIndices`).
    public static func render(_ study: RenderStudy, _ request: SliceRequest) throws -> SliceRendering {
        let levels = try levels(study, request)
        let structures = try structureIndices(study, request.structures)
        let (point, label) = try slicePoint(study, request)
        let view = try view(study, request, through: point)
        return render(study, request, view: view, positionLabel: label, levels: levels, structures: structures)
    }

    /// Renders a slice on a given view.
    public static func render(_ study: RenderStudy, _ request: SliceRequest, view: SliceView, positionLabel: String,
                              levels: [IsodoseLevel], structures: [Int]) -> SliceRendering {
        let W = view.width, H = view.height
        let rx = prescription(study, request)
        let fs = min(22, max(10.5, Double(W) / 56))
        let legendWidth = request.annotations ? Int((fs * 12.5).rounded()) : 0

        // The background image.
        var canvasImage = Canvas(width: W, height: H)
        let window = request.window ?? study.background.defaultWindow
        canvasImage.withPixels { px in study.background.draw(view, window, px.baseAddress!) }

        // Structures: outlines, and a faint fill that tells them from isodose lines.
        var outlines: [SliceRendering.Outline] = []
        for n in structures {
            let paths = outline(study, n, view)
            guard !paths.isEmpty else { continue }
            let c = colour(of: study.rois[n], index: n)
            outlines.append(SliceRendering.Outline(name: study.rois[n].name, colour: c, paths: paths))
            canvasImage.fillPolygons(paths, colour: c, alpha: 0.12)
        }

        // Dose in the view plane, isodose lines and colourwash.
        var lines: [[MarchingSquares.Polyline]] = []
        if let field = study.doseField, !levels.isEmpty {
            let crop = doseCrop(field.grid, view)
            let dose = sampleDose(field, view, crop)
            if request.colorwash { colourwash(&canvasImage, dose, crop, levels) }
            let lw = max(1.3, Double(W) / 480)
            for level in levels {
                let polylines = MarchingSquares.isolines(dose, nx: crop.w, ny: crop.h, level: Float(level.doseGy)).map { pl in
                    MarchingSquares.Polyline(points: pl.points.map { SIMD2($0.x + Double(crop.x) + 0.5, $0.y + Double(crop.y) + 0.5) }, closed: pl.closed)
                }
                lines.append(polylines)
            }
            // Lowest level first, so the hot lines are on top.
            for (n, level) in levels.enumerated().reversed() {
                for pl in lines[n] { canvasImage.stroke([pl.points], closed: pl.closed, lineWidth: lw, colour: level.colour) }
            }
        }

        if let overlay = request.overlay { overlay.draw(&canvasImage, view) }

        // Structure outlines on top of the isodose lines; their faint fill below them.
        let slw = max(1.2, Double(W) / 560)
        for o in outlines { canvasImage.stroke(o.paths, closed: true, lineWidth: slw, colour: o.colour) }

        let caption = caption(study, request, window: window, positionLabel: positionLabel, rx: rx)

        guard request.annotations else {
            return SliceRendering(panel: canvasImage.image, view: view, levels: levels, isodoseLines: lines, outlines: outlines,
                                  caption: caption, positionLabel: positionLabel, rxGy: rx)
        }

        // Orientation letters and scale bar on the image.
        let letters = view.orientationLetters
        let ls = fs * 1.2
        let cap = ls * StrokeFont.capHeight / StrokeFont.unitsPerEm
        let yellow = Colour(255, 255, 170)
        canvasImage.haloText(letters.left, x: 0.5 * fs, y: Double(H) / 2 + cap / 2, size: ls, colour: yellow, weight: 1.4)
        canvasImage.haloText(letters.right, x: Double(W) - 0.5 * fs, y: Double(H) / 2 + cap / 2, size: ls, colour: yellow, align: .right, weight: 1.4)
        canvasImage.haloText(letters.top, x: Double(W) / 2, y: 0.5 * fs + cap, size: ls, colour: yellow, align: .centre, weight: 1.4)
        canvasImage.haloText(letters.bottom, x: Double(W) / 2, y: Double(H) - 0.5 * fs, size: ls, colour: yellow, align: .centre, weight: 1.4)
        drawScaleBar(&canvasImage, view, fs)

        // Panel: image, legend strip, caption.
        let captionLines = wrap(caption, size: fs * 0.8, width: Double(W + legendWidth) - fs)
        let captionHeight = Int((Double(captionLines.count) * fs * 1.2 + fs * 0.7).rounded())
        let top = max(H, Int(legendHeight(fs: fs, levels: levels.count, outlines: outlines.count, overlay: request.overlay).rounded(.up)))
        var panel = Canvas(width: W + legendWidth, height: top + captionHeight, background: Colour(12, 12, 12))
        panel.draw(canvasImage.image, x: 0, y: 0)
        drawLegend(&panel, x: Double(W), width: Double(legendWidth), fs: fs, levels: levels, rx: rx,
                   outlines: outlines, lineWidth: max(1.3, Double(W) / 480), quantity: study.dose?.quantityLabel,
                   overlay: request.overlay)
        for (n, line) in captionLines.enumerated() {
            panel.text(line, x: 0.5 * fs, y: Double(top) + fs * 1.2 * Double(n + 1), size: fs * 0.8, colour: Colour(190, 190, 190))
        }
        return SliceRendering(panel: panel.image, view: view, levels: levels, isodoseLines: lines, outlines: outlines,
                              caption: caption, positionLabel: positionLabel, rxGy: rx)
    }

    /// The patient-free caption: plan, Rx and fractions, view and slice, the image and its
    /// window, the dose maximum.
    static func caption(_ study: RenderStudy, _ request: SliceRequest, window: DisplayWindow, positionLabel: String, rx: Double?) -> String {
        var parts: [String] = []
        if let p = study.plan { parts.append("Plan \(p.label ?? p.name ?? "(unlabelled)")") }
        if let rx {
            parts.append("Rx \(Format.number(rx)) Gy" + (study.plan?.fractions.map { " in \($0) fx" } ?? "") + (request.rxGy != nil ? " (stated)" : ""))
        }
        if let c = request.overlay?.caption { parts.append(c) }
        parts.append("\(request.orientation.rawValue) \(positionLabel)")
        parts.append("\(study.background.captionName) \(window.label)" + (request.window == nil && study.background.series.modality != .ct ? " (\(study.background.defaultWindowSource))" : ""))
        if let field = study.doseField {
            parts.append("dose max \(Format.fixed(field.maxGy, 1)) Gy" + (study.dose?.quantityLabel.map { " \($0)" } ?? ""))
        }
        return parts.joined(separator: "  ·  ")
    }

    /// Greedy word wrap of `text` (at the "  ·  " separators first) to `width` px.
    static func wrap(_ text: String, size: Double, width: Double) -> [String] {
        let parts = text.components(separatedBy: "  ·  ")
        var lines: [String] = []
        var current = ""
        for p in parts {
            let candidate = current.isEmpty ? p : current + "  ·  " + p
            if StrokeFont.width(candidate, size: size) <= width || current.isEmpty {
                current = candidate
            } else {
                lines.append(current)
                current = p
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }

    // MARK: Annotations

    static func drawScaleBar(_ c: inout Canvas, _ view: SliceView, _ fs: Double) {
        let widthMM = Double(view.width) * view.mmPerPixel
        let candidates: [Double] = [1, 2, 5, 10, 20, 50, 100, 200]
        let mm = candidates.last { $0 <= 0.22 * widthMM } ?? candidates[0]
        let px = mm / view.mmPerPixel
        let x0 = 0.8 * fs, y = Double(view.height) - 0.9 * fs
        let tick = 0.45 * fs
        let bar: [[SIMD2<Double>]] = [[SIMD2(x0, y - tick), SIMD2(x0, y), SIMD2(x0 + px, y), SIMD2(x0 + px, y - tick)]]
        let lw = max(1.5, fs * 0.13)
        c.stroke(bar, lineWidth: lw + 2, colour: .black, alpha: 0.6)
        c.stroke(bar, lineWidth: lw, colour: .white)
        c.haloText("\(Format.number(mm)) mm", x: x0 + px / 2, y: y - tick - 0.25 * fs, size: fs * 0.85, colour: .white, align: .centre)
    }

    /// Height of the legend strip's content, px.
    static func legendHeight(fs: Double, levels: Int, outlines: Int, overlay: SliceOverlay?) -> Double {
        let row = fs * 1.45
        var h = fs * 1.6 + fs * 0.6
        if levels > 0 { h += row * (2.4 + Double(levels)) }
        if outlines > 0 { h += row * (1.1 + Double(outlines)) - row }
        if let o = overlay { h += row * (2.4 + Double(o.rows.count)) }
        return h
    }

    /// - Parameter quantity: "EQD2"/"BED" for an effective (composite) dose: the title says so.
    static func drawLegend(_ c: inout Canvas, x: Double, width: Double, fs: Double, levels: [IsodoseLevel], rx: Double?,
                           outlines: [SliceRendering.Outline], lineWidth: Double, quantity: String? = nil, overlay: SliceOverlay? = nil) {
        let left = x + 0.7 * fs
        let row = fs * 1.45
        var y = fs * 1.6
        let white = Colour(235, 235, 235), grey = Colour(160, 160, 160)
        if let overlay {
            c.text(overlay.title, x: left, y: y, size: fs * 1.05, colour: white, weight: 1.45)
            y += row * 0.95
            if let sub = overlay.subtitle { c.text(sub, x: left, y: y, size: fs * 0.8, colour: grey) }
            y += row * 1.05
            for r in overlay.rows {
                c.fillRect(x: left, y: y - fs * 0.75, width: fs * 1.8, height: fs * 0.8, colour: r.colour)
                c.text(r.label, x: left + fs * 2.4, y: y, size: fs, colour: white)
                y += row
            }
            y += row * 0.4
        }
        if !levels.isEmpty {
            c.text(quantity.map { "Isodose (\($0))" } ?? "Isodose", x: left, y: y, size: fs * 1.05, colour: white, weight: 1.45)
            y += row * 0.95
            // An effective dose (EQD2/BED) is not comparable with a physical prescription: no %.
            c.text(quantity != nil ? "levels in Gy \(quantity!)" : (rx.map { "Rx = \(Format.number($0)) Gy" } ?? "absolute dose"),
                   x: left, y: y, size: fs * 0.8, colour: grey)
            y += row * 1.05
            for level in levels {
                let mid = y - fs * 0.35
                c.stroke([[SIMD2(left, mid), SIMD2(left + fs * 1.8, mid)]], lineWidth: max(2, lineWidth * 1.5), colour: level.colour)
                let gy = Format.fixed(level.doseGy, 1) + " Gy"
                c.text(gy, x: left + fs * 6.6, y: y, size: fs, colour: white, align: .right)
                if quantity == nil, let p = level.percentOfRx {
                    c.text(Format.number(p, decimals: 1) + " %", x: left + fs * 10.8, y: y, size: fs, colour: white, align: .right)
                }
                y += row
            }
            y += row * 0.4
        }
        if !outlines.isEmpty {
            c.text("Structures", x: left, y: y, size: fs * 1.05, colour: white, weight: 1.45)
            y += row * 1.1
            for o in outlines {
                let top = y - fs * 0.75
                c.fillRect(x: left, y: top, width: fs * 1.8, height: fs * 0.8, colour: o.colour, alpha: 0.25)
                c.stroke([[SIMD2(left, top), SIMD2(left + fs * 1.8, top), SIMD2(left + fs * 1.8, top + fs * 0.8), SIMD2(left, top + fs * 0.8)]],
                         closed: true, lineWidth: max(1.5, lineWidth), colour: o.colour)
                var name = o.name
                let maxWidth = width - fs * 3.3
                while name.count > 1 && StrokeFont.width(name, size: fs) > maxWidth { name.removeLast() }
                if name != o.name { name = String(name.dropLast()) + "…" }
                c.text(name, x: left + fs * 2.4, y: y, size: fs, colour: white)
                y += row
            }
        }
    }

    // MARK: Kernels

    /// A pixel rectangle of the image.
    struct Crop { var x: Int, y: Int, w: Int, h: Int }

    /// The screen box of the dose grid (its voxels' extent), grown by 2 px, within the image.
    static func doseCrop(_ g: Grid, _ view: SliceView) -> Crop {
        var lo = SIMD2(Double.infinity, .infinity), hi = -lo
        for ci in [-0.5, Double(g.nx) - 0.5] { for cj in [-0.5, Double(g.ny) - 0.5] { for ck in [-0.5, Double(g.nz) - 0.5] {
            let s = view.screen(g.position(ci, cj, ck))
            lo = pointwiseMin(lo, s); hi = pointwiseMax(hi, s)
        } } }
        let x0 = max(0, Checked.clamped(lo.x.rounded(.down)) - 2), y0 = max(0, Checked.clamped(lo.y.rounded(.down)) - 2)
        let x1 = min(view.width, Checked.clamped(hi.x.rounded(.up)) + 2), y1 = min(view.height, Checked.clamped(hi.y.rounded(.up)) + 2)
        return Crop(x: x0, y: y0, w: max(0, x1 - x0), h: max(0, y1 - y0))
    }

    /// Dose (Gy) at the pixel centres of `crop`, trilinear; 0 outside the dose grid.
    static func sampleDose(_ field: DoseField, _ view: SliceView, _ crop: Crop) -> [Float] {
        guard crop.w > 0, crop.h > 0 else { return [] }
        let i00 = field.index(view.patient(Double(crop.x) + 0.5, Double(crop.y) + 0.5))
        let dX = field.index(view.patient(Double(crop.x) + 1.5, Double(crop.y) + 0.5)) - i00
        let dY = field.index(view.patient(Double(crop.x) + 0.5, Double(crop.y) + 1.5)) - i00
        let size = field.grid.size
        var out = [Float](repeating: 0, count: crop.w * crop.h)
        field.volume.voxels.withUnsafeBufferPointer { vb in
            let v = vb.baseAddress!
            out.withUnsafeMutableBufferPointer { ob in
                let o = ob.baseAddress!
                Parallel.forEachChunk(crop.h, minimumChunk: 8) { _, rows in
                    for y in rows {
                        var idx = i00 + dY * Double(y)
                        for x in 0..<crop.w {
                            if let d = DoseField.trilinear(v, size, idx)?.value { o[y * crop.w + x] = Float(d) }
                            idx += dX
                        }
                    }
                }
            }
        }
        return out
    }

    /// Translucent fill in the colour of the highest level each pixel reaches.
    static func colourwash(_ c: inout Canvas, _ dose: [Float], _ crop: Crop, _ levels: [IsodoseLevel]) {
        let sorted = levels.sorted { $0.doseGy > $1.doseGy }
        for y in 0..<crop.h {
            for x in 0..<crop.w {
                let d = Double(dose[y * crop.w + x])
                if let level = sorted.first(where: { d >= $0.doseGy }) {
                    c.blend(crop.x + x, crop.y + y, level.colour, 0.32)
                }
            }
        }
    }

    // MARK: Structure outlines

    /// The outline of ROI `n` on the view, closed paths in screen coordinates.
    ///
    /// Axial views draw the contour polygons of the plane whose prism slab holds the
    /// slice. Other views draw the outline of the structure's prism occupancy: each pixel
    /// row lies in one slab; its crossings with that plane's polygons give the inside
    /// intervals along the row (sub-pixel), and marching squares on the signed distance
    /// to the nearest crossing joins them into outlines.
    public static func outline(_ study: RenderStudy, _ n: Int, _ view: SliceView) -> [[SIMD2<Double>]] {
        let shape = study.shapes[n]
        guard !shape.planes.isEmpty else { return [] }
        let slabs = study.slabs(shape)
        let frame = study.frame
        if view.orientation == .axial {
            let w = frame.local(view.centre).z
            guard let p = slabs.firstIndex(where: { w >= $0.lo && w < $0.hi }) else { return [] }
            let plane = shape.planes[p]
            return plane.polygons.map { poly in poly.map { view.screen(frame.patient($0.x, $0.y, plane.w)) } }
        }
        // Rows of the structure's screen box.
        var lo = SIMD2(Double.infinity, .infinity), hi = -lo
        for v in shape.vertices {
            let s = view.screen(frame.patient(v.x, v.y, v.z))
            lo = pointwiseMin(lo, s); hi = pointwiseMax(hi, s)
        }
        let pad = Double(study.sliceSpacing / view.mmPerPixel) + 3
        let x0 = max(0, Checked.clamped((lo.x - 3).rounded(.down))), x1 = min(view.width, Checked.clamped((hi.x + 3).rounded(.up)))
        let y0 = max(0, Checked.clamped((lo.y - pad).rounded(.down))), y1 = min(view.height, Checked.clamped((hi.y + pad).rounded(.up)))
        guard x1 - x0 >= 2, y1 - y0 >= 2 else { return [] }
        let cw = x1 - x0, ch = y1 - y0
        var field = [Float](repeating: -1, count: cw * ch)
        let step = frame.local(view.patient(1, 0)) - frame.local(view.patient(0, 0))
        for y in 0..<ch {
            let start = frame.local(view.patient(Double(x0), Double(y0 + y) + 0.5))
            guard let p = slabs.firstIndex(where: { start.z >= $0.lo && start.z < $0.hi }) else { continue }
            // Crossings of the line start + t·step (t in pixels from x0) with the polygons.
            let s0 = SIMD2(start.x, start.y), d = SIMD2(step.x, step.y)
            var xs: [Double] = []
            for poly in shape.planes[p].polygons where poly.count >= 3 {
                for k in poly.indices {
                    let a = poly[k], b = poly[(k + 1) % poly.count]
                    let sa = d.x * (a.y - s0.y) - d.y * (a.x - s0.x)
                    let sb = d.x * (b.y - s0.y) - d.y * (b.x - s0.x)
                    if (sa > 0) != (sb > 0) {
                        let t = sa / (sa - sb)
                        let q = a + (b - a) * t
                        let dd = (d * d).sum()
                        xs.append(((q - s0) * d).sum() / dd)
                    }
                }
            }
            guard !xs.isEmpty else { continue }
            xs.sort()
            for x in 0..<cw {
                let xc = Double(x) + 0.5
                var count = 0
                var nearest = Double.infinity
                for c in xs {
                    if c < xc { count += 1 }
                    nearest = min(nearest, abs(c - xc))
                }
                let v = Float(min(1, nearest))
                field[y * cw + x] = count % 2 == 1 ? v : -v
            }
        }
        return MarchingSquares.isolines(field, nx: cw, ny: ch, level: 0).map { pl in
            pl.points.map { SIMD2($0.x + Double(x0) + 0.5, $0.y + Double(y0) + 0.5) }
        }
    }
}

/// A layer drawn on a slice over the CT and dose and below the structure outlines, with
/// its legend section (title, subtitle, colour swatches) and a caption part.
public struct SliceOverlay: Sendable {
    public struct Row: Sendable {
        public var colour: Colour
        public var label: String
        public init(colour: Colour, label: String) {
            self.colour = colour
            self.label = label
        }
    }

    public var title: String
    public var subtitle: String?
    public var rows: [Row]
    public var caption: String?
    /// Draws the layer on the image part of the slice (screen coordinates of `SliceView`).
    public var draw: @Sendable (inout Canvas, SliceView) -> Void

    public init(title: String, subtitle: String?, rows: [Row], caption: String?, draw: @escaping @Sendable (inout Canvas, SliceView) -> Void) {
        self.title = title
        self.subtitle = subtitle
        self.rows = rows
        self.caption = caption
        self.draw = draw
    }
}
