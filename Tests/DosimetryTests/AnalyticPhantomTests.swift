import Dosimetry
import Foundation
import Geometry
import VoxelKit
import XCTest

/// Analytic phantoms (Nelms et al., Med Phys 2015): shapes contoured on planes, a linear
/// dose gradient of 1 Gy/mm with 16 Gy at the centre, so trilinear interpolation is exact
/// and every error is the engine's own. Truth is closed form: for `prism` end caps, the
/// exact prism stack of the very polygons given to the engine; for `interpolated`, the
/// true solid.
final class AnalyticPhantomTests: XCTestCase {
    enum Axis { case x, z }

    /// A shape as a function from plane position z to polygons.
    struct Phantom {
        var name: String
        var polygonsAt: (Double) -> [[SIMD2<Double>]]
        var extent: ClosedRange<Double>   // z range of the solid
        var trueVolumeMM3: Double
        /// True cumulative fraction V(D)/V for the gradient along `axis` (nil when not tabulated).
        var trueFraction: ((Double, Axis) -> Double)?
    }

    static func circle(_ r: Double, cx: Double = 0, cy: Double = 0) -> [SIMD2<Double>] {
        let n = max(12, Int((2 * Double.pi * r / 0.2).rounded(.up)))
        return (0..<n).map { k in
            let t = 2 * Double.pi * Double(k) / Double(n)
            return SIMD2(cx + r * cos(t), cy + r * sin(t))
        }
    }

    static func sphere(diameter: Double) -> Phantom {
        let r = diameter / 2
        return Phantom(name: "Sphere\(diameter)", polygonsAt: { z in
            let q = r * r - z * z
            return q > 1e-6 ? [circle(q.squareRoot())] : []
        }, extent: -r...r, trueVolumeMM3: 4.0 / 3.0 * .pi * r * r * r, trueFraction: { d, _ in
            let b = min(1, max(0, (d - (16 - r)) / (2 * r)))
            return (1 - b) * (1 - b) * (1 + 2 * b)
        })
    }

    /// Cylinder of diameter and height 24 mm with its axis along z.
    static let cylinderAlongZ = Phantom(name: "CylinderZ", polygonsAt: { z in abs(z) < 12 ? [circle(12)] : [] },
                                        extent: -12...12, trueVolumeMM3: .pi * 144 * 24, trueFraction: { d, axis in
        let b = min(1, max(0, (d - 4) / 24))
        if axis == .z { return 1 - b }
        let u = 2 * b - 1
        return 0.5 - (asin(u) + u * (1 - u * u).squareRoot()) / .pi
    })

    /// Cylinder of diameter and height 24 mm with its axis along x (rectangles on z planes).
    static let cylinderAcrossZ = Phantom(name: "CylinderX", polygonsAt: { z in
        let q = 144 - z * z
        guard q > 1e-6 else { return [] }
        let hw = q.squareRoot()
        return [[SIMD2(-12, -hw), SIMD2(12, -hw), SIMD2(12, hw), SIMD2(-12, hw)]]
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24, trueFraction: nil)

    /// Cone of base diameter and height 24 mm along z, apex at the top (high dose end).
    static let coneAlongZ = Phantom(name: "ConeZ", polygonsAt: { z in
        guard abs(z) < 12 else { return [] }
        let r = 12 * (12 - z) / 24
        return r > 1e-3 ? [circle(r)] : []
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24 / 3, trueFraction: { d, axis in
        let b = min(1, max(0, (d - 4) / 24))
        return axis == .z ? (1 - b) * (1 - b) * (1 - b) : .nan
    })

    // MARK: Building the case

    struct Case {
        var shape: PlanarShape
        var engine: DVHEngine
        var slabs: [(w: Double, lo: Double, hi: Double, polygons: [[SIMD2<Double>]])]
        var axis: Axis
    }

    /// Planes at multiples of `slice` (offset by `offset`) inside the solid; dose grid of `grid` mm.
    func makeCase(_ ph: Phantom, slice: Double, grid g: Double, axis: Axis, endCap: EndCap, offset: Double = 0) -> Case {
        var planes: [PlanarShape.Plane] = []
        var k = Int((ph.extent.lowerBound / slice).rounded(.down)) - 1
        while Double(k) * slice + offset <= ph.extent.upperBound + slice {
            let z = Double(k) * slice + offset
            let polys = ph.polygonsAt(z)
            if !polys.isEmpty { planes.append(.init(w: z, polygons: polys)) }
            k += 1
        }
        let shape = PlanarShape(name: ph.name, frame: .patient, planes: planes)
        let half = 20.0
        let n = Int((2 * half / g).rounded()) + 1
        let grid = Grid(size: SIMD3(n, n, n), origin: Vec3(-half, -half, -half), spacing: Vec3(g, g, g))
        var v = [Float](repeating: 0, count: grid.count)
        for kk in 0..<n { for j in 0..<n { for i in 0..<n {
            let p = grid.position(Double(i), Double(j), Double(kk))
            v[grid.linearIndex(i, j, kk)] = Float(16 + (axis == .z ? p.z : p.x))
        } } }
        var options = DVHOptions()
        options.endCap = endCap
        let engine = DVHEngine(frame: .patient, sliceSpacing: slice, shapes: [shape], dose: DoseField(Volume(grid: grid, voxels: v)), options: options)
        // Prism slabs as the engine should build them: half way to neighbours, half a slice beyond the ends.
        var slabs: [(Double, Double, Double, [[SIMD2<Double>]])] = []
        for (p, plane) in planes.enumerated() {
            let lo = p > 0 ? (plane.w + planes[p - 1].w) / 2 : plane.w - slice / 2
            let hi = p + 1 < planes.count ? (plane.w + planes[p + 1].w) / 2 : plane.w + slice / 2
            slabs.append((plane.w, lo, hi, plane.polygons))
        }
        return Case(shape: shape, engine: engine, slabs: slabs, axis: axis)
    }

    // MARK: Closed-form truth of the prism stack

    static func area(_ poly: [SIMD2<Double>]) -> Double { abs(PolygonCoverage.signedArea(poly)) }

    /// Part of a convex polygon with x ≥ x0 (Sutherland–Hodgman against one half-plane).
    static func clip(_ poly: [SIMD2<Double>], xAtLeast x0: Double) -> [SIMD2<Double>] {
        var out: [SIMD2<Double>] = []
        for n in poly.indices {
            let a = poly[n], b = poly[(n + 1) % poly.count]
            let ina = a.x >= x0, inb = b.x >= x0
            if ina { out.append(a) }
            if ina != inb {
                let t = (x0 - a.x) / (b.x - a.x)
                out.append(SIMD2(x0, a.y + t * (b.y - a.y)))
            }
        }
        return out
    }

    /// Exact V(≥D) of the prism stack, mm³.
    static func prismVolume(_ c: Case, atLeast d: Double) -> Double {
        c.slabs.reduce(0) { acc, s in
            switch c.axis {
            case .z:
                let z0 = d - 16
                let len = max(0, s.hi - max(s.lo, z0))
                return acc + s.polygons.reduce(0) { $0 + area($1) } * min(len, s.hi - s.lo)
            case .x:
                let a = s.polygons.reduce(0) { $0 + area(clip($1, xAtLeast: d - 16)) }
                return acc + a * (s.hi - s.lo)
            }
        }
    }

    static func prismMean(_ c: Case) -> Double {
        var v = 0.0, m = 0.0
        for s in c.slabs {
            for poly in s.polygons {
                let a = area(poly), t = s.hi - s.lo
                // Centroid of the polygon (for the x gradient) or of the slab (z gradient).
                var cx = 0.0, a6 = 0.0
                for n in poly.indices {
                    let p = poly[n], q = poly[(n + 1) % poly.count]
                    let cr = p.x * q.y - q.x * p.y
                    cx += (p.x + q.x) * cr
                    a6 += cr
                }
                cx /= 3 * a6
                let dose = c.axis == .z ? 16 + (s.lo + s.hi) / 2 : 16 + cx
                v += a * t
                m += a * t * dose
            }
        }
        return m / v
    }

    /// Dose D at which the exact V(≥D) equals `target` mm³ (bisection).
    static func invert(_ volume: (Double) -> Double, target: Double, lo: Double, hi: Double) -> Double {
        var a = lo, b = hi
        for _ in 0..<200 {
            let m = (a + b) / 2
            if volume(m) >= target { a = m } else { b = m }
        }
        return (a + b) / 2
    }

    static func prismRange(_ c: Case) -> (Double, Double) {
        switch c.axis {
        case .z: return (16 + c.slabs.first!.lo, 16 + c.slabs.last!.hi)
        case .x:
            let xs = c.slabs.flatMap { $0.polygons.flatMap { $0.map(\.x) } }
            return (16 + xs.min()!, 16 + xs.max()!)
        }
    }

    // MARK: Checks

    /// Compares every endpoint with the prism truth; returns the worst relative errors.
    @discardableResult
    func checkPrism(_ c: Case, label: String, volumeTol: Double = 0.005, doseTol: Double = 0.01) throws -> Double {
        let dvh = try c.engine.dvh(.roi(c.shape.name))
        let total = Self.prismVolume(c, atLeast: -1e9)
        XCTAssertEqual(dvh.volumeCC * 1000, total, accuracy: volumeTol * total, "\(label): volume")
        let mean = Self.prismMean(c)
        XCTAssertEqual(dvh.meanGy, mean, accuracy: volumeTol * mean, "\(label): Dmean")
        let (dmin, dmax) = Self.prismRange(c)
        XCTAssertEqual(dvh.minGy, dmin, accuracy: doseTol * dmin, "\(label): Dmin")
        XCTAssertEqual(dvh.maxGy, dmax, accuracy: doseTol * dmax, "\(label): Dmax")
        var worst = 0.0
        for x in [99.0, 98, 95, 50, 5, 2, 1] {
            let truth = Self.invert({ Self.prismVolume(c, atLeast: $0) }, target: total * x / 100, lo: dmin - 1, hi: dmax + 1)
            let ours = try XCTUnwrap(dvh.dose(hottestPercent: x))
            worst = max(worst, abs(ours - truth) / truth)
            XCTAssertEqual(ours, truth, accuracy: doseTol * truth, "\(label): D\(x)%")
        }
        if total > 30 {
            let truth = Self.invert({ Self.prismVolume(c, atLeast: $0) }, target: 30, lo: dmin - 1, hi: dmax + 1)
            let ours = try XCTUnwrap(dvh.dose(hottestCC: 0.03))
            XCTAssertEqual(ours, truth, accuracy: doseTol * truth, "\(label): D0.03cc")
        }
        return worst
    }

    func testNelmsObjectsAgainstThePrismStackTruth() throws {
        for slice in [1.0, 2.0, 3.0] {
            for grid in [1.0, 2.0, 3.0] {
                for axis in [Axis.z, .x] {
                    for ph in [Self.sphere(diameter: 24), Self.cylinderAlongZ, Self.cylinderAcrossZ, Self.coneAlongZ] {
                        let c = makeCase(ph, slice: slice, grid: grid, axis: axis, endCap: .prism)
                        try checkPrism(c, label: "\(ph.name) slices \(slice) mm, dose grid \(grid) mm, gradient \(axis)")
                    }
                }
            }
        }
    }

    func testSmallSpheresAgainstThePrismStackTruth() throws {
        for d in [3.0, 5.0, 7.0, 10.0, 15.0, 20.0] {
            for slice in [1.0, 2.0, 3.0] {
                for axis in [Axis.z, .x] {
                    // Offset planes so that small spheres are cut off-centre too.
                    let c = makeCase(Self.sphere(diameter: d), slice: slice, grid: 1, axis: axis, endCap: .prism, offset: slice * 0.3)
                    guard !c.slabs.isEmpty else { continue }
                    try checkPrism(c, label: "sphere \(d) mm, slices \(slice) mm, gradient \(axis)")
                }
            }
        }
    }

    func testInterpolatedEndCapsApproachTheTrueSolid() throws {
        for ph in [Self.sphere(diameter: 24), Self.cylinderAlongZ, Self.coneAlongZ] {
            for axis in [Axis.z, .x] {
                guard let fraction = ph.trueFraction, !fraction(16, axis).isNaN else { continue }
                let c = makeCase(ph, slice: 2, grid: 2, axis: axis, endCap: .interpolated, offset: 1)
                let dvh = try c.engine.dvh(.roi(ph.name))
                let label = "\(ph.name) interpolated, gradient \(axis)"
                XCTAssertEqual(dvh.volumeCC * 1000, ph.trueVolumeMM3, accuracy: 0.02 * ph.trueVolumeMM3, "\(label): volume")
                // True Dmean: ∫ V_rel dD from 0 (doses are ≥ 0 here).
                var mean = 0.0
                let step = 0.01
                var d = 0.0
                while d < 40 { mean += fraction(d + step / 2, axis) * step; d += step }
                XCTAssertEqual(dvh.meanGy, mean, accuracy: 0.02 * mean, "\(label): Dmean")
                for x in [95.0, 5.0] {
                    let truth = Self.invert({ fraction($0, axis) }, target: x / 100, lo: 0, hi: 40)
                    let ours = try XCTUnwrap(dvh.dose(hottestPercent: x))
                    XCTAssertEqual(ours, truth, accuracy: 0.02 * truth, "\(label): D\(x)%")
                }
            }
        }
    }

    func testStructureOutsideTheDoseGridCountsAtZeroAndSaysHowMuch() throws {
        // A sphere centred at the grid's edge: about half of it lies outside.
        var c = makeCase(Self.sphere(diameter: 10), slice: 1, grid: 2, axis: .z, endCap: .prism)
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
        let outer = Self.sphere(diameter: 20), inner = Self.sphere(diameter: 10)
        var c = makeCase(outer, slice: 1, grid: 1, axis: .z, endCap: .prism)
        let innerShape = makeCase(inner, slice: 1, grid: 1, axis: .z, endCap: .prism).shape
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
