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
    /// Plain reference of `trace` (the scalar twin: every square's four corners read from
    /// the field, segments joined through dictionaries). Same output, bit for bit.
    public static func traceReference(_ field: UnsafeBufferPointer<Float>, lattice: CellLattice, toleranceMM: Double) -> [[SIMD2<Double>]] {
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

    /// - Parameter field: lattice.count values, negative inside.
    ///
    /// The kernel: the field's signs are written once into a padded byte map (outside the
    /// lattice and NaN: outside); rows of squares are scanned eight at a time, skipping runs
    /// whose nine corner pairs are all inside or all outside; each square with a sign change
    /// gives one or two segments between its edges' crossings. A crossing is computed with
    /// the orientation in which the scan first meets its edge (the square below a horizontal
    /// edge, left of a vertical one), so the points are those of `traceReference` bit for
    /// bit. Segments are sorted by their entry edge and joined into loops from the smallest.
    /// - Complexity: O(cells / 8 + boundary squares + segments · log segments).
    public static func trace(_ field: UnsafeBufferPointer<Float>, lattice: CellLattice, toleranceMM: Double) -> [[SIMD2<Double>]] {
        let nu = lattice.nu, nv = lattice.nv
        let pu = nu + 2, pv = nv + 2
        // Node (i, j), i in -1...nu, j in -1...nv, at (j + 1) * pu + (i + 1); one byte of padding.
        var signs = [UInt8](repeating: 0, count: pu * pv + 8)
        signs.withUnsafeMutableBufferPointer { sb in
            let out = sb.baseAddress!, input = field.baseAddress!
            for j in 0..<nv {
                let row = out + (j + 1) * pu + 1, src = input + j * nu
                // Eight at a time: 1 where the field is negative (NaN compares false: outside).
                var i = 0
                while i + 8 <= nu {
                    let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
                    let b = SIMD8<UInt8>(truncatingIfNeeded: SIMD8<Int32>(repeating: 0).replacing(with: 1, where: v .< 0))
                    UnsafeMutableRawPointer(row + i).storeBytes(of: b, as: SIMD8<UInt8>.self)
                    i += 8
                }
                while i < nu { row[i] = src[i] < 0 ? 1 : 0; i += 1 }
            }
        }
        var segments = SegmentList()
        signs.withUnsafeBufferPointer { sb in
            let base = UnsafeRawPointer(sb.baseAddress!)
            let ones: UInt64 = 0x0101_0101_0101_0101
            for j in -1..<nv {
                let r0 = (j + 1) * pu, r1 = r0 + pu
                var i = -1
                while i < nu {
                    // Eight squares (i ..< i + 8) whose corners are all equal: nothing to trace.
                    if i + 9 <= nu + 1 {
                        let a = base.loadUnaligned(fromByteOffset: r0 + i + 1, as: UInt64.self)
                        let b = base.loadUnaligned(fromByteOffset: r1 + i + 1, as: UInt64.self)
                        if a == b && (a == 0 || a == ones) && sb[r0 + i + 9] == sb[r0 + i + 1] && sb[r1 + i + 9] == sb[r0 + i + 1] {
                            i += 8
                            continue
                        }
                    }
                    let mask = Int(sb[r0 + i + 1]) | Int(sb[r0 + i + 2]) << 1 | Int(sb[r1 + i + 2]) << 2 | Int(sb[r1 + i + 1]) << 3
                    if mask != 0 && mask != 15 { segments.square(i, j, mask, field, lattice) }
                    i += 1
                }
            }
        }
        return segments.loops(toleranceMM: toleranceMM)
    }

    /// The segments of one trace: entry and exit edge ids and their crossing points.
    struct SegmentList {
        var from: [Int] = [], to: [Int] = []
        var fromPoint: [SIMD2<Double>] = [], toPoint: [SIMD2<Double>] = []

        /// The field at node (i, j): +1 outside the lattice and where NaN.
        @inline(__always)
        static func value(_ field: UnsafeBufferPointer<Float>, _ lattice: CellLattice, _ i: Int, _ j: Int) -> Float {
            if i < 0 || j < 0 || i >= lattice.nu || j >= lattice.nv { return 1 }
            let f = field[j * lattice.nu + i]
            return f.isNaN ? 1 : f
        }

        /// Edge k of square (i, j) (counter-clockwise from corner (i, j): e0 bottom, e1 right,
        /// e2 top, e3 left): its id (as `traceReference` numbers them) and crossing point.
        @inline(__always)
        static func edge(_ k: Int, _ i: Int, _ j: Int, _ field: UnsafeBufferPointer<Float>, _ lattice: CellLattice) -> (Int, SIMD2<Double>) {
            let pu = lattice.nu + 2, pv = lattice.nv + 2, h = lattice.h
            // Horizontal edge of nodes (a, b)–(a + 1, b), first met from the square below:
            // from (a + 1, b) to (a, b). Vertical edge (a, b)–(a, b + 1), first met from the
            // square on its left: from (a, b) to (a, b + 1).
            let horizontal = k % 2 == 0
            let a = k == 1 ? i + 1 : i, b = k == 2 ? j + 1 : j
            let id = horizontal ? (b + 1) * pu + (a + 1) : pu * pv + (b + 1) * pu + (a + 1)
            let (i0, j0, i1, j1) = horizontal ? (a + 1, b, a, b) : (a, b, a, b + 1)
            let f0 = Double(value(field, lattice, i0, j0)), f1 = Double(value(field, lattice, i1, j1))
            let t = f0 / (f0 - f1)
            let c0 = SIMD2(lattice.u0 + (Double(i0) + 0.5) * h, lattice.v0 + (Double(j0) + 0.5) * h)
            let c1 = SIMD2(lattice.u0 + (Double(i1) + 0.5) * h, lattice.v0 + (Double(j1) + 0.5) * h)
            return (id, c0 + (c1 - c0) * min(1, max(0, t)))
        }

        @inline(__always)
        mutating func link(_ kFrom: Int, _ kTo: Int, _ i: Int, _ j: Int, _ field: UnsafeBufferPointer<Float>, _ lattice: CellLattice) {
            let (a, pa) = Self.edge(kFrom, i, j, field, lattice), (b, pb) = Self.edge(kTo, i, j, field, lattice)
            from.append(a); to.append(b); fromPoint.append(pa); toPoint.append(pb)
        }

        /// The segments of square (i, j) with corner signs `mask` (bit k: corner k inside).
        mutating func square(_ i: Int, _ j: Int, _ mask: Int, _ field: UnsafeBufferPointer<Float>, _ lattice: CellLattice) {
            @inline(__always) func inside(_ k: Int) -> Bool { mask & (1 << k) != 0 }
            if mask == 5 || mask == 10 {
                let f0 = Self.value(field, lattice, i, j), f1 = Self.value(field, lattice, i + 1, j)
                let f2 = Self.value(field, lattice, i + 1, j + 1), f3 = Self.value(field, lattice, i, j + 1)
                if (f0 + f1 + f2 + f3) < 0 {
                    // Each outside corner k is cut off: segment e(k−1) → e(k).
                    for k in 0..<4 where !inside(k) { link((k + 3) % 4, k, i, j, field, lattice) }
                } else {
                    // Each inside corner k is isolated: segment e(k) → e(k−1).
                    for k in 0..<4 where inside(k) { link(k, (k + 3) % 4, i, j, field, lattice) }
                }
            } else {
                // One run of inside corners: from the exit edge after its last corner to the
                // entry edge before its first.
                var first = 0
                while !(inside(first) && !inside((first + 3) % 4)) { first += 1 }
                var last = first
                while inside((last + 1) % 4) { last = (last + 1) % 4 }
                link(last, (first + 3) % 4, i, j, field, lattice)
            }
        }

        /// The segments joined into loops (smallest entry edge first), each thinned.
        func loops(toleranceMM: Double) -> [[SIMD2<Double>]] {
            let order = from.indices.sorted { from[$0] < from[$1] }
            let sortedFrom = order.map { from[$0] }
            func segment(startingAt id: Int) -> Int? {
                var lo = 0, hi = sortedFrom.count
                while lo < hi { let mid = (lo + hi) / 2; if sortedFrom[mid] < id { lo = mid + 1 } else { hi = mid } }
                return lo < sortedFrom.count && sortedFrom[lo] == id ? order[lo] : nil
            }
            var visited = [Bool](repeating: false, count: from.count)
            var loops: [[SIMD2<Double>]] = []
            for start in order where !visited[start] {
                var loop: [SIMD2<Double>] = []
                var s = start
                while true {
                    visited[s] = true
                    loop.append(fromPoint[s])
                    guard let n = segment(startingAt: to[s]) else { loop.append(toPoint[s]); break }
                    if visited[n] { break }
                    s = n
                }
                let thinned = ContourTracer.thin(loop, toleranceMM: toleranceMM)
                if thinned.count >= 3 && abs(PolygonCoverage.signedArea(thinned)) > 1e-9 { loops.append(thinned) }
            }
            return loops
        }
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
