import Dosimetry
import Foundation
import Geometry
import TestSupport
import VoxelKit
import XCTest

/// `DVHEngine.readBox` against random cases: structures with gaps and single planes,
/// expressions, every end cap, aligned and oblique dose grids covering them partly or not
/// at all. Every voxel outside the box is poisoned with a large finite value, so a single
/// read of one changes the DVH (a box one voxel short gave 58–130 mismatches in 300 seeds
/// when this test was written). It also ties the kernel's two-map path to its one-map path,
/// and maps of one value in the box (the kernel's uniform pass), placed between varying
/// maps, to the scalar reference bit for bit (from a review of that pass, which ran 573
/// such cases with −0 among the values).
final class ReadBoxFuzzTests: XCTestCase {
    func randomPolygon(_ g: inout SplitMix64, centre: SIMD2<Double>, radius: Double) -> [SIMD2<Double>] {
        let n = 3 + Int(g.next01() * 9)
        return (0..<n).map { k in
            let a = 2 * Double.pi * (Double(k) + 0.3 * g.next01()) / Double(n)
            let r = radius * (0.4 + 0.6 * g.next01())
            return centre + SIMD2(cos(a), sin(a)) * r
        }
    }

    /// `wide`: gaps of 0.2–4 slices (1.49, 1.5 and 1.51 among them), else mostly contiguous.
    func randomShape(_ g: inout SplitMix64, name: String, slice: Double, frame: PlaneFrame, wide: Bool) -> PlanarShape {
        let planeCount = g.next01() < 0.25 ? 1 : 1 + Int(g.next01() * 8)
        var w = -10 + 20 * g.next01()
        let c = SIMD2(-10 + 20 * g.next01(), -10 + 20 * g.next01())
        var planes: [PlanarShape.Plane] = []
        for _ in 0..<planeCount {
            planes.append(.init(w: w, polygons: [randomPolygon(&g, centre: c, radius: 1 + 8 * g.next01())]))
            let r = g.next01()
            if wide {
                let f = [0.2, 0.5, 1, 1, 1.49, 1.5, 1.51, 2, 4][Int(g.next01() * 9)]
                w += slice * f
            } else {
                w += r < 0.6 ? slice : (r < 0.8 ? slice * (1 + 0.5 * g.next01()) : slice * (1.5 + 2.5 * g.next01()))
            }
        }
        return PlanarShape(name: name, frame: frame, planes: planes)
    }

    /// `wide`: 1–14 voxels per axis, else 4–15 (2–13 along k).
    func randomGrid(_ g: inout SplitMix64, wide: Bool) -> Grid {
        let size = wide ? SIMD3(1 + Int(g.next01() * 14), 1 + Int(g.next01() * 14), 1 + Int(g.next01() * 14))
                        : SIMD3(4 + Int(g.next01() * 12), 4 + Int(g.next01() * 12), 2 + Int(g.next01() * 12))
        let spacing = Vec3(0.7 + 2.5 * g.next01(), 0.7 + 2.5 * g.next01(), 0.7 + 3 * g.next01())
        let origin = Vec3(-20 + 15 * g.next01(), -20 + 15 * g.next01(), -15 + 12 * g.next01())
        if g.next01() < 0.5 { return Grid(size: size, origin: origin, spacing: spacing) }
        // a rotation about a random axis
        var axis = Vec3(g.next01() - 0.5, g.next01() - 0.5, g.next01() - 0.5)
        axis /= (axis * axis).sum().squareRoot()
        let t = (g.next01() - 0.5) * 1.2
        func rot(_ v: Vec3) -> Vec3 { v * cos(t) + cross(axis, v) * sin(t) + axis * (dot(axis, v) * (1 - cos(t))) }
        return Grid(size: size, origin: origin, spacing: spacing, axisI: rot(Vec3(1, 0, 0)), axisJ: rot(Vec3(0, 1, 0)), axisK: rot(Vec3(0, 0, 1)))
    }

    /// Maps of one value in `box` (1, 0, −0, 7.3; poison outside it, as in `masked`) among
    /// the varying `field` and `partial`: they take the kernel's uniform pass, and must give
    /// the scalar reference's bits. Returns the number of maps that differ.
    func oneValueMismatches(_ engine: DVHEngine, _ reference: DVHEngine, _ e: StructureExpression, field: DoseField, partial: DoseField,
                            masked: [Float], box: VoxelBox, label: String) throws -> Int {
        let grid = field.grid
        let oneValue = [Float(1), 0, -0.0, 7.3].map { v in
            DoseField(Volume(grid: grid, voxels: masked.map { $0 == 1e4 ? $0 : v }), maxGy: Double(max(v, 1)), definedIn: [box])
        }
        let mixed = [field] + oneValue[0...1] + [partial] + oneValue[2...3]
        let fast = try engine.dvhs(e, doses: mixed), slow = try reference.dvhs(e, doses: mixed)
        var failures = 0
        for m in mixed.indices where !Self.sameBits(fast[m], slow[m]) {
            failures += 1
            XCTFail("\(label) map \(m) of one value or between them: min \(fast[m].minGy) vs \(slow[m].minGy), mean \(fast[m].meanGy) vs \(slow[m].meanGy)")
        }
        return failures
    }

    /// `options` with the scalar reference kernel.
    static func referenceKernel(_ options: DVHOptions) -> DVHOptions {
        var o = options
        o.referenceKernel = true
        return o
    }

    /// Whether two DVHs agree to the bit (+0 and −0 apart).
    static func sameBits(_ a: DVH, _ b: DVH) -> Bool {
        a.minGy.bitPattern == b.minGy.bitPattern && a.maxGy.bitPattern == b.maxGy.bitPattern && a.meanGy.bitPattern == b.meanGy.bitPattern
            && a.boundaryMaxGy?.bitPattern == b.boundaryMaxGy?.bitPattern && a.volumeCC.bitPattern == b.volumeCC.bitPattern
            && a.outsideFraction.bitPattern == b.outsideFraction.bitPattern && a.cumulativeCC.map(\.bitPattern) == b.cumulativeCC.map(\.bitPattern)
    }

    func testNoReadOutsideTheReadBox() throws {
        let iterations = 160
        var failures = 0, poisoned = 0, cases = 0, nilBoxes = 0, uniformCases = 0
        for seed in 0..<UInt64(iterations) {
            var g = SplitMix64(seed: seed &* 7919 &+ 11)
            let wide = seed % 2 == 1
            let slice = wide ? 0.3 + 6 * g.next01() : 0.8 + 2.5 * g.next01()
            let frame: PlaneFrame
            if g.next01() < 0.5 { frame = .patient } else {
                let a = g.next01()
                frame = PlaneFrame(origin: Vec3(1, 2, 3), u: Vec3(cos(a), sin(a), 0), v: Vec3(-sin(a), cos(a), 0), n: Vec3(0, 0, 1))
            }
            let a = randomShape(&g, name: "A", slice: slice, frame: frame, wide: wide)
            let b = randomShape(&g, name: "B", slice: slice, frame: frame, wide: wide)
            let grid = randomGrid(&g, wide: wide)
            var dose = [Float](repeating: 0, count: grid.count)
            for k in 0..<grid.nz { for j in 0..<grid.ny { for i in 0..<grid.nx {
                let p = grid.position(Double(i), Double(j), Double(k))
                dose[grid.linearIndex(i, j, k)] = Float(30 + p.x + 0.7 * p.y - 0.4 * p.z + 3 * g.next01())
            } } }
            let field = DoseField(Volume(grid: grid, voxels: dose))
            var options = DVHOptions()
            options.endCap = [EndCap.prism, .none, .interpolated][Int(g.next01() * 3)]
            options.minimumSamples = 3000
            let engine = DVHEngine(frame: frame, sliceSpacing: slice, shapes: [a, b], dose: field, options: options)
            let reference = DVHEngine(frame: frame, sliceSpacing: slice, shapes: [a, b], dose: field, options: Self.referenceKernel(options))
            let exprs: [StructureExpression] = [.roi("A"), .roi("B"), .union(.roi("A"), .roi("B")), .difference(.roi("A"), .roi("B")),
                                                .intersection(.roi("A"), .roi("B"))]
            for e in exprs {
                guard let box0 = try engine.readBox(e) else {
                    // Reads nothing: a map that is all poison must give the same DVH.
                    let poison = DoseField(Volume(grid: grid, voxels: [Float](repeating: 1e4, count: grid.count)), maxGy: field.maxGy, definedIn: [])
                    let w = try? engine.dvhs(e, doses: [field, field, field])
                    let k = try? engine.dvhs(e, doses: [field, poison, poison])
                    if let w, let k, w[1].meanGy != k[1].meanGy || w[1].maxGy != k[1].maxGy || w[1].cumulativeCC != k[1].cumulativeCC {
                        failures += 1
                        XCTFail("seed \(seed) \(e) \(options.endCap), no box: mean \(w[1].meanGy) vs \(k[1].meanGy)")
                    }
                    nilBoxes += 1
                    continue
                }
                let box = box0
                var masked = dose
                for k in 0..<grid.nz { for j in 0..<grid.ny { for i in 0..<grid.nx
                    where !(box.lo.x...box.hi.x).contains(i) || !(box.lo.y...box.hi.y).contains(j) || !(box.lo.z...box.hi.z).contains(k) {
                    masked[grid.linearIndex(i, j, k)] = 1e4
                    poisoned += 1
                } } }
                cases += 1
                let partial = DoseField(Volume(grid: grid, voxels: masked), maxGy: field.maxGy, definedIn: [box])
                let whole: [DVH], known: [DVH]
                do { whole = try engine.dvhs(e, doses: [field, field, field]) } catch { continue }
                known = try engine.dvhs(e, doses: [field, partial, partial])
                // The SIMD2 pair path (maps 0, 1) against the lone-map scalar path (map 2): the same field.
                for m in 0...1 where whole[m].cumulativeCC != whole[2].cumulativeCC || whole[m].meanGy != whole[2].meanGy
                    || whole[m].minGy != whole[2].minGy || whole[m].maxGy != whole[2].maxGy || whole[m].boundaryMaxGy != whole[2].boundaryMaxGy {
                    failures += 1
                    XCTFail("seed \(seed) \(e): lane \(m) of the two-map path differs from the one-map path")
                }
                for m in 1...2 where known[m].meanGy != whole[m].meanGy || known[m].maxGy != whole[m].maxGy || known[m].minGy != whole[m].minGy
                    || known[m].cumulativeCC != whole[m].cumulativeCC || known[m].boundaryMaxGy != whole[m].boundaryMaxGy {
                    failures += 1
                    XCTFail("seed \(seed) \(e) \(options.endCap) map \(m): mean \(whole[m].meanGy) vs \(known[m].meanGy), box \(box), grid \(grid.size)")
                }
                // One seed in three (the reference kernel is slow in a debug build).
                if seed % 3 == 0 {
                    uniformCases += 1
                    failures += try oneValueMismatches(engine, reference, e, field: field, partial: partial, masked: masked, box: box,
                                                       label: "seed \(seed) \(e) \(options.endCap)")
                }
            }
        }
        XCTAssertEqual(failures, 0)
        // The cases reach what they are for: boxes that leave voxels out, and none at all.
        XCTAssertGreaterThan(cases, 200)
        XCTAssertGreaterThan(uniformCases, 60)
        XCTAssertGreaterThan(nilBoxes, 20)
        XCTAssertGreaterThan(poisoned, 100_000)
    }
}
