import Base
import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit

/// The image a figure is drawn over: the planning series, or another series on the same
/// frame of reference or joined to it by a Spatial Registration, with its decoded values
/// and its default display window.
public struct BackgroundImage: Sendable {
    public var series: ImageSeries
    /// The series' values (`series.values`: HU, MR signal, SUV…) on its own grid.
    public var values: Volume<Float>
    /// Maps planning patient coordinates into the series' own; nil on the same frame.
    public var seriesFromPlanning: RigidTransform?
    /// Its number in the folder (1-based, as `sbrt info` lists it).
    public var number: Int
    /// How it is joined to the plan (the planning images, the same frame of reference, a
    /// Spatial Registration).
    public var registration: String
    /// The window used when the request gives none, and how it was chosen.
    public var defaultWindow: DisplayWindow
    public var defaultWindowSource: String

    /// Decodes `selection` and chooses its default window: the soft-tissue preset for CT;
    /// for MR and PET the 1st to 99th percentile of its values inside `body` (the
    /// EXTERNAL structure, on the planning grid), or of the whole series without one.
    /// `planes`: only these images of a CT planning series are decoded (a figure that
    /// draws axial slices within them); other series, and MR or PET whose window needs
    /// every value, are decoded whole.
    /// - Throws: pixel read errors.
    public static func load(_ selection: SelectedImages, planning: ImageSeries, body: PlanarShape?,
                            planes: Range<Int>? = nil) throws -> BackgroundImage {
        let partial = planes.flatMap { p in
            selection.series.modality == .ct && selection.seriesFromPlanning == nil
                && selection.series.seriesInstanceUID == planning.seriesInstanceUID ? p : nil
        }
        let values = try partial.map { try selection.series.loadValues(planes: $0) } ?? selection.series.loadValues()
        var b = BackgroundImage(series: selection.series, values: values, seriesFromPlanning: selection.seriesFromPlanning,
                                number: selection.number, registration: selection.registration,
                                defaultWindow: .soft, defaultWindowSource: "soft-tissue preset")
        if selection.series.modality != .ct {
            (b.defaultWindow, b.defaultWindowSource) = percentileWindow(b, planning: planning, body: body)
        }
        return b
    }

    /// The window from the 1st to the 99th percentile (nearest rank) of the values inside
    /// `body` — the series resampled onto the planning voxels whose centres lie inside the
    /// body's prism stack (`AlphaBetaMap.insideIndices`) — or of every voxel of the series
    /// when there is no body or it covers none of the series.
    /// Above 2 million values every n-th one (a fixed stride) is taken.
    static func percentileWindow(_ b: BackgroundImage, planning: ImageSeries, body: PlanarShape?) -> (DisplayWindow, String) {
        var sample: [Float] = []
        if let body, !body.planes.isEmpty {
            let g = planning.grid
            let onPlanning = b.seriesFromPlanning == nil && Resampler.sameLattice(b.values.grid, g)
                ? b.values : Resampler.resample(b.values, onto: g, sourceFromTarget: b.seriesFromPlanning, outside: .nan).volume
            sample = AlphaBetaMap.insideIndices(body, sliceSpacing: g.spacing.z, grid: g).map { onPlanning.voxels[$0] }.filter { !$0.isNaN }
        }
        var source = "1st–99th percentile inside \(body?.name ?? "BODY")"
        if sample.isEmpty {
            sample = b.values.voxels
            source = body == nil ? "1st–99th percentile of the whole series (no EXTERNAL structure)"
                                 : "1st–99th percentile of the whole series (\(body!.name) covers none of it)"
        }
        let (lo, hi) = percentiles(sample, 0.01, 0.99)
        let width = hi > lo ? hi - lo : max(1e-6, abs(hi) * 1e-3)
        return (DisplayWindow(width: width, level: (lo + hi) / 2), source)
    }

    /// The `p` and `q` quantiles (nearest rank on the sorted values) of `values`, taking
    /// every n-th value above 2 million.
    static func percentiles(_ values: [Float], _ p: Double, _ q: Double) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 1) }
        let step = max(1, values.count / 2_000_000)
        var v = step == 1 ? values : stride(from: 0, to: values.count, by: step).map { values[$0] }
        v.sort()
        func at(_ f: Double) -> Double { Double(v[Int((f * Double(v.count - 1)).rounded())]) }
        return (at(p), at(q))
    }

    /// "MR series 2 (registered by …)" for captions, or the modality alone for the
    /// planning images.
    public var captionName: String {
        seriesFromPlanning == nil && registration == "the planning images" ? series.modality.displayName
            : "\(series.modality.displayName) series \(number)" + (seriesFromPlanning == nil ? "" : " (registered)")
    }

    /// The windowed image on the view plane (black outside the series) into `px` (RGBA).
    ///
    /// The plane is a grid of width × 1 × height voxels (axes right, normal, down): the
    /// Resampler samples the series trilinearly at every pixel centre through
    /// `seriesFromPlanning`, rows split over the cores; pixels outside the series are NaN.
    func draw(_ view: SliceView, _ window: DisplayWindow, _ px: UnsafeMutablePointer<UInt8>) {
        let plane = Grid(size: SIMD3(view.width, 1, view.height), origin: view.patient(0.5, 0.5),
                         spacing: Vec3(view.mmPerPixel, 1, view.mmPerPixel),
                         axisI: view.right, axisJ: view.normal, axisK: view.down)
        let sampled = Resampler.resample(values, onto: plane, sourceFromTarget: seriesFromPlanning, outside: .nan).volume
        let lo = window.level - window.width / 2
        let scale = 255 / window.width
        sampled.voxels.withUnsafeBufferPointer { v in
            for n in 0..<v.count {
                let x = v[n]
                let grey: UInt8 = x.isNaN ? 0 : UInt8(min(255, max(0, ((Double(x) - lo) * scale).rounded())))
                px[4 * n] = grey; px[4 * n + 1] = grey; px[4 * n + 2] = grey; px[4 * n + 3] = 255
            }
        }
    }
}
