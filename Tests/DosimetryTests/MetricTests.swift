import Dosimetry
import Geometry
import VoxelKit
import XCTest

final class MetricParsingTests: XCTestCase {
    func testTG263SyntaxIsRead() throws {
        let cases: [(String, Metric.Kind, Metric.Unit)] = [
            ("D95%", .doseAtPercent(95), .gy),
            ("D95%[%]", .doseAtPercent(95), .percentRx),
            ("D0.035cc", .doseAtCC(0.035), .gy),
            ("d0.03cc[Gy]", .doseAtCC(0.03), .gy),
            ("V20Gy", .volumeAtGy(20), .cc),
            ("V20Gy[%]", .volumeAtGy(20), .percentVolume),
            ("V100%", .volumeAtPercentRx(100), .cc),
            ("V95%[%]", .volumeAtPercentRx(95), .percentVolume),
            ("CV13.5Gy[cc]", .criticalVolumeGy(13.5), .cc),
            ("Dmean", .dmean, .gy), ("Dmax[%]", .dmax, .percentRx), ("DMIN", .dmin, .gy),
            ("HI", .homogeneityIndex, .ratio), ("CI", .rtogCI, .ratio), ("PCI", .paddickCI, .ratio),
            ("GI", .gradientIndex, .ratio), ("R50", .r50, .ratio), ("R100%", .r100, .ratio), ("D2cm", .d2cm, .percentRxIndex),
        ]
        for (text, kind, unit) in cases {
            let m = try Metric.parse(text)
            XCTAssertEqual(m.kind, kind, text)
            XCTAssertEqual(m.unit, unit, text)
        }
        XCTAssertEqual(try Metric.parseList("D95%, V20Gy[%] ,HI").count, 3)
    }

    func testNonsenseIsRefusedWithTheMetricNamed() {
        for bad in ["D", "D120%", "Vx Gy", "V20Gy[Gy]", "D95%[cc]", "HI[%]", "Q5", "D-3cc", "V20"] {
            XCTAssertThrowsError(try Metric.parse(bad), bad) { e in
                XCTAssertTrue("\(e)".contains(bad), "\(e)")
            }
        }
    }

    func testPrescriptionDependentMetricsSayWhyTheyAreNotEvaluable() throws {
        let dvh = DVH(name: "T", volumeCC: 10, minGy: 1, meanGy: 5, maxGy: 9, outsideFraction: 0, binWidthGy: 1,
                      cumulativeCC: [10, 10, 9, 8, 7, 5, 3, 2, 1, 0.5, 0],
                      sampling: .init(endCap: "prism", cellMM: 1, maxSubSliceMM: 1, samples: 1, vertexSamples: 0))
        let r = DVHAnalysis.evaluate(try Metric.parse("V100%"), dvh: dvh, rx: nil, isodose: { nil }, d2cm: { nil })
        XCTAssertNil(r.value)
        XCTAssertTrue(r.note?.contains("prescription") ?? false)
        let big = DVHAnalysis.evaluate(try Metric.parse("D20cc"), dvh: dvh, rx: nil, isodose: { nil }, d2cm: { nil })
        XCTAssertNil(big.value)
        XCTAssertTrue(big.note?.contains("smaller than 20 cc") ?? false)
        // Linear interpolation on the cumulative curve: 5 cc is reached at exactly 5 Gy.
        XCTAssertEqual(DVHAnalysis.evaluate(try Metric.parse("D5cc"), dvh: dvh, rx: nil, isodose: { nil }, d2cm: { nil }).value!, 5, accuracy: 1e-12)
        XCTAssertEqual(DVHAnalysis.evaluate(try Metric.parse("D50%"), dvh: dvh, rx: nil, isodose: { nil }, d2cm: { nil }).value!, 5, accuracy: 1e-12)
        // 6 cc: between 4 Gy (7 cc) and 5 Gy (5 cc).
        XCTAssertEqual(dvh.dose(hottestCC: 6)!, 4.5, accuracy: 1e-12)
        XCTAssertEqual(DVHAnalysis.evaluate(try Metric.parse("V4.5Gy[%]"), dvh: dvh, rx: 8, isodose: { nil }, d2cm: { nil }).value!, 60, accuracy: 1e-12)
        XCTAssertEqual(DVHAnalysis.evaluate(try Metric.parse("V50%"), dvh: dvh, rx: 8, isodose: { nil }, d2cm: { nil }).value!, 7, accuracy: 1e-12)
        XCTAssertEqual(DVHAnalysis.evaluate(try Metric.parse("CV4Gy"), dvh: dvh, rx: nil, isodose: { nil }, d2cm: { nil }).value!, 3, accuracy: 1e-12)
        XCTAssertEqual(DVHAnalysis.evaluate(try Metric.parse("Dmax[%]"), dvh: dvh, rx: 8, isodose: { nil }, d2cm: { nil }).value!, 112.5, accuracy: 1e-12)
    }
}

/// Plan indices on a spherically symmetric dose around a spherical target of radius 10 mm:
/// D(r) = 60 − 2r Gy up to r = 20 mm, then 20 − 0.5(r − 20), so with Rx = 40 Gy the
/// prescription isodose is the target's surface and the 50 % isodose the sphere r = 20 mm.
final class PlanIndexTests: XCTestCase {
    func testConformityGradientAndHomogeneityIndicesOfASphericalDose() throws {
        let g = 1.0, half = 36.0
        let n = Int(2 * half / g) + 1
        let grid = Grid(size: SIMD3(n, n, n), origin: Vec3(-half, -half, -half), spacing: Vec3(g, g, g))
        var v = [Float](repeating: 0, count: grid.count)
        for k in 0..<n { for j in 0..<n { for i in 0..<n {
            let r = length(grid.position(Double(i), Double(j), Double(k)))
            v[grid.linearIndex(i, j, k)] = Float(r <= 20 ? 60 - 2 * r : max(0, 20 - 0.5 * (r - 20)))
        } } }
        let field = DoseField(Volume(grid: grid, voxels: v))
        // Target contoured every 1 mm.
        var planes: [PlanarShape.Plane] = []
        for z in stride(from: -9.5, through: 9.5, by: 1.0) {
            let rr = (100 - z * z).squareRoot()
            let m = Int((2 * .pi * rr / 0.2).rounded(.up))
            planes.append(.init(w: z, polygons: [(0..<m).map { SIMD2(rr * cos(2 * .pi * Double($0) / Double(m)), rr * sin(2 * .pi * Double($0) / Double(m))) }]))
        }
        let target = PlanarShape(name: "PTV", frame: .patient, planes: planes)
        let engine = DVHEngine(frame: .patient, sliceSpacing: 1, shapes: [target], dose: field)
        let dvh = try engine.dvh(.roi("PTV"))
        let sphere = 4.0 / 3.0 * .pi
        XCTAssertEqual(dvh.volumeCC, sphere * 1000 / 1000, accuracy: 0.01 * sphere)
        let isodose = field.isodoseVolumesCC([40, 20])
        XCTAssertEqual(isodose[0], sphere * 1, accuracy: 0.02 * sphere)
        XCTAssertEqual(isodose[1], sphere * 8, accuracy: 0.02 * sphere * 8)
        func value(_ text: String) throws -> Double {
            let r = DVHAnalysis.evaluate(try Metric.parse(text), dvh: dvh, rx: 40, isodose: { isodose }, d2cm: {
                field.maxDose(beyond: 20, of: target, frame: .patient, sliceSpacing: 1)
            })
            return try XCTUnwrap(r.value, "\(text): \(r.note ?? "")")
        }
        XCTAssertEqual(try value("CI"), 1, accuracy: 0.03)
        XCTAssertEqual(try value("R100"), 1, accuracy: 0.03)
        // Paddick: the prism stack pokes out of the 40 Gy sphere near the poles. Truth:
        // TV_PIV = Σ_slabs ∫ π·min(r_p², 100 − z²) dz; PIV = the r = 10 mm sphere.
        var tvpiv = 0.0, tv = 0.0
        for p in planes {
            let rp2 = 100 - p.w * p.w
            let steps = 1000
            for s in 0..<steps {
                let z = p.w - 0.5 + (Double(s) + 0.5) / Double(steps)
                tvpiv += .pi * min(rp2, max(0, 100 - z * z)) / Double(steps)
                tv += .pi * rp2 / Double(steps)
            }
        }
        let pivTruth = sphere * 1000
        XCTAssertEqual(try value("PCI"), tvpiv * tvpiv / (tv * pivTruth), accuracy: 0.03)
        XCTAssertEqual(try value("GI"), 8, accuracy: 0.16)
        XCTAssertEqual(try value("R50"), 8, accuracy: 0.24)
        // HI = (D2 − D98)/D50 with D at the radius holding the hottest x: r = 10·(x/100)^(1/3).
        func d(_ x: Double) -> Double { 60 - 2 * 10 * pow(x / 100, 1.0 / 3.0) }
        XCTAssertEqual(try value("HI"), (d(2) - d(98)) / d(50), accuracy: 0.01)
        // 20 mm beyond the surface is r = 30 mm: 15 Gy, 37.5 % of Rx (voxel-centre resolution ±1 mm → ±0.5 Gy).
        XCTAssertEqual(try value("D2cm"), 37.5, accuracy: 1.5)
    }
}
