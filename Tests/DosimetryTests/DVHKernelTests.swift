import AnalyticPhantoms
@testable import Dosimetry
import Foundation
import Geometry
import TestSupport
import VoxelKit
import XCTest

/// The DVH accumulation kernel against its scalar reference, and the engine's stages
/// around it: the kernel's shortcuts (whole sub-slices outside the grid, interior cells
/// without clamps, one map held by value) must give the reference's bits.
final class DVHKernelTests: XCTestCase {
    /// Random doses on an awkward grid.
    func randomDose(_ size: SIMD3<Int>, seed: UInt64, max: Double) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<(size.x * size.y * size.z)).map { _ in Float(g.next01() * max) }
    }

    /// Coverage with every kind of cell: empty, full, partial, in runs and alone.
    func randomCoverage(_ n: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64(seed: seed)
        return (0..<n).map { _ in
            let r = g.next01()
            return r < 0.3 ? 0 : (r < 0.7 ? 1 : Float(g.next01()))
        }
    }

    struct Run {
        var histograms: [[Double]]   // per map: ramps then points
        var weighted: [Double], minDose: [Double], maxDose: [Double], boundary: [Double]
        var totals: DVHSampleTotals
    }

    func run(_ g: DVHLatticeGeometry, origins: [(Vec3, Double)], coverage: [Float], maps: [[Float]], layouts: [HistogramLayout], reference: Bool,
             uniform: [Double]? = nil) -> Run {
        var hist = layouts.map { DoseHistogram($0) }
        defer { for h in hist { h.deallocate() } }
        var totals = DVHSampleTotals()
        let pointers = maps.map { m -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: m.count)
            p.initialize(from: m, count: m.count)
            return p
        }
        defer { for p in pointers { p.deallocate() } }
        let constPointers = pointers.map { UnsafePointer($0) }
        constPointers.withUnsafeBufferPointer { mp in
            coverage.withUnsafeBufferPointer { cov in
                hist.withUnsafeMutableBufferPointer { hp in
                    let scratch = DVHKernel.Scratch(rowLength: g.nu)
                    defer { scratch.deallocate() }
                    for (x00, dz) in origins {
                        if reference {
                            DVHKernel.accumulateReference(g, origin: x00, thickness: dz, coverage: cov.baseAddress!, maps: mp, into: hp.baseAddress!, totals: &totals)
                        } else {
                            (uniform ?? []).withUnsafeBufferPointer { u in
                                DVHKernel.accumulate(g, origin: x00, thickness: dz, coverage: cov.baseAddress!, maps: mp,
                                                     uniform: uniform == nil ? nil : u.baseAddress, into: hp.baseAddress!,
                                                     totals: &totals, scratch: scratch)
                            }
                        }
                    }
                }
            }
        }
        return Run(histograms: hist.map { h in (0..<(h.layout.bins + 2)).map { h.ramps[$0] } + (0..<(h.layout.bins + 2)).map { h.points[$0] } },
                   weighted: hist.map(\.weightedDose), minDose: hist.map(\.minDose), maxDose: hist.map(\.maxDose),
                   boundary: hist.map(\.boundaryMax), totals: totals)
    }

    func testKernelEqualsScalarReferenceOverAwkwardShapes() {
        // Grids: odd sizes, a single plane, a single voxel row; one to four maps (the kernel
        // takes them in pairs, an odd last one alone).
        let sizes = [SIMD3(7, 5, 4), SIMD3(9, 6, 1), SIMD3(1, 8, 3), SIMD3(13, 11, 6)]
        for (n, size) in sizes.enumerated() {
            for mapCount in [1, 2, 3, 4] {
                // The second map half below zero: there its intervals clamp to a point at 0 Gy
                // while the first map's lane of the pair is wide (the narrow test is per lane).
                let maps = (0..<mapCount).map { m -> [Float] in
                    let d = randomDose(size, seed: UInt64(10 * n + m + 1), max: 10 + 20 * Double(m))
                    return m == 1 ? d.map { $0 - 15 } : d
                }
                let layouts = maps.map { HistogramLayout(maxGy: Double($0.max()!)) }
                // A lattice of 17 × 9 cells (odd, not a multiple of anything), stepping 0.37 and
                // 0.53 voxels, tilted (oblique frame) in the second case.
                for tilted in [false, true] {
                    let du = tilted ? Vec3(0.33, 0.12, 0.05) : Vec3(0.37, 0, 0)
                    let dv = tilted ? Vec3(-0.1, 0.5, 0.11) : Vec3(0, 0.53, 0)
                    let h = 0.9
                    let g = DVHLatticeGeometry(nu: 17, nv: 9, h: h, du: du, dv: dv, uPerMM: du / h, vPerMM: dv / h,
                                               nPerMM: tilted ? Vec3(0.02, -0.05, 0.8) : Vec3(0, 0, 0.8), size: size)
                    let coverage = randomCoverage(17 * 9, seed: UInt64(100 + n))
                    // Sub-slices: inside, straddling every face, in the half-voxel border, wholly outside.
                    let nz = Double(size.z)
                    let origins: [(Vec3, Double)] = [
                        (Vec3(0.2, 0.1, 0.4), 0.5), (Vec3(-2.5, -1.7, nz / 2 - 0.6), 0.7), (Vec3(-0.45, -0.3, -0.4), 0.3),
                        (Vec3(Double(size.x) - 4, Double(size.y) - 3, nz - 0.7), 1.1), (Vec3(1, 1, nz + 3), 0.5),
                        (Vec3(-40, 0, 1), 0.5), (Vec3(0.5, 0.5, -0.5), 0.25),
                    ]
                    let fast = run(g, origins: origins, coverage: coverage, maps: maps, layouts: layouts, reference: false)
                    let slow = run(g, origins: origins, coverage: coverage, maps: maps, layouts: layouts, reference: true)
                    let label = "grid \(size), \(mapCount) maps, tilted \(tilted)"
                    XCTAssertEqual(fast.totals, slow.totals, label)
                    XCTAssertGreaterThan(fast.totals.outside, 0, label)
                    XCTAssertLessThan(fast.totals.outside, fast.totals.weight, label)
                    // Bit patterns: +0 and −0 must not pass for each other.
                    XCTAssertEqual(fast.weighted.map(\.bitPattern), slow.weighted.map(\.bitPattern), label)
                    XCTAssertEqual(fast.minDose.map(\.bitPattern), slow.minDose.map(\.bitPattern), label)
                    XCTAssertEqual(fast.maxDose.map(\.bitPattern), slow.maxDose.map(\.bitPattern), label)
                    XCTAssertEqual(fast.boundary.map(\.bitPattern), slow.boundary.map(\.bitPattern), label)
                    XCTAssertTrue(fast.boundary.allSatisfy(\.isFinite), label)
                    for m in 0..<mapCount {
                        XCTAssertEqual(fast.histograms[m], slow.histograms[m], "\(label), map \(m)")
                    }
                }
            }
        }
    }

    /// Maps of one value (the kernel's `uniformPass`, no interpolation) among varying ones
    /// give the bits of the general path: values 1, 0, −0, a mix of ±0, 7.3 and 1e-4 (a
    /// point mass near the first bin), on every kind of sample (interior, border, outside,
    /// partly covered).
    func testMapsOfOneValueGiveTheBitsOfTheGeneralPath() {
        let size = SIMD3(9, 7, 5), count = 9 * 7 * 5
        var g0 = SplitMix64(seed: 77)
        let mixedZeros = (0..<count).map { _ in g0.next01() < 0.5 ? Float(0) : -Float(0) }
        let constants: [[Float]] = [[Float](repeating: 1, count: count), [Float](repeating: 0, count: count),
                                    [Float](repeating: -0.0, count: count), mixedZeros,
                                    [Float](repeating: 7.3, count: count), [Float](repeating: 1e-4, count: count)]
        let varying = (0..<2).map { randomDose(size, seed: UInt64(40 + $0), max: 30) }
        let du = Vec3(0.33, 0.12, 0.05), dv = Vec3(-0.1, 0.5, 0.11), h = 0.9
        let g = DVHLatticeGeometry(nu: 17, nv: 9, h: h, du: du, dv: dv, uPerMM: du / h, vPerMM: dv / h, nPerMM: Vec3(0.02, -0.05, 0.8), size: size)
        let coverage = randomCoverage(17 * 9, seed: 7)
        let origins: [(Vec3, Double)] = [(Vec3(0.2, 0.1, 0.4), 0.5), (Vec3(-2.5, -1.7, 2), 0.7), (Vec3(-0.45, -0.3, -0.4), 0.3),
                                         (Vec3(5, 4, 4.3), 1.1), (Vec3(-40, 0, 1), 0.5)]
        // Constant maps first, between and after the varying ones (the pairing changes).
        for order in [[2, 0, 3, 1, 4, 5, 6, 7], [6, 0, 1, 7, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6, 7]] {
            let all = constants + varying
            let maps = order.map { all[$0] }
            let layouts = maps.map { HistogramLayout(maxGy: Double($0.max()!)) }
            let uniform = order.map { $0 < constants.count ? Double(constants[$0][0]) : .nan }
            let fast = run(g, origins: origins, coverage: coverage, maps: maps, layouts: layouts, reference: false, uniform: uniform)
            let slow = run(g, origins: origins, coverage: coverage, maps: maps, layouts: layouts, reference: true)
            XCTAssertEqual(fast.totals, slow.totals)
            for m in maps.indices {
                let label = "order \(order), map \(m)"
                XCTAssertEqual(fast.weighted[m].bitPattern, slow.weighted[m].bitPattern, label)
                XCTAssertEqual(fast.minDose[m].bitPattern, slow.minDose[m].bitPattern, label)
                XCTAssertEqual(fast.maxDose[m].bitPattern, slow.maxDose[m].bitPattern, label)
                XCTAssertEqual(fast.boundary[m].bitPattern, slow.boundary[m].bitPattern, label)
                XCTAssertEqual(fast.histograms[m].map(\.bitPattern), slow.histograms[m].map(\.bitPattern), label)
            }
        }
    }

    /// Extremes keep the reference's order of equal values: an outside sample (0 Gy) before
    /// a sample of −0 Gy gives min +0 and max −0, as one sample at a time does (min and max
    /// keep the first of equal values). Found by a review of the held writes, which had
    /// taken the outside sample's extremes after the row's other samples.
    func testSignedZeroExtremesFollowSampleOrder() {
        let size = SIMD3(4, 4, 4)
        var map = [Float](repeating: -1, count: 64)
        map[(1 * 4 + 1) * 4 + 1] = -0.0   // voxel (1, 1, 1)
        let du = Vec3(1, 0, 0), dv = Vec3(0, 1, 0)
        let g = DVHLatticeGeometry(nu: 4, nv: 1, h: 1, du: du, dv: dv, uPerMM: du, vPerMM: dv, nPerMM: Vec3(0, 0, 1), size: size)
        // Cell 0 at x = −2 (outside), cell 3 on voxel (1, 1, 1): half covered, no normal.
        let coverage: [Float] = [0.7, 0, 0, 0.7]
        for count in 1...3 {
            let maps = [[Float]](repeating: map, count: count)
            let layouts = maps.map { _ in HistogramLayout(maxGy: 1) }
            let origins = [(Vec3(-2, 1, 1), 1.0)]
            let fast = run(g, origins: origins, coverage: coverage, maps: maps, layouts: layouts, reference: false)
            let slow = run(g, origins: origins, coverage: coverage, maps: maps, layouts: layouts, reference: true)
            XCTAssertEqual(slow.minDose[0].bitPattern, Double(0).bitPattern)
            XCTAssertEqual(slow.maxDose[0].bitPattern, (-Double(0)).bitPattern)
            for m in 0..<count {
                XCTAssertEqual(fast.minDose[m].bitPattern, slow.minDose[m].bitPattern, "\(count) maps, map \(m)")
                XCTAssertEqual(fast.maxDose[m].bitPattern, slow.maxDose[m].bitPattern, "\(count) maps, map \(m)")
            }
        }
    }

    /// A uniform mass lands in the histogram with the right total and the right mass below
    /// every bin edge; a narrow one is a point mass; nothing below 0 or above the top.
    func testUniformDepositPutsExactMassBelowEveryEdge() {
        let layout = HistogramLayout(maxGy: 1)
        var h = DoseHistogram(layout)
        defer { h.deallocate() }
        let w = layout.binWidthGy
        h.addUniform(10.25 * w, 13.75 * w, 7)          // density 2 per bin
        h.addUniform(-5, 2 * w, 1)                     // clamped at 0: all of it in [0, 2w]
        h.addUniform(20.5 * w, 20.5 * w, 3)            // a point mass in bin 20
        // Mass below edge j from the double prefix sum.
        var slope = 0.0, ramp = 0.0, step = 0.0
        var below = [Double]()
        for j in 0...layout.bins {
            step += h.points[j]
            below.append(ramp + step)
            slope += h.ramps[j]
            ramp += slope
        }
        XCTAssertEqual(below[0], 0, accuracy: 1e-12)
        XCTAssertEqual(below[2], 1, accuracy: 1e-12)
        XCTAssertEqual(below[10], 1, accuracy: 1e-12)
        XCTAssertEqual(below[11], 1 + 2 * 0.75, accuracy: 1e-12)
        XCTAssertEqual(below[13], 1 + 2 * 2.75, accuracy: 1e-12)
        XCTAssertEqual(below[14], 8, accuracy: 1e-12)
        XCTAssertEqual(below[20], 8, accuracy: 1e-12)
        XCTAssertEqual(below[21], 11, accuracy: 1e-12)
        XCTAssertEqual(below[layout.bins], 11, accuracy: 1e-12)
        XCTAssertEqual(h.lowestSlot, 0)
        XCTAssertEqual(h.highestSlot, 21)
    }

    /// Histogram storage is reused: a histogram given back must come back zeroed.
    func testHistogramStorageComesBackZeroed() {
        let layout = HistogramLayout(maxGy: 3)
        var g = SplitMix64(seed: 7)
        for _ in 0..<3 {
            var h = DoseHistogram(layout)
            for k in 0..<(layout.bins + 2) { XCTAssertEqual(h.ramps[k], 0); XCTAssertEqual(h.points[k], 0) }
            for _ in 0..<500 {
                let a = g.next01() * 3.2 - 0.1
                h.addUniform(a, a + g.next01() * 0.01 * Double(Int(g.next01() * 3)), g.next01())
            }
            h.addOutside(1)
            h.deallocate()
        }
    }

    // MARK: The engine with the kernel and with the reference

    func testEngineGivesTheSameDVHWithTheKernelAndTheReference() throws {
        // A sphere half outside the grid (border cells, outside cells, whole sub-slices
        // outside), in the default and interpolated end caps, and an expression.
        for endCap in [EndCap.prism, .interpolated] {
            var c = AnalyticCase(Phantoms.sphere(diameter: 12), slice: 1, grid: 2, gradient: .x, endCap: endCap)
            let moved = PlanarShape(name: "Edge", frame: .patient, planes: c.shape.planes.map { p in
                .init(w: p.w + 17, polygons: p.polygons.map { $0.map { $0 + SIMD2(15, 3) } })
            })
            c.engine.shapes["Edge"] = moved
            var reference = c.engine
            reference.options.referenceKernel = true
            for e in [StructureExpression.roi("Edge"), .roi(c.shape.name), .union(.roi("Edge"), .roi(c.shape.name)),
                      .difference(.roi(c.shape.name), .roi("Edge"))] {
                let a = try c.engine.dvh(e), b = try reference.dvh(e)
                XCTAssertEqual(a.cumulativeCC, b.cumulativeCC, "\(endCap) \(e)")
                XCTAssertEqual(a.volumeCC, b.volumeCC)
                XCTAssertEqual(a.meanGy, b.meanGy)
                XCTAssertEqual(a.minGy, b.minGy)
                XCTAssertEqual(a.maxGy, b.maxGy)
                XCTAssertEqual(a.outsideFraction, b.outsideFraction)
                XCTAssertEqual(a.sampling, b.sampling)
                XCTAssertEqual(a.boundaryMaxGy, b.boundaryMaxGy)
            }
            XCTAssertGreaterThan(try c.engine.dvh(.roi("Edge")).outsideFraction, 0.05)
        }
    }

    /// `dvhs` (one pass, several maps) gives each map's `dvh` to the bit.
    func testSeveralMapsInOnePassEqualOneDVHPerMap() throws {
        let c = AnalyticCase(Phantoms.coneAlongY, slice: 2, grid: 2, gradient: .z, endCap: .prism)
        let base = c.engine.dose
        let maps = [base, DoseField(Volume(grid: base.grid, voxels: base.volume.voxels.map { $0 * $0 / 10 })),
                    DoseField(Volume(grid: base.grid, voxels: base.volume.voxels.map { 40 - $0 }))]
        let together = try c.engine.dvhs(.roi(c.shape.name), doses: maps)
        XCTAssertEqual(together.count, 3)
        for (m, field) in maps.enumerated() {
            var one = c.engine
            one.dose = field
            let alone = try one.dvh(.roi(c.shape.name))
            XCTAssertEqual(together[m].cumulativeCC, alone.cumulativeCC, "map \(m)")
            XCTAssertEqual(together[m].meanGy, alone.meanGy)
            XCTAssertEqual(together[m].minGy, alone.minGy)
            XCTAssertEqual(together[m].maxGy, alone.maxGy)
            XCTAssertEqual(together[m].binWidthGy, alone.binWidthGy)
        }
        // A map on another grid is refused.
        let other = DoseField(Volume(grid: Grid(size: SIMD3(3, 3, 3), origin: Vec3(0, 0, 0), spacing: Vec3(1, 1, 1)), repeating: 1))
        XCTAssertThrowsError(try c.engine.dvhs(.roi(c.shape.name), doses: [base, other]))
    }

    /// The maps of one accumulation are split into runs that cover them all, none empty:
    /// one per worker for a structure of one chunk, two tasks per worker for a few chunks,
    /// never more than the maps that vary, each run holding at least one varying map and
    /// within one as many as any other (maps of one value ride along).
    func testMapGroupsAreNonEmptyRunsBalancedOnTheMapsThatVary() {
        var g = SplitMix64(seed: 11)
        for trial in 0..<500 {
            let maps = 1 + Int(g.next01() * 14), chunks = 1 + Int(g.next01() * 8), workers = 1 + Int(g.next01() * 4)
            let uniform = (0..<maps).map { _ in g.next01() < 0.35 ? 1.0 : Double.nan }
            let starts = DVHEngine.mapGroupStarts(uniform: uniform, chunks: chunks, workers: workers)
            let label = "trial \(trial): \(uniform.map { $0.isNaN ? "v" : "u" }.joined()), \(chunks) chunks, \(workers) workers → \(starts)"
            XCTAssertEqual(starts.first, 0, label)
            XCTAssertEqual(starts.last, maps, label)
            XCTAssertTrue(zip(starts, starts.dropFirst()).allSatisfy { $0 < $1 }, label)
            let varying = uniform.filter(\.isNaN).count
            let wanted = chunks == 1 ? workers : (2 * workers + chunks - 1) / chunks
            XCTAssertEqual(starts.count - 1, max(1, min(varying, wanted)), label)
            let perGroup = zip(starts, starts.dropFirst()).map { a, b in uniform[a..<b].filter(\.isNaN).count }
            if varying > 0 {
                XCTAssertLessThanOrEqual(perGroup.max()! - perGroup.min()!, 1, label)
                XCTAssertGreaterThan(perGroup.min()!, 0, label)
            }
        }
        // A target in a composite report: eight dose maps, then two coverage maps of one
        // value: four dose maps per group (groups by count, five maps each, would give one
        // group five dose maps and the other three and the two nearly free ones).
        let target = [Double](repeating: .nan, count: 8) + [1, 0]
        XCTAssertEqual(DVHEngine.mapGroupStarts(uniform: target, chunks: 1, workers: 2), [0, 4, 10])
        XCTAssertEqual(DVHEngine.mapGroupStarts(uniform: target, chunks: 1, workers: 4), [0, 2, 4, 6, 10])
        XCTAssertEqual(DVHEngine.mapGroupStarts(uniform: target, chunks: 3, workers: 2), [0, 4, 10])
        XCTAssertEqual(DVHEngine.mapGroupStarts(uniform: target, chunks: 8, workers: 2), [0, 10])
        // An organ of eleven varying maps, one chunk.
        XCTAssertEqual(DVHEngine.mapGroupStarts(uniform: [Double](repeating: .nan, count: 11), chunks: 1, workers: 2), [0, 6, 11])
        XCTAssertEqual(DVHEngine.mapGroupStarts(uniform: [1, 2], chunks: 1, workers: 2), [0, 2])
    }

    /// Maps of one value among varying ones, in one pass (grouped on the varying maps: two
    /// groups on a machine of two cores or more, one on a single core; the grouping itself
    /// is tested above with explicit worker counts), give each map's DVH to the bit.
    func testMapsOfOneValueAmongOthersInOnePassEqualOneDVHPerMap() throws {
        let c = AnalyticCase(Phantoms.coneAlongY, slice: 2, grid: 2, gradient: .z, endCap: .prism)
        let base = c.engine.dose
        func field(_ f: (Float) -> Float) -> DoseField { DoseField(Volume(grid: base.grid, voxels: base.volume.voxels.map(f))) }
        let maps = [field { $0 }, field { _ in 1 }, field { $0 * $0 / 10 }, field { 40 - $0 }, field { _ in 0 }, field { $0 / 3 },
                    field { _ in 2.5 }]
        let together = try c.engine.dvhs(.roi(c.shape.name), doses: maps)
        for (m, f) in maps.enumerated() {
            var one = c.engine
            one.dose = f
            let alone = try one.dvh(.roi(c.shape.name))
            XCTAssertEqual(together[m].cumulativeCC, alone.cumulativeCC, "map \(m)")
            XCTAssertEqual(together[m].meanGy.bitPattern, alone.meanGy.bitPattern, "map \(m)")
            XCTAssertEqual(together[m].minGy.bitPattern, alone.minGy.bitPattern, "map \(m)")
            XCTAssertEqual(together[m].maxGy.bitPattern, alone.maxGy.bitPattern, "map \(m)")
        }
    }

    /// A map known only in a structure's read box gives that structure's DVHs to the bit
    /// (the voxels outside hold NaN here: one read would show), on an aligned and an
    /// oblique dose grid, with both end caps; a box one voxel short is refused.
    func testMapKnownOnlyInTheReadBoxGivesTheSameDVHs() throws {
        for endCap in [EndCap.prism, .interpolated] {
            var c = AnalyticCase(Phantoms.sphere(diameter: 12), slice: 1, grid: 2, gradient: .x, endCap: endCap)
            c.engine.shapes["Edge"] = PlanarShape(name: "Edge", frame: .patient, planes: c.shape.planes.map { p in
                .init(w: p.w + 17, polygons: p.polygons.map { $0.map { $0 + SIMD2(15, 3) } })
            })
            let a = 20.0 * Double.pi / 180
            let oblique = Grid(size: SIMD3(26, 24, 22), origin: Vec3(-18, -24, -21), spacing: Vec3(1.9, 2.1, 2),
                               axisI: Vec3(cos(a), sin(a), 0), axisJ: Vec3(-sin(a), cos(a), 0))
            var tilted = [Float](repeating: 0, count: oblique.count)
            for k in 0..<22 { for j in 0..<24 { for i in 0..<26 {
                let p = oblique.position(Double(i), Double(j), Double(k))
                tilted[oblique.linearIndex(i, j, k)] = Float(16 + p.x + 0.5 * p.y - 0.3 * p.z)
            } } }
            for field in [c.engine.dose, DoseField(Volume(grid: oblique, voxels: tilted))] {
                var engine = c.engine
                engine.dose = field
                for name in [c.shape.name, "Edge"] {
                    let box = try XCTUnwrap(try engine.readBox(.roi(name)), "\(endCap) \(name)")
                    var masked = field.volume.voxels
                    let g = field.grid
                    for k in 0..<g.nz { for j in 0..<g.ny { for i in 0..<g.nx
                        where !(box.lo.x...box.hi.x).contains(i) || !(box.lo.y...box.hi.y).contains(j) || !(box.lo.z...box.hi.z).contains(k) {
                        masked[g.linearIndex(i, j, k)] = .nan
                    } } }
                    XCTAssertLessThan(box.hi.x - box.lo.x + 1, g.nx, "the box leaves voxels out")
                    let partial = DoseField(Volume(grid: g, voxels: masked), maxGy: field.maxGy, definedIn: [box])
                    let whole = try engine.dvhs(.roi(name), doses: [field, field])
                    let known = try engine.dvhs(.roi(name), doses: [field, partial])
                    XCTAssertEqual(known[1].cumulativeCC, whole[1].cumulativeCC, "\(endCap) \(name)")
                    XCTAssertEqual(known[1].meanGy, whole[1].meanGy)
                    XCTAssertEqual(known[1].minGy, whole[1].minGy)
                    XCTAssertEqual(known[1].maxGy, whole[1].maxGy)
                    XCTAssertEqual(known[1].boundaryMaxGy, whole[1].boundaryMaxGy)
                    var short = box
                    short.hi.x -= 1
                    let cut = DoseField(Volume(grid: g, voxels: masked), maxGy: field.maxGy, definedIn: [short])
                    XCTAssertThrowsError(try engine.dvhs(.roi(name), doses: [cut]))
                }
            }
        }
    }

    /// Deep expressions (operands missing on some sub-slices, right operands that are
    /// expressions) through the slot evaluator, against arrays evaluated directly.
    func testOccupancyAlgebraOfDeepExpressions() throws {
        // B and C inside A, offset in z so that each is missing from some sub-slices.
        func sphere(_ name: String, _ d: Double, _ dz: Double) -> PlanarShape {
            let s = AnalyticCase(Phantoms.sphere(diameter: d), slice: 1, grid: 1, gradient: .z, endCap: .prism).shape
            return PlanarShape(name: name, frame: .patient, planes: s.planes.map { .init(w: $0.w + dz, polygons: $0.polygons) })
        }
        var c = AnalyticCase(Phantoms.sphere(diameter: 20), slice: 1, grid: 1, gradient: .z, endCap: .prism)
        for s in [sphere("A", 24, 0), sphere("B", 8, 5), sphere("C", 6, -6)] { c.engine.shapes[s.name] = s }
        let a = try c.engine.dvh(.roi("A")).volumeCC, b = try c.engine.dvh(.roi("B")).volumeCC, cc = try c.engine.dvh(.roi("C")).volumeCC
        // B and C lie inside A and do not meet.
        let cases: [(StructureExpression, Double)] = [
            (.union(.roi("B"), .union(.roi("C"), .roi("B"))), b + cc),
            (.difference(.roi("A"), .union(.roi("B"), .roi("C"))), a - b - cc),
            (.union(.intersection(.roi("B"), .roi("C")), .union(.roi("C"), .roi("B"))), b + cc),
            (.symmetricDifference(.roi("B"), .difference(.roi("A"), .roi("C"))), a - cc - b),
            (.intersection(.roi("A"), .union(.roi("C"), .intersection(.roi("B"), .roi("A")))), b + cc),
            // Where C is absent, the union is its right operand alone, computed one slot up.
            (.union(.roi("C"), .difference(.roi("A"), .roi("B"))), a - b),
            (.difference(.roi("A"), .union(.roi("C"), .difference(.roi("A"), .roi("B")))), b),
            // … and then a right operand evaluated in the slot that result came from.
            (.intersection(.union(.roi("C"), .difference(.roi("A"), .roi("B"))), .union(.roi("B"), .roi("A"))), a - b),
        ]
        for (e, truth) in cases {
            XCTAssertEqual(try c.engine.dvh(e).volumeCC, truth, accuracy: 0.003 * a, "\(e)")
        }
    }

    func testDoseMaximumIsTheLargestVoxelForAnyLength() {
        for n in [1, 7, 8, 9, 1000, 1003] {
            var v = randomDose(SIMD3(n, 1, 1), seed: UInt64(n), max: 50)
            let grid = Grid(size: SIMD3(n, 1, 1), origin: Vec3(0, 0, 0), spacing: Vec3(1, 1, 1))
            XCTAssertEqual(DoseField(Volume(grid: grid, voxels: v)).maxGy, Double(v.max()!), "\(n)")
            v[n - 1] = 77   // in the tail or the last lane
            XCTAssertEqual(DoseField(Volume(grid: grid, voxels: v)).maxGy, 77, "\(n)")
        }
    }

    // MARK: Bad input

    func testAbsurdContourCoordinatesAreAnErrorNamingTheStructure() throws {
        var c = AnalyticCase(Phantoms.sphere(diameter: 10), slice: 1, grid: 2, gradient: .z, endCap: .prism)
        for bad in [1e308, .infinity, .nan] {
            var planes = c.shape.planes
            planes[1].polygons[0][3] = SIMD2(bad, 0)
            c.engine.shapes["Broken"] = PlanarShape(name: "Broken", frame: .patient, planes: planes)
            XCTAssertThrowsError(try c.engine.dvh(.roi("Broken")), "\(bad)") { e in
                XCTAssertTrue("\(e)".contains("Broken"), "\(e)")
            }
        }
        var planes = c.shape.planes
        planes[planes.count - 1].w = 1e308
        c.engine.shapes["Far"] = PlanarShape(name: "Far", frame: .patient, planes: planes)
        XCTAssertThrowsError(try c.engine.dvh(.roi("Far"))) { e in XCTAssertTrue("\(e)".contains("Far"), "\(e)") }
    }

    func testADoseWithoutAFiniteMaximumIsAnError() {
        let c = AnalyticCase(Phantoms.sphere(diameter: 10), slice: 1, grid: 2, gradient: .z, endCap: .prism)
        var v = c.engine.dose.volume
        v.voxels[5] = .infinity
        var e = c.engine
        e.dose = DoseField(v)
        XCTAssertThrowsError(try e.dvh(.roi(c.shape.name)))
    }
}
