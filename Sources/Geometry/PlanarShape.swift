import VoxelKit

/// An orthonormal frame for planar contours: in-plane axes `u`, `v`, normal `n`.
///
/// Plane coordinates (u, v, w) of a patient point p are its offsets from `origin`
/// along the three axes, in mm. For a CT-based structure set the frame is the CT's
/// (row direction, column direction, slice normal), so contours on CT slices have
/// constant w whatever the patient orientation.
public struct PlaneFrame: Equatable, Sendable {
    public var origin: Vec3
    public var u: Vec3
    public var v: Vec3
    public var n: Vec3

    public init(origin: Vec3, u: Vec3, v: Vec3, n: Vec3) {
        self.origin = origin
        self.u = u
        self.v = v
        self.n = n
    }

    /// The frame of a grid's first two axes and its normal (u × v).
    public init(grid: Grid) {
        self.init(origin: grid.origin, u: grid.axisI, v: grid.axisJ, n: normalize(cross(grid.axisI, grid.axisJ)))
    }

    /// Patient axes: u = +x, v = +y, n = +z.
    public static let patient = PlaneFrame(origin: Vec3(0, 0, 0), u: Vec3(1, 0, 0), v: Vec3(0, 1, 0), n: Vec3(0, 0, 1))

    @inlinable
    public func local(_ p: Vec3) -> Vec3 {
        let d = p - origin
        return Vec3(dot(d, u), dot(d, v), dot(d, n))
    }

    @inlinable
    public func patient(_ u: Double, _ v: Double, _ w: Double) -> Vec3 {
        origin + self.u * u + self.v * v + n * w
    }
}

/// A structure as a stack of planes, each holding the polygons of its closed contours.
public struct PlanarShape: Sendable {
    public struct Plane: Sendable {
        /// Position along the frame normal, mm.
        public var w: Double
        /// Closed polygons in (u, v), mm.
        public var polygons: [[SIMD2<Double>]]

        public init(w: Double, polygons: [[SIMD2<Double>]]) {
            self.w = w
            self.polygons = polygons
        }
    }

    public var name: String
    public var frame: PlaneFrame
    /// Planes in increasing w; contours within 0.05 mm of each other share a plane.
    public var planes: [Plane]
    /// Every contour point (closed contours and POINT/OPEN types alike), in (u, v, w):
    /// used for dose at vertices (Dmin/Dmax) and bounds.
    public var vertices: [Vec3]

    /// Builds a shape from contours given in patient coordinates. Closed planar
    /// contours of at least three points make the planes (contours within 0.05 mm of
    /// each other along the normal share a plane); every contour contributes vertices.
    public init(name: String, frame: PlaneFrame, contours: [(points: [Vec3], closedPlanar: Bool)]) {
        self.name = name
        self.frame = frame
        var planes: [Plane] = []
        var vertices: [Vec3] = []
        var entries: [(w: Double, poly: [SIMD2<Double>])] = []
        for c in contours {
            let local = c.points.map(frame.local)
            vertices += local
            guard c.closedPlanar, local.count >= 3 else { continue }
            let w = local.reduce(0) { $0 + $1.z } / Double(local.count)
            entries.append((w, local.map { SIMD2($0.x, $0.y) }))
        }
        entries.sort { $0.w < $1.w }
        for e in entries {
            if let last = planes.last, abs(last.w - e.w) <= 0.05 {
                planes[planes.count - 1].polygons.append(e.poly)
            } else {
                planes.append(Plane(w: e.w, polygons: [e.poly]))
            }
        }
        self.planes = planes
        self.vertices = vertices
    }

    public init(name: String, frame: PlaneFrame, planes: [Plane]) {
        self.name = name
        self.frame = frame
        self.planes = planes
        self.vertices = planes.flatMap { p in p.polygons.flatMap { $0.map { Vec3($0.x, $0.y, p.w) } } }
    }

    /// In-plane bounds of all polygons (min u, min v, max u, max v), or nil when empty.
    public var bounds: (lo: SIMD2<Double>, hi: SIMD2<Double>)? {
        var lo = SIMD2(Double.infinity, .infinity), hi = SIMD2(-Double.infinity, -.infinity)
        var any = false
        for p in planes { for poly in p.polygons { for q in poly { lo = pointwiseMin(lo, q); hi = pointwiseMax(hi, q); any = true } } }
        return any ? (lo, hi) : nil
    }

    /// Exact even-odd area of each plane, mm².
    public var planeAreas: [Double] {
        planes.map { p in
            let signs = PolygonCoverage.evenOddSigns(p.polygons)
            return zip(p.polygons, signs).reduce(0) { $0 + $1.1 * abs(PolygonCoverage.signedArea($1.0)) }
        }
    }
}
