import Base
/// Exact in-plane fields of a set of polygons on a cell lattice: which cell centres are
/// inside (even-odd), and the squared gauge distance from each cell centre to the
/// polygons' boundary ("edge splatting").
///
/// The gauge is the quadrant-elliptic one of a `FrameRadii`: for a displacement
/// D = x − y, g(D)² = (D_u / r_u±)² + (D_v / r_v±)², the semi-axis chosen by the sign of
/// each component. With all radii r it is |D|² / r². Its unit ball is convex (quarter
/// ellipses meeting with common tangents on the axes), so the gauge from an outside
/// point to a polygon region is attained on the boundary, and the gauge to a segment
/// is the minimum of at most three quadratics in the segment parameter (split where a
/// component of D changes sign), each minimised in closed form: exact.
public enum PlaneField {
    /// 1 where the centre of cell (i, j) is inside the even-odd union of `polygons`.
    /// - Complexity: O(Σ edges × rows crossed + cells).
    public static func insideMask(_ polygons: [[SIMD2<Double>]], lattice: CellLattice) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: lattice.count)
        var crossings = [[Double]](repeating: [], count: lattice.nv)
        let h = lattice.h
        for poly in polygons where poly.count >= 3 {
            for n in poly.indices {
                let a = poly[n], b = poly[(n + 1) % poly.count]
                if a.y == b.y { continue }
                let lo = min(a.y, b.y), hi = max(a.y, b.y)
                // Rows whose centre vc satisfies lo <= vc < hi (half-open: vertices counted once).
                // The index range is widened by one row each way and the test below decides:
                // a vertex exactly on a row centre (traced contours have many) must be
                // counted by exactly one of its two edges, which rounding in the index
                // arithmetic alone does not guarantee.
                let j0 = max(0, Checked.clamped(((lo - lattice.v0) / h - 0.5).rounded(.down)) - 1)
                let j1 = min(lattice.nv - 1, Checked.clamped(((hi - lattice.v0) / h - 0.5).rounded(.up)) + 1)
                if j0 > j1 { continue }
                for j in j0...j1 {
                    let vc = lattice.v0 + (Double(j) + 0.5) * h
                    if vc < lo || vc >= hi { continue }
                    crossings[j].append(a.x + (vc - a.y) * (b.x - a.x) / (b.y - a.y))
                }
            }
        }
        out.withUnsafeMutableBufferPointer { o in
            for j in 0..<lattice.nv where crossings[j].count >= 2 {
                let xs = crossings[j].sorted()
                var k = 0
                while k + 1 < xs.count {
                    // Centres uc with xs[k] <= uc < xs[k+1].
                    let i0 = max(0, Checked.clamped(((xs[k] - lattice.u0) / h - 0.5).rounded(.up)))
                    let i1 = min(lattice.nu - 1, Checked.clamped(((xs[k + 1] - lattice.u0) / h - 0.5).rounded(.up)) - 1)
                    if i0 <= i1 { for i in i0...i1 { o[j * lattice.nu + i] = 1 } }
                    k += 2
                }
            }
        }
        return out
    }

    /// Squared gauge from each cell centre to the nearest boundary point of `polygons`,
    /// for the cells within `reachMM` (Euclidean) of some edge's bounding box; +∞ elsewhere.
    /// - Complexity: O(Σ edges × cells within reach of the edge).
    public static func boundaryGauge2(_ polygons: [[SIMD2<Double>]], lattice: CellLattice, radii: FrameRadii, reachMM: Double) -> [Float] {
        var out = [Float](repeating: .infinity, count: lattice.count)
        out.withUnsafeMutableBufferPointer { o in
            splat(polygons, lattice: lattice, radii: radii, reachMM: reachMM, into: o)
        }
        return out
    }

    /// The lattice cells whose centres lie within `reachMM` of the bounding box of segment
    /// [a, b] (index ranges i0...i1, j0...j1), or nil when none does.
    @inline(__always)
    static func cellsNear(_ a: SIMD2<Double>, _ b: SIMD2<Double>, reachMM: Double, lattice: CellLattice) -> (Int, Int, Int, Int)? {
        let inv = 1 / lattice.h
        let i0 = max(0, Checked.clamped(((min(a.x, b.x) - reachMM - lattice.u0) * inv - 0.5).rounded(.up)))
        let i1 = min(lattice.nu - 1, Checked.clamped(((max(a.x, b.x) + reachMM - lattice.u0) * inv - 0.5).rounded(.down)))
        let j0 = max(0, Checked.clamped(((min(a.y, b.y) - reachMM - lattice.v0) * inv - 0.5).rounded(.up)))
        let j1 = min(lattice.nv - 1, Checked.clamped(((max(a.y, b.y) + reachMM - lattice.v0) * inv - 0.5).rounded(.down)))
        return i0 > i1 || j0 > j1 ? nil : (i0, i1, j0, j1)
    }

    /// The kernel of `boundaryGauge2`: min-reduces into `out`.
    public static func splat(_ polygons: [[SIMD2<Double>]], lattice: CellLattice, radii: FrameRadii, reachMM: Double,
                             into out: UnsafeMutableBufferPointer<Float>) {
        let h = lattice.h
        let uniform = radii.isUniform
        let r0 = max(radii.uPlus, 1e-3)
        let invR2 = 1 / (r0 * r0)
        // Radii below a micrometre are taken as a micrometre (a zero margin in a direction).
        let ru = (max(radii.uPlus, 1e-3), max(radii.uMinus, 1e-3))
        let rv = (max(radii.vPlus, 1e-3), max(radii.vMinus, 1e-3))
        let nu = lattice.nu
        for poly in polygons where poly.count >= 2 {
            for n in poly.indices {
                let a = poly[n], b = poly[(n + 1) % poly.count]
                guard let (i0, i1, j0, j1) = cellsNear(a, b, reachMM: reachMM, lattice: lattice) else { continue }
                let e = b - a
                let ee = (e * e).sum()
                if uniform {
                    // A plain loop over raw memory (no generic SIMD helpers, which do not
                    // inline here): the point–segment distance per cell.
                    let invEE = ee > 0 ? 1 / ee : 0
                    let base = out.baseAddress!
                    for j in j0...j1 {
                        let dy = lattice.v0 + (Double(j) + 0.5) * h - a.y
                        let cy = dy * e.y
                        let row = base + j * nu
                        let x0 = lattice.u0 + 0.5 * h - a.x
                        for i in i0...i1 {
                            let dx = x0 + Double(i) * h
                            var t = (dx * e.x + cy) * invEE
                            t = t < 0 ? 0 : (t > 1 ? 1 : t)
                            let qx = dx - t * e.x, qy = dy - t * e.y
                            let g = Float((qx * qx + qy * qy) * invR2)
                            row[i] = g < row[i] ? g : row[i]
                        }
                    }
                    continue
                }
                for j in j0...j1 {
                    let vc = lattice.v0 + (Double(j) + 0.5) * h
                    let row = j * nu
                    for i in i0...i1 {
                        let p = SIMD2(lattice.u0 + (Double(i) + 0.5) * h, vc)
                        let gf = Float(segmentGauge2(p, a, b, ru: ru, rv: rv))
                        if gf < out[row + i] { out[row + i] = gf }
                    }
                }
            }
        }
    }

    /// Squared quadrant-elliptic gauge of p − y minimised over y on segment [a, b].
    /// `ru` = (radius for +u, radius for −u) displacements; `rv` likewise.
    @inlinable
    public static func segmentGauge2(_ p: SIMD2<Double>, _ a: SIMD2<Double>, _ b: SIMD2<Double>,
                                     ru: (Double, Double), rv: (Double, Double)) -> Double {
        let d0 = p - a, e = b - a
        // D(t) = d0 − t e; component k changes sign at t = d0_k / e_k. The pieces' ends,
        // sorted, in registers (no array: this runs per edge and cell).
        var c1 = 1.0, c2 = 1.0
        if e.x != 0 { let t = d0.x / e.x; if t > 0 && t < 1 { c1 = t } }
        if e.y != 0 { let t = d0.y / e.y; if t > 0 && t < 1 { c2 = t } }
        if c2 < c1 { swap(&c1, &c2) }
        let cuts = SIMD4(0, c1, c2, 1)
        var best = Double.infinity
        for k in 0..<3 {
            let t0 = cuts[k], t1 = cuts[k + 1]
            if t1 <= t0 { continue }
            let tm = 0.5 * (t0 + t1)
            let du = d0.x - tm * e.x, dv = d0.y - tm * e.y
            let r1 = du >= 0 ? ru.0 : ru.1, r2 = dv >= 0 ? rv.0 : rv.1
            let w1 = 1 / (r1 * r1), w2 = 1 / (r2 * r2)
            let den = e.x * e.x * w1 + e.y * e.y * w2
            var t = den > 0 ? (d0.x * e.x * w1 + d0.y * e.y * w2) / den : t0
            t = min(t1, max(t0, t))
            let qu = d0.x - t * e.x, qv = d0.y - t * e.y
            best = min(best, qu * qu * w1 + qv * qv * w2)
        }
        return best
    }

    /// Plain reference: the squared gauge from p to the boundary, by brute force over all edges.
    public static func referenceGauge2(_ p: SIMD2<Double>, _ polygons: [[SIMD2<Double>]], radii: FrameRadii, samplesPerEdge: Int = 2000) -> Double {
        var best = Double.infinity
        for poly in polygons {
            for n in poly.indices {
                let a = poly[n], b = poly[(n + 1) % poly.count]
                for s in 0...samplesPerEdge {
                    let y = a + (b - a) * (Double(s) / Double(samplesPerEdge))
                    let d = p - y
                    let ru = d.x >= 0 ? radii.uPlus : radii.uMinus, rv = d.y >= 0 ? radii.vPlus : radii.vMinus
                    best = min(best, (d.x / ru) * (d.x / ru) + (d.y / rv) * (d.y / rv))
                }
            }
        }
        return best
    }
}

extension PlaneField {
    /// Signed Euclidean distance (mm, negative inside) from each cell centre to the
    /// boundary of the even-odd union of `polygons`, measured to the polygons themselves
    /// (not to cell centres): the nearest edge of every cell is found by `NearestSegments`
    /// (exact within 1.5 cells of an edge, carried to the rest of the lattice by vector
    /// propagation of nearest edges) and the distance measured to that edge.
    /// Cells with no boundary at all get ±1e6.
    /// - Complexity: O(Σ edges × cells near the edge + cells).
    public static func signedDistance(_ polygons: [[SIMD2<Double>]], lattice: CellLattice) -> [Float] {
        signedDistanceAndNearest(polygons, lattice: lattice).distance
    }

    /// `signedDistance`, with the nearest boundary point of each cell (NaN where there is no
    /// boundary; both arrays empty unless `nearest`). With a `window` (which must hold every
    /// polygon), only its cells are measured; the others, outside every polygon, get +1e6.
    public static func signedDistanceAndNearest(_ polygons: [[SIMD2<Double>]], lattice: CellLattice, nearest: Bool = true,
                                                window: CellWindow? = nil) -> (distance: [Float], nearestU: [Float], nearestV: [Float]) {
        let inside = insideMask(polygons, lattice: lattice)
        let edges = EdgeTable(polygons)
        let win = window ?? CellWindow(lattice)
        let near = NearestSegments(edges: edges, lattice: lattice, window: win)
        let n = lattice.count, h = lattice.h
        var nu = [Float](repeating: .nan, count: nearest ? n : 0), nv = nu
        var out = [Float](repeating: 1e6, count: n)
        out.withUnsafeMutableBufferPointer { ob in
            nu.withUnsafeMutableBufferPointer { ub in nv.withUnsafeMutableBufferPointer { vb in
            edges.edges.withUnsafeBufferPointer { eb in near.edge.withUnsafeBufferPointer { ids in
            near.gauge2.withUnsafeBufferPointer { g2 in inside.withUnsafeBufferPointer { ins in
                for wj in 0..<win.nj {
                    let j = win.j0 + wj, y = lattice.v0 + (Double(j) + 0.5) * h
                    for wi in 0..<win.ni {
                        let i = win.i0 + wi, k = j * lattice.nu + i, w = wj * win.ni + wi
                        let e = Int(ids[w])
                        guard e >= 0 else { ob[k] = ins[k] != 0 ? -1e6 : 1e6; continue }
                        let d = Float(Double(g2[w]).squareRoot())
                        ob[k] = ins[k] != 0 ? -d : d
                        guard nearest else { continue }
                        // The nearest point of the edge (as EdgeTable.nearestPoint).
                        let x = lattice.u0 + (Double(i) + 0.5) * h, g = eb[e]
                        var t = ((x - g.ax) * g.ex + (y - g.ay) * g.ey) * g.invLength2
                        t = t < 0 ? 0 : (t > 1 ? 1 : t)
                        ub[k] = Float(g.ax + t * g.ex)
                        vb[k] = Float(g.ay + t * g.ey)
                    }
                }
            } } } }
            } }
        }
        return (out, nu, nv)
    }
}
