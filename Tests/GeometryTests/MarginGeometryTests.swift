import Geometry
import VoxelKit
import XCTest

final class MarginGeometryTests: XCTestCase {
    func extents(_ r: MarginResult, frame: PlaneFrame) -> (lo: Vec3, hi: Vec3) {
        var lo = Vec3(repeating: .infinity), hi = Vec3(repeating: -.infinity)
        for p in r.planes { for poly in p.polygons { for q in poly {
            let x = frame.patient(q.x, q.y, p.w)
            lo = pointwiseMin(lo, x); hi = pointwiseMax(hi, x)
        } } }
        return (lo, hi)
    }

    /// Box x, y, z ∈ [−10, 10] (1 mm planes), margins R 2, L 5, A 3, P 7, S 4, I 6: extents
    /// within 0.3 mm, from the prism source and from the interpolated one (the default of
    /// `sbrt expand`), in HFS and HFP frames.
    func testDirectionalMarginsReachTheirSixExtentsOnABoxAndASphere() throws {
        let m = DirectionalMargin(rightMM: 2, leftMM: 5, anteriorMM: 3, posteriorMM: 7, superiorMM: 4, inferiorMM: 6)
        // HFS (patient frame) and HFP (rows along −x, columns along −y) frames.
        let hfp = PlaneFrame(origin: .zero, u: Vec3(-1, 0, 0), v: Vec3(0, -1, 0), n: Vec3(0, 0, 1))
        for (frame, source) in [(PlaneFrame.patient, EndCap.prism), (hfp, .prism), (.patient, .interpolated), (hfp, .interpolated)] {
            let zs = Phantom.planes(from: -9.5, to: 9.5, step: 1)
            let box = PlanarShape(name: "B", frame: frame, planes: zs.map { PlanarShape.Plane(w: $0, polygons: [Phantom.rect(-10, -10, 10, 10)]) })
            let sphere = Phantom.sphere("S", r: 10, planes: zs, frame: frame)
            // Output planes every 0.05 mm near the top and bottom, every mm elsewhere.
            var out = Phantom.planes(from: -17, to: 15, step: 1)
            out += Phantom.planes(from: -16.6, to: -15.4, step: 0.05) + Phantom.planes(from: 13.4, to: 14.6, step: 0.05)
            out.sort()
            var options = MarginOptions()
            options.endCap = source
            let e = MarginEngine(frame: frame, sliceSpacing: 1, shapes: [box, sphere], outputPlanes: out, options: options)
            for name in ["B", "S"] {
                let r = try e.evaluate(.expansion(.roi(name), m))
                let x = extents(r, frame: frame)
                // In-plane extents of the prism sphere come from the plane nearest its
                // equator (r = 9.987); the interpolated one reaches the equator between planes.
                let base = name == "B" || source == .interpolated ? 10.0 : (100 - 0.25).squareRoot()
                let what = "\(name), \(source) source, \(frame == .patient ? "HFS" : "HFP")"
                XCTAssertEqual(x.lo.x, -base - 2, accuracy: 0.3, "\(what) right")
                XCTAssertEqual(x.hi.x, base + 5, accuracy: 0.3, "\(what) left")
                XCTAssertEqual(x.lo.y, -base - 3, accuracy: 0.3, "\(what) anterior")
                XCTAssertEqual(x.hi.y, base + 7, accuracy: 0.3, "\(what) posterior")
                XCTAssertEqual(x.hi.z, 10 + 4, accuracy: 0.3, "\(what) superior")
                XCTAssertEqual(x.lo.z, -10 - 6, accuracy: 0.3, "\(what) inferior")
            }
        }
    }

    func testFrameRadiiFollowThePatientDirections() throws {
        let m = DirectionalMargin(rightMM: 1, leftMM: 2, anteriorMM: 3, posteriorMM: 4, superiorMM: 5, inferiorMM: 6)
        let hfs = try m.frameRadii(.patient)
        XCTAssertEqual([hfs.uPlus, hfs.uMinus, hfs.vPlus, hfs.vMinus, hfs.wPlus, hfs.wMinus], [2, 1, 4, 3, 5, 6])
        // Feet first supine: rows along −x, columns +y, normal −z.
        let ffs = PlaneFrame(origin: .zero, u: Vec3(-1, 0, 0), v: Vec3(0, 1, 0), n: Vec3(0, 0, -1))
        let f = try m.frameRadii(ffs)
        XCTAssertEqual([f.uPlus, f.uMinus, f.vPlus, f.vMinus, f.wPlus, f.wMinus], [1, 2, 4, 3, 6, 5])
        let oblique = PlaneFrame(origin: .zero, u: normalize(Vec3(1, 1, 0)), v: normalize(Vec3(-1, 1, 0)), n: Vec3(0, 0, 1))
        XCTAssertThrowsError(try m.frameRadii(oblique))
        XCTAssertNoThrow(try DirectionalMargin(uniformMM: 3).frameRadii(oblique))
    }

    func testSegmentGaugeKernelAgreesWithBruteForce() {
        var rng = SystemRandomNumberGenerator()
        let radii = FrameRadii(uPlus: 2, uMinus: 5, vPlus: 3, vMinus: 7, wPlus: 1, wMinus: 1)
        for _ in 0..<200 {
            let a = SIMD2(Double.random(in: -5...5, using: &rng), Double.random(in: -5...5, using: &rng))
            let b = SIMD2(Double.random(in: -5...5, using: &rng), Double.random(in: -5...5, using: &rng))
            let p = SIMD2(Double.random(in: -8...8, using: &rng), Double.random(in: -8...8, using: &rng))
            let exact = PlaneField.segmentGauge2(p, a, b, ru: (2, 5), rv: (3, 7))
            let brute = PlaneField.referenceGauge2(p, [[a, b]], radii: radii, samplesPerEdge: 4000)
            XCTAssertEqual(exact, brute, accuracy: 1e-3 * max(1, brute))
            XCTAssertLessThanOrEqual(exact, brute + 1e-12)
        }
    }

    func testTracedContoursAreCounterClockwiseWithClockwiseHoles() {
        let lattice = CellLattice(u0: -20, v0: -20, h: 0.5, nu: 80, nv: 80)
        let outer = Phantom.circle(15), hole = Phantom.circle(6)
        let inside = PlaneField.insideMask([outer, hole], lattice: lattice)
        let g2 = PlaneField.boundaryGauge2([outer, hole], lattice: lattice, radii: FrameRadii(uniform: 1), reachMM: 2)
        let phi = (0..<lattice.count).map { i -> Float in let d = min(g2[i].squareRoot(), 2); return inside[i] != 0 ? -d : d }
        let loops = phi.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: lattice, toleranceMM: 0.03) }
        XCTAssertEqual(loops.count, 2)
        let areas = loops.map(PolygonCoverage.signedArea).sorted()
        XCTAssertEqual(areas[0], -Double.pi * 36, accuracy: 0.01 * .pi * 36)
        XCTAssertEqual(areas[1], Double.pi * 225, accuracy: 0.005 * .pi * 225)
        // Thinning keeps every dropped vertex within 0.03 mm: few vertices, area kept.
        XCTAssertLessThan(loops.map(\.count).max()!, 200)
    }

    /// Contours → mask → contours → mask: Dice ≥ 0.99, volume change ≤ 1 % (structures ≥ 1 cc).
    func testRoundTripThroughMasksKeepsDiceAndVolume() {
        let h = 1.0
        let lattice = CellLattice(u0: -16, v0: -16, h: h, nu: 32, nv: 32)
        var a = 0.0, b = 0.0, both = 0.0
        for z in Phantom.planes(from: -7, to: 7, step: 2) {
            let r = (64 - z * z).squareRoot()   // sphere r = 8 mm: 2.1 cc
            let poly = [Phantom.circle(r, centre: SIMD2(0.3, -0.2))]
            let m1 = PolygonCoverage.rasterize(poly, on: lattice).map { $0 >= 0.5 }
            // Mask → contours: the coverage field's 0.5 level (the mask edge between cell centres).
            let cov = PolygonCoverage.rasterize(poly, on: lattice).map { 0.5 - $0 }
            let loops = cov.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: lattice, toleranceMM: 0.03) }
            let m2 = PolygonCoverage.rasterize(loops, on: lattice).map { $0 >= 0.5 }
            for i in m1.indices {
                if m1[i] { a += 1 }
                if m2[i] { b += 1 }
                if m1[i] && m2[i] { both += 1 }
            }
        }
        let dice = 2 * both / (a + b)
        XCTAssertGreaterThanOrEqual(dice, 0.99)
        XCTAssertEqual(b, a, accuracy: 0.01 * a)
        XCTAssertGreaterThan(a * h * h * 2 / 1000, 1)
    }

    func testExact3DDistanceTransformMatchesBruteForce() {
        let size = SIMD3(9, 7, 6), spacing = SIMD3(0.9, 1.3, 2.5)
        var rng = SystemRandomNumberGenerator()
        var feature = [Bool](repeating: false, count: 9 * 7 * 6)
        for _ in 0..<5 { feature[Int.random(in: 0..<feature.count, using: &rng)] = true }
        let d = DistanceTransform.squared3D(feature, size: size, spacing: spacing)
        for k in 0..<6 { for j in 0..<7 { for i in 0..<9 {
            var best = Double.infinity
            for kk in 0..<6 { for jj in 0..<7 { for ii in 0..<9 where feature[(kk * 7 + jj) * 9 + ii] {
                let dx = Double(i - ii) * spacing.x, dy = Double(j - jj) * spacing.y, dz = Double(k - kk) * spacing.z
                best = min(best, dx * dx + dy * dy + dz * dz)
            } } }
            XCTAssertEqual(d[(k * 7 + j) * 9 + i], best, accuracy: 1e-9)
        } } }
    }

    func testMarginExpressionsParseMarginsAndKeepPlainExpressions() throws {
        XCTAssertEqual(try MarginExpression.parse("PTV-(SpinalCord+2)"),
                       .difference(.roi("PTV"), .expansion(.roi("SpinalCord"), DirectionalMargin(uniformMM: 2))))
        XCTAssertEqual(try MarginExpression.parse("((GTV+5)&BONE)+(CTV-1.5mm)"),
                       .union(.intersection(.expansion(.roi("GTV"), DirectionalMargin(uniformMM: 5)), .roi("BONE")),
                              .expansion(.roi("CTV"), DirectionalMargin(uniformMM: -1.5))))
        XCTAssertEqual(try MarginExpression.parse("(A+B)-C"), .difference(.union(.roi("A"), .roi("B")), .roi("C")))
        XCTAssertEqual(try MarginExpression.parse("PTV-GTV", knownNames: ["PTV-GTV"]), .roi("PTV-GTV"))
        XCTAssertEqual(try MarginExpression.parse("(A+\"2\")"), .union(.roi("A"), .roi("2")))
        XCTAssertThrowsError(try MarginExpression.parse("(A+5"))
        XCTAssertEqual(VanHerk.marginMM(systematicMM: 1.5, randomMM: 2), 5.15, accuracy: 1e-12)
    }

    /// Ring 0:5 around a cylinder = (S+5) − S: an annulus of radii 10 and 15 mid-stack.
    func testRingAndCropAreBooleansOfExactFields() throws {
        let zs = Phantom.planes(from: -10, to: 10, step: 2)
        let c = PlanarShape(name: "C", frame: .patient, planes: zs.map { PlanarShape.Plane(w: $0, polygons: [Phantom.circle(10)]) })
        let half = PlanarShape(name: "H", frame: .patient, planes: Phantom.planes(from: -30, to: 30, step: 2).map { PlanarShape.Plane(w: $0, polygons: [Phantom.rect(0, -40, 40, 40)]) })
        let e = MarginEngine(frame: .patient, sliceSpacing: 2, shapes: [c, half], outputPlanes: [0])
        let ring = try e.evaluate(.difference(.expansion(.roi("C"), DirectionalMargin(uniformMM: 5)), .roi("C")))
        let area = ring.planes[0].polygons.reduce(0) { $0 + PolygonCoverage.signedArea($1) }
        XCTAssertEqual(area, Double.pi * (225 - 100), accuracy: 0.01 * .pi * 125)
        XCTAssertEqual(ring.planes[0].polygons.count, 2)
        let crop = try e.evaluate(.intersection(.expansion(.roi("C"), DirectionalMargin(uniformMM: 5)), .roi("H")))
        let a2 = crop.planes[0].polygons.reduce(0) { $0 + PolygonCoverage.signedArea($1) }
        XCTAssertEqual(a2, Double.pi * 225 / 2, accuracy: 0.01 * .pi * 112.5)
    }

    /// A structure named twice in an expression (a ring's (S+b) − S) is built once and
    /// shared: the ring equals the one whose inner structure is a copy under another name
    /// (built on its own), point for point, for both sources.
    func testARingSharesItsSourceWithoutChangingIt() throws {
        let zs = Phantom.planes(from: -6, to: 6, step: 2)
        let s = Phantom.sphere("S", r: 7, planes: zs, frame: .patient)
        let copy = PlanarShape(name: "T", frame: .patient, planes: s.planes)
        for source in [EndCap.prism, .interpolated] {
            var o = MarginOptions()
            o.endCap = source
            let e = MarginEngine(frame: .patient, sliceSpacing: 2, shapes: [s, copy], outputPlanes: Phantom.planes(from: -12, to: 12, step: 2), options: o)
            let grown = MarginExpression.expansion(.roi("S"), DirectionalMargin(uniformMM: 4))
            let shared = try e.evaluate(.difference(grown, .roi("S")))
            let apart = try e.evaluate(.difference(grown, .roi("T")))
            XCTAssertGreaterThan(shared.planes.count, 5, "\(source)")
            XCTAssertEqual(shared.planes.map(\.w), apart.planes.map(\.w), "\(source)")
            for (a, b) in zip(shared.planes, apart.planes) { XCTAssertEqual(a.polygons, b.polygons, "\(source), w \(a.w)") }
        }
    }

    /// A slab barrier z ∈ [5.5, 10.5] with a slit x ∈ [6, 10] above a box; hand-computed
    /// geodesic extents on the plane z = 12 for a 15 mm margin (docs/expand.md).
    func testBarrierAwareGrowthGoesThroughTheGapOnly() throws {
        let src = PlanarShape(name: "GTV", frame: .patient, planes: Phantom.planes(from: -3, to: 3, step: 1).map { PlanarShape.Plane(w: $0, polygons: [Phantom.rect(-3, -3, 3, 3)]) })
        let barrier = PlanarShape(name: "Bone", frame: .patient, planes: Phantom.planes(from: 6, to: 10, step: 1).map {
            PlanarShape.Plane(w: $0, polygons: [Phantom.rect(-40, -40, 6, 40), Phantom.rect(10, -40, 40, 40)])
        })
        // Both sources: the box's flat ends are half a slice out either way (the interpolated
        // one rounds their rims by a fillet of half a slice).
        for source in [EndCap.prism, .interpolated] {
            var o = MarginOptions()
            o.geodesicCellMM = 1
            o.cellMM = 0.5
            o.endCap = source
            let e = MarginEngine(frame: .patient, sliceSpacing: 1, shapes: [src, barrier], outputPlanes: [0, 12], options: o)
            let r = try e.evaluate(.geodesic(.roi("GTV"), 15, barriers: ["Bone"]))
            let top = try XCTUnwrap(r.planes.first { $0.w == 12 })
            let xs = top.polygons.flatMap { $0.map(\.x) }
            // Left edge: via the slit's corners (6, 5.5) and (6, 10.5): 3.606 + 5 + √((6−x)² + 1.5²) = 15.
            let left = 6 - ((15 - 3.606 - 5) * (15 - 3.606 - 5) - 2.25).squareRoot()
            // Right edge: via (6, 5.5) then (10, 10.5): 3.606 + 6.403 + √((x−10)² + 1.5²) = 15.
            let right = 10 + ((15 - 3.606 - 6.403) * (15 - 3.606 - 6.403) - 2.25).squareRoot()
            XCTAssertEqual(xs.min()!, left, accuracy: 1.0, "\(source)")
            XCTAssertEqual(xs.max()!, right, accuracy: 1.0, "\(source)")
            // Euclidean growth would reach x = ±15.4 on that plane (from the prism box's sharp edge).
            let euclid = try e.evaluate(.expansion(.roi("GTV"), DirectionalMargin(uniformMM: 15)))
            let ex = euclid.planes.first { $0.w == 12 }!.polygons.flatMap { $0.map(\.x) }
            XCTAssertEqual(ex.min()!, -3 - (225 - 8.5 * 8.5).squareRoot(), accuracy: source == .prism ? 0.1 : 0.5, "\(source)")
            // On the source's own plane the barrier is far: geodesic = Euclidean.
            let mid = r.planes.first { $0.w == 0 }!, emid = euclid.planes.first { $0.w == 0 }!
            XCTAssertEqual(mid.polygons.flatMap { $0.map(\.x) }.max()!, emid.polygons.flatMap { $0.map(\.x) }.max()!, accuracy: 0.3, "\(source)")
        }
    }
}
