import Geometry
import XCTest

final class PolygonCoverageTests: XCTestCase {
    let lattice = CellLattice(u0: 0, v0: 0, h: 1, nu: 10, nv: 8)

    func square(_ x0: Double, _ y0: Double, _ x1: Double, _ y1: Double) -> [SIMD2<Double>] {
        [SIMD2(x0, y0), SIMD2(x1, y0), SIMD2(x1, y1), SIMD2(x0, y1)]
    }

    func testContoursOnCellEdgesGiveExactlyFullAndEmptyCells() {
        let cov = PolygonCoverage.rasterize([square(2, 3, 5, 6)], on: lattice)
        for j in 0..<8 { for i in 0..<10 {
            let inside = (2..<5).contains(i) && (3..<6).contains(j)
            XCTAssertEqual(cov[j * 10 + i], inside ? 1 : 0, "cell \(i),\(j)")
        } }
    }

    func testHalfCellOffsetGivesHalvesAndQuarters() {
        let cov = PolygonCoverage.rasterize([square(2.5, 2.5, 5.5, 5.5)], on: lattice)
        XCTAssertEqual(cov[2 * 10 + 2], 0.25, accuracy: 1e-6)
        XCTAssertEqual(cov[3 * 10 + 2], 0.5, accuracy: 1e-6)
        XCTAssertEqual(cov[3 * 10 + 3], 1, accuracy: 1e-6)
        XCTAssertEqual(cov[5 * 10 + 5], 0.25, accuracy: 1e-6)
        XCTAssertEqual(cov.reduce(0, +), 9, accuracy: 1e-5)
    }

    func testCoverageSumsToTheExactAreaForAnyShapeAndDirection() {
        let big = CellLattice(u0: -20, v0: -20, h: 0.7, nu: 60, nv: 60)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            // A random star-shaped polygon, drawn in either direction.
            let n = Int.random(in: 5...40, using: &rng)
            var poly = (0..<n).map { k -> SIMD2<Double> in
                let t = 2 * Double.pi * Double(k) / Double(n)
                let r = Double.random(in: 4...15, using: &rng)
                return SIMD2(r * cos(t) + 0.3, r * sin(t) - 0.2)
            }
            if Bool.random(using: &rng) { poly.reverse() }
            let cov = PolygonCoverage.rasterize([poly], on: big)
            let area = cov.reduce(0) { $0 + Double($1) } * big.cellArea
            XCTAssertEqual(area, abs(PolygonCoverage.signedArea(poly)), accuracy: 1e-3)
            XCTAssertTrue(cov.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    func testHolesCutOutAndIslandsAddWhateverTheirDirection() {
        let big = CellLattice(u0: -1, v0: -1, h: 0.5, nu: 44, nv: 44)
        let outer = square(0, 0, 20, 20)
        for holeReversed in [false, true] {
            var hole = square(5, 5, 15, 15)
            if holeReversed { hole.reverse() }
            let island = square(8, 8, 12, 12)
            let cov = PolygonCoverage.rasterize([outer, hole, island], on: big)
            let area = cov.reduce(0) { $0 + Double($1) } * big.cellArea
            XCTAssertEqual(area, 400 - 100 + 16, accuracy: 1e-6)
        }
    }

    func testDistanceTransformMatchesBruteForce() {
        let nu = 23, nv = 17
        var feature = [Bool](repeating: false, count: nu * nv)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<12 { feature[Int.random(in: 0..<(nu * nv), using: &rng)] = true }
        let d = DistanceTransform.squared2D(feature, nu: nu, nv: nv, hu: 0.8, hv: 1.7)
        for j in 0..<nv { for i in 0..<nu {
            var best = Double.infinity
            for jj in 0..<nv { for ii in 0..<nu where feature[jj * nu + ii] {
                let dx = Double(i - ii) * 0.8, dy = Double(j - jj) * 1.7
                best = min(best, dx * dx + dy * dy)
            } }
            XCTAssertEqual(d[j * nu + i], best, accuracy: 1e-9)
        } }
    }

    func testStructureExpressionsParse() throws {
        let known = ["PTV", "GTV", "Lung_L", "Lung_R", "PTV-GTV", "Lung L"]
        XCTAssertEqual(try StructureExpression.parse("ptv-gtv", knownNames: known), .roi("PTV-GTV"))
        XCTAssertEqual(try StructureExpression.parse("Lung_L+lung_r", knownNames: known), .union(.roi("Lung_L"), .roi("Lung_R")))
        XCTAssertEqual(try StructureExpression.parse("PTV - (GTV & \"Lung L\")", knownNames: known),
                       .difference(.roi("PTV"), .intersection(.roi("GTV"), .roi("Lung L"))))
        XCTAssertEqual(try StructureExpression.parse("PTV^GTV", knownNames: known), .symmetricDifference(.roi("PTV"), .roi("GTV")))
        XCTAssertThrowsError(try StructureExpression.parse("PTV+", knownNames: known))
        XCTAssertThrowsError(try StructureExpression.parse("(PTV", knownNames: known))
        XCTAssertThrowsError(try StructureExpression.parse("\"PTV", knownNames: known))
    }
}
