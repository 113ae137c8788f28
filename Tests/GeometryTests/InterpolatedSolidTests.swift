import Geometry
import TestSupport
import XCTest

/// The interpolated solid of a contour stack (`EndCap.interpolated`): exact in-plane signed
/// distances, curved interpolation between planes, rounded ends that close where the
/// contours say, flat ends half a slice out.
final class InterpolatedSolidTests: XCTestCase {
    /// Exact distance from p to the polygons' edges, by brute force.
    func bruteDistance(_ p: SIMD2<Double>, _ polygons: [[SIMD2<Double>]]) -> Double {
        var best = Double.infinity
        for poly in polygons {
            for n in poly.indices {
                let a = poly[n], b = poly[(n + 1) % poly.count], e = b - a
                let t = min(1, max(0, ((p - a) * e).sum() / (e * e).sum()))
                let q = a + t * e - p
                best = min(best, (q * q).sum().squareRoot())
            }
        }
        return best
    }

    func testSignedDistanceIsTheDistanceToThePolygonsNotToCellCentres() {
        var rng = SplitMix64(seed: 7)
        let lattice = CellLattice(u0: -20, v0: -20, h: 0.37, nu: 110, nv: 110)
        for _ in 0..<6 {
            let n = Int.random(in: 5...30, using: &rng)
            let star = (0..<n).map { k -> SIMD2<Double> in
                let t = 2 * Double.pi * Double(k) / Double(n)
                let r = Double.random(in: 6...16, using: &rng)
                return SIMD2(r * cos(t), r * sin(t))
            }
            let hole = Phantom.circle(2.5, centre: SIMD2(0.4, -0.3), spacingMM: 0.7).reversed()
            let polygons = [star, Array(hole)]
            let sd = PlaneField.signedDistance(polygons, lattice: lattice)
            let inside = PlaneField.insideMask(polygons, lattice: lattice)
            var worst = 0.0, sum = 0.0
            for j in 0..<lattice.nv {
                for i in 0..<lattice.nu {
                    let k = j * lattice.nu + i
                    let p = SIMD2(lattice.u0 + (Double(i) + 0.5) * lattice.h, lattice.v0 + (Double(j) + 0.5) * lattice.h)
                    let truth = bruteDistance(p, polygons) * (inside[k] != 0 ? -1 : 1)
                    let err = abs(Double(sd[k]) - truth)
                    worst = max(worst, err)
                    sum += err
                }
            }
            // Vector propagation through 8-neighbours can miss the nearest point by a little.
            XCTAssertLessThan(worst, 0.1 * lattice.h)
            XCTAssertLessThan(sum / Double(lattice.count), 0.003 * lattice.h)
        }
    }

    /// Cross-sections of a contoured sphere r = 10 mm, between the planes and in its ends,
    /// against π(r² − z²), at both placements of 2 and 3 mm planes.
    func testSphereCrossSectionsFollowTheSphereToItsPoles() {
        let lattice = CellLattice(u0: -12, v0: -12, h: 0.5, nu: 48, nv: 48)
        for (step, offset) in [(2.0, 0.0), (2.0, 1.0), (3.0, 0.0), (3.0, 1.5)] {
            let s = Phantom.sphere("S", r: 10, planes: Phantom.planes(from: -30 + offset, to: 30, step: step))
            let occ = ShapeOccupancy(shape: s, lattice: lattice, endCap: .interpolated, sliceSpacing: step)
            var buf = [Float](repeating: 0, count: lattice.count)
            for z in stride(from: 0.25, through: 9.75, by: 0.5) {
                for w in [z, -z] {
                    let present = buf.withUnsafeMutableBufferPointer { occ.coverage(at: w, into: $0) }
                    let area = present ? Double(buf.reduce(0, +)) * 0.25 : 0
                    let truth = Double.pi * (100 - z * z)
                    XCTAssertEqual(area, truth, accuracy: max(1.5, 0.015 * truth), "\(step) mm at \(offset): z = \(w)")
                }
            }
            let past = buf.withUnsafeMutableBufferPointer { occ.coverage(at: 10.3, into: $0) }
            XCTAssertTrue(!past || buf.reduce(0, +) == 0, "nothing past the pole")
            let v = s.volumeMM3(endCap: .interpolated, sliceSpacing: step)
            XCTAssertEqual(v, 4 / 3 * Double.pi * 1000, accuracy: 0.004 * 4188.79, "\(step) mm at \(offset)")
        }
    }

    /// A straight end (equal contours: a cylinder cut by no plane) stays the flat end half a
    /// slice out, its rim rounded; a box-like end that tapers in one direction only (a
    /// cylinder lying across the planes) closes near its true end, not a slice out.
    func testFlatEndsReachHalfASliceAndOneSidedTapersCloseNearTheTruth() {
        let lattice = CellLattice(u0: -14, v0: -14, h: 0.25, nu: 112, nv: 112)
        let upright = PlanarShape(name: "C", frame: .patient, planes: Phantom.planes(from: -9, to: 9, step: 2).map {
            PlanarShape.Plane(w: $0, polygons: [Phantom.circle(8)])
        })
        let occ = ShapeOccupancy(shape: upright, lattice: lattice, endCap: .interpolated, sliceSpacing: 2)
        var buf = [Float](repeating: 0, count: lattice.count)
        XCTAssertTrue(buf.withUnsafeMutableBufferPointer { occ.coverage(at: 9.9, into: $0) })
        let a = Double(buf.reduce(0, +)) * 0.0625
        // Fillet of radius 1 at 0.9 mm: eroded by 1 − √(1 − 0.81) = 0.564 mm.
        XCTAssertEqual(a, Double.pi * (8 - 0.564) * (8 - 0.564), accuracy: 2)
        let beyond = buf.withUnsafeMutableBufferPointer { occ.coverage(at: 10.1, into: $0) }
        XCTAssertTrue(!beyond || buf.reduce(0, +) == 0)
        XCTAssertEqual(upright.volumeMM3(endCap: .interpolated, sliceSpacing: 2), upright.volumeMM3(endCap: .prism, sliceSpacing: 2), accuracy: 0.01 * Double.pi * 64 * 20)

        // Cylinder r = 12 along x: rectangles 24 × 2√(144 − z²) on planes z = 1 + 2k.
        let lying = PlanarShape(name: "X", frame: .patient, planes: Phantom.planes(from: -11, to: 11, step: 2).map { z in
            let hw = (144 - z * z).squareRoot()
            return PlanarShape.Plane(w: z, polygons: [Phantom.rect(-12, -hw, 12, hw)])
        })
        let occX = ShapeOccupancy(shape: lying, lattice: lattice, endCap: .interpolated, sliceSpacing: 2)
        for (z, truth) in [(11.5, 24 * 2 * (144 - 11.5 * 11.5).squareRoot()), (12.5, 0.0)] {
            let present = buf.withUnsafeMutableBufferPointer { occX.coverage(at: z, into: $0) }
            let area = present ? Double(buf.reduce(0, +)) * 0.0625 : 0
            XCTAssertEqual(area, truth, accuracy: 0.08 * 24 * 2 * 4.8, "z = \(z)")
        }
        XCTAssertEqual(lying.volumeMM3(endCap: .interpolated, sliceSpacing: 2), Double.pi * 144 * 24, accuracy: 0.01 * Double.pi * 144 * 24)
    }

    /// Traced contours have vertices exactly on the lattice's row centres. Each such vertex
    /// must be counted by exactly one of its two edges in the scanline inside test, whatever
    /// the rounding of the lattice origin (a miss flipped the parity of the rest of the row
    /// and left the interpolated source hollow on a real CT frame).
    func testInsideMaskCountsVerticesOnRowCentresOnce() {
        var rng = SplitMix64(seed: 11)
        let lattice = CellLattice(u0: 19.4974, v0: 19.654700000000002, h: 0.5, nu: 60, nv: 60)
        for _ in 0..<40 {
            let n = Int.random(in: 6...40, using: &rng)
            let poly = (0..<n).map { k -> SIMD2<Double> in
                let t = 2 * Double.pi * Double(k) / Double(n)
                let r = Double.random(in: 6...13, using: &rng)
                let j = ((34.65 + r * sin(t) - lattice.v0) / lattice.h - 0.5).rounded()
                return SIMD2(34.5 + r * cos(t), lattice.v0 + (j + 0.5) * lattice.h)
            }
            let mask = PlaneField.insideMask([poly], lattice: lattice)
            var wrong = 0
            for j in 0..<lattice.nv {
                for i in 0..<lattice.nu {
                    let c = SIMD2(lattice.u0 + (Double(i) + 0.5) * lattice.h, lattice.v0 + (Double(j) + 0.5) * lattice.h)
                    let onRow = poly.indices.contains { k in
                        let a = poly[k], b = poly[(k + 1) % n]
                        return a.y == b.y && a.y == c.y && c.x >= min(a.x, b.x) && c.x <= max(a.x, b.x)
                    }
                    // Centres on a horizontal edge are a tie; anything else must match the point test.
                    if !onRow && (mask[j * lattice.nu + i] != 0) != PolygonCoverage.contains(poly, c) { wrong += 1 }
                }
            }
            XCTAssertLessThanOrEqual(wrong, 2, "cells disagreeing with the point test")
        }
    }

    /// A wide end that does not close within a slice (a structure cut by the end of the
    /// scan, or flat-topped) is flat half a slice out over its whole face, rim included:
    /// the rounded-end decision is taken per island, at its deepest point, not per cell
    /// (per cell, the rim's own profiles closed later than the flat face and stood up as a
    /// ring above it, which shrinking then cut into specks).
    func testAFlatEndHasNoRimAboveItsFace() {
        let lattice = CellLattice(u0: -24, v0: -24, h: 0.5, nu: 96, nv: 96)
        // A wide frustum, tapering 0.5 mm per 2 mm slice: its rim tapers, its face cannot close.
        let radii: [(Double, Double)] = [(0, 21.5), (2, 21), (4, 20.5), (6, 20)]
        let disc = PlanarShape(name: "D", frame: .patient, planes: radii.map { PlanarShape.Plane(w: $0.0, polygons: [Phantom.circle($0.1)]) })
        let occ = ShapeOccupancy(shape: disc, lattice: lattice, endCap: .interpolated, sliceSpacing: 2)
        var buf = [Float](repeating: 0, count: lattice.count)
        for w in [7.1, 7.5, 7.9] {
            let present = buf.withUnsafeMutableBufferPointer { occ.coverage(at: w, into: $0) }
            XCTAssertEqual(present ? Double(buf.reduce(0, +)) * 0.25 : 0, 0, accuracy: 0.01, "above the flat face at w = \(w)")
        }
        XCTAssertTrue(buf.withUnsafeMutableBufferPointer { occ.coverage(at: 6.9, into: $0) })
        XCTAssertGreaterThan(Double(buf.reduce(0, +)) * 0.25, 0.9 * Double.pi * 19 * 19, "the flat face itself, half a slice out")
    }

    /// `volumeMM3` evaluates only each interval's band between planes; its twin sums the
    /// whole lattice's `coverage(at:)` at every sub-slice. A lobulated, concave stack with
    /// a gap (two runs, caps at both ends of each) and an island on some planes.
    func testBandOnlyVolumeEqualsTheFullLatticeSum() {
        let lattice = CellLattice(u0: -30, v0: -30, h: 0.5, nu: 120, nv: 120)
        let ws = [-12.0, -9, -6, -3, 0, 3, 12, 15, 18]
        let planes = ws.map { w -> PlanarShape.Plane in
            let t = w / 20
            let body = (0..<160).map { k -> SIMD2<Double> in
                let th = 2 * Double.pi * Double(k) / 160
                let r = 14 * (1 - t * t) * (1 + 0.2 * cos(3 * th + t) - 0.3 * exp(-pow(th - 2, 2) / 0.1))
                return SIMD2(r * cos(th), r * sin(th))
            }
            let island = abs(w) < 7 ? [Phantom.circle(3, centre: SIMD2(20, 18))] : []
            return PlanarShape.Plane(w: w, polygons: [body] + island)
        }
        let shape = PlanarShape(name: "L", frame: .patient, planes: planes)
        let occ = ShapeOccupancy(shape: shape, lattice: lattice, endCap: .interpolated, sliceSpacing: 3)
        var reference = 0.0
        var buf = [Float](repeating: 0, count: lattice.count)
        for slice in ShapeOccupancy.subSlices(occ.breakpoints, maximumStepMM: 0.5) {
            guard buf.withUnsafeMutableBufferPointer({ occ.coverage(at: slice.w, into: $0) }) else { continue }
            reference += buf.reduce(0.0) { $0 + Double($1) } * 0.25 * slice.dz
        }
        XCTAssertGreaterThan(reference, 1000)
        XCTAssertEqual(occ.volumeMM3(maximumStepMM: 0.5), reference, accuracy: 1e-9 * reference)
    }
}
