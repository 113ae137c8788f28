import VoxelKit

/// A structure's solid under the prism convention, for point membership: each plane's
/// polygons extruded half way to its contiguous neighbours and half a slice beyond the
/// ends (`PlanarShape.prismLayers`).
///
/// A patient point is inside when its w (along the frame normal) lies in a slab
/// [lo, hi) and its (u, v) is inside that slab's polygons by the even-odd rule.
public struct PrismSolid: Sendable {
    public let frame: PlaneFrame
    public let layers: [SolidLayer]

    public init(shape: PlanarShape, sliceSpacing: Double) {
        frame = shape.frame
        layers = shape.prismLayers(sliceSpacing: sliceSpacing)
    }

    /// Whether the patient point `p` is inside the solid.
    /// - Complexity: O(slabs + vertices of the slab holding p).
    public func contains(_ p: Vec3) -> Bool {
        let q = frame.local(p)
        guard let layer = layers.first(where: { q.z >= $0.lo && q.z < $0.hi }) else { return false }
        let uv = SIMD2(q.x, q.y)
        var inside = false
        for poly in layer.polygons where poly.count >= 3 && PolygonCoverage.contains(poly, uv) { inside.toggle() }
        return inside
    }
}
