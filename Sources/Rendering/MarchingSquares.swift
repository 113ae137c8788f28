/// Iso-lines of a scalar field sampled on a 2D lattice, by marching squares, joined
/// into polylines.
///
/// - Lattice: `nx × ny` samples, row-major (x fastest); sample (i, j) sits at lattice
///   coordinates (i, j). Vertices are returned in lattice coordinates.
/// - A sample is *inside* when its value is ≥ `level` (NaN counts as outside). Each
///   vertex lies on a lattice edge whose ends are on opposite sides, at the linear
///   interpolation `t = (level − a) / (b − a)` between them: sub-sample accuracy, so
///   lines stay smooth at any zoom.
/// - Saddle cells (diagonal corners alike) are resolved by the cell-centre average, so
///   the result is a set of simple, non-crossing curves.
/// - Polylines are closed (`closed == true`, last vertex not repeated) when the curve
///   returns to its start; curves ending at the lattice border are open.
/// - Deterministic: cells are visited in row-major order and chains are walked from
///   the first unused segment.
/// - Not `Geometry.ContourTracer`, which also marches squares: that one closes every
///   loop (cells beyond the lattice count as outside), orients it and thins it, as a
///   structure's contour must be; an isodose line cut by the figure's edge must stay open,
///   unoriented and unthinned, or the edge would be drawn as part of the line.
public enum MarchingSquares {
    public struct Polyline: Sendable, Equatable {
        public var points: [SIMD2<Double>]
        public var closed: Bool
    }

    /// The iso-lines at `level` of `field` on the `nx × ny` lattice.
    /// - Complexity: O(nx × ny) time; memory O(number of vertices).
    public static func isolines(_ field: [Float], nx: Int, ny: Int, level: Float) -> [Polyline] {
        precondition(field.count == nx * ny, "field size does not match the lattice")
        guard nx >= 2, ny >= 2 else { return [] }
        let (segA, segB) = segments(field, nx: nx, ny: ny, level: level)
        let vertex = vertices(of: segA + segB, field, nx: nx, level: level)
        return join(segA, segB).map { chain in
            Polyline(points: chain.edges.map { vertex[$0]! }, closed: chain.closed)
        }
    }

    /// The crossing segments of every cell, as pairs of edge ids. Edge ids: the horizontal
    /// edge from (i, j) to (i+1, j) is 2·(j·nx + i); the vertical edge from (i, j) to
    /// (i, j+1) is 2·(j·nx + i) + 1. Saddles are resolved by the cell-centre average.
    static func segments(_ field: [Float], nx: Int, ny: Int, level: Float) -> (a: [Int], b: [Int]) {
        var segA: [Int] = [], segB: [Int] = []
        field.withUnsafeBufferPointer { f in
            @inline(__always) func inside(_ v: Float) -> Bool { v >= level }
            for j in 0..<(ny - 1) {
                for i in 0..<(nx - 1) {
                    let o = j * nx + i
                    let v0 = f[o], v1 = f[o + 1], v2 = f[o + nx + 1], v3 = f[o + nx]
                    let b0 = inside(v0), b1 = inside(v1), b2 = inside(v2), b3 = inside(v3)
                    if b0 == b1 && b1 == b2 && b2 == b3 { continue }
                    let eBottom = 2 * o, eRight = 2 * (o + 1) + 1, eTop = 2 * (o + nx), eLeft = 2 * o + 1
                    // The crossed edges in the order bottom, right, top, left (two or four;
                    // kept in registers, no array per cell).
                    var first = -1, second = -1, count = 0
                    @inline(__always) func crossed(_ edge: Int) {
                        if count == 0 { first = edge } else if count == 1 { second = edge }
                        count += 1
                    }
                    if b0 != b1 { crossed(eBottom) }
                    if b1 != b2 { crossed(eRight) }
                    if b3 != b2 { crossed(eTop) }
                    if b0 != b3 { crossed(eLeft) }
                    if count == 2 {
                        segA.append(first); segB.append(second)
                    } else if count == 4 {
                        if inside((v0 + v1 + v2 + v3) / 4) == b0 {
                            segA.append(eBottom); segB.append(eRight)
                            segA.append(eTop); segB.append(eLeft)
                        } else {
                            segA.append(eBottom); segB.append(eLeft)
                            segA.append(eRight); segB.append(eTop)
                        }
                    }
                }
            }
        }
        return (segA, segB)
    }

    /// The vertex of each edge id: the linear interpolation of `level` between the edge's
    /// two samples, in lattice coordinates.
    static func vertices(of edges: [Int], _ field: [Float], nx: Int, level: Float) -> [Int: SIMD2<Double>] {
        var vertex: [Int: SIMD2<Double>] = [:]
        field.withUnsafeBufferPointer { f in
            for id in edges where vertex[id] == nil {
                let base = id >> 1
                let i = base % nx, j = base / nx
                let a = f[base]
                let b = (id & 1) == 0 ? f[base + 1] : f[base + nx]
                var t = Double((level - a) / (b - a))
                if !t.isFinite { t = 0.5 }
                t = min(1, max(0, t))
                vertex[id] = (id & 1) == 0 ? SIMD2(Double(i) + t, Double(j)) : SIMD2(Double(i), Double(j) + t)
            }
        }
        return vertex
    }

    /// Segments sharing an edge joined into chains of edge ids, walked from the first
    /// unused segment forward, then backward when the chain does not close.
    static func join(_ segA: [Int], _ segB: [Int]) -> [(edges: [Int], closed: Bool)] {
        var atEdge: [Int: (Int, Int)] = [:]
        for s in segA.indices {
            for e in [segA[s], segB[s]] {
                if let (x, _) = atEdge[e] { atEdge[e] = (x, s) } else { atEdge[e] = (s, -1) }
            }
        }
        var used = [Bool](repeating: false, count: segA.count)
        var out: [(edges: [Int], closed: Bool)] = []
        func next(from edge: Int, excluding s: Int) -> Int? {
            guard let (x, y) = atEdge[edge] else { return nil }
            let n = x == s ? y : x
            return n >= 0 && !used[n] ? n : nil
        }
        for start in segA.indices where !used[start] {
            used[start] = true
            var forward = [segA[start], segB[start]]
            var s = start
            while let n = next(from: forward.last!, excluding: s) {
                used[n] = true
                forward.append(segA[n] == forward.last! ? segB[n] : segA[n])
                s = n
            }
            let closed = forward.count > 2 && forward.first == forward.last
            if closed {
                forward.removeLast()
            } else {
                s = start
                var backward: [Int] = []
                var head = forward[0]
                while let n = next(from: head, excluding: s) {
                    used[n] = true
                    head = segA[n] == head ? segB[n] : segA[n]
                    backward.append(head)
                    s = n
                }
                forward = backward.reversed() + forward
            }
            out.append((forward, closed))
        }
        return out
    }
}
