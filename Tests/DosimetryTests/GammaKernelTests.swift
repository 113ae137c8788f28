import Dosimetry
import Foundation
import TestSupport
import VoxelKit
import XCTest

/// The gamma search against closed forms and against its brute-force twin.
final class GammaKernelTests: XCTestCase {
    /// A dose sampled from `f` (patient mm → Gy) on `grid`.
    static func volume(_ grid: Grid, _ f: (Vec3) -> Double) -> Volume<Float> {
        var v = Volume<Float>(grid: grid, repeating: 0)
        for k in 0..<grid.nz { for j in 0..<grid.ny { for i in 0..<grid.nx {
            v[i, j, k] = Float(f(grid.position(Double(i), Double(j), Double(k))))
        } } }
        return v
    }

    /// A smooth SBRT-like dose: a Gaussian-shouldered peak of 40 Gy, not separable.
    static func peak(_ p: Vec3) -> Double {
        let c = Vec3(1.3, -0.8, 0.6)
        let d = p - c
        let r2 = d.x * d.x / 64 + d.y * d.y / 100 + d.z * d.z / 49 + 0.002 * d.x * d.y
        return 40 * exp(-0.5 * r2 * r2 / 6) + 2
    }

    func search(_ vol: Volume<Float>, _ rho: Vec3, dr: Double, criterionGy: Double, distanceMM: Double,
                maxGamma: Double = 2, epsilon: Double = 1e-3) -> GammaPointResult {
        vol.voxels.withUnsafeBufferPointer { buf in
            let space = GammaSearchSpace(dose: buf, size: vol.grid.size, spacingMM: vol.grid.spacing, distanceMM: distanceMM)
            return withUnsafeTemporaryAllocation(of: GammaBox.self, capacity: GammaKernel.stackCapacity) { st in
                GammaKernel.search(space, at: rho, targetGy: dr, inverseCriterionGy: 1 / criterionGy, maxGamma: maxGamma,
                                   epsilon: epsilon, stack: st.baseAddress!)
            }
        }
    }

    /// On a linear ramp De = a + g·x (which trilinear interpolation reproduces exactly) the
    /// minimum is the distance from (r, Dr) to a line: γ = |e₀|/√(1 + k²), e₀ = (De(r) − Dr)/ΔD,
    /// k = g·Δd/ΔD.
    func testLinearRampMatchesClosedForm() {
        let grid = Grid(size: SIMD3(30, 12, 10), origin: Vec3(-20, -10, -8), spacing: Vec3(2.5, 2, 3))
        let a = 10.0, g = 0.8   // Gy, Gy/mm
        let vol = Self.volume(grid) { a + g * $0.x }
        var rng = SplitMix64(seed: 16)
        for n in 0..<200 {
            let r = Vec3(-5 + 30 * rng.next01(), -2 + 4 * rng.next01(), -1 + 2 * rng.next01())
            let dr = a + g * r.x + (rng.next01() - 0.5) * 4
            let (dd, dta) = n % 2 == 0 ? (0.6, 1.0) : (1.5, 3.0)
            let e0 = (a + g * r.x - dr) / dd, k = g * dta / dd
            let expected = abs(e0) / (1 + k * k).squareRoot()
            let res = search(vol, grid.continuousIndex(of: r), dr: dr, criterionGy: dd, distanceMM: dta, maxGamma: 3)
            let got = res.gammaSquared.squareRoot()
            if expected < 3 {
                XCTAssertTrue(res.attained)
                XCTAssertGreaterThanOrEqual(got, expected - 1e-9, "point \(n)")
                XCTAssertLessThanOrEqual(got, expected + 1e-3, "point \(n)")
                XCTAssertLessThanOrEqual(res.lowerBound.squareRoot(), expected + 1e-9)
            }
        }
    }

    /// Identical doses on one grid: γ = 0 at every voxel centre.
    func testIdenticalDoseGivesZero() {
        let grid = Grid(size: SIMD3(16, 16, 12), origin: Vec3(-20, -20, -15), spacing: Vec3(2.5, 2.5, 2.5))
        let vol = Self.volume(grid, Self.peak)
        for (i, j, k) in [(3, 4, 5), (8, 8, 6), (15, 0, 11), (0, 15, 0)] {
            let r = search(vol, Vec3(Double(i), Double(j), Double(k)), dr: Double(vol[i, j, k]), criterionGy: 0.8, distanceMM: 2)
            XCTAssertEqual(r.gammaSquared, 0, accuracy: 1e-12)
        }
    }

    /// The kernel and its brute-force twin (every point of a lattice of 1/16 voxel) agree:
    /// - the kernel misses nothing the twin finds: γ̂ − ε ≤ γ_twin;
    /// - the kernel's γ̂ is attained: Γ² at its argmin, through `DoseField.trilinear`, is γ̂²;
    /// - the twin is above γ̂ by no more than its sampling error, bounded by the Lipschitz
    ///   constant of γ in x, √(1/Δd² + (G/ΔD)²) (G the largest dose gradient), times half
    ///   a lattice diagonal.
    /// Global and local, points on and off the lattice, inside and just outside the grid.
    func testKernelAgreesWithBruteForceTwin() {
        let grid = Grid(size: SIMD3(14, 12, 10), origin: Vec3(-16, -14, -12), spacing: Vec3(2.5, 3, 2))
        let vol = Self.volume(grid, Self.peak)
        let steps = 16
        let gradient = Self.largestGradient(vol)
        let halfDiagonal = 0.5 * (grid.spacing * grid.spacing).sum().squareRoot() / Double(steps)
        var rng = SplitMix64(seed: 1998)
        vol.voxels.withUnsafeBufferPointer { buf in
            for n in 0..<40 {
                let local = n % 3 == 0
                let (pct, dta) = n % 2 == 0 ? (0.02, 1.0) : (0.03, 2.0)
                let p = Vec3(-18 + 36 * rng.next01(), -16 + 33 * rng.next01(), -13 + 20 * rng.next01())
                let dr = Self.peak(p + Vec3(1.5, 0, 0)) * 1.02
                let criterion = local ? pct * dr : pct * 42
                let rho = grid.continuousIndex(of: p)
                let space = GammaSearchSpace(dose: buf, size: grid.size, spacingMM: grid.spacing, distanceMM: dta)
                let brute = GammaKernel.bruteForce(space, at: rho, targetGy: dr, criterionGy: criterion, maxGamma: 2, stepsPerVoxel: steps)
                let r = search(vol, rho, dr: dr, criterionGy: criterion, distanceMM: dta)
                let g = r.attained ? r.gammaSquared.squareRoot() : 2
                XCTAssertLessThanOrEqual(g - 1e-3, brute + 1e-12, "point \(n): kernel \(g), twin \(brute)")
                let lipschitz = (1 / (dta * dta) + pow(gradient / criterion, 2)).squareRoot()
                XCTAssertLessThanOrEqual(brute - g, lipschitz * halfDiagonal + 1e-9, "point \(n): kernel \(g), twin \(brute)")
                XCTAssertFalse(r.undecided)
                if r.attained {
                    let d = DoseField.trilinear(buf.baseAddress!, grid.size, r.argmin)!.value
                    let dx = (r.argmin - rho) * grid.spacing / dta
                    let f = (dx * dx).sum() + pow((d - dr) / criterion, 2)
                    XCTAssertEqual(f, r.gammaSquared, accuracy: 1e-9 * max(1, f), "point \(n)")
                    XCTAssertLessThanOrEqual(r.lowerBound.squareRoot(), g)
                    XCTAssertGreaterThanOrEqual(r.lowerBound.squareRoot(), g - 1e-3 - 1e-12)
                }
            }
        }
    }

    /// The largest trilinear gradient magnitude of a volume, Gy/mm (bounded by the largest
    /// difference between neighbours along each axis).
    static func largestGradient(_ v: Volume<Float>) -> Double {
        let g = v.grid
        var m = SIMD3<Double>(repeating: 0)
        for k in 0..<g.nz { for j in 0..<g.ny { for i in 0..<g.nx {
            let c = Double(v[i, j, k])
            if i + 1 < g.nx { m.x = max(m.x, abs(Double(v[i + 1, j, k]) - c) / g.spacing.x) }
            if j + 1 < g.ny { m.y = max(m.y, abs(Double(v[i, j + 1, k]) - c) / g.spacing.y) }
            if k + 1 < g.nz { m.z = max(m.z, abs(Double(v[i, j, k + 1]) - c) / g.spacing.z) }
        } } }
        return (m * m).sum().squareRoot()
    }
}
