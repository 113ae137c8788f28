import VoxelKit

/// The evaluated dose as the gamma search sees it: its voxels, its lattice, and the
/// metric of its index space in units of the distance criterion.
///
/// Geometry: the search runs in the evaluated grid's continuous index space
/// (i, j, k), whose axes are the grid's direction cosines (required orthonormal, so the
/// metric is diagonal): a step of one index along axis a is `spacing[a]` mm, i.e.
/// `weight[a] = (spacing[a] / Δd)²` in squared units of the distance criterion Δd.
/// Domain: the DoseField edge rule — trilinear between voxel centres, the nearest
/// face's value out to half a voxel beyond the outermost centres, nothing further out;
/// the searched box is [−½, n−½] along every axis.
public struct GammaSearchSpace: @unchecked Sendable {
    public let dose: UnsafeBufferPointer<Float>
    public let size: SIMD3<Int>
    /// (spacing / Δd)² per index axis.
    public let weight: SIMD3<Double>
    /// √weight: index units → units of Δd.
    public let root: SIMD3<Double>

    public init(dose: UnsafeBufferPointer<Float>, size: SIMD3<Int>, spacingMM: SIMD3<Double>, distanceMM: Double) {
        precondition(dose.count == size.x * size.y * size.z, "dose has \(dose.count) voxels for \(size)")
        self.dose = dose
        self.size = size
        root = spacingMM / distanceMM
        weight = root * root
    }

    /// Lower and upper edges of the searched domain, index units.
    public var domainLow: SIMD3<Double> { SIMD3(repeating: -0.5) }
    public var domainHigh: SIMD3<Double> { SIMD3<Double>(Double(size.x), Double(size.y), Double(size.z)) - 0.5 }

    /// Whether a continuous index lies in the searched domain.
    public func contains(_ x: SIMD3<Double>) -> Bool {
        all(x .>= domainLow) && all(x .<= domainHigh)
    }
}

/// An axis-aligned box of the evaluated index space inside one trilinear cell, with the
/// scaled dose (dose / ΔD) at its 8 corners: lane b has bit 0 set for the high-i corner,
/// bit 1 for high j, bit 2 for high k.
public struct GammaBox: Sendable {
    public var lo: SIMD3<Double>
    public var hi: SIMD3<Double>
    public var corners: SIMD8<Double>
    public var depth: Int
}

/// The outcome of the search at one reference point.
public struct GammaPointResult: Sendable, Equatable {
    /// The smallest Γ² found: the Γ² of an actual evaluated point, so never below the true
    /// minimum; `maxGamma²` when nothing within reach was found.
    public var gammaSquared: Double
    /// Whether `gammaSquared` belongs to a point found (false: γ > max-gamma).
    public var attained: Bool
    /// A rigorous lower bound of the true Γ² (≤ `gammaSquared`).
    public var lowerBound: Double
    /// Whether pass/fail is undecided: the depth or work limit stopped the search while a
    /// box that might hold γ ≤ 1 remained and no γ ≤ 1 had been found.
    public var undecided: Bool
    /// Boxes examined (cells and sub-boxes), for cost figures.
    public var nodes: Int
    /// Where `gammaSquared` was found (continuous evaluated index); meaningless unless `attained`.
    public var argmin: SIMD3<Double>
}

/// The gamma search at one reference point: Γ² = min over x of |x − r|²/Δd² + (De(x) − Dr)²/ΔD²,
/// exact for the trilinear interpolation De of the evaluated dose, by branch and bound.
///
/// Maths. Work in the evaluated grid's index space with the metric of `GammaSearchSpace`
/// and dose scaled by 1/ΔD (τ = De/ΔD, δ = Dr/ΔD), so f(x) = Σ wₐ(xₐ − ρₐ)² + (τ(x) − δ)².
/// Over an axis-aligned box B inside one cell, τ is multilinear, so
/// 1. its minimum and maximum over B are among the 8 corner values: with
///    d²(B) = Σ wₐ·dist(ρₐ, [loₐ, hiₐ])² and the gap of δ to [min τ, max τ],
///    L₁ = d²(B) + gap² ≤ min_B f (first-order tight: error O(size));
/// 2. in local coordinates t ∈ [−1, 1]³, τ = k₀ + Σ kₐtₐ + k_ij t_i t_j + k_ijk t_i t_j t_k
///    (the Walsh transform of the corners), so |τ − ℓ| ≤ R = |k_ij| + |k_ik| + |k_jk| + |k_ijk|
///    with ℓ the linear part; hence f ≥ g = Σ wₐ(xₐ − ρₐ)² + max(0, |ℓ(x) − δ| − R)², a convex
///    function, and for any x₀ ∈ B, min_B g ≥ g(x₀) + min_{x∈B} ∇g(x₀)·(x − x₀) = L₂
///    (a supporting plane, minimised at the box corners). x₀ is the minimiser of g's
///    smooth piece over B by an active-set projection (3 rounds); when that is right, L₂ is
///    min_B g, within O(R) = O(size²) of min_B f (second-order tight).
/// Each box's lower bound is max(L₁, L₂); f(x₀) (τ from the corners) is an upper bound
/// U. Boxes are pruned when L ≥ U, or when √L ≥ √U − ε unless that could change pass
/// or fail (U > 1 and L ≤ 1); otherwise split in two across their longest side (in units
/// of Δd), depth first, nearer half first. Cells are visited outwards from the reference
/// point along each axis, stopping where the axis distance alone reaches U (the reach
/// shrinks as U falls: reach = min(γ found, max-gamma)·Δd). Result: √U − ε ≤ γ ≤ √U, and
/// pass (γ ≤ 1, judged on U) is exact unless a box hit the depth limit `maxDepth` or the
/// point the work limit `nodeBudget` (`undecided`).
///
/// Cost: one box costs ~150 flops (8 corner reductions, a rank-one projection, one
/// multilinear evaluation) and no memory beyond the 8 corners; a point visits the ≤ (2·reach/cell + 1)³
/// cells within reach (≈ 8–27 at 1–2 mm on a 2.5 mm grid) and O(log 1/ε) boxes in
/// each cell near the minimum. Memory: a depth-first stack of `stackCapacity` boxes,
/// supplied by the caller (no allocation per point).
public enum GammaKernel {
    /// Largest number of halvings of a cell.
    public static let maxDepth = 48
    /// Boxes one point may examine before the search stops (undecided if it mattered).
    public static let nodeBudget = 200_000
    /// Boxes the caller's stack must hold.
    public static let stackCapacity = maxDepth + 4

    static let sx = SIMD8<Double>(-1, 1, -1, 1, -1, 1, -1, 1)
    static let sy = SIMD8<Double>(-1, -1, 1, 1, -1, -1, 1, 1)
    static let sz = SIMD8<Double>(-1, -1, -1, -1, 1, 1, 1, 1)
    static let sxy = sx * sy, sxz = sx * sz, syz = sy * sz, sxyz = sx * sy * sz

    /// The search state shared by the cells of one point.
    struct State {
        var u: Double
        var attained = false
        var argmin = SIMD3<Double>(repeating: 0)
        var lowest = Double.infinity
        /// The lowest bound of a box dropped at a limit.
        var limitedLowest = Double.infinity
        var nodes = 0
        let epsilon: Double

        init(maxGamma: Double, epsilon: Double) {
            u = maxGamma * maxGamma
            self.epsilon = epsilon
        }

        /// Whether a box whose lower bound is `l` can be dropped.
        @inline(__always) func prunable(_ l: Double) -> Bool {
            if l >= u { return true }
            let g = u.squareRoot()
            let t = g > epsilon ? (g - epsilon) * (g - epsilon) : 0
            return l >= t && (u <= 1 || l > 1)
        }

        /// Records a dropped box (pruned below U or stopped by a limit).
        @inline(__always) mutating func drop(_ l: Double, limited: Bool) {
            if l < u { lowest = min(lowest, l) }
            if limited { limitedLowest = min(limitedLowest, l) }
        }
    }

    /// γ² at one reference point: `rho` its continuous index in the evaluated grid,
    /// `targetGy` its dose Dr, `inverseCriterionGy` 1/ΔD (ΔD in Gy), `maxGamma` the
    /// largest γ searched for, `epsilon` the tolerance on γ. `stack` must hold
    /// `stackCapacity` boxes.
    public static func search(_ space: GammaSearchSpace, at rho: SIMD3<Double>, targetGy: Double, inverseCriterionGy: Double,
                              maxGamma: Double, epsilon: Double, stack: UnsafeMutablePointer<GammaBox>) -> GammaPointResult {
        var state = State(maxGamma: maxGamma, epsilon: epsilon)
        let delta = targetGy * inverseCriterionGy
        let n = space.size
        let lo = space.domainLow, hi = space.domainHigh
        let start = vmin(vmax(rho, lo), hi)
        // Cell c spans [c, c+1] ∩ [−½, n−½], c ∈ [−1, n−1].
        func cellOf(_ x: Double, _ count: Int) -> Int { min(max(Int(x.rounded(.down)), -1), count - 1) }
        let c0 = SIMD3(cellOf(start.x, n.x), cellOf(start.y, n.y), cellOf(start.z, n.z))
        @inline(__always) func axisGap(_ c: Int, _ a: Int) -> Double {
            let l = max(Double(c), -0.5), h = min(Double(c + 1), Double(n[a]) - 0.5)
            let d = dmax(dmax(l - rho[a], 0), rho[a] - h)
            return space.weight[a] * d * d
        }
        outward(c0.z, n.z) { ck in
            let dz = axisGap(ck, 2)
            guard dz < state.u else { return false }
            outward(c0.y, n.y) { cj in
                let dy = dz + axisGap(cj, 1)
                guard dy < state.u else { return false }
                outward(c0.x, n.x) { ci in
                    guard dy + axisGap(ci, 0) < state.u else { return false }
                    searchCell(space, SIMD3(ci, cj, ck), rho, delta, inverseCriterionGy, &state, stack)
                    return true
                }
                return true
            }
            return true
        }
        return GammaPointResult(gammaSquared: state.u, attained: state.attained, lowerBound: min(state.u, state.lowest),
                                undecided: state.limitedLowest <= 1 && state.u > 1, nodes: state.nodes, argmin: state.argmin)
    }

    /// Calls `body` on cells c0, c0+1, … up to count−1 until it returns false, then on
    /// c0−1, c0−2, … down to −1 likewise (each direction stops at its first false).
    @inline(__always)
    static func outward(_ c0: Int, _ count: Int, _ body: (Int) -> Bool) {
        var c = c0
        while c <= count - 1 { if !body(c) { break }; c += 1 }
        c = c0 - 1
        while c >= -1 { if !body(c) { break }; c -= 1 }
    }

    /// Branch and bound inside one cell, depth first.
    @inline(__always)
    static func searchCell(_ space: GammaSearchSpace, _ cell: SIMD3<Int>, _ rho: SIMD3<Double>, _ delta: Double, _ scale: Double,
                           _ state: inout State, _ stack: UnsafeMutablePointer<GammaBox>) {
        stack[0] = rootBox(space, cell, scale)
        var top = 1
        while top > 0 {
            top -= 1
            let box = stack[top]
            state.nodes += 1
            let l1 = firstOrderBound(box, rho, space.weight, delta)
            if state.prunable(l1) { state.drop(l1, limited: false); continue }
            let (l2, x0, f0) = secondOrderBound(box, rho, space, delta)
            if f0 < state.u { state.u = f0; state.attained = true; state.argmin = x0 }
            let l = max(l1, l2)
            if state.prunable(l) { state.drop(l, limited: false); continue }
            if box.depth >= maxDepth || state.nodes >= nodeBudget { state.drop(l, limited: true); continue }
            split(box, space.root, x0, into: stack + top)
            top += 2
        }
    }

    /// The cell's box and its corner doses (scaled by `scale` = 1/ΔD). Half-cells at the
    /// domain's faces repeat the face values (i0 == i1), as the edge rule says.
    @inline(__always)
    static func rootBox(_ space: GammaSearchSpace, _ cell: SIMD3<Int>, _ scale: Double) -> GammaBox {
        let n = space.size
        let lo = vmax(SIMD3<Double>(Double(cell.x), Double(cell.y), Double(cell.z)), space.domainLow)
        let hi = vmin(SIMD3<Double>(Double(cell.x + 1), Double(cell.y + 1), Double(cell.z + 1)), space.domainHigh)
        let i0 = max(cell.x, 0), i1 = min(cell.x + 1, n.x - 1)
        let j0 = max(cell.y, 0), j1 = min(cell.y + 1, n.y - 1)
        let k0 = max(cell.z, 0), k1 = min(cell.z + 1, n.z - 1)
        let v = space.dose.baseAddress!
        let sxy = n.x * n.y
        let r00 = k0 * sxy + j0 * n.x, r10 = k0 * sxy + j1 * n.x, r01 = k1 * sxy + j0 * n.x, r11 = k1 * sxy + j1 * n.x
        let c = SIMD8<Double>(Double(v[r00 + i0]), Double(v[r00 + i1]), Double(v[r10 + i0]), Double(v[r10 + i1]),
                              Double(v[r01 + i0]), Double(v[r01 + i1]), Double(v[r11 + i0]), Double(v[r11 + i1]))
        return GammaBox(lo: lo, hi: hi, corners: c * scale, depth: 0)
    }

    /// L₁ = d²(ρ, box) + gap(δ, [min corner, max corner])².
    @inline(__always)
    static func firstOrderBound(_ b: GammaBox, _ rho: SIMD3<Double>, _ w: SIMD3<Double>, _ delta: Double) -> Double {
        let d = vmax(vmax(b.lo - rho, rho - b.hi), SIMD3(repeating: 0))
        let gap = dmax(dmax(lowest(b.corners) - delta, delta - highest(b.corners)), 0)
        return (w * d * d).sum() + gap * gap
    }

    /// L₂ (the supporting-plane bound of the convex minorant g), the point x₀ it was taken
    /// at, and f(x₀) (an attained Γ²).
    @inline(__always)
    static func secondOrderBound(_ b: GammaBox, _ rho: SIMD3<Double>, _ space: GammaSearchSpace, _ delta: Double)
        -> (Double, SIMD3<Double>, Double) {
        let c = b.corners
        let k0 = c.sum() * 0.125
        let k = SIMD3((c * sx).sum(), (c * sy).sum(), (c * sz).sum()) * 0.125
        let kxy = (c * sxy).sum() * 0.125, kxz = (c * sxz).sum() * 0.125
        let kyz = (c * syz).sum() * 0.125, kxyz = (c * sxyz).sum() * 0.125
        let r = abs(kxy) + abs(kxz) + abs(kyz) + abs(kxyz)
        let m = (b.lo + b.hi) * 0.5, s = (b.hi - b.lo) * 0.5
        let grad = k / s
        let w = space.weight
        let x0 = minimiser(b, rho, space.root, grad, k0 + (grad * (rho - m)).sum() - delta, r)
        // g and its gradient at x0.
        let v0 = k0 + (grad * (x0 - m)).sum() - delta
        let h = v0 > 0 ? dmax(0, v0 - r) : dmin(0, v0 + r)
        let dx = x0 - rho
        let g0 = (w * dx * dx).sum() + h * h
        let dg = 2 * w * dx + 2 * h * grad
        let l2 = g0 + vmin(dg * (b.lo - x0), dg * (b.hi - x0)).sum()
        // f at x0: the multilinear τ from the Walsh coefficients.
        let t = (x0 - m) / s
        let tau = k0 + (k * t).sum() + kxy * t.x * t.y + kxz * t.x * t.z + kyz * t.y * t.z + kxyz * t.x * t.y * t.z
        let e = tau - delta
        return (l2, x0, (w * dx * dx).sum() + e * e)
    }

    /// The exact minimiser over the box of Σ wₐ(xₐ − ρₐ)² + (ℓ(x) − δ ∓ R)² (the smooth piece
    /// of g on the side of δ that ℓ lies at the point of the box nearest ρ). In
    /// z = √w·(x − ρ) the piece is |z|² + (H·z + β)²; at its minimum over the box
    /// [a, b], zₐ = clamp(−t·Hₐ, aₐ, bₐ) with t = H·z + β, so t solves
    /// φ(t) = t − β − Σ Hₐ·clamp(−t·Hₐ, aₐ, bₐ) = 0. φ is increasing and linear between
    /// the ≤ 6 breakpoints t = −aₐ/Hₐ, −bₐ/Hₐ (slope 1 beyond them all), so the root is
    /// found exactly on the segment where φ changes sign.
    /// `beta0` is ℓ(ρ) − δ; `grad` is ℓ's gradient per index unit.
    @inline(__always)
    static func minimiser(_ b: GammaBox, _ rho: SIMD3<Double>, _ q: SIMD3<Double>, _ grad: SIMD3<Double>,
                          _ beta0: Double, _ r: Double) -> SIMD3<Double> {
        let p = vmin(vmax(rho, b.lo), b.hi)
        let vp = beta0 + (grad * (p - rho)).sum()
        if abs(vp) <= r { return p }
        let beta = beta0 - (vp > 0 ? r : -r)
        let h = grad / q
        let za = (b.lo - rho) * q, zb = (b.hi - rho) * q
        @inline(__always) func z(_ t: Double) -> SIMD3<Double> { vmin(vmax(-t * h, za), zb) }
        @inline(__always) func phi(_ t: Double) -> Double { t - beta - (h * z(t)).sum() }
        // Breakpoints, sorted (insertion sort of at most 6).
        var bp = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        var count = 0
        withUnsafeMutableBytes(of: &bp) { raw in
            let t = raw.baseAddress!.assumingMemoryBound(to: Double.self)
            @inline(__always) func insert(_ e: Double) {
                var k = count
                while k > 0 && t[k - 1] > e { t[k] = t[k - 1]; k -= 1 }
                t[k] = e
                count += 1
            }
            for a in 0..<3 where h[a] != 0 {
                insert(-za[a] / h[a])
                insert(-zb[a] / h[a])
            }
        }
        let root: Double = withUnsafeBytes(of: &bp) { raw in
            let t = raw.baseAddress!.assumingMemoryBound(to: Double.self)
            guard count > 0 else { return beta }
            var prev = t[0], fPrev = phi(prev)
            if fPrev >= 0 { return prev - fPrev }          // slope 1 below the first breakpoint
            for k in 1..<count {
                let f = phi(t[k])
                if f >= 0 { return f > fPrev ? prev - fPrev * (t[k] - prev) / (f - fPrev) : t[k] }
                prev = t[k]; fPrev = f
            }
            return prev - fPrev                             // slope 1 beyond the last
        }
        return vmin(vmax(rho + z(root) / q, b.lo), b.hi)
    }

    /// The two halves of a box across its longest side in units of Δd, written to
    /// `out[0]` (the far half) and `out[1]` (the near half, holding `x0`, examined first).
    @inline(__always)
    static func split(_ b: GammaBox, _ q: SIMD3<Double>, _ x0: SIMD3<Double>, into out: UnsafeMutablePointer<GammaBox>) {
        let len = (b.hi - b.lo) * q
        let a = len.x >= len.y && len.x >= len.z ? 0 : (len.y >= len.z ? 1 : 2)
        let c = b.corners
        let partner: SIMD8<Double>
        let high: SIMDMask<SIMD8<Int64>>
        switch a {
        case 0:
            partner = SIMD8(c[1], c[0], c[3], c[2], c[5], c[4], c[7], c[6])
            high = SIMD8<Int64>(0, 1, 0, 1, 0, 1, 0, 1) .== 1
        case 1:
            partner = SIMD8(c[2], c[3], c[0], c[1], c[6], c[7], c[4], c[5])
            high = SIMD8<Int64>(0, 0, 1, 1, 0, 0, 1, 1) .== 1
        default:
            partner = SIMD8(c[4], c[5], c[6], c[7], c[0], c[1], c[2], c[3])
            high = SIMD8<Int64>(0, 0, 0, 0, 1, 1, 1, 1) .== 1
        }
        let mid = (c + partner) * 0.5
        let cut = (b.lo[a] + b.hi[a]) * 0.5
        var lowerHi = b.hi, upperLo = b.lo
        lowerHi[a] = cut
        upperLo[a] = cut
        let lower = GammaBox(lo: b.lo, hi: lowerHi, corners: c.replacing(with: mid, where: high), depth: b.depth + 1)
        let upper = GammaBox(lo: upperLo, hi: b.hi, corners: c.replacing(with: mid, where: .!high), depth: b.depth + 1)
        let nearLower = x0[a] <= cut
        out[0] = nearLower ? upper : lower
        out[1] = nearLower ? lower : upper
    }

    /// The plain brute-force twin: min of f over a lattice of step 1/`stepsPerVoxel` index
    /// units (voxel centres included) within the domain and within `maxGamma`·Δd of ρ, each
    /// value through `DoseField.trilinear`; returns γ = min(√min f, maxGamma). Never below
    /// the true γ (a sampled point's value); above it by at most the change of f over half a
    /// lattice step. One thread, no pruning: O((2·reach·steps)³) per point, for tests.
    public static func bruteForce(_ space: GammaSearchSpace, at rho: SIMD3<Double>, targetGy: Double, criterionGy: Double,
                                  maxGamma: Double, stepsPerVoxel: Int) -> Double {
        let n = space.size
        let step = 1 / Double(stepsPerVoxel)
        let reach = maxGamma / space.root
        let lo = vmax(rho - reach, space.domainLow), hi = vmin(rho + reach, space.domainHigh)
        guard all(lo .<= hi) else { return maxGamma }
        func range(_ a: Int) -> ClosedRange<Int> {
            Int((lo[a] / step).rounded(.up))...Int((hi[a] / step).rounded(.down))
        }
        var best = maxGamma * maxGamma
        let (rx, ry, rz) = (range(0), range(1), range(2))
        guard !rx.isEmpty, !ry.isEmpty, !rz.isEmpty else { return maxGamma }
        for mk in rz { for mj in ry { for mi in rx {
            let x = SIMD3(Double(mi), Double(mj), Double(mk)) * step
            guard let d = DoseField.trilinear(space.dose.baseAddress!, n, x)?.value else { continue }
            let dx = x - rho
            let e = (d - targetGy) / criterionGy
            best = min(best, (space.weight * dx * dx).sum() + e * e)
        } } }
        return min(best.squareRoot(), maxGamma)
    }
}

// Component-wise helpers written out, so that they inline in the kernel (the generic
// `pointwiseMin`, `SIMD.min()` and even `Swift.max` were calls in the profile).
@inline(__always) func dmin(_ a: Double, _ b: Double) -> Double { a < b ? a : b }
@inline(__always) func dmax(_ a: Double, _ b: Double) -> Double { a > b ? a : b }
@inline(__always) func vmin(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(dmin(a.x, b.x), dmin(a.y, b.y), dmin(a.z, b.z))
}
@inline(__always) func vmax(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(dmax(a.x, b.x), dmax(a.y, b.y), dmax(a.z, b.z))
}
@inline(__always) func lowest(_ c: SIMD8<Double>) -> Double {
    dmin(dmin(dmin(c[0], c[1]), dmin(c[2], c[3])), dmin(dmin(c[4], c[5]), dmin(c[6], c[7])))
}
@inline(__always) func highest(_ c: SIMD8<Double>) -> Double {
    dmax(dmax(dmax(c[0], c[1]), dmax(c[2], c[3])), dmax(dmax(c[4], c[5]), dmax(c[6], c[7])))
}
