import AnalyticPhantoms
import Dosimetry
import Foundation
import Geometry
import VoxelKit
import XCTest

/// Analytic phantoms (Nelms et al., Med Phys 2015): shapes contoured on planes, a linear
/// dose gradient of 1 Gy/mm with 16 Gy at the centre, so trilinear interpolation is exact
/// and every error is the engine's own. Truth is closed form: for `prism` end caps, the
/// exact prism stack of the very polygons given to the engine; for `interpolated`, the
/// true solid. Phantoms, cases and truth live in Tools/AnalyticPhantoms (shared with
/// sbrt-validate, which runs the full matrix; docs/validation.md).
final class AnalyticPhantomTests: XCTestCase {
    // MARK: Checks

    /// Compares every endpoint (volume, Dmean, D99…D1, D0.03cc, Dmin, Dmax) with the prism truth.
    func checkPrism(_ c: AnalyticCase, label: String, volumeTol: Double = 0.005, doseTol: Double = 0.01) throws {
        let dvh = try c.dvh()
        for r in compare(dvh, with: PrismStackTruth(c)) {
            let ours = try XCTUnwrap(r.measured, "\(label): \(r.endpoint)")
            let tol = r.endpoint.isVolumeOrMean ? volumeTol : doseTol
            XCTAssertEqual(ours, r.truth, accuracy: tol * r.truth, "\(label): \(r.endpoint)")
        }
    }

    func testNelmsObjectsAgainstThePrismStackTruth() throws {
        for slice in [1.0, 2.0, 3.0] {
            for grid in [1.0, 2.0, 3.0] {
                for axis in [GradientAxis.z, .x] {
                    for ph in [Phantoms.sphere24, Phantoms.cylinderAlongZ, Phantoms.cylinderAcrossZ, Phantoms.coneAlongZ] {
                        let c = AnalyticCase(ph, slice: slice, grid: grid, gradient: axis, endCap: .prism)
                        try checkPrism(c, label: "\(ph.name) slices \(slice) mm, dose grid \(grid) mm, gradient \(axis)")
                    }
                }
            }
        }
    }

    func testSmallSpheresAgainstThePrismStackTruth() throws {
        for d in [3.0, 5.0, 7.0, 10.0, 15.0, 20.0] {
            for slice in [1.0, 2.0, 3.0] {
                for axis in [GradientAxis.z, .x] {
                    // Offset planes so that small spheres are cut off-centre too.
                    let c = AnalyticCase(Phantoms.sphere(diameter: d), slice: slice, grid: 1, gradient: axis, endCap: .prism, offset: slice * 0.3)
                    guard !c.slabs.isEmpty else { continue }
                    try checkPrism(c, label: "sphere \(d) mm, slices \(slice) mm, gradient \(axis)")
                }
            }
        }
    }

    func testInterpolatedEndCapsApproachTheTrueSolid() throws {
        let cases: [(Phantom, GradientAxis)] = [
            (Phantoms.sphere24, .z), (Phantoms.sphere24, .x),
            (Phantoms.cylinderAlongZ, .z), (Phantoms.cylinderAlongZ, .x),
            (Phantoms.coneAlongZ, .z),
        ]
        try checkTrueSolid(cases)
    }

    /// Interpolated end caps at 2 mm slices against the true solid: volume, Dmean, D95, D5 within 2 %.
    func checkTrueSolid(_ cases: [(Phantom, GradientAxis)]) throws {
        for (ph, axis) in cases {
            let truth = try XCTUnwrap(TrueSolidTruth(ph, gradient: axis))
            let c = AnalyticCase(ph, slice: 2, grid: 2, gradient: axis, endCap: .interpolated, offset: 1)
            let dvh = try c.dvh()
            let label = "\(ph.name) interpolated, gradient \(axis)"
            for r in compare(dvh, with: truth, at: [.volume, .mean, .hottestPercent(95), .hottestPercent(5)]) {
                let ours = try XCTUnwrap(r.measured, "\(label): \(r.endpoint)")
                XCTAssertEqual(ours, r.truth, accuracy: 0.02 * r.truth, "\(label): \(r.endpoint)")
            }
        }
    }

    /// A slice of the sbrt-validate matrix beyond the cases above: the y gradient, the
    /// cone with its apex down and the cylinder and cone with their axes along y.
    func testOtherOrientationsAndTheYGradientAgainstThePrismStackTruth() throws {
        for ph in Phantoms.nelms {
            let isExtra = [Phantoms.cylinderAlongY.name, Phantoms.coneAlongZApexDown.name, Phantoms.coneAlongY.name].contains(ph.name)
            for axis in isExtra ? [GradientAxis.z, .x, .y] : [.y] {
                let c = AnalyticCase(ph, slice: 3, grid: 2, gradient: axis, endCap: .prism)
                try checkPrism(c, label: "\(ph.name) slices 3 mm, dose grid 2 mm, gradient \(axis)")
            }
        }
    }

    /// The remaining true-solid cases of sbrt-validate, including the cylinders with
    /// in-plane axes in a z gradient, whose tangential ends a flat or merely filleted
    /// end cap over-fills (D95 2.5 % low before the cap continued the taper).
    func testInterpolatedEndCapsOfTheOtherOrientations() throws {
        let cases: [(Phantom, GradientAxis)] = [
            (Phantoms.sphere24, .y), (Phantoms.cylinderAlongZ, .y), (Phantoms.coneAlongZ, .x), (Phantoms.coneAlongZ, .y),
            (Phantoms.cylinderAcrossZ, .x), (Phantoms.cylinderAcrossZ, .y), (Phantoms.cylinderAlongY, .x), (Phantoms.cylinderAlongY, .y),
            (Phantoms.coneAlongZApexDown, .z), (Phantoms.coneAlongZApexDown, .x), (Phantoms.coneAlongZApexDown, .y),
            (Phantoms.coneAlongY, .z), (Phantoms.coneAlongY, .x), (Phantoms.coneAlongY, .y),
            (Phantoms.cylinderAcrossZ, .z), (Phantoms.cylinderAlongY, .z),
        ]
        try checkTrueSolid(cases)
    }

    func testStructureOutsideTheDoseGridCountsAtZeroAndSaysHowMuch() throws {
        // A sphere centred at the grid's edge: about half of it lies outside.
        var c = AnalyticCase(Phantoms.sphere(diameter: 10), slice: 1, grid: 2, gradient: .z, endCap: .prism)
        let moved = PlanarShape(name: "Edge", frame: .patient, planes: c.shape.planes.map { p in
            .init(w: p.w, polygons: p.polygons.map { $0.map { $0 + SIMD2(20, 0) } })
        })
        c.engine.shapes = ["Edge": moved]
        let dvh = try c.engine.dvh(.roi("Edge"))
        // The grid's voxels reach 1 mm beyond the last centre (x = 21): a cap of height 4 mm
        // of the 5 mm sphere is outside, π·4²·(3·5 − 4)/3 of 4/3·π·5³ = 0.352.
        XCTAssertEqual(dvh.outsideFraction, 0.352, accuracy: 0.02)
        XCTAssertEqual(dvh.minGy, 0)
        XCTAssertEqual(dvh.volumeCC, try c.engine.dvh(.roi("Edge")).volumeCC)
        XCTAssertEqual(dvh.volumePercent(atLeast: 0.001), 100 * (1 - dvh.outsideFraction), accuracy: 1e-6)
    }

    func testExpressionsOnNestedStructures() throws {
        let outer = Phantoms.sphere(diameter: 20), inner = Phantoms.sphere(diameter: 10)
        var c = AnalyticCase(outer, slice: 1, grid: 1, gradient: .z, endCap: .prism)
        let innerShape = AnalyticCase(inner, slice: 1, grid: 1, gradient: .z, endCap: .prism).shape
        c.engine.shapes[innerShape.name] = innerShape
        let o = try c.engine.dvh(.roi(outer.name)), i = try c.engine.dvh(.roi(inner.name))
        let shell = try c.engine.dvh(.difference(.roi(outer.name), .roi(inner.name)))
        XCTAssertEqual(shell.volumeCC, o.volumeCC - i.volumeCC, accuracy: 0.002 * o.volumeCC)
        // Mean dose of the shell: by symmetry 16 Gy, like both spheres.
        XCTAssertEqual(shell.meanGy, 16, accuracy: 0.02)
        let both = try c.engine.dvh(.union(.roi(outer.name), .roi(inner.name)))
        XCTAssertEqual(both.volumeCC, o.volumeCC, accuracy: 0.002 * o.volumeCC)
        let overlap = try c.engine.dvh(.intersection(.roi(outer.name), .roi(inner.name)))
        XCTAssertEqual(overlap.volumeCC, i.volumeCC, accuracy: 0.002 * i.volumeCC)
    }
}
