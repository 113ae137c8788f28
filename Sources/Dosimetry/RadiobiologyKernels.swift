import Foundation
import VoxelKit

/// One course's term in a voxel-wise composite: its physical dose on the reference grid,
/// its number of fractions and its recovery.
public struct CompositeTerm: @unchecked Sendable {
    /// Physical dose (Gy) per voxel of the reference grid.
    public var dose: UnsafeBufferPointer<Float>
    public var fractions: Int
    public var recovery: Recovery

    public init(dose: UnsafeBufferPointer<Float>, fractions: Int, recovery: Recovery = .none) {
        self.dose = dose
        self.fractions = fractions
        self.recovery = recovery
    }
}

/// How much of a course's biological dose counts in the cumulative sum.
public enum Recovery: Sendable, Equatable {
    /// No recovery: the course counts in full (the default).
    case none
    /// A recovery fraction r: the course counts (1 − r) × its BED/EQD2.
    case fraction(Double)
    /// Jones & Grant 2014 (Clin Oncol, doi 10.1016/j.clon.2014.04.027) as implemented in
    /// DICOMautomaton (DecayDoseOverTime.cc, [S]):
    /// BED_eff = BED_tol·[1 − (1 − BED/BED_tol)^(1/(1+r))] for 0 < BED/BED_tol < 1,
    /// unchanged otherwise; `r` from the interval (see `RecoveryModel`). A spinal-cord
    /// model on BED at α/β = 2 Gy: applied only at voxels whose α/β is 2 Gy, elsewhere the
    /// course counts in full.
    case jonesGrant(toleranceBED: Double, r: Double)

    /// The α/β (Gy) at which the Jones–Grant model applies (the cord's, as it was stated).
    public static let jonesGrantAlphaBetaGy = 2.0

    /// The weight (1 − r) of a linear recovery, nil for the nonlinear model.
    public var linearWeight: Double? {
        switch self {
        case .none: return 1
        case .fraction(let r): return 1 - r
        case .jonesGrant: return nil
        }
    }

    /// The effective BED after recovery (Gy) of a voxel's BED at the voxel's α/β.
    @inlinable
    public func effectiveBED(_ bed: Double, alphaBeta: Double) -> Double {
        switch self {
        case .none: return bed
        case .fraction(let r): return (1 - r) * bed
        case .jonesGrant(let tol, let r):
            guard abs(alphaBeta - Recovery.jonesGrantAlphaBetaGy) < 1e-6 else { return bed }
            let x = bed / tol
            guard x > 0, x < 1 else { return bed }
            return tol * (1 - Foundation.pow(1 - x, 1 / (1 + r)))
        }
    }
}

/// The α/β (Gy) of each voxel: one value everywhere, or a map on the reference grid.
public enum AlphaBetaField: @unchecked Sendable {
    case uniform(Double)
    case map(UnsafeBufferPointer<Float>)

    @inlinable
    public func value(at v: Int) -> Double {
        switch self {
        case .uniform(let a): return a
        case .map(let m): return Double(m[v])
        }
    }
}

/// Voxel-wise conversion of courses to BED/EQD2 and their weighted sum: the composite kernel.
///
/// `out[v] = Σ_c Q(D_c[v], n_c, α/β[v])`, with Q the quantity after each course's
/// recovery: for linear recovery `(1 − r_c)·Q`, for Jones–Grant the effective BED
/// converted to the quantity. d = D_c[v]/n_c per voxel (never the prescription per fraction).
///
/// `sum` runs SIMD8 over contiguous memory, split across cores in contiguous chunks; each
/// voxel is written by exactly one chunk, so the result does not depend on the thread
/// count. `sumReference` is the plain scalar version in Double, kept for tests.
/// - Complexity: O(voxels × courses); memory-bound (reads every course once, α/β map
///   once, writes the output once).
public enum CompositeKernel {
    /// The SIMD, multi-core kernel. `out` must have the terms' voxel count.
    public static func sum(_ quantity: DoseQuantity, _ terms: [CompositeTerm], alphaBeta: AlphaBetaField,
                           linearAboveGy: Double? = nil, into out: UnsafeMutableBufferPointer<Float>) {
        let o = out.baseAddress!
        forEachChunk(quantity, terms, alphaBeta, linearAboveGy, count: out.count) { range, compute in
            compute(o + range.lowerBound, range)
        }
    }

    /// `sum`'s values at the voxels of `rows` only (`out`'s other voxels are not written,
    /// so their pages are never touched), and the largest value over every voxel (NaN when
    /// some voxel is NaN). Every voxel is computed as `sum` computes it (the same chunks,
    /// the same SIMD blocks), a block of 4096 at a time into a scratch held in the cache.
    /// - Complexity: `sum`'s arithmetic; memory traffic: the inputs, and the rows' voxels.
    public static func sum(_ quantity: DoseQuantity, _ terms: [CompositeTerm], alphaBeta: AlphaBetaField,
                           linearAboveGy: Double? = nil, into out: UnsafeMutableBufferPointer<Float>, only rows: VoxelRows) -> Float {
        let nx = rows.size.x
        precondition(nx * rows.rows.count == out.count, "region of \(nx * rows.rows.count) voxels, output \(out.count)")
        let o = out.baseAddress!
        let lock = NSLock()
        nonisolated(unsafe) var overall = -Float.infinity, anyNaN = false
        forEachChunk(quantity, terms, alphaBeta, linearAboveGy, count: out.count) { range, compute in
            let block = 4096   // a multiple of 8: the SIMD blocks fall where one call over `range` puts them
            withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { scratch in
                let t = scratch.baseAddress!
                var largest = -Float.infinity, sawNaN = false
                var s = range.lowerBound
                while s < range.upperBound {
                    let e = min(s + block, range.upperBound)
                    compute(t, s..<e)
                    let (m, nan) = DoseField.largest(in: UnsafeBufferPointer(start: t, count: e - s), above: -.infinity)
                    largest = max(largest, m)
                    sawNaN = sawNaN || nan
                    // The held part of each row the block crosses.
                    var r = s / nx
                    while r * nx < e {
                        let held = rows.rows[r]
                        let lo = max(s, r * nx + held.lowerBound), hi = min(e, r * nx + held.upperBound)
                        if lo < hi { (o + lo).update(from: t + (lo - s), count: hi - lo) }
                        r += 1
                    }
                    s = e
                }
                lock.lock()
                overall = max(overall, largest)
                anyNaN = anyNaN || sawNaN
                lock.unlock()
            }
        }
        return anyNaN ? .nan : overall
    }

    /// Runs `body(range, compute)` for each chunk of `count` voxels concurrently;
    /// `compute(dst, sub)` writes the values of voxels `sub` (inside `range`, starting at
    /// its start or a multiple of 8 voxels after it) to `dst[0..<sub.count]`.
    static func forEachChunk(_ quantity: DoseQuantity, _ terms: [CompositeTerm], _ alphaBeta: AlphaBetaField, _ linearAboveGy: Double?,
                             count: Int, _ body: (Range<Int>, (UnsafeMutablePointer<Float>, Range<Int>) -> Void) -> Void) {
        for t in terms { precondition(t.dose.count == count, "course dose has \(t.dose.count) voxels, output \(count)") }
        if terms.contains(where: { $0.recovery.linearWeight == nil }) {
            // Nonlinear recovery: the scalar path, split across cores.
            Parallel.forEachChunk(count, minimumChunk: 1 << 15) { _, range in
                body(range) { dst, sub in scalarRange(quantity, terms, alphaBeta, linearAboveGy, dst, sub) }
            }
            return
        }
        let raw = terms.map { RawTerm(dose: $0.dose.baseAddress!, fractions: Float($0.fractions),
                                      invFractions: 1 / Float($0.fractions), weight: Float($0.recovery.linearWeight!)) }
        let dT = linearAboveGy.map(Float.init)
        raw.withUnsafeBufferPointer { rt in
            let termBuffer = rt
            Parallel.forEachChunk(count, minimumChunk: 1 << 16) { _, range in
                body(range) { dst, sub in simdRange(quantity, termBuffer, alphaBeta, dT, dst, sub) }
            }
        }
    }

    /// The plain scalar reference (Double arithmetic, one voxel at a time, one thread).
    public static func sumReference(_ quantity: DoseQuantity, _ terms: [CompositeTerm], alphaBeta: AlphaBetaField,
                                    linearAboveGy: Double? = nil, into out: UnsafeMutableBufferPointer<Float>) {
        scalarRange(quantity, terms, alphaBeta, linearAboveGy, out.baseAddress!, 0..<out.count)
    }

    /// Bytes moved by `sum` per call (reads of every course and the α/β map, one write),
    /// for bandwidth figures.
    public static func bytesMoved(voxels: Int, courses: Int, hasMap: Bool) -> Int {
        voxels * MemoryLayout<Float>.size * (courses + (hasMap ? 1 : 0) + 1)
    }

    @usableFromInline
    struct RawTerm {
        var dose: UnsafePointer<Float>
        var fractions: Float
        var invFractions: Float
        var weight: Float
    }

    /// Voxels `range` into `out[0..<range.count]`.
    static func scalarRange(_ quantity: DoseQuantity, _ terms: [CompositeTerm], _ ab: AlphaBetaField,
                            _ dT: Double?, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        for v in range {
            let a = ab.value(at: v)
            var acc = 0.0
            for t in terms {
                let d = Double(t.dose[v])
                switch quantity {
                case .physical:
                    acc += (t.recovery.linearWeight ?? 1) * d
                case .bed, .eqd2:
                    let bed = t.recovery.effectiveBED(Radiobiology.bed(totalGy: d, fractions: t.fractions, alphaBeta: a, linearAboveGy: dT), alphaBeta: a)
                    acc += quantity == .bed ? bed : Radiobiology.eqd2(fromBED: bed, alphaBeta: a)
                }
            }
            out[v - range.lowerBound] = Float(acc)
        }
    }

    /// SIMD8 over `range` into `out[0..<range.count]`; the tail (< 8 voxels) is done lane
    /// by lane with the same formula.
    static func simdRange(_ quantity: DoseQuantity, _ terms: UnsafeBufferPointer<RawTerm>, _ ab: AlphaBetaField,
                          _ dT: Float?, _ out: UnsafeMutablePointer<Float>, _ range: Range<Int>) {
        let o = out, first = range.lowerBound
        let uniformAB: Float
        let map: UnsafePointer<Float>?
        switch ab {
        case .uniform(let a): uniformAB = Float(a); map = nil
        case .map(let m): uniformAB = 0; map = m.baseAddress!
        }
        let linear = dT != nil
        let dTv = SIMD8<Float>(repeating: dT ?? 0)
        let twoDT = dTv * 2
        var v = range.lowerBound
        let end = range.upperBound
        @inline(__always) func load(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
            UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        }
        // The quadratic (or LQ-L) excess of BED over D, times α/β: t = D²/n, or
        // 2·d_T·D − n·d_T² above the transition.
        @inline(__always) func excess(_ D: SIMD8<Float>, _ t: RawTerm) -> SIMD8<Float> {
            let quad = D * D * t.invFractions
            guard linear else { return quad }
            let lin = twoDT * D - dTv * dTv * t.fractions
            return quad.replacing(with: lin, where: D .> dTv * t.fractions)
        }
        while v + 8 <= end {
            var acc = SIMD8<Float>(repeating: 0)
            switch quantity {
            case .physical:
                for t in terms { acc += load(t.dose, v) * t.weight }
            case .bed:
                if let map {
                    let a = load(map, v)
                    for t in terms { let D = load(t.dose, v); acc += (D + excess(D, t) / a) * t.weight }
                } else {
                    let inv = 1 / uniformAB
                    for t in terms { let D = load(t.dose, v); acc += (D + excess(D, t) * inv) * t.weight }
                }
            case .eqd2:
                if let map {
                    let a = load(map, v)
                    var s = SIMD8<Float>(repeating: 0)
                    for t in terms { let D = load(t.dose, v); s += (D * a + excess(D, t)) * t.weight }
                    acc = s / (a + 2)
                } else {
                    let inv = 1 / uniformAB, k = uniformAB / (uniformAB + 2)
                    for t in terms { let D = load(t.dose, v); acc += (D + excess(D, t) * inv) * t.weight }
                    acc *= k
                }
            }
            UnsafeMutableRawPointer(o + (v &- first)).storeBytes(of: acc, as: SIMD8<Float>.self)
            v += 8
        }
        while v < end {
            let a = map.map { Double($0[v]) } ?? Double(uniformAB)
            var acc = 0.0
            for t in terms {
                let D = Double(t.dose[v])
                let q = Radiobiology.convert(quantity, totalGy: D, fractions: Int(t.fractions), alphaBeta: a, linearAboveGy: dT.map(Double.init))
                acc += q * Double(t.weight)
            }
            o[v &- first] = Float(acc)
            v += 1
        }
    }
}
