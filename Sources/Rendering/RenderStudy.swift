import Base
import DICOM
import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit

/// What a figure is drawn from: one CT series with its HU volume, the structure set on
/// it (contours in the CT's plane frame), the dose grid and the plan.
public struct RenderStudy: Sendable {
    public var ct: CTSeries
    public var hu: Volume<Int16>
    public var structureSet: StructureSet?
    /// The CT's plane frame (row, column, slice normal): contours on CT slices have
    /// constant w in it.
    public var frame: PlaneFrame
    /// One shape per ROI of `structureSet`, in its order.
    public var shapes: [PlanarShape]
    public var dose: DoseGrid?
    public var doseField: DoseField?
    public var plan: Plan?
    /// CT slice spacing, mm (for prism slabs of contours).
    public var sliceSpacing: Double

    /// Loads the CT (the one the structure set refers to, else the first series), its
    /// HU volume, the structure set, the dose (`dosePath`, else the folder's only dose or
    /// only PLAN dose) and the plan (the folder's only plan, else the one the dose names).
    ///
    /// - Throws: `SBRTError.invalidRequest` when the folder has no CT, several
    ///   structure sets or doses without a way to choose, a dose not in Gy, or a dose on
    ///   another frame of reference; `SBRTError`/`SBRTError` for unreadable files.
    public static func load(_ folder: StudyFolder, dosePath: String? = nil) throws -> RenderStudy {
        let structureSet: StructureSet?
        switch folder.structureSets.count {
        case 0: structureSet = nil
        case 1: structureSet = folder.structureSets[0]
        default:
            throw SBRTError(.invalidRequest, "\(folder.root): \(folder.structureSets.count) structure sets; keep one per folder")
        }
        guard let ct = structureSet.flatMap({ folder.ctSeries(for: $0) }) ?? folder.ctSeries.first else {
            throw SBRTError(.invalidRequest, "\(folder.root): no CT series in the folder; a slice is drawn on its CT")
        }
        var dose: DoseGrid?
        if let dosePath {
            let file = try DICOMFile.read(path: dosePath)
            guard file.sopClassUID == SOPClass.rtDose || file.modality == "RTDOSE" else {
                throw SBRTError(.invalidRequest, "\(dosePath): not an RT Dose (SOP Class \(file.sopClassUID ?? "none"))")
            }
            dose = try DoseGrid(file: file)
        } else if folder.doses.count == 1 {
            dose = folder.doses[0]
        } else if folder.doses.count > 1 {
            let plans = folder.doses.filter { $0.summationType == "PLAN" }
            guard plans.count == 1 else {
                throw SBRTError(.invalidRequest, "\(folder.root): \(folder.doses.count) RT Dose grids; choose one with --dose")
            }
            dose = plans[0]
        }
        if let d = dose {
            guard d.units == "GY" else {
                throw SBRTError(.invalidRequest, "\(d.path): Dose Units are \(d.units), not GY; isodose lines need a dose in Gy")
            }
            if let f = d.frameOfReferenceUID, let c = ct.frameOfReferenceUID, f != c {
                throw SBRTError(.invalidRequest, "\(d.path): the dose is on frame of reference \(f), the CT on \(c); a registration is needed to overlay them")
            }
        }
        let plan = folder.plans.count == 1 ? folder.plans[0]
            : folder.plans.first { p in dose?.referencedPlanUIDs.contains(p.sopInstanceUID) ?? false }
        let frame = PlaneFrame(grid: ct.grid)
        let shapes = structureSet?.rois.map { PlanarShape(roi: $0, frame: frame) } ?? []
        let hu = try ct.loadHU()
        let field = try dose.map { DoseField(try $0.loadDose()) }
        return RenderStudy(ct: ct, hu: hu, structureSet: structureSet, frame: frame, shapes: shapes,
                           dose: dose, doseField: field, plan: plan, sliceSpacing: ct.grid.spacing.z)
    }

    /// A study from parts already in memory (tests, composites).
    public init(ct: CTSeries, hu: Volume<Int16>, structureSet: StructureSet?, frame: PlaneFrame, shapes: [PlanarShape],
                dose: DoseGrid?, doseField: DoseField?, plan: Plan?, sliceSpacing: Double) {
        self.ct = ct
        self.hu = hu
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
        let key = name.trimmingCharacters(in: .whitespaces).lowercased()
        if let n = rois.firstIndex(where: { $0.name.trimmingCharacters(in: .whitespaces).lowercased() == key }) { return n }
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
    public func centroid(_ index: Int) -> Vec3? {
        let shape = shapes[index]
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
