import Geometry

extension PlanarShape {
    /// The shape of an ROI in `frame`: its closed planar contours make the planes;
    /// every contour (POINT and OPEN types too) contributes vertices.
    public init(roi: ROI, frame: PlaneFrame) {
        self.init(name: roi.name, frame: frame, contours: roi.contours.map { ($0.points, $0.isClosedPlanar) })
    }
}
