import VoxelKit

/// The lower envelope along w of a stack of slab fields: the squared gauge distance to a
/// union of slabs, on many planes at once.
///
/// Maths: slabs p with extents [a_p, b_p] each carry, per lattice column c, a value G_p(c)
/// (an in-plane squared gauge; `outsideValue` beyond the slab's window). On a plane w the
/// gauge² to the stack is
///
///     f(c, w) = min_p G_p(c) + τ_p(w),   τ_p = 0 for a_p ≤ w ≤ b_p,
///               ((w − b_p) / r₊)² above the slab,  ((a_p − w) / r₋)² below it,
///
/// which is exact for octant bodies (their in-plane and w parts separate). Only values
/// below `limit` are wanted exactly, so a slab enters plane w only when τ_p(w) < limit:
/// the slabs within r√limit of the plane along w. The kernel works row by row: each slab's
/// row of G is read once and min-added (G + τ) into the rows of the planes it reaches,
/// a plain vectorised loop over columns, with the planes' rows kept in cache.
/// - Complexity: O(cells × Σ_planes slabs within reach) — linear in the reach along w
///   (r√limit / slab thickness), independent of the number of edges; memory traffic is
///   one read of every slab field. The scalar twin `reference` measures every slab at
///   every plane. Rows are split over cores (`Parallel`); the result does not depend on
///   the split.
enum SlabEnvelope {
    struct Slab {
        var lo: Double
        var hi: Double
        var window: CellWindow
        /// window.count values, row-major.
        var values: UnsafePointer<Float>
    }

    /// Writes f(c, w_q) for every lattice cell c and query q into `out[q * lattice.count + c]`.
    /// Values below `limit` are exact (to Float rounding); a value at or above it only says
    /// so (+∞ where no slab reaches).
    /// - Parameters: `radiusAbove` r₊ for slabs below w (w − b_p > 0), `radiusBelow` r₋
    ///   for slabs above w; a zero radius reaches only the slabs holding w.
    static func evaluate(_ slabs: [Slab], lattice: CellLattice, outsideValue: Float, queries: [Double], limit: Float,
                         radiusAbove: Double, radiusBelow: Double, into out: UnsafeMutablePointer<Float>) {
        let n = lattice.count
        evaluate(slabs, lattice: lattice, outsideValue: outsideValue, queries: queries, limit: limit, radiusAbove: radiusAbove,
                 radiusBelow: radiusBelow, planes: queries.indices.map { out + $0 * n })
    }

    /// `evaluate` into one buffer of `lattice.count` values per query (`planes[q]`), such
    /// as the callers' own output planes (no intermediate copy).
    static func evaluate(_ slabs: [Slab], lattice: CellLattice, outsideValue: Float, queries: [Double], limit: Float,
                         radiusAbove: Double, radiusBelow: Double, planes: [UnsafeMutablePointer<Float>]) {
        let Q = queries.count, nu = lattice.nu
        precondition(planes.count == Q, "one plane per query")
        guard Q > 0 else { return }
        // Per slab, the planes it reaches and τ there.
        let reach: [[(q: Int, tau: Float)]] = slabs.map { s in
            queries.enumerated().compactMap { q, w in
                let off = w > s.hi ? w - s.hi : (w < s.lo ? s.lo - w : 0)
                let r = w > s.hi ? radiusAbove : radiusBelow
                let tau = off == 0 ? 0 : (r > 0 ? (off / r) * (off / r) : .infinity)
                return tau < Double(limit) ? (q, Float(tau)) : nil
            }
        }
        Parallel.forEachChunk(lattice.nv) { _, rows in
            for j in rows {
                for q in 0..<Q {
                    let f = planes[q] + j * nu
                    for i in 0..<nu { f[i] = .infinity }
                }
                for (p, s) in slabs.enumerated() where !reach[p].isEmpty {
                    let wj = j - s.window.j0
                    let covers = wj >= 0 && wj < s.window.nj
                    let i0 = covers ? s.window.i0 : nu, i1 = covers ? s.window.i0 + s.window.ni : nu
                    let g = s.values + (covers ? wj * s.window.ni - s.window.i0 : 0)
                    for (q, tau) in reach[p] {
                        let f = planes[q] + j * nu
                        // `x < y ? x : y` (not `min`, which orders NaNs) vectorises to minps.
                        for i in i0..<i1 { let x = g[i] + tau; f[i] = x < f[i] ? x : f[i] }
                        // Beyond the window: the slab's outside value (+∞ for growth: nothing).
                        if outsideValue.isFinite {
                            let v = outsideValue + tau
                            for i in 0..<i0 { f[i] = v < f[i] ? v : f[i] }
                            for i in i1..<nu { f[i] = v < f[i] ? v : f[i] }
                        }
                    }
                }
            }
        }
    }

    /// Plain reference: every slab at every plane, f = min_p G_p + τ_p(w).
    static func reference(_ slabs: [Slab], lattice: CellLattice, outsideValue: Float, queries: [Double],
                          radiusAbove: Double, radiusBelow: Double) -> [Float] {
        var out = [Float](repeating: .infinity, count: queries.count * lattice.count)
        for (q, w) in queries.enumerated() {
            for j in 0..<lattice.nv {
                for i in 0..<lattice.nu {
                    var best = Double.infinity
                    for s in slabs {
                        let wi = i - s.window.i0, wj = j - s.window.j0
                        let inWindow = wi >= 0 && wj >= 0 && wi < s.window.ni && wj < s.window.nj
                        let v = Double(inWindow ? s.values[wj * s.window.ni + wi] : outsideValue)
                        let off = w < s.lo ? s.lo - w : (w > s.hi ? w - s.hi : 0)
                        let r = w > s.hi ? radiusAbove : radiusBelow
                        let tau = off == 0 ? 0 : (r > 0 ? (off / r) * (off / r) : .infinity)
                        best = min(best, v + tau)
                    }
                    out[q * lattice.count + j * lattice.nu + i] = Float(best)
                }
            }
        }
        return out
    }
}
