@testable import Geometry
import TestSupport
import XCTest

/// The two kernels of the margin engine's far field, each tied to its plain twin:
/// `NearestSegments` (vector propagation of nearest edges) against the brute force over
/// every edge, and `SlabEnvelope` (one-sided parabola envelopes along w) against every
/// slab at every plane.
final class FarFieldKernelTests: XCTestCase {
    /// A star polygon with a hole, random but repeatable.
    func starWithHole(_ rng: inout SplitMix64, centre: SIMD2<Double> = .zero) -> [[SIMD2<Double>]] {
        let n = Int.random(in: 7...40, using: &rng)
        let star = (0..<n).map { k -> SIMD2<Double> in
            let t = 2 * Double.pi * Double(k) / Double(n)
            let r = Double.random(in: 5...14, using: &rng)
            return centre + SIMD2(r * cos(t), r * sin(t))
        }
        let hole = Phantom.circle(2.2, centre: centre + SIMD2(0.3, -0.4), spacingMM: 0.6).reversed()
        return [star, Array(hole)]
    }

    func testNearestSegmentsAgreeWithTheBruteForceMinimum() {
        var rng = SplitMix64(seed: 13)
        let lattice = CellLattice(u0: -24, v0: -22, h: 0.5, nu: 100, nv: 92)
        let gauges: [FrameRadii?] = [nil, FrameRadii(uPlus: 2, uMinus: 5, vPlus: 3, vMinus: 7, wPlus: 1, wMinus: 1)]
        for trial in 0..<6 {
            let polygons = starWithHole(&rng)
            let edges = EdgeTable(polygons)
            let inside = PlaneField.insideMask(polygons, lattice: lattice)
            for radii in gauges {
                for side in [NearestSegments.Side.both, .outside, .inside] {
                    let window = CellWindow(i0: 3, j0: 2, ni: 90, nj: 85)
                    let fast = NearestSegments(edges: edges, lattice: lattice, window: window, radii: radii, side: side, inside: inside)
                    let slow = NearestSegments.reference(edges: edges, lattice: lattice, window: window, radii: radii)
                    var equal = 0, counted = 0, worst: Float = 0
                    for j in 0..<window.nj {
                        for i in 0..<window.ni {
                            let k = j * window.ni + i, isInside = inside[(window.j0 + j) * lattice.nu + window.i0 + i] != 0
                            if side == .outside && isInside || side == .inside && !isInside { continue }
                            counted += 1
                            // Never below the true minimum (it is the gauge to a real edge).
                            XCTAssertGreaterThanOrEqual(fast.gauge2[k], slow[k] * (1 - 1e-5), "trial \(trial)")
                            if abs(fast.gauge2[k] - slow[k]) <= 1e-5 * max(1, slow[k]) { equal += 1 }
                            worst = max(worst, fast.gauge2[k].squareRoot() - slow[k].squareRoot())
                        }
                    }
                    // The nearest edge is handed on to all but a few cells, which keep one a
                    // few micrometres (in gauge units ×1e-3) further; along the quadrant
                    // gauge's polygons the refinement finds it everywhere (without it: 6–8
                    // cells per case here).
                    if radii != nil { XCTAssertEqual(equal, counted, "trial \(trial), \(side)") }
                    XCTAssertGreaterThan(Double(equal), 0.99 * Double(counted), "trial \(trial), \(String(describing: radii)), \(side)")
                    XCTAssertLessThan(worst, radii == nil ? 0.06 * Float(lattice.h) : 0.03, "trial \(trial), \(String(describing: radii)), \(side)")
                }
            }
        }
    }

    func testACappedSweepKeepsEveryValueBelowTheCap() {
        var rng = SplitMix64(seed: 21)
        let lattice = CellLattice(u0: -30, v0: -30, h: 0.5, nu: 120, nv: 120)
        for _ in 0..<4 {
            let polygons = starWithHole(&rng)
            let edges = EdgeTable(polygons), window = CellWindow(lattice)
            let full = NearestSegments(edges: edges, lattice: lattice, window: window)
            let capped = NearestSegments(edges: edges, lattice: lattice, window: window, maximumGauge2: 16)
            for k in 0..<window.count where full.gauge2[k] < 15 {
                XCTAssertEqual(capped.gauge2[k], full.gauge2[k])
            }
            for k in 0..<window.count where full.gauge2[k] >= 16 { XCTAssertGreaterThanOrEqual(capped.gauge2[k], 16) }
        }
    }

    /// Random stacks of slabs (gaps included) with random fields; growth-like (+∞ outside a
    /// window) and contraction-like (0 outside); asymmetric and zero radii along w.
    func testSlabEnvelopeEqualsEverySlabAtEveryPlane() {
        var rng = SplitMix64(seed: 5)
        let lattice = CellLattice(u0: 0, v0: 0, h: 1, nu: 7, nv: 5)
        for trial in 0..<40 {
            var slabs: [SlabEnvelope.Slab] = []
            var storage: [UnsafeMutableBufferPointer<Float>] = []
            defer { storage.forEach { $0.deallocate() } }
            var w = Double.random(in: -3...0, using: &rng)
            for _ in 0..<Int.random(in: 1...25, using: &rng) {
                let thick = [0.125, 0.5, 0.5, 1.5][Int.random(in: 0..<4, using: &rng)]
                if Double.random(in: 0..<1, using: &rng) < 0.15 { w += Double.random(in: 0.5...4, using: &rng) }
                let window = CellWindow(i0: Int.random(in: 0...3, using: &rng), j0: Int.random(in: 0...2, using: &rng),
                                        ni: Int.random(in: 1...4, using: &rng), nj: Int.random(in: 1...3, using: &rng))
                let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: window.count)
                for k in 0..<window.count {
                    values[k] = Double.random(in: 0..<1, using: &rng) < 0.2 ? 0 : Float.random(in: 0...3, using: &rng)
                }
                storage.append(values)
                slabs.append(.init(lo: w, hi: w + thick, window: window, values: UnsafePointer(values.baseAddress!)))
                w += thick
            }
            var queries = (0..<Int.random(in: 1...12, using: &rng)).map { _ in Double.random(in: -6...(w + 3), using: &rng) }
            // Some queries exactly on slab faces.
            queries += slabs.prefix(3).map(\.hi)
            queries.sort()
            let rAbove = [0, 0.7, 2, 5][Int.random(in: 0..<4, using: &rng)], rBelow = [0.7, 2, 5][Int.random(in: 0..<3, using: &rng)]
            let outside: Float = trial % 2 == 0 ? .infinity : 0
            let limit: Float = trial % 3 == 0 ? .infinity : 1.7
            var fast = [Float](repeating: -1, count: queries.count * lattice.count)
            fast.withUnsafeMutableBufferPointer { out in
                SlabEnvelope.evaluate(slabs, lattice: lattice, outsideValue: outside, queries: queries, limit: limit,
                                      radiusAbove: rAbove, radiusBelow: rBelow, into: out.baseAddress!)
            }
            let slow = SlabEnvelope.reference(slabs, lattice: lattice, outsideValue: outside, queries: queries,
                                              radiusAbove: rAbove, radiusBelow: rBelow)
            for k in slow.indices {
                if slow[k] < limit {
                    XCTAssertEqual(fast[k], slow[k], accuracy: 1e-5 * max(1, slow[k]), "trial \(trial), value \(k)")
                } else {
                    XCTAssertGreaterThanOrEqual(fast[k], limit * (1 - 1e-6), "trial \(trial), value \(k)")
                }
            }
        }
    }

    /// The tracer kernel against its dictionary-based twin: the same loops, bit for bit, on
    /// random smooth fields with saddles, NaN cells and shapes touching the lattice's edge.
    func testTracerEqualsItsReference() {
        var rng = SplitMix64(seed: 99)
        for trial in 0..<30 {
            let lattice = CellLattice(u0: -3.7, v0: 2.1, h: [0.5, 0.37, 1][trial % 3], nu: Int.random(in: 1...70, using: &rng), nv: Int.random(in: 1...60, using: &rng))
            var waves: [(Double, Double, Double, Double)] = []
            for _ in 0..<4 { waves.append((Double.random(in: -1...1, using: &rng), Double.random(in: 0.05...0.6, using: &rng), Double.random(in: 0.05...0.6, using: &rng), Double.random(in: 0...6, using: &rng))) }
            var field = [Float](repeating: 0, count: lattice.count)
            for j in 0..<lattice.nv { for i in 0..<lattice.nu {
                var v = Double.random(in: -0.02...0.02, using: &rng) + (trial % 2 == 0 ? 0.3 : -0.2)
                for (a, fx, fy, ph) in waves { v += a * sin(fx * Double(i) + ph) * cos(fy * Double(j) - ph) }
                field[j * lattice.nu + i] = Double.random(in: 0..<1, using: &rng) < 0.01 ? .nan : Float(v)
            } }
            let fast = field.withUnsafeBufferPointer { ContourTracer.trace($0, lattice: lattice, toleranceMM: 0.01) }
            let slow = field.withUnsafeBufferPointer { ContourTracer.traceReference($0, lattice: lattice, toleranceMM: 0.01) }
            XCTAssertEqual(fast.count, slow.count, "trial \(trial)")
            XCTAssertTrue(fast.elementsEqual(slow) { $0.elementsEqual($1) { $0.x == $1.x && $0.y == $1.y } }, "trial \(trial)")
        }
    }
}
