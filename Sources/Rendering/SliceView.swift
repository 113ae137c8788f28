import VoxelKit

/// The three reformatting planes of a CT series.
public enum ViewOrientation: String, Sendable, CaseIterable {
    /// The acquisition plane (rows and columns of the CT images).
    case axial
    /// The plane of the column direction and the slice direction (for a supine patient:
    /// anterior–posterior by superior–inferior).
    case sagittal
    /// The plane of the row direction and the slice direction (for a supine patient:
    /// right–left by superior–inferior).
    case coronal
}

/// The geometry of a rendered slice: which patient plane, and how its millimetres map
/// to pixels.
///
/// Screen coordinates: x right, y down, pixel (i, j) centred at (i + ½, j + ½). A point
/// at screen (x, y) is the patient point `centre + (x − width/2)·s·right + (y − height/2)·s·down`
/// with s = `mmPerPixel`. `right` and `down` are unit vectors in patient coordinates
/// (LPS), orthogonal to each other.
///
/// Display convention (as a DICOM viewer shows the series, whatever the patient
/// orientation): axial views show the images as stored (screen right = row direction,
/// screen down = column direction), so a head-first supine CT appears in the
/// radiological convention (patient's right on the left of the screen, anterior at
/// the top) and a feet-first CT with the patient's right on the right. Sagittal views
/// put the column direction to the right, coronal views the row direction; both put the
/// patient's head at the top. The orientation letters say which way is which.
public struct SliceView: Equatable, Sendable {
    public var orientation: ViewOrientation
    public var right: Vec3
    public var down: Vec3
    /// Unit normal of the plane (right × down).
    public var normal: Vec3 { normalize(cross(right, down)) }
    /// Patient point at the centre of the image, on the plane.
    public var centre: Vec3
    public var mmPerPixel: Double
    public var width: Int
    public var height: Int

    public init(orientation: ViewOrientation, right: Vec3, down: Vec3, centre: Vec3, mmPerPixel: Double, width: Int, height: Int) {
        self.orientation = orientation
        self.right = right
        self.down = down
        self.centre = centre
        self.mmPerPixel = mmPerPixel
        self.width = width
        self.height = height
    }

    /// Screen axes (right, down) of `orientation` for the CT grid `grid`.
    public static func axes(_ orientation: ViewOrientation, grid: Grid) -> (right: Vec3, down: Vec3) {
        let i = normalize(grid.axisI), j = normalize(grid.axisJ), k = normalize(grid.axisK)
        // Head up: the slice direction pointing to the feet is screen-down.
        let towardsFeet = k.z > 0 || (k.z == 0 && (k.x + k.y) > 0) ? -k : k
        switch orientation {
        case .axial: return (i, orthogonalised(j, to: i))
        case .sagittal: return (j, orthogonalised(towardsFeet, to: j))
        case .coronal: return (i, orthogonalised(towardsFeet, to: i))
        }
    }

    /// `v` made orthogonal to the unit vector `u` and normalised.
    static func orthogonalised(_ v: Vec3, to u: Vec3) -> Vec3 {
        normalize(v - u * dot(v, u))
    }

    /// The patient point at screen position (x, y).
    @inlinable
    public func patient(_ x: Double, _ y: Double) -> Vec3 {
        centre + right * ((x - Double(width) / 2) * mmPerPixel) + down * ((y - Double(height) / 2) * mmPerPixel)
    }

    /// The screen position of the patient point `p` projected on the plane.
    @inlinable
    public func screen(_ p: Vec3) -> SIMD2<Double> {
        let d = p - centre
        return SIMD2(dot(d, right) / mmPerPixel + Double(width) / 2, dot(d, down) / mmPerPixel + Double(height) / 2)
    }

    /// Signed distance of `p` from the plane along `normal`, mm.
    public func distanceFromPlane(_ p: Vec3) -> Double { dot(p - centre, normal) }

    /// The orientation letters at the four edges of the image.
    public var orientationLetters: (left: String, right: String, top: String, bottom: String) {
        (SliceView.letters(-right), SliceView.letters(right), SliceView.letters(-down), SliceView.letters(down))
    }

    /// The patient direction of `d` (LPS) as letters: L/R for ±x, P/A for ±y, S/I for ±z,
    /// most significant first, each component of at least 0.3 of the length (e.g. "L",
    /// "LP" for an oblique direction).
    public static func letters(_ d: Vec3) -> String {
        let n = normalize(d)
        let parts: [(Double, String)] = [
            (abs(n.x), n.x >= 0 ? "L" : "R"),
            (abs(n.y), n.y >= 0 ? "P" : "A"),
            (abs(n.z), n.z >= 0 ? "S" : "I"),
        ]
        return parts.enumerated().filter { $0.element.0 >= 0.3 }
            .sorted { $0.element.0 != $1.element.0 ? $0.element.0 > $1.element.0 : $0.offset < $1.offset }
            .map(\.element.1).joined()
    }
}
