import Dosimetry
import Foundation
import Geometry
import VoxelKit

/// A phantom contoured on planes, in a linear dose field, ready for `DVHEngine`.
public struct AnalyticCase {
    /// A prism slab of the stack: the polygons of the plane at `w`, extruded over [lo, hi).
    public struct Slab: Sendable {
        public var w: Double
        public var lo: Double
        public var hi: Double
        public var polygons: [[SIMD2<Double>]]
    }

    public var phantom: Phantom
    public var shape: PlanarShape
    public var engine: DVHEngine
    /// The prism stack as the engine should build it from `shape` (for `prism` end caps:
    /// half way to the neighbours, half a slice beyond the first and last planes; for
    /// `none`, nothing beyond them).
    public var slabs: [Slab]
    public var gradient: GradientAxis
    public var sliceSpacing: Double
    public var gridSpacing: Double
    public var endCap: EndCap

    /// Planes at multiples of `slice` (shifted by `offset`) where the solid has a cross-section;
    /// a cubic dose grid of `grid` mm over [−20, 20] mm with dose 16 Gy + 1 Gy/mm along `gradient`.
    public init(_ phantom: Phantom, slice: Double, grid g: Double, gradient: GradientAxis,
                endCap: EndCap, offset: Double = 0, options: DVHOptions = DVHOptions()) {
        var planes: [PlanarShape.Plane] = []
        var k = Int((phantom.extent.lowerBound / slice).rounded(.down)) - 1
        while Double(k) * slice + offset <= phantom.extent.upperBound + slice {
            let z = Double(k) * slice + offset
            let polys = phantom.polygonsAt(z)
            if !polys.isEmpty { planes.append(.init(w: z, polygons: polys)) }
            k += 1
        }
        let shape = PlanarShape(name: phantom.name, frame: .patient, planes: planes)
        let half = 20.0
        let n = Int((2 * half / g).rounded()) + 1
        let grid = Grid(size: SIMD3(n, n, n), origin: Vec3(-half, -half, -half), spacing: Vec3(g, g, g))
        var v = [Float](repeating: 0, count: grid.count)
        for kk in 0..<n { for j in 0..<n { for i in 0..<n {
            let p = grid.position(Double(i), Double(j), Double(kk))
            v[grid.linearIndex(i, j, kk)] = Float(16 + gradient.coordinate(p.x, p.y, p.z))
        } } }
        var opts = options
        opts.endCap = endCap
        self.phantom = phantom
        self.shape = shape
        self.engine = DVHEngine(frame: .patient, sliceSpacing: slice, shapes: [shape], dose: DoseField(Volume(grid: grid, voxels: v)), options: opts)
        let cap = endCap == .none ? 0 : slice / 2
        self.slabs = planes.enumerated().map { p, plane in
            let lo = p > 0 ? (plane.w + planes[p - 1].w) / 2 : plane.w - cap
            let hi = p + 1 < planes.count ? (plane.w + planes[p + 1].w) / 2 : plane.w + cap
            return Slab(w: plane.w, lo: lo, hi: hi, polygons: plane.polygons)
        }
        self.gradient = gradient
        self.sliceSpacing = slice
        self.gridSpacing = g
        self.endCap = endCap
    }

    /// The DVH of the phantom's structure.
    public func dvh() throws -> DVH { try engine.dvh(.roi(shape.name)) }
}

// MARK: Polygon helpers

public enum PolygonMath {
    public static func area(_ poly: [SIMD2<Double>]) -> Double { abs(PolygonCoverage.signedArea(poly)) }

    /// Part of a polygon with coordinate `axis` (0 = u, 1 = v) ≥ c: Sutherland–Hodgman
    /// against one half-plane (exact area for convex polygons, which all phantoms are).
    public static func clip(_ poly: [SIMD2<Double>], axis: Int, atLeast c: Double) -> [SIMD2<Double>] {
        var out: [SIMD2<Double>] = []
        let o = 1 - axis
        for n in poly.indices {
            let a = poly[n], b = poly[(n + 1) % poly.count]
            let ina = a[axis] >= c, inb = b[axis] >= c
            if ina { out.append(a) }
            if ina != inb {
                let t = (c - a[axis]) / (b[axis] - a[axis])
                var p = SIMD2<Double>(0, 0)
                p[axis] = c
                p[o] = a[o] + t * (b[o] - a[o])
                out.append(p)
            }
        }
        return out
    }

    /// Centroid of a simple polygon.
    public static func centroid(_ poly: [SIMD2<Double>]) -> SIMD2<Double> {
        var c = SIMD2<Double>(0, 0), a6 = 0.0
        for n in poly.indices {
            let p = poly[n], q = poly[(n + 1) % poly.count]
            let cr = p.x * q.y - q.x * p.y
            c += (p + q) * cr
            a6 += cr
        }
        return c / (3 * a6)
    }
}

/// Dose D at which a non-increasing `volume(D)` equals `target` (bisection on [lo, hi]).
public func invertVolume(_ volume: (Double) -> Double, target: Double, lo: Double, hi: Double) -> Double {
    var a = lo, b = hi
    for _ in 0..<200 {
        let m = (a + b) / 2
        if m <= a || m >= b { break }   // converged to adjacent doubles: further steps change nothing
        if volume(m) >= target { a = m } else { b = m }
    }
    return (a + b) / 2
}
