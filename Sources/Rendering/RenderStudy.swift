import Base
import DICOM
import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit

/// What a figure is drawn from: the planning image series (its geometry places the
/// slices), the image drawn under the figure (the planning series, or another one chosen
/// by the user), the structure set on the planning series (contours in its plane frame),
/// the dose grid and the plan.
public struct RenderStudy: Sendable {
    /// The planning images (CT, MR or PET): the series the structure set is drawn on.
    public var images: ImageSeries
    /// The image under the isodose lines and outlines.
    public var background: BackgroundImage
    public var structureSet: StructureSet?
    /// The planning images' plane frame (row, column, slice normal): contours on their
    /// slices have constant w in it.
    public var frame: PlaneFrame
    /// One shape per ROI of `structureSet`, in its order.
    public var shapes: [PlanarShape]
    public var dose: DoseGrid?
    public var doseField: DoseField?
    public var plan: Plan?
    /// Slice spacing of the planning images, mm (for prism slabs of contours).
    public var sliceSpacing: Double

    /// The figure's study from a resolved study: its planning images, the background
    /// (`image`: a series number or Series Instance UID, see `ResolvedStudy.selectImages`;
    /// nil for the planning images), decoded here, its structure set, its dose (already
    /// decoded by the resolver) and its plan.
    ///
    /// - Throws: `SBRTError` (`.noImages` when the study has no image series or `image`
    ///   names none, `.frameOfReference` when nothing registers it, `.doseType` for a dose
    ///   not in Gy, read errors of the image files).
    ///
    /// `planes`: decode only these images of a CT planning series (`BackgroundImage.load`),
    /// for figures that draw axial slices within them (`planes(through:of:)`).
    public static func load(_ study: ResolvedStudy, image: String? = nil, planes: Range<Int>? = nil) throws -> RenderStudy {
        guard let images = study.images, let planning = study.planningImages else {
            throw SBRTError(.noImages, "no image series for the structure set: a slice is drawn on its planning images", file: study.root)
        }
        if let d = study.dose, d.units.uppercased() != "GY" {
            throw SBRTError(.doseType, "Dose Units are \(d.units), not GY; isodose lines need a dose in Gy", file: d.primary.path)
        }
        let frame = PlaneFrame(grid: images.grid)
        let shapes = study.structureSet?.rois.map { PlanarShape(roi: $0, frame: frame) } ?? []
        let body = study.structureSet?.rois.firstIndex(where: \.isExternal).map { shapes[$0] }
        let selection = try image.map(study.selectImages) ?? planning
        let background = try BackgroundImage.load(selection, planning: images, body: body, planes: planes)
        return RenderStudy(images: images, background: background, structureSet: study.structureSet, frame: frame, shapes: shapes,
                           dose: study.dose?.primary, doseField: study.dose.map { DoseField($0.volume) }, plan: study.plan,
                           sliceSpacing: images.grid.spacing.z)
    }

    /// The images of `images` that axial slices through the centroids of `rois` draw:
    /// the plane each centroid snaps to (as `SliceRenderer.slicePoint` snaps it), one
    /// more either side, as one range covering them all; nil when no ROI has a centroid.
    /// A figure of such slices decodes only these images.
    public static func planes(through rois: [ROI], of images: ImageSeries) -> Range<Int>? {
        let frame = PlaneFrame(grid: images.grid)
        var lo = Int.max, hi = Int.min
        for roi in rois {
            guard let c = centroid(of: PlanarShape(roi: roi, frame: frame), frame: frame) else { continue }
            // A checked conversion: an index is never made from an unchecked double.
            let k = min(max(Checked.clamped(images.grid.continuousIndex(of: c).z.rounded()), -1), images.grid.nz)
            lo = min(lo, k - 1)
            hi = max(hi, k + 1)
        }
        guard lo <= hi else { return nil }
        let range = max(0, lo)..<min(images.grid.nz, hi + 1)
        return range.isEmpty ? nil : range
    }

    /// A study from parts already in memory (tests, composites).
    public init(images: ImageSeries, background: BackgroundImage, structureSet: StructureSet?, frame: PlaneFrame, shapes: [PlanarShape],
                dose: DoseGrid?, doseField: DoseField?, plan: Plan?, sliceSpacing: Double) {
        self.images = images
        self.background = background
        self.structureSet = structureSet
        self.frame = frame
        self.shapes = shapes
        self.dose = dose
        self.doseField = doseField
        self.plan = plan
        self.sliceSpacing = sliceSpacing
    }

    /// The ROIs of the structure set.
    public var rois: [ROI] { structureSet?.rois ?? [] }

    /// The index of the ROI named `name` (case-insensitive), or a `SBRTError` that
    /// lists the names.
    public func roiIndex(_ name: String) throws -> Int {
        if let n = StructureName.index(of: name, in: rois.map(\.name)) { return n }
        throw SBRTError(.invalidRequest, "no ROI named \"\(name)\"" +
                             (rois.isEmpty ? " (the folder has no structure set)" : " (structures: \(rois.map(\.name).joined(separator: ", ")))"))
    }

    /// The ROI a figure centres on by default: the first PTV, else the first GTV or CTV,
    /// by RT ROI Interpreted Type or, failing that, by name.
    public var defaultTargetIndex: Int? {
        for type in ["PTV", "GTV", "CTV"] {
            if let n = rois.firstIndex(where: { ($0.interpretedType ?? "").uppercased() == type && shapeHasArea($0) }) { return n }
        }
        for prefix in ["PTV", "GTV", "CTV"] {
            if let n = rois.firstIndex(where: { $0.name.uppercased().hasPrefix(prefix) && shapeHasArea($0) }) { return n }
        }
        return nil
    }

    private func shapeHasArea(_ roi: ROI) -> Bool { roi.contours.contains { $0.isClosedPlanar && $0.points.count >= 3 } }

    /// Area-weighted centroid of the ROI at `index` (patient mm), or nil without area.
    public func centroid(_ index: Int) -> Vec3? { Self.centroid(of: shapes[index], frame: frame) }

    /// The area-weighted centroid of `shape`'s polygons (holes subtracted), in patient
    /// coordinates; nil when it has no area.
    static func centroid(of shape: PlanarShape, frame: PlaneFrame) -> Vec3? {
        var sum = Vec3(0, 0, 0), total = 0.0
        for plane in shape.planes {
            let signs = PolygonCoverage.evenOddSigns(plane.polygons)
            for (poly, sign) in zip(plane.polygons, signs) where poly.count >= 3 {
                var a = 0.0, cx = 0.0, cy = 0.0
                for n in poly.indices {
                    let p = poly[n], q = poly[(n + 1) % poly.count]
                    let c = p.x * q.y - q.x * p.y
                    a += c
                    cx += (p.x + q.x) * c
                    cy += (p.y + q.y) * c
                }
                guard abs(a) > 1e-12 else { continue }
                let area = abs(a) / 2
                let centre = SIMD2(cx / (3 * a), cy / (3 * a))
                let w = sign * area
                sum += Vec3(centre.x, centre.y, plane.w) * w
                total += w
            }
        }
        guard total > 1e-9 else { return nil }
        let c = sum / total
        return frame.patient(c.x, c.y, c.z)
    }

    /// Patient position of the first voxel holding the maximum dose, or nil without dose.
    public var maximumDosePosition: Vec3? {
        guard let field = doseField, !field.volume.voxels.isEmpty else { return nil }
        var best = 0
        field.volume.voxels.withUnsafeBufferPointer { v in
            for n in 1..<v.count where v[n] > v[best] { best = n }
        }
        let g = field.grid
        let i = best % g.nx, j = (best / g.nx) % g.ny, k = best / (g.nx * g.ny)
        return g.position(Double(i), Double(j), Double(k))
    }

    /// Per plane of `shape`, the slab [lo, hi) along w it fills (prism convention: half way
    /// to contiguous neighbours, half a slice beyond the ends).
    func slabs(_ shape: PlanarShape) -> [(lo: Double, hi: Double)] {
        let planes = shape.planes
        var out: [(Double, Double)] = []
        for p in planes.indices {
            let prevGap = p > 0 ? planes[p].w - planes[p - 1].w : .infinity
            let nextGap = p + 1 < planes.count ? planes[p + 1].w - planes[p].w : .infinity
            let below = prevGap <= 1.5 * sliceSpacing ? prevGap / 2 : sliceSpacing / 2
            let above = nextGap <= 1.5 * sliceSpacing ? nextGap / 2 : sliceSpacing / 2
            out.append((planes[p].w - below, planes[p].w + above))
        }
        return out
    }
}
