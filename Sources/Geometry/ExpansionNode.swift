import Foundation
import VoxelKit

/// Growth (x − y ∈ E for some y in S) or contraction (x + E ⊂ S) by an octant body E.
///
/// The inner solid is a stack of slabs P_p × [a_p, b_p]. Each slab gets, once, its
/// in-plane squared gauge G_p on a window of the lattice: for growth the gauge from outside
/// P_p to its boundary (0 inside), for contraction the gauge from inside P_p to the
/// complement (0 outside), exact near the boundary and carried outward by vector
/// propagation of nearest edges (`NearestSegments`: O(window cells)). A plane w is read
/// from the lower envelope along w of all the slabs' fields (`SlabEnvelope`: the octant
/// body separates into its in-plane gauge and its w semi-axis), all requested planes in
/// one pass. Nothing costs edges × (reach / cell)².
///
/// Level function (mm): growth (√f − 1) × r_max (capped at 2 r_max); contraction, inside the
/// slab holding w, (1 − √min(f, f_gaps)) × r_max, where f_gaps measures to the w ranges
/// outside the stack; r_max elsewhere.
final class ExpansionNode: FieldNode, @unchecked Sendable {
    let inner: FieldNode
    let radii: FrameRadii
    let grow: Bool
    let wRange: (Double, Double)
    let solid: [SolidLayer]
    /// w intervals outside the stack (for contraction).
    let gaps: [(Double, Double)]
    let scale: Double
    unowned let engine: MarginEngine
    private lazy var cachedLayers: [SolidLayer] = engine.sampledLayers(self, breakpoints: breakpoints, lattice: lattice)

    /// One slab's field: its window, G_p on it, and (contraction) its inside mask.
    struct SlabField {
        var window: CellWindow
        var values: UnsafeMutableBufferPointer<Float>
        var inside: [UInt8]
    }
    private var fields: [SlabField]?
    /// The storage of every slab's values, one allocation (`slabFields`).
    private var arena: UnsafeMutableBufferPointer<Float>?
    private let lock = NSLock()

    init(inner: FieldNode, radii: FrameRadii, grow: Bool, lattice: CellLattice, wRange: (Double, Double), engine: MarginEngine) {
        self.inner = inner
        // A contraction measures y − x: the reflected body.
        self.radii = grow ? radii : radii.reflected
        self.grow = grow
        self.wRange = wRange
        self.engine = engine
        solid = inner.layers(forGrowth: grow)
        var gaps: [(Double, Double)] = [(-Double.infinity, solid.first?.lo ?? .infinity)]
        for (p, q) in zip(solid, solid.dropFirst()) where q.lo > p.hi + 1e-9 { gaps.append((p.hi, q.lo)) }
        gaps.append((solid.last?.hi ?? -.infinity, .infinity))
        self.gaps = gaps
        scale = max(radii.maxMM, 1e-3)
        super.init(lattice: lattice)
    }

    deinit { arena?.deallocate() }

    /// The envelope is exact below this gauge²: wherever the level function is within three
    /// cells of zero (its gradient is at most r_max / r_min per mm); beyond, only its sign
    /// matters (nested operations and tracing read values near zero only).
    var limit: Float {
        let rMin = max(1e-3, min(radii.uPlus, radii.uMinus, radii.vPlus, radii.vMinus, radii.wPlus, radii.wMinus))
        return Float((1 + 3 * lattice.h / rMin) * (1 + 3 * lattice.h / rMin))
    }

    @inline(__always) func wTerm(_ off: Double) -> Double {
        if off == 0 { return 0 }
        let r = off > 0 ? radii.wPlus : radii.wMinus
        if r <= 0 { return .infinity }
        return (off / r) * (off / r)
    }

    /// The slabs' fields, computed on first use (in parallel over slabs).
    private func slabFields() -> [SlabField] {
        lock.lock()
        defer { lock.unlock() }
        if let fields { return fields }
        let lattice = self.lattice, radii = self.radii, grow = self.grow, solid = self.solid
        // In-plane: Euclidean (scaled by 1/r²) when the four in-plane radii agree.
        let r = radii.uPlus
        let euclidean = radii.uMinus == r && radii.vPlus == r && radii.vMinus == r
        let invR2 = Float(1 / (max(r, 1e-3) * max(r, 1e-3)))
        let reach = grow ? radii.maxInPlaneMM + 3 * lattice.h : lattice.h
        let limit = self.limit
        var made = [SlabField?](repeating: nil, count: solid.count)
        let windows = solid.map { CellWindow.around($0.polygons, lattice: lattice, reachMM: reach) }
        let largest = windows.reduce(0) { max($0, $1?.count ?? 0) }
        // Every slab's values in one allocation (tens of MB for a 20 mm growth), faulted in
        // as huge pages: a slab's values are its slice, written once, read by the envelope.
        var offsets = [0]
        for w in windows { offsets.append(offsets.last! + (w?.count ?? 0)) }
        let storage = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, offsets.last!))
        HugePages.advise(storage)
        arena = storage
        func values(_ p: Int) -> UnsafeMutableBufferPointer<Float> {
            UnsafeMutableBufferPointer(start: storage.baseAddress! + offsets[p], count: offsets[p + 1] - offsets[p])
        }
        // One edge buffer per worker, reused slab after slab (no fresh pages per slab).
        let scratch = (0..<Parallel.workers).map { _ in UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, largest)) }
        defer { for s in scratch { s.deallocate() } }
        // Largest windows first, handed out one at a time: the cores finish together.
        let order = windows.indices.filter { windows[$0] != nil }.sorted { (windows[$0]!.count, $1) > (windows[$1]!.count, $0) }
        made.withUnsafeMutableBufferPointer { out in
            let o = out
            Parallel.forEachDynamic(order) { worker, p in
                o[p] = Self.slabField(solid[p].polygons, lattice: lattice, window: windows[p]!, radii: euclidean ? nil : radii,
                                      scale: euclidean ? invR2 : 1, limit: limit, grow: grow, edges: scratch[worker], into: values(p))
            }
        }
        let f = made.indices.map { made[$0] ?? SlabField(window: CellWindow(i0: 0, j0: 0, ni: 0, nj: 0), values: values($0), inside: []) }
        fields = f
        return f
    }

    /// G_p on `window` for one slab's polygons (growth: gauge² outside, 0 inside;
    /// contraction: gauge² inside, 0 outside); `scale` turns mm² into gauge² for a
    /// Euclidean in-plane metric.
    /// The gauge² goes straight into `values` (window.count of them) and is scaled in place;
    /// `edges` is scratch for the nearest edges.
    private static func slabField(_ polygons: [[SIMD2<Double>]], lattice: CellLattice, window: CellWindow, radii: FrameRadii?,
                                  scale: Float, limit: Float, grow: Bool, edges: UnsafeMutableBufferPointer<Int32>,
                                  into values: UnsafeMutableBufferPointer<Float>) -> SlabField {
        // The inside test on the window's cells only.
        let mask = PlaneField.insideMask(polygons, lattice: lattice.restricted(to: window))
        let n = window.count
        mask.withUnsafeBufferPointer { m in
            // Values at or beyond the envelope's limit are left out there: not handed on.
            NearestSegments.compute(edges: EdgeTable(polygons), lattice: lattice, window: window, radii: radii,
                                    side: grow ? .outside : .inside, inside: m.baseAddress!, stride: window.ni,
                                    maximumGauge2: limit / scale, edge: edges, gauge2: values)
            for k in 0..<n { values[k] = (m[k] != 0) == grow ? 0 : values[k] * scale }
        }
        return SlabField(window: window, values: values, inside: grow ? [] : mask)
    }

    override func prepare() {
        inner.prepare()
        _ = slabFields()
    }

    override func phi(_ w: Double, _ out: UnsafeMutableBufferPointer<Float>) { phi(batch: [w], [out]) }

    override func phi(batch ws: [Double], _ outs: [UnsafeMutableBufferPointer<Float>]) {
        guard !ws.isEmpty else { return }
        let order = ws.indices.sorted { ws[$0] < ws[$1] }
        let queries = order.map { ws[$0] }
        let fields = slabFields()
        let slabs = zip(solid, fields).map { l, s in
            SlabEnvelope.Slab(lo: l.lo, hi: l.hi, window: s.window, values: UnsafePointer(s.values.baseAddress!))
        }
        // The envelope goes straight into the output planes; each level is then taken in place.
        let planes = order.map { outs[$0] }
        SlabEnvelope.evaluate(slabs, lattice: lattice, outsideValue: grow ? .infinity : 0, queries: queries, limit: limit,
                              radiusAbove: radii.wPlus, radiusBelow: radii.wMinus, planes: planes.map { $0.baseAddress! })
        Parallel.forEachChunk(ws.count) { _, range in
            for q in range {
                if self.grow { self.growthLevel(planes[q]) } else { self.contractionLevel(planes[q], at: queries[q], fields) }
            }
        }
    }

    /// The growth level of the envelope's gauge² f, in place.
    private func growthLevel(_ f: UnsafeMutableBufferPointer<Float>) {
        let s = Float(scale), cap = Float(2 * scale)
        for i in 0..<f.count {
            let v = f[i]
            f[i] = v.isFinite ? min((v.squareRoot() - 1) * s, cap) : cap
        }
    }

    /// The contraction level of the envelope's gauge² f, in place (each cell read before it is written).
    private func contractionLevel(_ f: UnsafeMutableBufferPointer<Float>, at w: Double, _ fields: [SlabField]) {
        let out = f
        let s = Float(scale)
        guard let p = solid.firstIndex(where: { $0.lo <= w && w < $0.hi }) else {
            for i in 0..<out.count { out[i] = s }
            return
        }
        var floor = Double.infinity  // from w ranges outside the stack: the whole plane
        for (a, b) in gaps { floor = min(floor, wTerm(w < a ? w - a : (w > b ? w - b : 0))) }
        let fl = Float(floor), win = fields[p].window, inside = fields[p].inside
        for j in 0..<lattice.nv {
            for i in 0..<lattice.nu {
                let k = j * lattice.nu + i, wi = i - win.i0, wj = j - win.j0
                let isInside = wi >= 0 && wj >= 0 && wi < win.ni && wj < win.nj && inside[wj * win.ni + wi] != 0
                guard isInside else { out[k] = s; continue }
                let v = min(f[k], fl)
                out[k] = v.isFinite ? (1 - v.squareRoot()) * s : -s
            }
        }
    }

    override var breakpoints: [Double] { [wRange.0, wRange.1] }
    override func layers() -> [SolidLayer] { cachedLayers }
}
