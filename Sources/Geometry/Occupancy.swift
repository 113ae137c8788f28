import Base
import Foundation
import VoxelKit

/// How a stack of planar contours fills the space between and beyond its planes.
public enum EndCap: String, Sendable, CaseIterable, Codable {
    /// Each plane extruded to half the distance to its neighbours, and by half a slice
    /// beyond the first and last planes (the common planning-system convention).
    case prism
    /// As `prism` between planes, but nothing beyond the first and last plane of each
    /// run of contiguous planes.
    case none
    /// Shape-based interpolation of signed distances between contiguous planes. Beyond an
    /// end plane, a tapering end is continued along its own curvature (a circle through
    /// its last three planes, at each in-plane point) until it closes, at most one slice
    /// out; an end that does not close within a slice (a cut or flat end) reaches half a
    /// slice with its rim rounded (a fillet of half a slice).
    case interpolated
}

/// The occupancy of a planar shape on a cell lattice, as a function of w.
///
/// Between "breakpoints" the definition of the cross-section does not change (one
/// prism slab, or one interval between two planes), so a sampler that subdivides each
/// breakpoint interval samples every part of the shape consistently.
public final class ShapeOccupancy: @unchecked Sendable {
    public let shape: PlanarShape
    public let lattice: CellLattice
    public let endCap: EndCap
    /// The spacing of a contiguous stack (CT slice spacing), mm.
    public let sliceSpacing: Double

    /// Per plane, the coverage fractions on `lattice` (computed once; prism and none end
    /// caps only, empty for `interpolated`, which reads the signed distances).
    public let planeCoverage: [[Float]]
    /// Per plane, the slab [w − below, w + above] it fills in prism/none modes.
    public let slabs: [(lo: Double, hi: Double)]
    /// Whether plane p and p+1 are contiguous (gap ≤ 1.5 slice spacings).
    let contiguousWithNext: [Bool]
    /// Signed distance (mm, negative inside) per plane, for interpolation; empty otherwise.
    let signedDistance: [[Float]]
    /// Per plane that ends a run, the nearest point of its contours to each cell centre (u, v).
    let nearest: [(u: [Float], v: [Float])]
    /// Per plane that ends a run (and has a neighbour inward), per cell: the rounded
    /// profile the cell follows beyond the plane, or nil for the flat end. Computed once;
    /// see `roundedEnd`.
    private(set) var roundedProfiles: [RoundedProfiles] = []
    /// Per plane p contiguous with p + 1, the cells whose coverage may lie strictly between
    /// 0 and 1 somewhere between the two planes (`interpolate` keeps each value within an
    /// eighth of the interval of [min, max] of the two planes' signed distances); every other
    /// cell is 1 or 0 throughout the interval. Computed once: the interpolation then costs
    /// a vectorised pass plus the arcs of the boundary band, not arcs at every cell.
    private(set) var intervalBands: [[Int32]] = []
    /// Per plane that ends a run, the cells an end beyond it may cover (signed distance on
    /// the plane below a slice + half a cell); every other cell is outside the end.
    private(set) var capCells: [[Int32]] = []
    /// Per interval, the arcs of its band cells (`arcs`).
    private(set) var intervalArcs: [[(before: Arc, after: Arc)]] = []

    /// Per cell of an end plane, its `RoundedProfile` or nil, stored sparsely (a profile
    /// index per cell, −1 for nil): most cells have none, and an optional profile per cell
    /// would be 40 bytes of fresh memory per cell and end.
    struct RoundedProfiles {
        var index: [Int32] = []
        var profiles: [RoundedProfile] = []

        init() {}
        init(cells: Int) { index = [Int32](repeating: -1, count: cells) }

        @inline(__always)
        subscript(i: Int) -> RoundedProfile? {
            let k = index[i]
            return k < 0 ? nil : profiles[Int(k)]
        }

        mutating func set(_ i: Int, _ profile: RoundedProfile) {
            index[i] = Int32(truncatingIfNeeded: profiles.count)
            profiles.append(profile)
        }
    }

    /// A cell's meridian profile beyond an end plane (`roundedProfile`): the circle
    /// (centre t, centre depth, radius) or, with a NaN centre, the chord of slope −radius;
    /// `close` is where the depth reaches zero or the circle turns.
    struct RoundedProfile {
        var centreT: Double, centreE: Double, radius: Double, close: Double

        /// The depth at distance d beyond the plane (nil past the circle's far end).
        @inline(__always)
        func depth(at d: Double, from ep: Double) -> Double? {
            if centreT.isNaN { return ep - radius * d }
            let dt = d - centreT, r2 = radius * radius - dt * dt
            return r2 >= 0 ? centreE + r2.squareRoot() : nil
        }
    }

    public init(shape: PlanarShape, lattice: CellLattice, endCap: EndCap, sliceSpacing: Double) {
        self.shape = shape
        self.lattice = lattice
        self.endCap = endCap
        self.sliceSpacing = sliceSpacing
        let planes = shape.planes
        var coverage = [[Float]](repeating: [], count: endCap == .interpolated ? 0 : planes.count)
        coverage.withUnsafeMutableBufferPointer { out in
            let o = out
            Parallel.forEachChunk(o.count) { _, range in
                for p in range { o[p] = PolygonCoverage.rasterize(planes[p].polygons, on: lattice) }
            }
        }
        planeCoverage = coverage
        var contiguous: [Bool] = []
        for p in planes.indices {
            contiguous.append(p + 1 < planes.count && planes[p + 1].w - planes[p].w <= 1.5 * sliceSpacing)
        }
        contiguousWithNext = contiguous
        var slabs: [(Double, Double)] = []
        for p in planes.indices {
            let hasPrev = p > 0 && contiguous[p - 1]
            let hasNext = contiguous[p]
            let below = hasPrev ? (planes[p].w - planes[p - 1].w) / 2 : (endCap == .none ? 0 : sliceSpacing / 2)
            let above = hasNext ? (planes[p + 1].w - planes[p].w) / 2 : (endCap == .none ? 0 : sliceSpacing / 2)
            slabs.append((planes[p].w - below, planes[p].w + above))
        }
        self.slabs = slabs
        if endCap == .interpolated {
            let f = Self.interpolationFields(shape, lattice: lattice, contiguous: contiguous, sliceSpacing: sliceSpacing)
            (signedDistance, nearest, intervalBands, capCells) = (f.distance, f.nearest, f.bands, f.capCells)
            intervalArcs = Self.arcs(f.distance, planes: planes, contiguous: contiguous, bands: f.bands)
            // A run's first plane faces below, its last above; a lone plane has no profile.
            let ends = planes.indices.filter { p in (p == 0 || !contiguous[p - 1]) != !contiguous[p] }
            var profiles = [RoundedProfiles](repeating: RoundedProfiles(), count: planes.count)
            profiles.withUnsafeMutableBufferPointer { out in
                let o = out
                Parallel.forEach(ends.count) { n in
                    let p = ends[n]
                    o[p] = self.roundedEnd(p, below: p == 0 || !contiguous[p - 1])
                }
            }
            roundedProfiles = profiles
        } else {
            signedDistance = []
            nearest = []
        }
    }

    /// The signed distances of the planes (`PlaneField.signedDistanceAndNearest`), their
    /// nearest points (run ends only), and the band lists (`intervalBands`, `capCells`).
    /// A plane is measured on the cells where it is read: within a slice and three cells of
    /// the contours of the planes two either side of it in its run (a band of one interval
    /// may read a neighbouring plane far from that plane's boundary, on a steep side or a
    /// shelf, but never beyond the contours of the interval's own planes); elsewhere it is
    /// outside, far (+1e6), which is all the band lists need there.
    private static func interpolationFields(_ shape: PlanarShape, lattice: CellLattice, contiguous: [Bool], sliceSpacing: Double)
        -> (distance: [[Float]], nearest: [(u: [Float], v: [Float])], bands: [[Int32]], capCells: [[Int32]]) {
        let planes = shape.planes
        // Nearest boundary points are used only beyond the ends of runs of planes.
        let endsRun = planes.indices.map { p in p == 0 || !contiguous[p - 1] || !contiguous[p] }
        // Plane p is read only within reach of the contours of planes p − 2 … p + 2 of its run
        // (the bands of the four intervals that read it, the ends' samples, their caps).
        let reach = sliceSpacing + 3 * lattice.h
        let windows: [CellWindow?] = planes.indices.map { p in
            var a = p, b = p
            while a > p - 2 && a > 0 && contiguous[a - 1] { a -= 1 }
            while b < p + 2 && contiguous[b] { b += 1 }
            return CellWindow.around(planes[a...b].flatMap(\.polygons), lattice: lattice, reachMM: reach)
        }
        var fields = [(distance: [Float], nearestU: [Float], nearestV: [Float])](repeating: ([], [], []), count: planes.count)
        // Largest windows first, one at a time: the cores finish together.
        let size = windows.map { $0?.count ?? lattice.count }
        let order = planes.indices.sorted { (size[$0], $1) > (size[$1], $0) }
        fields.withUnsafeMutableBufferPointer { out in
            let o = out
            Parallel.forEachDynamic(order) { _, p in
                o[p] = PlaneField.signedDistanceAndNearest(planes[p].polygons, lattice: lattice, nearest: endsRun[p], window: windows[p])
            }
        }
        let distance = fields.map(\.distance)
        let nearest: [(u: [Float], v: [Float])] = fields.map { ($0.nearestU, $0.nearestV) }
        let (bands, capCells) = Self.bands(distance, planes: planes.map(\.w), contiguous: contiguous, cellMM: lattice.h, sliceSpacing: sliceSpacing)
        return (distance, nearest, bands, capCells)
    }

    /// The w values where the cross-section's definition changes, increasing.
    public var breakpoints: [Double] {
        var out: [Double] = []
        switch endCap {
        case .prism, .none:
            for s in slabs where s.hi > s.lo { out.append(s.lo); out.append(s.hi) }
        case .interpolated:
            let planes = shape.planes
            for p in planes.indices {
                let startsRun = p == 0 || !contiguousWithNext[p - 1]
                if startsRun {
                    let r = capReach(p, below: true)
                    out.append(planes[p].w - r)
                    if r > sliceSpacing / 2 { out.append(planes[p].w - sliceSpacing / 2) }
                }
                out.append(planes[p].w)
                if !contiguousWithNext[p] {
                    let r = capReach(p, below: false)
                    out.append(planes[p].w + r)
                    if r > sliceSpacing / 2 { out.append(planes[p].w + sliceSpacing / 2) }
                }
            }
        }
        out.sort()
        var unique: [Double] = []
        for x in out where unique.last.map({ x - $0 > 1e-9 }) ?? true { unique.append(x) }
        return unique
    }

    /// Writes the coverage of the cross-section at `w` into `out` (lattice.count values);
    /// returns false (and leaves `out` untouched) when the shape is empty there.
    public func coverage(at w: Double, into out: UnsafeMutableBufferPointer<Float>) -> Bool {
        let planes = shape.planes
        switch endCap {
        case .prism, .none:
            guard let p = slabs.firstIndex(where: { w >= $0.lo && w < $0.hi }) else { return false }
            _ = out.initialize(from: planeCoverage[p])
            return true
        case .interpolated:
            // Between two contiguous planes: interpolate signed distances.
            for p in planes.indices {
                let wp = planes[p].w
                if contiguousWithNext[p] && w >= wp && w < planes[p + 1].w {
                    interpolate(out, from: p, at: w)
                    return true
                }
                let startsRun = p == 0 || !contiguousWithNext[p - 1]
                if startsRun && w >= wp - capReach(p, below: true) && w < wp {
                    return capFill(out, plane: p, below: true, distance: wp - w)
                }
                if !contiguousWithNext[p] && w >= wp && w < wp + capReach(p, below: false) {
                    return capFill(out, plane: p, below: false, distance: w - wp)
                }
            }
            return false
        }
    }

    /// Between contiguous planes p and p + 1, at w: at each in-plane point the signed
    /// distance follows the circle through it on planes p − 1, p, p + 1 and the one through
    /// p, p + 1, p + 2, blended linearly across the interval (an Overhauser-type curve
    /// built from circles instead of parabolas): exact for a sphere, a cylinder and a
    /// cone, second-order for any smooth surface. A circle is dropped for the straight
    /// chord where it is sharper than the interval is long or turns between its points
    /// (a kink, not a curved surface), and the result stays within an eighth of the
    /// interval of the chord's end values.
    /// With `bandOnly`, only the band's cells are written (`deepCells` counts the others
    /// that are 1).
    private func interpolate(_ out: UnsafeMutableBufferPointer<Float>, from p: Int, at w: Double, bandOnly: Bool = false) {
        let planes = shape.planes
        let w0 = planes[p].w, w1 = planes[p + 1].w
        let len = w1 - w0
        let s = (w - w0) / len
        let sd0 = signedDistance[p], sd1 = signedDistance[p + 1]
        let before: Int? = p > 0 && contiguousWithNext[p - 1] ? p - 1 : nil
        let after: Int? = p + 2 < planes.count && contiguousWithNext[p + 1] ? p + 2 : nil
        // Cells off the band are 1 (inside on both planes by more than the slack and half a
        // cell) or 0; the band's cells are overwritten below.
        if !bandOnly {
            let deep = deepLevel(len)
            for i in 0..<out.count { out[i] = max(sd0[i], sd1[i]) <= deep ? 1 : 0 }
        }
        let band = intervalBands[p]
        guard before != nil || after != nil else {
            let t = Float(s)
            fill(out, band) { i in (1 - t) * sd0[i] + t * sd1[i] }
            return
        }
        let slack = 0.125 * len, invH = Float(1 / lattice.h)
        let arcs = intervalArcs[p], hasB = before != nil, hasA = after != nil
        for (n, c) in band.enumerated() {
            let i = Int(c)
            let y0 = Double(sd0[i]), y1 = Double(sd1[i])
            let linear = (1 - s) * y0 + s * y1
            var wB = 0.0, wA = 0.0, vB = linear, vA = linear
            if let v = arcs[n].before.value(at: w) { vB = v; wB = 1 - s }
            if let v = arcs[n].after.value(at: w) { vA = v; wA = s }
            // Blend the available arcs; where only one side has one, it carries the whole interval.
            let v: Double
            if wB > 0 && wA > 0 { v = (wB * vB + wA * vA) / (wB + wA) }
            else if hasB && hasA { v = (1 - s) * vB + s * vA }
            else { v = hasB ? vB : vA }
            let sd = Float(min(max(y0, y1) + slack, max(min(y0, y1) - slack, v)))
            out[i] = min(1, max(0, 0.5 - sd * invH))
        }
    }

    /// The signed distance at or below which a cell off the band of an interval `len` long
    /// is inside throughout it (`interpolate`).
    @inline(__always)
    private func deepLevel(_ len: Double) -> Float { Float(-0.5 * lattice.h - 0.125 * len) }

    /// The cells off interval p's band that `interpolate` sets to 1 (they do not depend on w).
    func deepCells(_ p: Int) -> Int {
        let sd0 = signedDistance[p], sd1 = signedDistance[p + 1]
        let deep = deepLevel(shape.planes[p + 1].w - shape.planes[p].w)
        var count = 0
        for i in sd0.indices where max(sd0[i], sd1[i]) <= deep { count += 1 }
        for c in intervalBands[p] where max(sd0[Int(c)], sd1[Int(c)]) <= deep { count -= 1 }
        return count
    }

    /// An arc of `arcValue`, fitted once: its centre, radius and branch (0: no arc).
    struct Arc {
        var xc = 0.0, yc = 0.0, rho = 0.0, branch = 0.0

        init() {}

        /// The circle through three points, when `arcValue` would take it.
        init(_ a: (Double, Double), _ b: (Double, Double), _ c: (Double, Double), minimumRadius: Double) {
            guard let (x, y, r) = ShapeOccupancy.circle(a, b, c), r >= minimumRadius, r < 1e6 else { return }
            let sa = a.1 - y, sb = b.1 - y, sc = c.1 - y
            guard (sa > 0 && sb > 0 && sc > 0) || (sa < 0 && sb < 0 && sc < 0) else { return }
            (xc, yc, rho, branch) = (x, y, r, sb > 0 ? 1 : -1)
        }

        /// `arcValue` at w, bit for bit.
        @inline(__always)
        func value(at w: Double) -> Double? {
            guard branch != 0 else { return nil }
            let dx = w - xc
            let r = rho * rho - dx * dx
            guard r >= 0 else { return nil }
            return yc + branch * r.squareRoot()
        }
    }

    /// For the band cells of interval (p, p + 1), the arcs through planes p − 1, p, p + 1
    /// and p, p + 1, p + 2 (`interpolate`): they do not depend on w, so every section of
    /// the interval reads them instead of fitting them again.
    static func arcs(_ sd: [[Float]], planes: [PlanarShape.Plane], contiguous: [Bool], bands: [[Int32]]) -> [[(before: Arc, after: Arc)]] {
        var out = [[(before: Arc, after: Arc)]](repeating: [], count: planes.count)
        out.withUnsafeMutableBufferPointer { o in
            let ob = o
            Parallel.forEachChunk(planes.count) { _, range in
                for p in range where contiguous[p] {
                    let w0 = planes[p].w, w1 = planes[p + 1].w, len = w1 - w0
                    let before: Int? = p > 0 && contiguous[p - 1] ? p - 1 : nil
                    let after: Int? = p + 2 < planes.count && contiguous[p + 1] ? p + 2 : nil
                    ob[p] = bands[p].map { c in
                        let i = Int(c), y0 = Double(sd[p][i]), y1 = Double(sd[p + 1][i])
                        let b = before.map { Arc((planes[$0].w, Double(sd[$0][i])), (w0, y0), (w1, y1), minimumRadius: len) } ?? Arc()
                        let a = after.map { Arc((w0, y0), (w1, y1), (planes[$0].w, Double(sd[$0][i])), minimumRadius: len) } ?? Arc()
                        return (b, a)
                    }
                }
            }
        }
        return out
    }

    /// The band lists of `intervalBands` and `capCells` from the planes' signed distances.
    /// A cell is left out only when it is off the band by a margin (1e-3 of a cell), so the
    /// cells left out are exactly 0 or 1 whatever the rounding.
    static func bands(_ sd: [[Float]], planes w: [Double], contiguous: [Bool], cellMM h: Double, sliceSpacing: Double) -> ([[Int32]], [[Int32]]) {
        let n = sd.first?.count ?? 0
        var intervals = [[Int32]](repeating: [], count: sd.count)
        var caps = [[Int32]](repeating: [], count: sd.count)
        let eps = 1e-3 * h
        intervals.withUnsafeMutableBufferPointer { ib in caps.withUnsafeMutableBufferPointer { cb in
            let ivs = ib, cps = cb
            Parallel.forEachChunk(sd.count) { _, range in
                for p in range {
                    if contiguous[p] {
                        let reach = 0.5 * h + 0.125 * (w[p + 1] - w[p]) + eps
                        ivs[p] = sd[p].withUnsafeBufferPointer { a in sd[p + 1].withUnsafeBufferPointer { b in
                            var out: [Int32] = []
                            for i in 0..<n {
                                let lo = Double(min(a[i], b[i])), hi = Double(max(a[i], b[i]))
                                if lo < reach && hi > -reach { out.append(Int32(truncatingIfNeeded: i)) }
                            }
                            return out
                        } }
                    }
                    let endsRun = p == 0 || !contiguous[p - 1] || !contiguous[p]
                    if endsRun {
                        let limit = Float(sliceSpacing + 0.5 * h + eps)
                        cps[p] = sd[p].withUnsafeBufferPointer { a in
                            var out: [Int32] = []
                            for i in 0..<n where a[i] < limit { out.append(Int32(truncatingIfNeeded: i)) }
                            return out
                        }
                    }
                }
            }
        } }
        return (intervals, caps)
    }

    /// The value at w of the circle through three points (w, y) on the branch that holds
    /// them; nil when they are collinear, the circle's radius is below `minimumRadius`,
    /// or the points straddle its turning points (not a function of w).
    @inline(__always)
    static func arcValue(at w: Double, _ a: (Double, Double), _ b: (Double, Double), _ c: (Double, Double), minimumRadius: Double) -> Double? {
        guard let (xc, yc, rho) = circle(a, b, c), rho >= minimumRadius, rho < 1e6 else { return nil }
        // All three on one side of the centre's level: one branch y(w).
        let sa = a.1 - yc, sb = b.1 - yc, sc = c.1 - yc
        guard (sa > 0 && sb > 0 && sc > 0) || (sa < 0 && sb < 0 && sc < 0) else { return nil }
        let dx = w - xc
        let r = rho * rho - dx * dx
        guard r >= 0 else { return nil }
        return yc + (sb > 0 ? 1 : -1) * r.squareRoot()
    }

    /// The circle through three points (x, y): centre and radius; nil when they are collinear.
    @inline(__always)
    static func circle(_ a: (Double, Double), _ b: (Double, Double), _ c: (Double, Double)) -> (x: Double, y: Double, radius: Double)? {
        // Relative to b, the centre solves 2 p·centre = |p|² for p = a − b and c − b.
        let x1 = a.0 - b.0, y1 = a.1 - b.1, x2 = c.0 - b.0, y2 = c.1 - b.1
        let d = 2 * (x1 * y2 - x2 * y1)
        guard abs(d) > 1e-12 else { return nil }
        let s1 = x1 * x1 + y1 * y1, s2 = x2 * x2 + y2 * y2
        let xc = (s1 * y2 - s2 * y1) / d, yc = (x1 * s2 - x2 * s1) / d
        return (b.0 + xc, b.1 + yc, (xc * xc + yc * yc).squareRoot())
    }

    /// How far the end beyond plane p (below it or above it) may reach: one slice, and
    /// never past half the gap to the shape's next plane on that side.
    func capReach(_ p: Int, below: Bool) -> Double {
        let planes = shape.planes
        if below, p > 0 { return min(sliceSpacing, (planes[p].w - planes[p - 1].w) / 2) }
        if !below, p + 1 < planes.count { return min(sliceSpacing, (planes[p + 1].w - planes[p].w) / 2) }
        return sliceSpacing
    }

    /// The planes one and two steps inward (contiguous) from plane p, whose run ends at p
    /// on the side `below` (or above).
    func inwardPlanes(_ p: Int, below: Bool) -> (q: Int?, r: Int?) {
        let step = below ? 1 : -1
        func next(_ k: Int) -> Int? {
            let n = k + step
            return n >= 0 && n < shape.planes.count && contiguousWithNext[min(k, n)] ? n : nil
        }
        let q = next(p)
        return (q, q.flatMap(next))
    }

    /// Where a tapering in-plane point closes beyond its end plane, and its depth there.
    ///
    /// At an in-plane point, the depths e = −(signed distance) on the end plane (t = 0)
    /// and on the planes a and a + b inward (t = −a, −a − b) are three points of the
    /// solid's meridian profile e(t). They fix a circle; on a smooth convex end (a
    /// sphere's pole, a rounded tumour) the profile keeps that curvature until it
    /// closes: e(t) = 0, or the circle's far end when it turns before reaching zero.
    /// Collinear or inflected points, or two planes only, continue the last chord.
    /// - Returns: nil when the point does not taper (e_q ≤ e_p) or is outside the end
    ///   plane's contour.
    @inline(__always)
    static func roundedProfile(ep: Double, eq: Double, er: Double?, a: Double, b: Double) -> (centreT: Double, centreE: Double, radius: Double, close: Double)? {
        guard ep > 0, eq > ep else { return nil }
        if let er, let (tc, ec, rho) = circle((0, ep), (-a, eq), (-a - b, er)), rho < 1e6 {
            // The points on the upper arc, falling at the end plane: a convex end
            // (also where the profile levels off inward, as at a kink).
            if tc < 0 && ec < ep && ec < eq && ec < er {
                let close = ec < 0 ? tc + (rho * rho - ec * ec).squareRoot() : tc + rho
                return (tc, ec, rho, close)
            }
        }
        // The last chord continued: e(t) = ep − σ t.
        let sigma = (eq - ep) / a
        return (.nan, .nan, sigma, ep / sigma)
    }

    /// The end beyond plane p (below it or above it), at distance d (0 ≤ d < reach) from it.
    ///
    /// A cell with a rounded profile (`roundedEnd`) follows it. Every other point takes the
    /// flat end half a slice out: the signed distance extrapolated linearly from the plane
    /// inward (growth limited to d) with the rim rounded by a fillet of half a slice
    /// (eroded by c − √(c² − d²)). A single plane gets the fillet alone.
    private func capFill(_ out: UnsafeMutableBufferPointer<Float>, plane p: Int, below: Bool, distance d: Double) -> Bool {
        let c = sliceSpacing / 2
        let x = min(d, c)
        let fillet = Float(c - (c * c - x * x).squareRoot())
        let flat = d < c
        let sdP = signedDistance[p]
        let outside: Float = Float(2 * lattice.h)
        // Cells off `capCells` lie a slice and half a cell or more outside the end contour:
        // outside the end (flat or rounded), coverage 0.
        let cells = capCells[p]
        guard let q = inwardPlanes(p, below: below).q else {
            guard flat else { return false }
            for i in 0..<out.count { out[i] = 0 }
            fill(out, cells) { i in sdP[i] + fillet }
            return true
        }
        for i in 0..<out.count { out[i] = 0 }
        let sdQ = signedDistance[q]
        let t = Float(d / abs(shape.planes[p].w - shape.planes[q].w))
        let maxGrowth = Float(d)
        let profiles = roundedProfiles[p]
        // Every cell without a rounded profile is part of the flat end: any when flat.
        var any = flat && cells.count < out.count
        fill(out, cells) { i in
            if let prof = profiles[i] {
                // Past its closing point the profile goes on (negative depth), so the
                // one-cell ramp of the coverage stays centred on the surface.
                guard let e = prof.depth(at: d, from: Double(-sdP[i])) else { return outside }
                if e > 0 { any = true }
                return Float(-e)
            }
            guard flat else { return outside }
            any = true
            let extrapolated = sdP[i] + t * (sdP[i] - sdQ[i])
            // The taper is the rounding here; the fillet only where the solid does not taper.
            return max(extrapolated, sdP[i] - maxGrowth, sdP[i] + fillet)
        }
        return any
    }

    /// Per cell of end plane p (its run ends on the side `below`, or above), the rounded
    /// profile it follows beyond the plane, or nil for the flat end.
    ///
    /// A cell's profile samples the end contour's surface where it is nearest to the cell:
    /// its depth e_p = −sd_p, and e_p plus how far the contours one and two planes inward
    /// lie outside that boundary point (`roundedProfile`); it must close within 1.2 slices.
    /// And its island (4-connected inside cells) must close as a whole: the profile of the
    /// island's deepest cell closes within 1.2 slices — else the island is a flat or cut end
    /// and stays flat up to its rim (decided per cell, the rim closed later than the face
    /// and stood up as a ring above it).
    private func roundedEnd(_ p: Int, below: Bool) -> RoundedProfiles {
        let planes = shape.planes
        let (q0, r) = inwardPlanes(p, below: below)
        guard let q = q0 else { return RoundedProfiles() }
        let a = abs(planes[p].w - planes[q].w)
        let b = r.map { abs(planes[q].w - planes[$0].w) } ?? 0
        let limit = 1.2 * sliceSpacing
        let sd = signedDistance[p], nu = nearest[p].u, nv = nearest[p].v
        var profiles = RoundedProfiles(cells: lattice.count)
        for i in 0..<lattice.count where sd[i] < 0 && !nu[i].isNaN {
            let ep = Double(-sd[i])
            let foot = SIMD2(Double(nu[i]), Double(nv[i]))
            let eq = ep - sample(signedDistance[q], at: foot)
            let er = r.map { ep - sample(signedDistance[$0], at: foot) }
            if let prof = Self.roundedProfile(ep: ep, eq: eq, er: er, a: a, b: b), prof.close <= limit {
                profiles.set(i, RoundedProfile(centreT: prof.centreT, centreE: prof.centreE, radius: prof.radius, close: prof.close))
            }
        }
        // Islands: flood fill of the inside cells; an island whose deepest cell has no
        // closing profile keeps none.
        let w = lattice.nu, h = lattice.nv
        var seen = [Bool](repeating: false, count: lattice.count)
        var stack: [Int] = [], members: [Int] = []
        for start in 0..<lattice.count where sd[start] < 0 && !seen[start] {
            seen[start] = true
            stack.append(start)
            members.removeAll(keepingCapacity: true)
            var deepest = start
            while let k = stack.popLast() {
                members.append(k)
                if sd[k] < sd[deepest] { deepest = k }
                let i = k % w, j = k / w
                @inline(__always) func visit(_ n: Int) {
                    if sd[n] < 0 && !seen[n] { seen[n] = true; stack.append(n) }
                }
                if i > 0 { visit(k - 1) }
                if i + 1 < w { visit(k + 1) }
                if j > 0 { visit(k - w) }
                if j + 1 < h { visit(k + w) }
            }
            if profiles[deepest] == nil { for k in members { profiles.index[k] = -1 } }
        }
        return profiles
    }

    /// A per-cell field at an in-plane point, bilinearly between cell centres (clamped to the lattice).
    @inline(__always)
    func sample(_ f: [Float], at p: SIMD2<Double>) -> Double {
        let (k00, k10, k01, k11, fx, fy) = Self.sampleCells(lattice, at: p)
        let f00 = Double(f[k00]), f10 = Double(f[k10]), f01 = Double(f[k01]), f11 = Double(f[k11])
        return (1 - fy) * ((1 - fx) * f00 + fx * f10) + fy * ((1 - fx) * f01 + fx * f11)
    }

    /// The four cells `sample` reads at p (indices 00, 10, 01, 11) and its weights.
    @inline(__always)
    static func sampleCells(_ lattice: CellLattice, at p: SIMD2<Double>) -> (Int, Int, Int, Int, Double, Double) {
        let x = min(max((p.x - lattice.u0) / lattice.h - 0.5, 0), Double(lattice.nu - 1))
        let y = min(max((p.y - lattice.v0) / lattice.h - 0.5, 0), Double(lattice.nv - 1))
        let i = min(Checked.int(x) ?? 0, max(0, lattice.nu - 2)), j = min(Checked.int(y) ?? 0, max(0, lattice.nv - 2))
        let i1 = min(i + 1, lattice.nu - 1), j1 = min(j + 1, lattice.nv - 1)
        return (j * lattice.nu + i, j * lattice.nu + i1, j1 * lattice.nu + i, j1 * lattice.nu + i1, x - Double(i), y - Double(j))
    }

    /// Coverage from signed distances at the listed cells: a linear ramp across one cell.
    private func fill(_ out: UnsafeMutableBufferPointer<Float>, _ cells: [Int32], _ sd: (Int) -> Float) {
        let invH = Float(1 / lattice.h)
        for c in cells {
            let i = Int(c)
            out[i] = min(1, max(0, 0.5 - sd(i) * invH))
        }
    }
}

extension ShapeOccupancy {
    /// Volume (mm³) of the solid: every breakpoint interval cut into sub-slices of at most
    /// `maximumStepMM` and each sub-slice's coverage at its centre summed (exact for prism
    /// stacks, whose cross-sections are constant between breakpoints).
    ///
    /// Between two contiguous planes of an interpolated shape only the interval's band is
    /// evaluated: the other cells are 0 or 1 throughout it, counted once per interval
    /// (`deepCells`). Cost: O(lattice cells × intervals + band cells × sub-slices), not
    /// O(lattice cells × sub-slices).
    public func volumeMM3(maximumStepMM: Double = 0.25) -> Double {
        let slices = Self.subSlices(breakpoints, maximumStepMM: endCap == .interpolated ? maximumStepMM : .infinity)
        let cell = lattice.h * lattice.h
        let planes = shape.planes
        // The interval holding each sub-slice (nil: a cap or a prism slab, measured whole).
        let interval: [Int?] = slices.map { slice in
            guard endCap == .interpolated else { return nil }
            return planes.indices.first { p in contiguousWithNext[p] && slice.w >= planes[p].w && slice.w < planes[p + 1].w }
        }
        var deep = [Int](repeating: 0, count: planes.count)
        deep.withUnsafeMutableBufferPointer { d in
            let db = d
            let used = Set(interval.compactMap { $0 }).sorted()
            Parallel.forEach(used.count) { k in db[used[k]] = deepCells(used[k]) }
        }
        var parts = [Double](repeating: 0, count: slices.count)
        parts.withUnsafeMutableBufferPointer { out in
            let o = out
            Parallel.forEachChunk(slices.count) { _, range in
                let buf = UnsafeMutableBufferPointer<Float>.allocate(capacity: lattice.count)
                defer { buf.deallocate() }
                for n in range {
                    var sum = 0.0
                    if let p = interval[n] {
                        interpolate(buf, from: p, at: slices[n].w, bandOnly: true)
                        sum = Double(deep[p])
                        for c in intervalBands[p] { sum += Double(buf[Int(c)]) }
                    } else {
                        guard coverage(at: slices[n].w, into: buf) else { continue }
                        for c in buf { sum += Double(c) }
                    }
                    o[n] = sum * cell * slices[n].dz
                }
            }
        }
        return parts.reduce(0, +)
    }
}

extension ShapeOccupancy {
    /// The intervals between consecutive `breaks` (increasing), each cut into equal
    /// sub-slices no thicker than `maximumStepMM`: their centres and thicknesses.
    public static func subSlices(_ breaks: [Double], maximumStepMM: Double) -> [(w: Double, dz: Double)] {
        var out: [(w: Double, dz: Double)] = []
        for n in 0..<max(0, breaks.count - 1) {
            let a = breaks[n], b = breaks[n + 1]
            let m = maximumStepMM.isFinite ? max(1, Checked.int(((b - a) / maximumStepMM).rounded(.up)) ?? 1) : 1
            let dz = (b - a) / Double(m)
            for k in 0..<m { out.append((a + (Double(k) + 0.5) * dz, dz)) }
        }
        return out
    }
}

extension PlanarShape {
    /// Volume (mm³) of the solid the contours describe under `endCap` (`.interpolated`
    /// ends may reach a slice beyond the end planes and grow by up to half a slice), on
    /// a lattice of `cellMM` over the contours' bounds (coarser when that would need more
    /// than 250 000 cells: a 25 cm structure on 0.5 mm cells), sub-slices as thick as a cell.
    public func volumeMM3(endCap: EndCap, sliceSpacing: Double, cellMM requested: Double = 0.5) -> Double {
        guard let b = bounds else { return 0 }
        let span = (b.hi.x - b.lo.x + 2 * sliceSpacing) * (b.hi.y - b.lo.y + 2 * sliceSpacing)
        let cellMM = max(requested, (span / 250_000).squareRoot())
        let border = sliceSpacing + 2 * cellMM
        let lattice = CellLattice(u0: b.lo.x - border, v0: b.lo.y - border, h: cellMM,
                                  nu: Checked.int(((b.hi.x - b.lo.x + 2 * border) / cellMM).rounded(.up)) ?? 1,
                                  nv: Checked.int(((b.hi.y - b.lo.y + 2 * border) / cellMM).rounded(.up)) ?? 1)
        return ShapeOccupancy(shape: self, lattice: lattice, endCap: endCap, sliceSpacing: sliceSpacing).volumeMM3(maximumStepMM: cellMM)
    }
}
