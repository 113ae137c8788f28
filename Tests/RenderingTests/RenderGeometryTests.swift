import Base
import Dosimetry
import Foundation
import Geometry
import RTModel
import VoxelKit
import XCTest
@testable import Rendering

let renderingPackageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
func renderingFixture(_ relative: String) -> String { renderingPackageRoot.appendingPathComponent("Fixtures/" + relative).path }

/// Loaded once: the pelvis and feet-first studies.
enum Studies {
    static let pelvisResolved = try! ResolvedStudy.resolve(renderingFixture("pelvis"), StudyRequest(needs: [.images]))
    static let pelvis = try! RenderStudy.load(pelvisResolved)
    static let ffs = try! RenderStudy.load(try! ResolvedStudy.resolve(renderingFixture("variants/ffs"), StudyRequest(needs: [.images])))
    /// The pelvis plan with its images as MR (Tools/fixtures/mr_fixtures.py).
    static let pelvisMR = try! RenderStudy.load(try! ResolvedStudy.resolve(renderingFixture("pelvis_mr"), StudyRequest(needs: [.images])))
    /// The mini CT plan with a registered MR series (number 2) as the background.
    static let registeredResolved = try! ResolvedStudy.resolve(renderingFixture("registered_mr"), StudyRequest(needs: [.images]))
    static let registeredPlanningOnly = try! RenderStudy.load(registeredResolved)
}

/// Geometry that does not depend on looks: isodose lines against analytic radii,
/// outlines against contours, orientation letters against direction cosines.
final class RenderGeometryTests: XCTestCase {

    /// A dose falling linearly with distance from the origin: D(r) = 40·(2 − r/20) Gy,
    /// so the 100 % (40 Gy) surface is the sphere r = 20 mm.
    func sphereField() -> DoseField {
        let n = 81
        let grid = Grid(size: SIMD3(n, n, n), origin: Vec3(-40, -40, -40), spacing: Vec3(1, 1, 1))
        var voxels = [Float](repeating: 0, count: grid.count)
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            let r = length(grid.position(Double(i), Double(j), Double(k)))
            voxels[grid.linearIndex(i, j, k)] = Float(40 * (2 - r / 20))
        } } }
        return DoseField(Volume(grid: grid, voxels: voxels))
    }

    func isolineRadii(_ field: DoseField, _ view: SliceView, levelGy: Float) -> [Double] {
        let crop = SliceRenderer.Crop(x: 0, y: 0, w: view.width, h: view.height)
        let dose = SliceRenderer.sampleDose(field, view, crop)
        let lines = MarchingSquares.isolines(dose, nx: crop.w, ny: crop.h, level: levelGy)
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines.allSatisfy(\.closed))
        return lines.flatMap { $0.points.map { length(view.patient($0.x + 0.5, $0.y + 0.5)) } }
    }

    func testHundredPercentIsodoseOfADoseSphereLiesWithinHalfAPixelOfItsRadius() {
        let field = sphereField()
        // Axial through the centre: a circle of radius 20 mm; 0.25 mm pixels.
        let axial = SliceView(orientation: .axial, right: Vec3(1, 0, 0), down: Vec3(0, 1, 0), centre: Vec3(0, 0, 0),
                              mmPerPixel: 0.25, width: 200, height: 200)
        let radii = isolineRadii(field, axial, levelGy: 40)
        XCTAssertGreaterThan(radii.count, 300)
        for r in radii { XCTAssertEqual(r, 20, accuracy: 0.5 * axial.mmPerPixel) }
        // A sagittal plane 12 mm off centre cuts the sphere in a circle of radius 16 mm.
        let sagittal = SliceView(orientation: .sagittal, right: Vec3(0, 1, 0), down: Vec3(0, 0, -1), centre: Vec3(12, 0, 0),
                                 mmPerPixel: 0.4, width: 120, height: 120)
        let crop = SliceRenderer.Crop(x: 0, y: 0, w: 120, h: 120)
        let lines = MarchingSquares.isolines(SliceRenderer.sampleDose(field, sagittal, crop), nx: 120, ny: 120, level: 40)
        for p in lines.flatMap(\.points) {
            let q = sagittal.patient(p.x + 0.5, p.y + 0.5)
            XCTAssertEqual(q.x, 12, accuracy: 1e-9)
            XCTAssertEqual((q.y * q.y + q.z * q.z).squareRoot(), 16, accuracy: 0.5 * sagittal.mmPerPixel)
        }
    }

    func testAxialOutlineLiesOnTheContourOfTheSlice() throws {
        let study = Studies.pelvis
        var request = SliceRequest()
        request.position = .through("PTV")
        request.widthPx = 400
        let r = try SliceRenderer.render(study, request)
        let ptv = try study.roiIndex("PTV")
        let outline = try XCTUnwrap(r.outlines.first { $0.name == "PTV" })
        // The contours of the plane the slice passes through, in patient mm.
        let w = study.frame.local(r.view.centre).z
        let plane = try XCTUnwrap(study.shapes[ptv].planes.first { abs($0.w - w) < 0.05 })
        XCTAssertEqual(outline.paths.count, plane.polygons.count)
        for (path, poly) in zip(outline.paths, plane.polygons) {
            XCTAssertEqual(path.count, poly.count)
            for (s, q) in zip(path, poly) {
                let p = study.frame.local(r.view.patient(s.x, s.y))
                XCTAssertEqual(p.x, q.x, accuracy: 1e-6)
                XCTAssertEqual(p.y, q.y, accuracy: 1e-6)
                XCTAssertEqual(p.z, plane.w, accuracy: 1e-6)
            }
        }
    }

    func testSagittalOutlineLiesOnTheSurfaceOfTheStructure() throws {
        let study = Studies.pelvis
        var request = SliceRequest()
        request.orientation = .sagittal
        request.position = .through("GTV")
        request.widthPx = 300
        let r = try SliceRenderer.render(study, request)
        let gtv = try study.roiIndex("GTV")
        let shape = study.shapes[gtv]
        let slabs = study.slabs(shape)
        let outline = try XCTUnwrap(r.outlines.first { $0.name == "GTV" })
        // Half a pixel along edges; marching squares cuts the corners where a slab face
        // meets the side of the prism by up to a pixel.
        let tolerance = 0.5 * r.view.mmPerPixel + 1e-6
        var checked = 0, withinHalf = 0
        for p in outline.paths.flatMap({ $0 }) {
            let q = study.frame.local(r.view.patient(p.x, p.y))
            // Either on a contour edge of its slab's plane, or on a slab face.
            let slabFace = slabs.map { min(abs(q.z - $0.lo), abs(q.z - $0.hi)) }.min()!
            var edge = Double.infinity
            if let s = slabs.firstIndex(where: { q.z >= $0.lo && q.z < $0.hi }) {
                for poly in shape.planes[s].polygons { edge = min(edge, distance(SIMD2(q.x, q.y), to: poly)) }
            }
            XCTAssertLessThanOrEqual(min(edge, slabFace), 2 * tolerance)
            if min(edge, slabFace) <= tolerance { withinHalf += 1 }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 50)
        XCTAssertGreaterThanOrEqual(Double(withinHalf), 0.95 * Double(checked))
    }

    func distance(_ p: SIMD2<Double>, to poly: [SIMD2<Double>]) -> Double {
        var best = Double.infinity
        for n in poly.indices {
            let a = poly[n], b = poly[(n + 1) % poly.count]
            let d = b - a
            let t = min(1, max(0, ((p - a) * d).sum() / max((d * d).sum(), 1e-30)))
            let e = p - (a + d * t)
            best = min(best, (e * e).sum().squareRoot())
        }
        return best
    }

    func testOrientationLettersFollowTheDirectionCosines() {
        let hfs = Studies.pelvis.images.grid, ffs = Studies.ffs.images.grid
        func letters(_ o: ViewOrientation, _ g: Grid) -> [String] {
            let (r, d) = SliceView.axes(o, grid: g)
            let v = SliceView(orientation: o, right: r, down: d, centre: Vec3(0, 0, 0), mmPerPixel: 1, width: 1, height: 1).orientationLetters
            return [v.left, v.right, v.top, v.bottom]
        }
        // Head-first supine, as stored: the radiological convention.
        XCTAssertEqual(letters(.axial, hfs), ["R", "L", "A", "P"])
        XCTAssertEqual(letters(.coronal, hfs), ["R", "L", "S", "I"])
        XCTAssertEqual(letters(.sagittal, hfs), ["A", "P", "S", "I"])
        // Feet-first supine: rows run to the patient's right, so left and right swap on
        // the axial view; the head stays at the top of the reformats.
        XCTAssertEqual(ffs.axisI.x, -1, accuracy: 1e-6)
        XCTAssertEqual(letters(.axial, ffs), ["L", "R", "A", "P"])
        XCTAssertEqual(letters(.coronal, ffs), ["L", "R", "S", "I"])
        XCTAssertEqual(letters(.sagittal, ffs), ["A", "P", "S", "I"])
        XCTAssertEqual(SliceView.letters(Vec3(0.8, -0.6, 0)), "LA")
    }

    func testSliceOutsideTheCTAndPercentLevelsWithoutRxAreErrors() {
        var request = SliceRequest()
        request.position = .coordinate(axis: 2, mm: 500)
        XCTAssertThrowsError(try SliceRenderer.render(Studies.pelvis, request)) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .invalidRequest)
            XCTAssertTrue("\(e)".contains("outside the CT"), "\(e)")
        }
        var study = Studies.pelvis
        study.plan = nil
        XCTAssertThrowsError(try SliceRenderer.render(study, SliceRequest())) { e in
            XCTAssertTrue("\(e)".contains("need the prescription"), "\(e)")  // the CLI adds the option (--rx)
        }
        var gy = SliceRequest()
        gy.isodose = .gy([40, 20])
        gy.widthPx = 200
        XCTAssertNoThrow(try SliceRenderer.render(study, gy))
    }

    func testAxialSlicesSnapToCTSlices() throws {
        var request = SliceRequest()
        request.position = .coordinate(axis: 2, mm: 1.1)
        let (p, label) = try SliceRenderer.slicePoint(Studies.pelvis, request)
        let k = Studies.pelvis.images.grid.continuousIndex(of: p).z
        XCTAssertEqual(k, k.rounded(), accuracy: 1e-9)
        XCTAssertEqual(p.z, 0, accuracy: 1e-9)
        XCTAssertEqual(label, "z = 0 mm")
    }
}
