import Base
import Dispatch
import Foundation
import VoxelKit

/// Shortest-path (geodesic) distances on a 3D grid of nodes, around blocked nodes.
///
/// Dijkstra's algorithm over a 5×5×5 stencil: the 98 steps (a, b, c) with components in
/// −2…2 and gcd 1, each of Euclidean length. A step is taken only when its target and
/// the one or two nodes it passes (half the step, rounded both ways) are open, so a
/// barrier one node thick cannot be jumped. Along straight open lines the stencil's
/// metric over-estimates Euclidean distance by at most a few per cent (the angle
/// between neighbouring stencil directions); callers correct that bias with a second,
/// unobstructed run (`GeodesicNode`).
public enum GeodesicDistance {
    /// - Parameters:
    ///   - seeds: initial distances (mm) per node, +∞ where not a source.
    ///   - blocked: true where paths may not pass.
    ///   - size: nodes along (a, b, c), a fastest; `spacingMM` between nodes (isotropic).
    ///   - limitMM: nodes farther than this stay +∞.
    /// - Complexity: O(N · 98 · log N) for N nodes reached.
    public static func dijkstra(seeds: [Double], blocked: [Bool], size: SIMD3<Int>, spacingMM h: Double, limitMM: Double) -> [Double] {
        let nx = size.x, ny = size.y, nz = size.z
        var dist = seeds
        var steps: [(Int, Int, Int, Double)] = []
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        for c in -2...2 { for b in -2...2 { for a in -2...2 where !(a == 0 && b == 0 && c == 0) {
            if gcd(gcd(abs(a), abs(b)), abs(c)) != 1 { continue }
            steps.append((a, b, c, h * Double(a * a + b * b + c * c).squareRoot()))
        } } }
        var heap = MinHeap()
        for i in dist.indices where dist[i].isFinite && !blocked[i] { heap.push(dist[i], i) }
        for i in dist.indices where blocked[i] { dist[i] = .infinity }
        var done = [Bool](repeating: false, count: dist.count)
        while let (d, i) = heap.pop() {
            if done[i] || d > dist[i] { continue }
            done[i] = true
            if d > limitMM { continue }
            let x = i % nx, y = (i / nx) % ny, z = i / (nx * ny)
            for (a, b, c, len) in steps {
                let tx = x + a, ty = y + b, tz = z + c
                if tx < 0 || ty < 0 || tz < 0 || tx >= nx || ty >= ny || tz >= nz { continue }
                let t = (tz * ny + ty) * nx + tx
                if blocked[t] || done[t] { continue }
                let nd = d + len
                if nd >= dist[t] { continue }
                if abs(a) == 2 || abs(b) == 2 || abs(c) == 2 {
                    // The nodes the step passes: half the step, rounded down and up.
                    let m1 = ((z + c / 2) * ny + (y + b / 2)) * nx + (x + a / 2)
                    let m2 = ((z + c - c / 2) * ny + (y + b - b / 2)) * nx + (x + a - a / 2)
                    if blocked[m1] || blocked[m2] { continue }
                }
                dist[t] = nd
                heap.push(nd, t)
            }
        }
        return dist
    }

    /// A binary min-heap of (key, index).
    struct MinHeap {
        var keys: [Double] = []
        var values: [Int] = []
        mutating func push(_ k: Double, _ v: Int) {
            keys.append(k); values.append(v)
            var c = keys.count - 1
            while c > 0 {
                let p = (c - 1) / 2
                if keys[p] <= keys[c] { break }
                keys.swapAt(p, c); values.swapAt(p, c)
                c = p
            }
        }
        mutating func pop() -> (Double, Int)? {
            guard let k = keys.first else { return nil }
            let v = values[0]
            let lastK = keys.removeLast(), lastV = values.removeLast()
            if !keys.isEmpty {
                keys[0] = lastK; values[0] = lastV
                var p = 0
                let n = keys.count
                while true {
                    let l = 2 * p + 1, r = l + 1
                    var m = p
                    if l < n && keys[l] < keys[m] { m = l }
                    if r < n && keys[r] < keys[m] { m = r }
                    if m == p { break }
                    keys.swapAt(p, m); values.swapAt(p, m)
                    p = m
                }
            }
            return (k, v)
        }
    }
}

/// Barrier-aware growth: the region within `marginMM` of the source along paths that
/// avoid the barrier structures (Shusharina et al. 2020), minus the
/// barriers, plus the source itself.
///
/// The geodesic distance is the exact Euclidean distance from the source surface
/// (`ExpansionNode`, on the fine lattice) times the ratio D/D₀ of two Dijkstra runs on a
/// coarser 3D node grid (`cellMM`), with and without the barriers, seeded with the
/// exact distances near the source. Where no barrier lies in the way D = D₀ and the
/// distance is exactly Euclidean; where one does, the ratio carries the detour, and the
/// stencil's direction bias largely cancels.
final class GeodesicNode: FieldNode, @unchecked Sendable {
    let euclid: ExpansionNode
    let source: FieldNode
    let marginMM: Double
    let barriers: [FieldNode]
    let stride: Int
    let size: SIMD3<Int>
    let w0: Double
    let hg: Double
    /// D / D₀ per node; +∞ where unreachable. Computed on first use (`prepare`).
    private var ratio: [Double] = []
    private var ratioReady = false
    private let lock = NSLock()

    init(euclid: ExpansionNode, source: FieldNode, marginMM: Double, barriers: [FieldNode], lattice: CellLattice,
         wRange: (Double, Double), cellMM: Double) {
        self.euclid = euclid
        self.source = source
        self.marginMM = marginMM
        self.barriers = barriers
        stride = max(1, Checked.clamped((cellMM / lattice.h).rounded()))
        hg = Double(stride) * lattice.h
        w0 = wRange.0
        let na = (lattice.nu - 1) / stride + 1, nb = (lattice.nv - 1) / stride + 1
        let nc = max(0, Checked.clamped(((wRange.1 - wRange.0) / hg).rounded(.up))) + 1
        size = SIMD3(na, nb, nc)
        super.init(lattice: lattice)
    }

    override func prepare() {
        euclid.prepare()
        for b in barriers { b.prepare() }
        source.prepare()
        lock.lock()
        defer { lock.unlock() }
        if !ratioReady { computeRatio(); ratioReady = true }
    }

    private func computeRatio() {
        let na = size.x, nb = size.y, nc = size.z
        let plane = na * nb
        var dE = [Double](repeating: .infinity, count: plane * nc)
        var blocked = [Bool](repeating: false, count: plane * nc)
        let m = marginMM
        let lat = lattice
        // The node planes in batches: the Euclidean distance (one pass of the slab envelope
        // per batch) and the barriers, sampled at the nodes.
        let batch = max(4, 8_000_000 / max(1, lat.count))
        for start in Swift.stride(from: 0, to: nc, by: batch) {
            let cs = Array(start..<min(nc, start + batch))
            let ws = cs.map { self.w0 + Double($0) * self.hg }
            let phi = PlaneBuffers(planes: cs.count, cells: lat.count)
            euclid.phi(batch: ws, phi.planes)
            dE.withUnsafeMutableBufferPointer { db in
                for (n, c) in cs.enumerated() {
                    for b in 0..<nb { for a in 0..<na {
                        db[c * plane + b * na + a] = Double(phi.planes[n][(b * stride) * lat.nu + a * stride]) + m
                    } }
                }
            }
            for barrier in barriers {
                barrier.phi(batch: ws, phi.planes)
                // A node is blocked when it lies a quarter cell or more inside a barrier:
                // the open/blocked boundary then falls, on average, on the barrier's surface.
                let depth = Float(-0.25 * hg)
                blocked.withUnsafeMutableBufferPointer { bb in
                    for (n, c) in cs.enumerated() {
                        for b in 0..<nb { for a in 0..<na where phi.planes[n][(b * stride) * lat.nu + a * stride] < depth {
                            bb[c * plane + b * na + a] = true
                        } }
                    }
                }
            }
        }
        // Seeds: nodes within 1.5 grid steps of the source, at their exact distance.
        let seeds = dE.map { $0 <= 1.5 * hg ? max(0, $0) : .infinity }
        let limit = 1.6 * m + 3 * hg
        let noBlock = [Bool](repeating: false, count: blocked.count)
        let masks = [blocked, noBlock]
        var runs = [[Double]](repeating: [], count: 2)
        runs.withUnsafeMutableBufferPointer { r in
            let rb = r
            Parallel.forEachChunk(2) { _, range in
                for n in range {
                    rb[n] = GeodesicDistance.dijkstra(seeds: seeds, blocked: masks[n], size: self.size, spacingMM: self.hg, limitMM: limit)
                }
            }
        }
        ratio = zip(runs[0], runs[1]).map { d, d0 in
            if !d.isFinite { return .infinity }
            return d0 > 1e-9 ? max(1, d / d0) : 1
        }
    }

    /// Trilinear interpolation of the ratio at fine cell (i, j) on node plane coordinate c.
    func ratioAt(_ i: Int, _ j: Int, _ c: Double) -> Double {
        let fa = Double(i) / Double(stride), fb = Double(j) / Double(stride)
        let a0 = min(Int(fa), size.x - 1), b0 = min(Int(fb), size.y - 1), c0 = max(0, min(Checked.clamped(c.rounded(.down)), size.z - 1))
        let ta = fa - Double(a0), tb = fb - Double(b0), tc = max(0, min(1, c - Double(c0)))
        var sum = 0.0, wsum = 0.0
        for dc in 0...1 { for db in 0...1 { for da in 0...1 {
            let a = min(a0 + da, size.x - 1), b = min(b0 + db, size.y - 1), cc = min(c0 + dc, size.z - 1)
            let wgt = (da == 1 ? ta : 1 - ta) * (db == 1 ? tb : 1 - tb) * (dc == 1 ? tc : 1 - tc)
            let r = ratio[(cc * size.y + b) * size.x + a]
            if r.isFinite && wgt > 0 { sum += wgt * r; wsum += wgt }
        } } }
        return wsum > 1e-6 ? sum / wsum : .infinity
    }

    override func phi(_ w: Double, _ out: UnsafeMutableBufferPointer<Float>) {
        prepare()
        euclid.phi(w, out)
        finish(w, out)
    }

    override func phi(batch ws: [Double], _ outs: [UnsafeMutableBufferPointer<Float>]) {
        prepare()
        euclid.phi(batch: ws, outs)
        Parallel.forEachChunk(ws.count) { _, range in
            for q in range { self.finish(ws[q], outs[q]) }
        }
    }

    /// From the Euclidean level function in `out` to this node's: the distance scaled by
    /// the detour ratio, minus the barriers, plus the source.
    private func finish(_ w: Double, _ out: UnsafeMutableBufferPointer<Float>) {
        let n = out.count
        let c = (w - w0) / hg
        let m = marginMM
        for j in 0..<lattice.nv { for i in 0..<lattice.nu {
            let k = j * lattice.nu + i
            let d = Double(out[k]) + m
            if d <= 0 { out[k] = Float(-m); continue }
            let r = ratioAt(i, j, c)
            out[k] = r.isFinite ? Float(min(d * r - m, 2 * m)) : Float(2 * m)
        } }
        let tmp = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { tmp.deallocate() }
        for barrier in barriers {
            barrier.phi(w, tmp)
            for k in 0..<n { out[k] = max(out[k], -tmp[k]) }
        }
        source.phi(w, tmp)
        for k in 0..<n { out[k] = min(out[k], tmp[k]) }
    }

    override var breakpoints: [Double] { [w0, w0 + Double(size.z - 1) * hg] }
    private lazy var cachedLayers: [SolidLayer] = euclid.engine.sampledLayers(self, breakpoints: breakpoints, lattice: lattice)
    override func layers() -> [SolidLayer] { cachedLayers }
}
