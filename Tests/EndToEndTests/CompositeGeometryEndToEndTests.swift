import DICOM
import Foundation
import XCTest

/// The composite's registration and resampling against the numbers the fixture generator
/// made the re-irradiation courses from (Fixtures/reirradiation/expected.json: numpy
/// Gaussians of stated centre, σ and peak; the 4×4 registration). Until now only
/// Tools/composite/check_composite.py (pydicom, scipy) checked these.
///
/// Each course alone is resampled onto the pelvis CT grid as physical dose; every voxel of
/// the result inside the source grid (a voxel clear of its faces) must equal the generator's
/// analytic dose at that point — through the registration for the moved course — within
/// the error bound of trilinear interpolation of a Gaussian, Σ_axes h²/8 · max|∂²D/∂x²|
/// (max |∂²/∂x²| of peak·exp(−r²/2σ²) is peak/σ²), plus the quantisation of the files.
final class CompositeGeometryEndToEndTests: XCTestCase {
    struct Blob { var centre: SIMD3<Double>; var sigma: Double; var peak: Double
        func dose(_ p: SIMD3<Double>) -> Double { let d = p - centre; return peak * exp(-(d * d).sum() / (2 * sigma * sigma)) }
    }

    func expected() throws -> [String: Any] {
        let url = URL(fileURLWithPath: fixture("reirradiation/expected.json"))
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// Voxel centres and values of an RT Dose (axial, unsigned 16 or 32 bits).
    func voxels(_ path: String) throws -> [(SIMD3<Double>, Double)] {
        let f = try DICOMFile.read(path: path)
        let ds = f.dataSet
        let ipp = try XCTUnwrap(ds.doubles(.imagePositionPatient)), ps = try XCTUnwrap(ds.doubles(.pixelSpacing))
        XCTAssertEqual(try ds.doubles(.imageOrientationPatient), [1, 0, 0, 0, 1, 0])
        let gfov = try XCTUnwrap(ds.doubles(.gridFrameOffsetVector)), scaling = try XCTUnwrap(ds.double(.doseGridScaling))
        let nx = Int(try XCTUnwrap(ds.uint16(.columns))), ny = Int(try XCTUnwrap(ds.uint16(.rows)))
        let bits = Int(try XCTUnwrap(ds.uint16(.bitsAllocated)))
        let data = try f.nativePixelData()
        var out: [(SIMD3<Double>, Double)] = []
        for (k, z) in gfov.enumerated() { for j in 0..<ny { for i in 0..<nx {
            let n = (k * ny + j) * nx + i
            let stored = bits == 32 ? Double(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 4 * n, as: UInt32.self) })
                                    : Double(data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2 * n, as: UInt16.self) })
            out.append((SIMD3(ipp[0] + Double(i) * ps[1], ipp[1] + Double(j) * ps[0], ipp[2] + z), stored * scaling))
        } } }
        return out
    }

    /// Runs one course alone onto the pelvis CT grid as physical dose; returns the voxels and the JSON report.
    func resample(_ course: String) throws -> ([(SIMD3<Double>, Double)], [String: Any]) {
        let dir = NSTemporaryDirectory() + "sbrt-composite-geometry-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try runSBRT(["composite", "--course", fixture(course), "--grid", "ct", "--structures", fixture("pelvis"),
                             "--quantity", "physical", "--no-report", "--out", dir + "/c.dcm", "--report", dir + "/r.json"])
        XCTAssertEqual(r.status, 0, r.err)
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/r.json"))) as! [String: Any]
        return (try voxels(dir + "/c.dcm"), report)
    }

    /// Whether `p` lies at least one spacing inside the box [lo, hi].
    func inside(_ p: SIMD3<Double>, _ lo: SIMD3<Double>, _ hi: SIMD3<Double>, _ h: Double) -> Bool {
        all(p .>= lo + h) && all(p .<= hi - h)
    }

    func testPriorCourseResampledOntoTheCTGridEqualsTheGeneratorsGaussian() throws {
        let prior = try expected()["prior"] as! [String: Any]
        // A FRACTION dose is the whole fraction group's (DICOM PS3.3 C.8.8.3): the course
        // total, used as it is (issue 11); the fixture's peak is that total.
        let c = (prior["blob_centre_mm"] as! [Double]), peak = try XCTUnwrap(prior["peak_gy"] as? Double)
        let blob = Blob(centre: SIMD3(c[0], c[1], c[2]), sigma: prior["sigma_mm"] as! Double, peak: peak)
        // The prior RD (Tools/fixtures/make_fixtures.py): origin (−100, −10, −48.5), 3 mm, 40 × 36 × 26.
        let h = 3.0, lo = SIMD3(-100.0, -10, -48.5), hi = lo + h * SIMD3(39, 35, 25)
        let tolerance = 3 * h * h / 8 * blob.peak / (blob.sigma * blob.sigma) + 2e-3 * blob.peak
        let (vox, _) = try resample("reirradiation/prior")
        var checked = 0, worst = 0.0
        for (p, d) in vox where inside(p, lo, hi, h) {
            worst = max(worst, abs(d - blob.dose(p)))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 5_000)
        XCTAssertLessThanOrEqual(worst, tolerance, "largest |resampled − analytic| over \(checked) voxels")
    }

    func testMovedCourseThroughTheRegistrationEqualsTheGeneratorsGaussians() throws {
        let moved = try expected()["moved"] as! [String: Any]
        let m = moved["registration_moved_to_pelvis"] as! [[Double]]
        let (vox, report) = try resample("reirradiation/moved")
        // The registration sbrt reports is the generator's matrix.
        let text = try XCTUnwrap(((report["courses"] as! [[String: Any]])[0]["registration"] as? String))
        let numbers = try XCTUnwrap(text.split(separator: ":").last).split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        XCTAssertEqual(numbers.count, 16, text)
        for (a, b) in zip(numbers, m.flatMap { $0 }) { XCTAssertEqual(a, b, accuracy: 1e-9, text) }
        // Pelvis point p ← moved point q = R⁻¹ (p − t) (R a rotation: R⁻¹ = Rᵀ).
        let t = SIMD3(m[0][3], m[1][3], m[2][3])
        func toMoved(_ p: SIMD3<Double>) -> SIMD3<Double> {
            let d = p - t
            return SIMD3((0..<3).map { r in m[0][r] * d.x + m[1][r] * d.y + m[2][r] * d.z })
        }
        // The two beams (make_fixtures.py): σ 12 mm; doses are course totals (BEAM summation).
        let beams = [Blob(centre: SIMD3(-30, 50, 0), sigma: 12, peak: 6), Blob(centre: SIMD3(-36, 58, -4), sigma: 12, peak: 5)]
        let h = 2.5, lo = SIMD3(-90.0, 0, -40), hi = lo + h * SIMD3(43, 39, 29)
        let tolerance = 3 * h * h / 8 * (6 + 5) / 144 + 2e-3 * 11
        var checked = 0, worst = 0.0
        for (p, d) in vox {
            let q = toMoved(p)
            guard inside(q, lo, hi, h) else { continue }
            worst = max(worst, abs(d - beams.reduce(0) { $0 + $1.dose(q) }))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 5_000)
        XCTAssertLessThanOrEqual(worst, tolerance, "largest |registered − analytic| over \(checked) voxels")
    }
}
