import PlanReview
import VoxelKit
import XCTest

/// Contour points of analytic shapes, sampled as a planning system would: axial planes
/// every `dz` mm, polygons with vertices every ~1 mm.
final class FeretTests: XCTestCase {
    func contours(_ radiusAt: (Double) -> (Double, Double)?, zRange: ClosedRange<Double>, dz: Double) -> [Vec3] {
        var pts: [Vec3] = []
        var z = zRange.lowerBound
        while z <= zRange.upperBound + 1e-9 {
            if let (a, b) = radiusAt(z), a > 0, b > 0 {
                let n = max(16, Int(2 * Double.pi * max(a, b)))
                for k in 0..<n {
                    let t = 2 * Double.pi * Double(k) / Double(n)
                    pts.append(Vec3(a * cos(t), b * sin(t), z))
                }
            }
            z += dz
        }
        return pts
    }

    func testSphereDiameterWithinHalfAMillimetre() {
        let r = 20.0
        let pts = contours({ z in let s = (r * r - z * z); return s > 0 ? (s.squareRoot(), s.squareRoot()) : nil }, zRange: -r...r, dz: 1)
        let f = Feret.maximum(pts)!.diameterMM
        XCTAssertEqual(f, 2 * r, accuracy: 0.5)
        XCTAssertEqual(f, Feret.bruteForce(pts), accuracy: 1e-9, "pruned search equals every pair")
    }

    func testBoxDiagonalWithinHalfAMillimetre() {
        // A 40 × 30 × 20 mm box: rectangles with vertices along the edges on every plane.
        var pts: [Vec3] = []
        for z in stride(from: -10.0, through: 10.0, by: 2.5) {
            for x in stride(from: -20.0, through: 20.0, by: 1) { pts.append(Vec3(x, -15, z)); pts.append(Vec3(x, 15, z)) }
            for y in stride(from: -15.0, through: 15.0, by: 1) { pts.append(Vec3(-20, y, z)); pts.append(Vec3(20, y, z)) }
        }
        let f = Feret.maximum(pts)!.diameterMM
        let diagonal: Double = (1600.0 + 900.0 + 400.0).squareRoot()
        XCTAssertEqual(f, diagonal, accuracy: 0.5)
        XCTAssertEqual(f, Feret.bruteForce(pts), accuracy: 1e-9)
    }

    func testEllipsoidLongAxisWithinHalfAMillimetre() {
        // Semi-axes 30 (x), 18 (y), 12 (z) mm: the greatest dimension is 60 mm.
        let (a, b, c) = (30.0, 18.0, 12.0)
        let pts = contours({ z in let s = 1 - (z * z) / (c * c); return s > 0 ? (a * s.squareRoot(), b * s.squareRoot()) : nil }, zRange: -c...c, dz: 1.5)
        let f = Feret.maximum(pts)!.diameterMM
        XCTAssertEqual(f, 2 * a, accuracy: 0.5)
        XCTAssertEqual(f, Feret.bruteForce(pts), accuracy: 1e-9)
    }

    func testTiltedEllipsoidLongAxisAcrossPlanes() {
        // The long axis (50 mm) tilted 45° out of the axial plane: the diameter runs between planes.
        let (a, b) = (25.0, 8.0)
        var pts: [Vec3] = []
        let s = 1 / 2.0.squareRoot()
        for i in 0..<400 {
            for j in 0..<40 {
                let t = Double.pi * Double(i) / 399, p = 2 * Double.pi * Double(j) / 40
                let u = a * cos(t), v = b * sin(t) * cos(p), w = b * sin(t) * sin(p)
                pts.append(Vec3(s * u - s * w, v, s * u + s * w))
            }
        }
        XCTAssertEqual(Feret.maximum(pts)!.diameterMM, 2 * a, accuracy: 0.5)
    }
}
