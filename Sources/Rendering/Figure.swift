import Base
import Dosimetry
import Foundation
import Geometry
import RTModel

/// Figures made of panels, like Figure 1 of the review: (A) a slice with isodose lines
/// and structures, (B) the plan's DVH.
public enum Figure {
    /// DVH curves of the ROIs at `indices` of `rois`, computed by the DVH engine
    /// (`DVHAnalysis`, default options: prism end caps, exact partial volumes) on the
    /// resolved study's dose, in the ROIs' display colours.
    /// - Throws: `SBRTError` (`.noDose`, the engine's errors).
    public static func dvhCurves(_ study: ResolvedStudy, rois: [ROI], indices: [Int]) throws -> [DVHCurve] {
        guard study.dose != nil else { throw SBRTError(.noDose, "a DVH needs a dose grid; the study has none", file: study.root) }
        var request = DVHRequest()
        request.structures = indices.map { rois[$0].name }
        return curves(try DVHAnalysis.run(study, request), rois: rois, indices: indices)
    }

    /// The curves of an analysis already computed, in the ROIs' display colours.
    public static func curves(_ analysis: DVHAnalysis, rois: [ROI], indices: [Int]) -> [DVHCurve] {
        zip(indices, analysis.dvhs).map { n, dvh in
            DVHCurve(name: rois[n].name, colour: SliceRenderer.colour(of: rois[n], index: n), dvh: dvh)
        }
    }

    /// Panels side by side on white, top-aligned, each labelled with a bold capital
    /// (A, B, …) in its top-left corner, in `labelColours` (white on a dark panel, black
    /// on a light one).
    public static func compose(_ panels: [RGBAImage], labelColours: [Colour]) -> RGBAImage {
        let height = panels.map(\.height).max() ?? 1
        let gap = max(8, height / 60)
        let width = panels.reduce(0) { $0 + $1.width } + gap * (panels.count + 1)
        var c = Canvas(width: width, height: height + 2 * gap, background: .white)
        var x = gap
        let fs = min(40, max(14, Double(height) / 22))
        for (n, p) in panels.enumerated() {
            c.draw(p, x: x, y: gap)
            let letter = String(UnicodeScalar(UInt8(65 + n % 26)))
            let colour = n < labelColours.count ? labelColours[n] : .black
            let halo: Colour = colour.luminance > 0.5 ? .black : .white
            c.haloText(letter, x: Double(x) + fs * 0.45, y: Double(gap) + fs * 1.05, size: fs, colour: colour, halo: halo, weight: 1.8)
            x += p.width + gap
        }
        return c.image
    }
}
