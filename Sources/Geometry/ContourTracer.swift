/// The zero level of a field sampled at lattice cell centres, as closed polygons.
///
/// Marching squares over the squares joining four neighbouring cell centres, with the
/// crossing on each edge placed by linear interpolation of the field (sub-cell), saddles
/// resolved by the mean of the four corners. Segments are oriented with the inside
/// (field < 0) on their left, so joined loops are counter-clockwise (positive shoelace
/// area in (u, v)) around regions and clockwise around holes, each a separate polygon.
/// Cells outside the lattice count as outside. Loops are thinned with Douglas–Peucker
/// within `toleranceMM` (vertices only removed, never moved).
public enum ContourTracer {
    /// - Parameter field: lattice.count values, negative inside.
    /// - Complexity: O(cells + vertices · log).
    public static func trace(_ field: UnsafeBufferPointer<Float>, lattice: CellLattice, toleranceMM: Double) -> [[SIMD2<Double>]] {
        let nu = lattice.nu, nv = lattice.nv, h = lattice.h
        // Node (i, j) for i in -1...nu, j in -1...nv; outside the lattice the field is +1.
        @inline(__always) func value(_ i: Int, _ j: Int) -> Float {
            if i < 0 || j < 0 || i >= nu || j >= nv { return 1 }
            let f = field[j * nu + i]
            return f.isNaN ? 1 : f
        }
        let pu = nu + 2, pv = nv + 2  // padded node counts
        // Edge ids: horizontal edge from node (i, j) to (i+1, j): (j+1)*pu + (i+1); vertical
        // from (i, j) to (i, j+1): pu*pv + the same.
        @inline(__always) func hEdge(_ i: Int, _ j: Int) -> Int { (j + 1) * pu + (i + 1) }
        @inline(__always) func vEdge(_ i: Int, _ j: Int) -> Int { pu * pv + (j + 1) * pu + (i + 1) }
        var next: [Int: Int] = [:]
        var point: [Int: SIMD2<Double>] = [:]
        func centre(_ i: Int, _ j: Int) -> SIMD2<Double> {
            SIMD2(lattice.u0 + (Double(i) + 0.5) * h, lattice.v0 + (Double(j) + 0.5) * h)
        }
        func crossing(_ id: Int, _ i0: Int, _ j0: Int, _ i1: Int, _ j1: Int) {
            if point[id] != nil { return }
            let a = Double(value(i0, j0)), b = Double(value(i1, j1))
            let t = a / (a - b)
            point[id] = centre(i0, j0) + (centre(i1, j1) - centre(i0, j0)) * min(1, max(0, t))
        }
        // Only squares touching a sign change matter: scan rows.
        for j in -1..<nv {
            for i in -1..<nu {
                let f0 = value(i, j), f1 = value(i + 1, j), f2 = value(i + 1, j + 1), f3 = value(i, j + 1)
                let c0 = f0 < 0, c1 = f1 < 0, c2 = f2 < 0, c3 = f3 < 0
                let mask = (c0 ? 1 : 0) | (c1 ? 2 : 0) | (c2 ? 4 : 0) | (c3 ? 8 : 0)
                if mask == 0 || mask == 15 { continue }
                // Edges of the square, counter-clockwise: e0 c0–c1, e1 c1–c2, e2 c2–c3, e3 c3–c0.
                let ids = [hEdge(i, j), vEdge(i + 1, j), hEdge(i, j + 1), vEdge(i, j)]
                let ends: [(Int, Int, Int, Int)] = [(i, j, i + 1, j), (i + 1, j, i + 1, j + 1), (i + 1, j + 1, i, j + 1), (i, j + 1, i, j)]
                let inside = [c0, c1, c2, c3]
                var segments: [(Int, Int)] = []  // (from edge, to edge)
                if mask == 5 || mask == 10 {
                    let centreInside = (f0 + f1 + f2 + f3) < 0
                    if centreInside {
                        // Each outside corner k is cut off: segment e(k−1) → e(k).
                        for k in 0..<4 where !inside[k] { segments.append(((k + 3) % 4, k)) }
                    } else {
                        // Each inside corner k is isolated: segment e(k) → e(k−1).
                        for k in 0..<4 where inside[k] { segments.append((k, (k + 3) % 4)) }
                    }
                } else {
                    // One run of inside corners: from the exit edge after its last corner to the
                    // entry edge before its first.
                    var first = 0
                    while !(inside[first] && !inside[(first + 3) % 4]) { first += 1 }
                    var last = first
                    while inside[(last + 1) % 4] { last = (last + 1) % 4 }
                    segments.append((last, (first + 3) % 4))
                }
                for (from, to) in segments {
                    crossing(ids[from], ends[from].0, ends[from].1, ends[from].2, ends[from].3)
                    crossing(ids[to], ends[to].0, ends[to].1, ends[to].2, ends[to].3)
                    next[ids[from]] = ids[to]
                }
            }
        }
        // Join into loops, in a deterministic order (smallest edge id first).
        var loops: [[SIMD2<Double>]] = []
        var visited = Set<Int>()
        for start in next.keys.sorted() where !visited.contains(start) {
            var loop: [SIMD2<Double>] = []
            var id = start
            while !visited.contains(id) {
                visited.insert(id)
                loop.append(point[id]!)
                guard let n = next[id] else { break }
                id = n
            }
            let thinned = thin(loop, toleranceMM: toleranceMM)
            if thinned.count >= 3 && abs(PolygonCoverage.signedArea(thinned)) > 1e-9 { loops.append(thinned) }
        }
        return loops
    }

    /// Douglas–Peucker on a closed loop: keeps vertices so that every removed vertex lies
    /// within `toleranceMM` of the kept polyline.
    public static func thin(_ loop: [SIMD2<Double>], toleranceMM tol: Double) -> [SIMD2<Double>] {
        let n = loop.count
        guard n > 4, tol > 0 else { return loop }
        // Split at vertex 0 and the vertex farthest from it.
        var far = 0, farD = -1.0
        for k in 1..<n { let d = ((loop[k] - loop[0]) * (loop[k] - loop[0])).sum(); if d > farD { farD = d; far = k } }
        var keep = [Bool](repeating: false, count: n)
        keep[0] = true; keep[far] = true
        func segDist2(_ p: SIMD2<Double>, _ a: SIMD2<Double>, _ b: SIMD2<Double>) -> Double {
            let e = b - a, d = p - a
            let ee = (e * e).sum()
            let t = ee > 0 ? min(1, max(0, (d * e).sum() / ee)) : 0
            let q = d - t * e
            return (q * q).sum()
        }
        var stack: [(Int, Int)] = [(0, far), (far, n)]
        let tol2 = tol * tol
        while let (s, e) = stack.popLast() {
            if e - s < 2 { continue }
            let a = loop[s], b = loop[e % n]
            var worst = -1.0, wi = -1
            for k in (s + 1)..<e {
                let d = segDist2(loop[k], a, b)
                if d > worst { worst = d; wi = k }
            }
            if worst > tol2 {
                keep[wi] = true
                stack.append((s, wi)); stack.append((wi, e))
            }
        }
        var out: [SIMD2<Double>] = []
        for k in 0..<n where keep[k] { out.append(loop[k]) }
        return out
    }
}
