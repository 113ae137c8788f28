import Base
import Dispatch
import Foundation
import VoxelKit

/// How `MarginEngine` samples and models structures.
public struct MarginOptions: Sendable {
    /// In-plane cell of the working lattice, mm (made coarser only when a very large
    /// structure would need more than `maximumLayerCells` stored values).
    public var cellMM: Double = 0.5
    /// The source solid: `.prism` (the planning-system prism stack, default), or
    /// `.interpolated` (shape-based interpolation between planes, rounded ends).
    /// `.none` is taken as `.prism`.
    public var endCap: EndCap = .prism
    /// Douglas–Peucker tolerance of the output contours, mm (≤ 0.1). Dropped vertices cut
    /// chords inside convex parts: area loss ≈ ⅔ × tolerance × perimeter, so keep it small.
    public var toleranceMM: Double = 0.01
    /// Thickness of the thin slabs used for interpolated solids and for the inputs of
    /// nested operations, mm.
    public var layerMM: Double = 0.5
    /// Thickness of the thin slabs of an interpolated source solid, mm (half that in
    /// its rounded ends). Distances are measured to stacks that touch the surface at
    /// every slab face (intersections for growth, unions for contraction), so the error
    /// is second order in this: on a 10 mm sphere, 0.5 mm slabs and 0.25 mm slabs give
    /// the grown and shrunk volumes within 0.2 % and 0.7 % alike.
    public var interpolatedLayerMM: Double = 0.5
    /// Cell of the 3D working grid of barrier-aware (geodesic) growth, mm.
    public var geodesicCellMM: Double = 1.0
    /// Cap on lattice cells × stored slabs, to bound memory.
    public var maximumLayerCells: Int = 40_000_000
    public init() {}
}

/// The result of evaluating a margin expression: closed polygons on planes.
public struct MarginResult: Sendable {
    public struct Plane: Sendable {
        /// Index into the output plane positions given to the engine.
        public var index: Int
        public var w: Double
        /// Outer contours counter-clockwise, holes clockwise (in (u, v)), mm.
        public var polygons: [[SIMD2<Double>]]
    }
    public var lattice: CellLattice
    /// Planes holding contours, in increasing w.
    public var planes: [Plane]
    /// Wall time of the engine's stages, seconds, in order: building the nodes (the source
    /// solids' slabs), the slab fields, the level functions on the output planes, tracing.
    public var timings: [(stage: String, seconds: Double)] = []

    /// The result as a planar shape in `frame`.
    public func shape(name: String, frame: PlaneFrame) -> PlanarShape {
        PlanarShape(name: name, frame: frame, planes: planes.map { PlanarShape.Plane(w: $0.w, polygons: $0.polygons) })
    }
}

/// Grows, shrinks and combines structures exactly, from their surfaces.
///
/// A structure is the solid of its contours (`MarginOptions.endCap`): a union of slabs
/// S_p = P_p × [a_p, b_p]. The gauge distance from x = (u, v, w) to S is
/// min_p [g_p(u, v)² + (dz_p(w) / r_w±)²]^½, where g_p is the in-plane gauge (a
/// Euclidean distance over the margin for uniform margins) from (u, v) to the region
/// P_p (0 inside), computed exactly on a fine lattice by splatting every edge onto the
/// cells within reach (`PlaneField`), and dz_p the distance from w to [a_p, b_p]: the
/// octant body separates into its in-plane quarter ellipses and its w semi-axis. A
/// contraction uses the complement's slabs (outside of P_p within [a_p, b_p], and every
/// w outside the stack). Each output plane's level set (gauge − 1) is traced by
/// marching squares. Booleans take min/max of signed level functions.
public final class MarginEngine: @unchecked Sendable {
    public let frame: PlaneFrame
    public let sliceSpacing: Double
    public let shapes: [PlanarShape]
    /// Positions (w) of the planes to contour the result on (the CT slices).
    public let outputPlanes: [Double]
    public let options: MarginOptions

    /// Tie-breaking offset of the level function on output planes, mm.
    static let tieMM: Float = 1e-3

    public init(frame: PlaneFrame, sliceSpacing: Double, shapes: [PlanarShape], outputPlanes: [Double], options: MarginOptions = MarginOptions()) {
        self.frame = frame
        self.sliceSpacing = sliceSpacing
        self.shapes = shapes
        self.outputPlanes = outputPlanes
        self.options = options
    }

    func shape(_ name: String) throws -> PlanarShape {
        guard let s = shapes.first(where: { StructureName.same($0.name, name) }) else { throw SBRTError(.invalidRequest, "no structure named \"\(name)\"") }
        guard !s.planes.isEmpty else { throw SBRTError(.invalidRequest, "structure \"\(name)\" has no closed contours") }
        return s
    }

    /// Evaluates `expression` on the output planes.
    /// - Throws: `SBRTError` for unknown or empty structures, mixed-sign or directional
    ///   margins the frame cannot hold.
    public func evaluate(_ expression: MarginExpression) throws -> MarginResult {
        guard let ext = try extent(expression) else {
            return MarginResult(lattice: CellLattice(u0: 0, v0: 0, h: options.cellMM, nu: 1, nv: 1), planes: [])
        }
        // Lattice over the result's in-plane bounds, with a border of three cells.
        var h = options.cellMM
        let layersEstimate = Double(max(1, try layerCountEstimate(expression)))
        func cells(_ h: Double) -> Double { ((ext.hi.x - ext.lo.x) / h + 7) * ((ext.hi.y - ext.lo.y) / h + 7) }
        while cells(h) * layersEstimate > Double(options.maximumLayerCells) && h < 5 { h *= 1.25 }
        // Beyond 4× the cap even at 5 mm cells (structures metres across), refuse rather
        // than exhaust memory or time.
        guard cells(h) * layersEstimate <= 4 * Double(options.maximumLayerCells),
              let nu = Checked.int(((ext.hi.x - ext.lo.x) / h).rounded(.up)), let nv = Checked.int(((ext.hi.y - ext.lo.y) / h).rounded(.up)) else {
            throw SBRTError(.tooLarge, String(format: "the result spans %.0f × %.0f mm over %.0f slabs; that needs more than %d lattice cells × slabs even at 5 mm cells", ext.hi.x - ext.lo.x, ext.hi.y - ext.lo.y, layersEstimate, 4 * options.maximumLayerCells))
        }
        let lattice = CellLattice(u0: ext.lo.x - 3 * h, v0: ext.lo.y - 3 * h, h: h, nu: nu + 7, nv: nv + 7)
        var clock = StageClock()
        let root = try build(expression, lattice: lattice, leaves: LeafCache())
        clock.lap("source solids (slabs)")
        root.prepare()
        clock.lap("slab fields")
        let indices = outputPlanes.indices.filter { outputPlanes[$0] >= ext.wLo - 1e-6 && outputPlanes[$0] <= ext.wHi + 1e-6 }
        let results = contours(of: root, at: indices.map { outputPlanes[$0] }, lattice: lattice, clock: &clock)
        var planes: [MarginResult.Plane] = []
        for (n, idx) in indices.enumerated() where !results[n].isEmpty {
            planes.append(MarginResult.Plane(index: idx, w: outputPlanes[idx], polygons: results[n]))
        }
        planes.sort { $0.w < $1.w }
        return MarginResult(lattice: lattice, planes: planes, timings: clock.stages)
    }

    // MARK: Extents

    struct Extent { var lo: SIMD2<Double>; var hi: SIMD2<Double>; var wLo: Double; var wHi: Double }

    func layers(of s: PlanarShape) -> [SolidLayer] { s.prismLayers(sliceSpacing: sliceSpacing) }

    /// In-plane bounds and w range that can hold the result; nil when empty.
    func extent(_ e: MarginExpression) throws -> Extent? {
        switch e {
        case .roi(let n):
            let s = try shape(n)
            guard let b = s.bounds else { return nil }
            let l = layers(of: s)
            // Interpolated ends may reach a whole slice beyond the end planes.
            let beyond = options.endCap == .interpolated ? sliceSpacing / 2 : 0
            return Extent(lo: b.lo, hi: b.hi, wLo: l.first!.lo - beyond, wHi: l.last!.hi + beyond)
        case .union(let a, let b), .symmetricDifference(let a, let b):
            let x = try extent(a), y = try extent(b)
            guard let x else { return y }
            guard let y else { return x }
            return Extent(lo: pointwiseMin(x.lo, y.lo), hi: pointwiseMax(x.hi, y.hi), wLo: min(x.wLo, y.wLo), wHi: max(x.wHi, y.wHi))
        case .intersection(let a, let b):
            guard let x = try extent(a), let y = try extent(b) else { return nil }
            let lo = pointwiseMax(x.lo, y.lo), hi = pointwiseMin(x.hi, y.hi)
            let wLo = max(x.wLo, y.wLo), wHi = min(x.wHi, y.wHi)
            guard lo.x <= hi.x, lo.y <= hi.y, wLo <= wHi else { return nil }
            return Extent(lo: lo, hi: hi, wLo: wLo, wHi: wHi)
        case .difference(let a, let b):
            _ = try extent(b)
            return try extent(a)
        case .expansion(let a, let m):
            guard !m.hasMixedSigns else { throw SBRTError(.invalidRequest, "a margin cannot both grow and shrink (\(m)); split it into two steps") }
            guard let x = try extent(a) else { return nil }
            if !m.isExpansion { return x }
            let r = try m.frameRadii(frame)
            let g = r.maxInPlaneMM
            return Extent(lo: x.lo - g, hi: x.hi + g, wLo: x.wLo - r.wMinus, wHi: x.wHi + r.wPlus)
        case .geodesic(let a, let m, let barriers):
            for b in barriers { _ = try shape(b) }
            guard m >= 0 else { throw SBRTError(.invalidRequest, "barrier-aware margins must be positive (got \(m) mm)") }
            guard let x = try extent(a) else { return nil }
            return Extent(lo: x.lo - m, hi: x.hi + m, wLo: x.wLo - m, wHi: x.wHi + m)
        }
    }

    func layerCountEstimate(_ e: MarginExpression) throws -> Int {
        switch e {
        case .roi(let n):
            let s = try shape(n)
            if options.endCap == .interpolated { return s.planes.count * (Checked.int((sliceSpacing / options.interpolatedLayerMM).rounded(.up)) ?? 1) }
            return s.planes.count
        case .union(let a, let b), .symmetricDifference(let a, let b), .intersection(let a, let b), .difference(let a, let b):
            return try layerCountEstimate(a) + layerCountEstimate(b)
        case .expansion(let a, _), .geodesic(let a, _, _):
            return try 2 * layerCountEstimate(a)
        }
    }

    // MARK: Nodes

    /// The leaves built so far for one expression, by structure: a structure named twice
    /// (a ring's `(S+b) − S`, a barrier that is also the source) is built once, its
    /// interpolated solid and slabs shared (the same node gives the same slabs).
    final class LeafCache {
        var nodes: [String: FieldNode] = [:]
    }

    func build(_ e: MarginExpression, lattice: CellLattice, leaves: LeafCache) throws -> FieldNode {
        func build(_ e: MarginExpression, lattice: CellLattice) throws -> FieldNode { try self.build(e, lattice: lattice, leaves: leaves) }
        switch e {
        case .roi(let n):
            let s = try shape(n)
            if let node = leaves.nodes[s.name] { return node }
            let node = leaf(s, lattice: lattice)
            leaves.nodes[s.name] = node
            return node
        case .union(let a, let b):
            return BooleanNode(.union, try build(a, lattice: lattice), try build(b, lattice: lattice), engine: self, lattice: lattice)
        case .difference(let a, let b):
            return BooleanNode(.difference, try build(a, lattice: lattice), try build(b, lattice: lattice), engine: self, lattice: lattice)
        case .intersection(let a, let b):
            return BooleanNode(.intersection, try build(a, lattice: lattice), try build(b, lattice: lattice), engine: self, lattice: lattice)
        case .symmetricDifference(let a, let b):
            return BooleanNode(.symmetricDifference, try build(a, lattice: lattice), try build(b, lattice: lattice), engine: self, lattice: lattice)
        case .expansion(let a, let m):
            let inner = try build(a, lattice: lattice)
            if m.isZero { return inner }
            let ext = try extent(e)!
            return ExpansionNode(inner: inner, radii: try m.frameRadii(frame), grow: m.isExpansion, lattice: lattice,
                                 wRange: (ext.wLo, ext.wHi), engine: self)
        case .geodesic(let a, let m, let barriers):
            let inner = try build(a, lattice: lattice)
            let ext = try extent(e)!
            let euclid = ExpansionNode(inner: inner, radii: FrameRadii(uniform: m), grow: true, lattice: lattice,
                                       wRange: (ext.wLo, ext.wHi), engine: self)
            let barrierNodes = try barriers.map { try build(.roi($0), lattice: lattice) }
            return GeodesicNode(euclid: euclid, source: inner, marginMM: m, barriers: barrierNodes, lattice: lattice,
                                wRange: (ext.wLo, ext.wHi), cellMM: options.geodesicCellMM)
        }
    }

    /// The solid of structure `s` (`MarginOptions.endCap`) on `lattice`.
    func leaf(_ s: PlanarShape, lattice: CellLattice) -> FieldNode {
        guard options.endCap == .interpolated else { return LeafNode(layers: layers(of: s), lattice: lattice) }
        let (spacing, layerMM, tol) = (sliceSpacing, options.interpolatedLayerMM, options.toleranceMM / 3)
        // The solid lies within a slice of its contours' bounds (its ends grow by at most a
        // slice): built on that part of the lattice, with two empty cells around it, so the
        // traced slabs are the same as on the whole lattice.
        let part = s.bounds.flatMap { CellWindow.around(lo: $0.lo, hi: $0.hi, lattice: lattice, reachMM: spacing + 3 * lattice.h) }
        let sub = part.map { lattice.restricted(to: $0) } ?? lattice
        let occupancy = ShapeOccupancy(shape: s, lattice: sub, endCap: .interpolated, sliceSpacing: spacing)
        return LeafNode(InterpolatedSlabs(occupancy, layerMM: layerMM, toleranceMM: tol), lattice: lattice)
    }

    /// Thin slabs of a node whose cross-section varies with w: sampled at ≤ layerMM.
    func sampledLayers(_ node: FieldNode, breakpoints: [Double], lattice: CellLattice) -> [SolidLayer] {
        var pieces: [(Double, Double)] = []
        for n in 0..<max(0, breakpoints.count - 1) {
            let a = breakpoints[n], b = breakpoints[n + 1]
            if b - a < 1e-9 { continue }
            let m = node.isPiecewiseConstant ? 1 : max(1, Checked.int(((b - a) / options.layerMM).rounded(.up)) ?? 1)
            for k in 0..<m { pieces.append((a + (b - a) * Double(k) / Double(m), a + (b - a) * Double(k + 1) / Double(m))) }
        }
        let polygons = traced(node, at: pieces.map { ($0.0 + $0.1) / 2 }, lattice: lattice, toleranceMM: options.toleranceMM / 3)
        return zip(pieces, polygons).compactMap { piece, polys in polys.isEmpty ? nil : SolidLayer(lo: piece.0, hi: piece.1, polygons: polys) }
    }

    /// The contours of the result on planes `ws` (CT planes): the zero level of the root's
    /// level function, offset by `tieMM`, without specks below half a cell.
    func contours(of root: FieldNode, at ws: [Double], lattice: CellLattice, clock: inout StageClock) -> [[[SIMD2<Double>]]] {
        // Ties: where a CT plane lies exactly on a flat face of the result (a flat end
        // shrunk by exactly the distance to that plane), the level function is zero across
        // the face up to rounding, and tracing it would give rounding-noise specks. A point
        // counts as inside only if it is inside by at least 1 µm. Specks below half a cell's
        // area (a plane tangent to the result, where a pole pokes through by micrometres)
        // are below the lattice's resolution: dropped.
        let minimumArea = 0.5 * lattice.h * lattice.h
        return traced(root, at: ws, lattice: lattice, toleranceMM: options.toleranceMM, offset: MarginEngine.tieMM, clock: &clock)
            .map { $0.filter { abs(PolygonCoverage.signedArea($0)) >= minimumArea } }
    }

    /// The zero level of `node`'s level function (+ `offset`) on each plane of `ws`: the
    /// planes evaluated in batches (one pass of the slab envelope per batch, at most ~64 MB
    /// of fields), traced in parallel.
    func traced(_ node: FieldNode, at ws: [Double], lattice: CellLattice, toleranceMM tol: Double, offset: Float = 0) -> [[[SIMD2<Double>]]] {
        var clock = StageClock()
        return traced(node, at: ws, lattice: lattice, toleranceMM: tol, offset: offset, clock: &clock)
    }

    func traced(_ node: FieldNode, at ws: [Double], lattice: CellLattice, toleranceMM tol: Double, offset: Float,
                clock: inout StageClock) -> [[[SIMD2<Double>]]] {
        var out = [[[SIMD2<Double>]]](repeating: [], count: ws.count)
        var levels = 0.0, tracing = 0.0
        let batch = max(8, 16_000_000 / max(1, lattice.count))
        out.withUnsafeMutableBufferPointer { o in
            let ob = o
            for start in stride(from: 0, to: ws.count, by: batch) {
                let part = Array(ws[start..<min(ws.count, start + batch)])
                let buffers = PlaneBuffers(planes: part.count, cells: lattice.count)
                var t = StageClock()
                node.phi(batch: part, buffers.planes)
                levels += t.lap()
                Parallel.forEachChunk(part.count) { _, range in
                    for n in range {
                        let phi = buffers.planes[n]
                        if offset != 0 { for i in 0..<phi.count { phi[i] += offset } }
                        ob[start + n] = ContourTracer.trace(UnsafeBufferPointer(phi), lattice: lattice, toleranceMM: tol)
                    }
                }
                tracing += t.lap()
            }
        }
        clock.record("level functions on the planes", levels)
        clock.record("tracing", tracing)
        return out
    }
}

/// Level functions of several planes in one allocation (plane-major).
final class PlaneBuffers: @unchecked Sendable {
    let storage: UnsafeMutableBufferPointer<Float>
    /// One buffer of `cells` values per plane.
    let planes: [UnsafeMutableBufferPointer<Float>]

    init(planes count: Int, cells: Int) {
        storage = .allocate(capacity: max(1, count * cells))
        // Tens of MB written once by the level functions: 2 MiB pages, 1/512 of the faults.
        HugePages.advise(storage)
        let base = storage.baseAddress!
        planes = (0..<count).map { UnsafeMutableBufferPointer(start: base + $0 * cells, count: cells) }
    }

    deinit { storage.deallocate() }
}

/// A solid that can say its signed level function (mm, negative inside) on any plane.
class FieldNode: @unchecked Sendable {
    let lattice: CellLattice
    init(lattice: CellLattice) { self.lattice = lattice }
    /// Writes the level function at `w` into `out` (lattice.count values).
    func phi(_ w: Double, _ out: UnsafeMutableBufferPointer<Float>) { fatalError("abstract") }
    /// Does the work that does not depend on the plane (slab fields), for all nodes below.
    func prepare() {}
    /// Writes the level functions at each of `ws` into the matching buffer of `outs`. Nodes
    /// that measure distances along w (`ExpansionNode`) answer all planes in one pass.
    func phi(batch ws: [Double], _ outs: [UnsafeMutableBufferPointer<Float>]) {
        for (w, out) in zip(ws, outs) { phi(w, out) }
    }
    /// The solid as slabs.
    func layers() -> [SolidLayer] { fatalError("abstract") }
    /// The solid as slabs for measuring distances from outside (growth) or from inside
    /// (contraction); the same as `layers()` unless the node knows tighter stacks.
    func layers(forGrowth growth: Bool) -> [SolidLayer] { layers() }
    /// Whether the cross-section is constant between the `breakpoints`.
    var isPiecewiseConstant: Bool { false }
    /// w values where the cross-section's definition changes.
    var breakpoints: [Double] { [] }
}

/// Per-slab in-plane fields (inside mask and boundary gauge²), computed on first use.
final class LayerFields: @unchecked Sendable {
    let layers: [SolidLayer]
    let lattice: CellLattice
    let radii: FrameRadii
    let reachMM: Double
    private var inside: [[UInt8]?]
    private var gauge2: [[Float]?]
    private let lock = NSLock()

    init(layers: [SolidLayer], lattice: CellLattice, radii: FrameRadii, reachMM: Double) {
        self.layers = layers
        self.lattice = lattice
        self.radii = radii
        self.reachMM = reachMM
        inside = Array(repeating: nil, count: layers.count)
        gauge2 = Array(repeating: nil, count: layers.count)
    }

    func fields(_ q: Int) -> (inside: [UInt8], gauge2: [Float]) {
        lock.lock()
        if let i = inside[q], let g = gauge2[q] { lock.unlock(); return (i, g) }
        lock.unlock()
        let i = PlaneField.insideMask(layers[q].polygons, lattice: lattice)
        let g = PlaneField.boundaryGauge2(layers[q].polygons, lattice: lattice, radii: radii, reachMM: reachMM)
        lock.lock()
        inside[q] = i
        gauge2[q] = g
        lock.unlock()
        return (i, g)
    }

    /// Index of the slab containing w (lo ≤ w < hi), if any.
    func layer(containing w: Double) -> Int? {
        var lo = 0, hi = layers.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if layers[mid].hi <= w { lo = mid + 1 } else { hi = mid }
        }
        return lo < layers.count && layers[lo].lo <= w && w < layers[lo].hi ? lo : nil
    }

    /// Indices of slabs within `distance` of w along w.
    func layers(near w: Double, within distance: Double) -> Range<Int> {
        var lo = 0, hi = layers.count
        while lo < hi { let mid = (lo + hi) / 2; if layers[mid].hi < w - distance { lo = mid + 1 } else { hi = mid } }
        var end = lo
        while end < layers.count && layers[end].lo <= w + distance { end += 1 }
        return lo..<end
    }
}

/// A structure's own solid: the slab containing w, as a signed in-plane distance.
final class LeafNode: FieldNode, @unchecked Sendable {
    let cap: Float
    /// The solid as slabs of each kind. A solid whose cross-section varies within its
    /// slabs has different stacks for its own level function (`.centre`), for distances
    /// from outside (growth: `.inner`) and from inside (contraction: `.outer`); a prism
    /// stack is all three. Built on first use: a growth never needs the centre stack.
    private let make: (PlanarShape.SlabBound) -> [SolidLayer]
    private var stacks: [PlanarShape.SlabBound: [SolidLayer]] = [:]
    private var centreFields: LayerFields?
    /// An interpolated solid: its own level function needs only the centre slabs holding
    /// the planes asked for, each traced and measured on first use.
    private let interpolated: InterpolatedSlabs?
    private var slabFields: [Int: (inside: [UInt8], gauge2: [Float])] = [:]
    private let lock = NSLock()

    init(lattice: CellLattice, stacks make: @escaping (PlanarShape.SlabBound) -> [SolidLayer], interpolated: InterpolatedSlabs? = nil) {
        self.make = make
        self.interpolated = interpolated
        cap = Float(3 * lattice.h)
        super.init(lattice: lattice)
    }

    convenience init(layers: [SolidLayer], lattice: CellLattice) {
        self.init(lattice: lattice, stacks: { _ in layers })
    }

    /// The slabs of an interpolated solid.
    convenience init(_ slabs: InterpolatedSlabs, lattice: CellLattice) {
        self.init(lattice: lattice, stacks: { slabs.layers($0) }, interpolated: slabs)
    }

    private func stack(_ bound: PlanarShape.SlabBound) -> [SolidLayer] {
        lock.lock()
        defer { lock.unlock() }
        if let s = stacks[bound] { return s }
        let s = make(bound)
        stacks[bound] = s
        return s
    }

    private var fields: LayerFields {
        let solid = stack(.centre)
        lock.lock()
        defer { lock.unlock() }
        if let f = centreFields { return f }
        // Exact signed distances within three cells of the boundary, ± 3 cells beyond.
        let f = LayerFields(layers: solid, lattice: lattice, radii: FrameRadii(uniform: 1), reachMM: 3 * lattice.h)
        centreFields = f
        return f
    }

    /// The inside mask and boundary gauge² of the centre slab holding w, if any.
    private func centreField(_ w: Double) -> (inside: [UInt8], gauge2: [Float])? {
        guard let slabs = interpolated else {
            let fields = self.fields
            return fields.layer(containing: w).map { fields.fields($0) }
        }
        guard let k = slabs.index(containing: w) else { return nil }
        lock.lock()
        if let f = slabFields[k] { lock.unlock(); return f }
        lock.unlock()
        let polygons = slabs.centrePolygons(k)
        let f = (PlaneField.insideMask(polygons, lattice: lattice),
                 PlaneField.boundaryGauge2(polygons, lattice: lattice, radii: FrameRadii(uniform: 1), reachMM: 3 * lattice.h))
        lock.lock()
        slabFields[k] = f
        lock.unlock()
        return f
    }

    override func phi(_ w: Double, _ out: UnsafeMutableBufferPointer<Float>) {
        guard let (inside, g2) = centreField(w) else {
            for i in 0..<out.count { out[i] = cap }
            return
        }
        for i in 0..<out.count {
            let d = min(g2[i].squareRoot(), cap)
            out[i] = inside[i] != 0 ? -d : d
        }
    }

    override func phi(batch ws: [Double], _ outs: [UnsafeMutableBufferPointer<Float>]) {
        Parallel.forEachChunk(ws.count) { _, range in
            for q in range { self.phi(ws[q], outs[q]) }
        }
    }

    override func layers() -> [SolidLayer] { stack(.centre) }
    override func layers(forGrowth growth: Bool) -> [SolidLayer] { stack(growth ? .inner : .outer) }
    override var isPiecewiseConstant: Bool { true }
    override var breakpoints: [Double] { stack(.centre).flatMap { [$0.lo, $0.hi] } }
}

/// Union, difference, intersection, symmetric difference of two solids.
final class BooleanNode: FieldNode, @unchecked Sendable {
    enum Op { case union, difference, intersection, symmetricDifference }
    let op: Op
    let a: FieldNode, b: FieldNode
    unowned let engine: MarginEngine
    private lazy var cachedLayers: [SolidLayer] = engine.sampledLayers(self, breakpoints: breakpoints, lattice: lattice)

    init(_ op: Op, _ a: FieldNode, _ b: FieldNode, engine: MarginEngine, lattice: CellLattice) {
        self.op = op
        self.a = a
        self.b = b
        self.engine = engine
        super.init(lattice: lattice)
    }

    override func prepare() {
        a.prepare()
        b.prepare()
    }

    override func phi(_ w: Double, _ out: UnsafeMutableBufferPointer<Float>) { phi(batch: [w], [out]) }

    override func phi(batch ws: [Double], _ outs: [UnsafeMutableBufferPointer<Float>]) {
        a.phi(batch: ws, outs)
        let tmp = PlaneBuffers(planes: ws.count, cells: lattice.count)
        b.phi(batch: ws, tmp.planes)
        let op = self.op
        Parallel.forEachChunk(ws.count) { _, range in
            for q in range {
                let out = outs[q], other = tmp.planes[q]
                for i in 0..<out.count {
                    let x = out[i], y = other[i]
                    switch op {
                    case .union: out[i] = min(x, y)
                    case .intersection: out[i] = max(x, y)
                    case .difference: out[i] = max(x, -y)
                    case .symmetricDifference: out[i] = max(min(x, y), -max(x, y))
                    }
                }
            }
        }
    }

    override var isPiecewiseConstant: Bool { a.isPiecewiseConstant && b.isPiecewiseConstant }
    override var breakpoints: [Double] {
        var all = (a.breakpoints + b.breakpoints).sorted()
        all = all.reduce(into: [Double]()) { acc, x in if acc.last.map({ x - $0 > 1e-9 }) ?? true { acc.append(x) } }
        return all
    }
    override func layers() -> [SolidLayer] { cachedLayers }
}
