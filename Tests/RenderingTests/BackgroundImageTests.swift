import Base
import Foundation
import RTModel
import VoxelKit
import XCTest
@testable import Rendering

/// The image under a figure: modality windows, and another series joined by a Spatial
/// Registration (Fixtures/registered_mr: its numpy truth says where the MR landmark lies).
final class BackgroundImageTests: XCTestCase {
    func expected(_ key: String) throws -> Any? {
        let data = try Data(contentsOf: URL(fileURLWithPath: renderingFixture("registered_mr/expected.json")))
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any])?[key]
    }

    func point(_ key: String) throws -> Vec3 {
        let v = try XCTUnwrap(try expected(key) as? [NSNumber]).map(\.doubleValue)
        return Vec3(v[0], v[1], v[2])
    }

    /// A CT decoded only over the images an axial slice through a target cuts (the HTML
    /// report's slices) draws that slice pixel for pixel as the whole CT does.
    func testPartialCTDrawsTheTargetSliceLikeTheWholeCT() throws {
        let resolved = Studies.pelvisResolved
        let images = try XCTUnwrap(resolved.images)
        let ptv = try XCTUnwrap(resolved.structureSet?.rois.first { $0.name == "PTV" })
        let planes = try XCTUnwrap(RenderStudy.planes(through: [ptv], of: images))
        XCTAssertEqual(planes.count, 3, "the plane through the centroid and one either side")
        let partial = try RenderStudy.load(resolved, planes: planes)
        XCTAssertEqual(partial.background.values.grid.nz, planes.count)
        XCTAssertEqual(partial.background.values.voxels.count, planes.count * images.grid.nx * images.grid.ny)
        var request = SliceRequest()
        request.position = .through("PTV")
        request.zoomTo = "PTV"
        request.paddingMM = 40
        request.widthPx = 320
        let whole = try SliceRenderer.render(Studies.pelvis, request)
        let part = try SliceRenderer.render(partial, request)
        XCTAssertEqual(part.caption, whole.caption)
        XCTAssertEqual(part.panel.pixels, whole.panel.pixels)
        // Every voxel decoded equals the whole CT's on the same plane.
        let whole3D = Studies.pelvis.background.values
        let offset = planes.lowerBound * images.grid.nx * images.grid.ny
        XCTAssertEqual(Array(whole3D.voxels[offset..<(offset + partial.background.values.voxels.count)]), partial.background.values.voxels)
    }

    /// The MR landmark ball (4 mm, signal 3000), drawn over the CT plan through the
    /// registration, lands where the registration's matrix puts it: M·q_L.
    func testRegisteredMRLandmarkLandsWhereTheTransformSays() throws {
        let study = try RenderStudy.load(Studies.registeredResolved, image: "2")
        XCTAssertEqual(study.background.series.modality, .mr)
        XCTAssertNotNil(study.background.seriesFromPlanning)
        XCTAssertEqual(study.images.modality, .ct)
        let landmark = try point("landmark_ct_mm")
        var request = SliceRequest()
        request.position = .point(landmark)
        request.window = DisplayWindow(width: 1000, level: 2500)   // only the landmark is bright
        request.isodose = .none
        request.structures = []
        request.annotations = false
        request.widthPx = 400
        let r = try SliceRenderer.render(study, request)
        XCTAssertTrue(r.caption.contains("MR series 2 (registered) W1000/L2500"), r.caption)
        var sum = Vec3(0, 0, 0), weight = 0.0
        for y in 0..<r.view.height { for x in 0..<r.view.width {
            let g = Double(r.panel.pixels[4 * (y * r.panel.width + x)])
            guard g > 0 else { continue }
            sum += r.view.patient(Double(x) + 0.5, Double(y) + 0.5) * g
            weight += g
        } }
        XCTAssertGreaterThan(weight, 0, "the landmark is not on the slice")
        let centroid = sum / weight
        // The ball is sampled on 3.5 mm MR voxels: its centroid is within a millimetre of
        // the analytic point (a transform applied the wrong way round misses by > 20 mm).
        XCTAssertLessThan(hypot(centroid.x - landmark.x, centroid.y - landmark.y), 1.0, "centroid \(centroid), expected \(landmark)")
        // Without the registration the same pixels hold no landmark there.
        let unregistered = try SliceRenderer.render(Studies.registeredPlanningOnly, request)
        XCTAssertFalse(unregistered.panel.pixels.enumerated().contains { $0.offset % 4 == 0 && $0.element > 0 })
    }

    /// MR and PET default to the 1st–99th percentile inside BODY; CT to the soft preset.
    func testDefaultWindowsFollowTheModality() throws {
        XCTAssertEqual(Studies.pelvis.background.defaultWindow, .soft)
        let mr = Studies.pelvisMR.background
        XCTAssertEqual(mr.defaultWindowSource, "1st–99th percentile inside BODY")
        // Independently: the percentiles of the MR values at the BODY voxels' centres.
        let values = mr.values
        let body = try XCTUnwrap(Studies.pelvisMR.shapes.first { $0.name == "BODY" })
        var inside: [Float] = []
        let g = values.grid
        for plane in body.planes {
            let k = Int((plane.w / g.spacing.z).rounded())
            for j in 0..<g.ny { for i in 0..<g.nx {
                let p = SIMD2(Double(i) * g.spacing.x, Double(j) * g.spacing.y)
                let signs = plane.polygons.filter { PolygonCoverageContains($0, p) }.count
                if signs % 2 == 1 { inside.append(values[i, j, k]) }
            } }
        }
        inside.sort()
        let p1 = Double(inside[Int((0.01 * Double(inside.count - 1)).rounded())])
        let p99 = Double(inside[Int((0.99 * Double(inside.count - 1)).rounded())])
        // Cells half covered and centres inside differ only at the boundary.
        XCTAssertEqual(mr.defaultWindow.level - mr.defaultWindow.width / 2, p1, accuracy: 0.02 * (p99 - p1))
        XCTAssertEqual(mr.defaultWindow.level + mr.defaultWindow.width / 2, p99, accuracy: 0.02 * (p99 - p1))
        XCTAssertGreaterThan(p99 - p1, 500)
    }

    func testWithoutABodyTheWholeSeriesSetsTheWindow() throws {
        let b = Studies.pelvisMR.background
        let (w, source) = BackgroundImage.percentileWindow(b, planning: Studies.pelvisMR.images, body: nil)
        XCTAssertEqual(source, "1st–99th percentile of the whole series (no EXTERNAL structure)")
        let (lo, hi) = BackgroundImage.percentiles(b.values.voxels, 0.01, 0.99)
        XCTAssertEqual(w.level - w.width / 2, lo, accuracy: 1e-9)
        XCTAssertEqual(w.level + w.width / 2, hi, accuracy: 1e-9)
        XCTAssertEqual(BackgroundImage.percentiles([5, 1, 4, 2, 3], 0, 1).0, 1)
        XCTAssertEqual(BackgroundImage.percentiles([5, 1, 4, 2, 3], 0.5, 1).0, 3)
    }
}

/// Even-odd membership of one polygon (the test's own, not the renderer's).
func PolygonCoverageContains(_ poly: [SIMD2<Double>], _ p: SIMD2<Double>) -> Bool {
    var inside = false
    var j = poly.count - 1
    for i in 0..<poly.count {
        let a = poly[i], b = poly[j]
        if (a.y > p.y) != (b.y > p.y), p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x { inside.toggle() }
        j = i
    }
    return inside
}
