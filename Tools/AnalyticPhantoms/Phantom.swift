import Foundation

/// Analytic phantoms after Nelms et al., Med Phys 2015;42(8):4435:
/// shapes contoured on planes of constant z, in a linear dose gradient of 1 Gy/mm with
/// 16 Gy at the object's centre, so that trilinear interpolation of the dose grid is exact
/// and every error is the DVH engine's own.

/// The patient axis along which the dose increases (1 Gy/mm).
public enum GradientAxis: String, Sendable, CaseIterable, CustomStringConvertible {
    case x, y, z
    public var description: String { rawValue }

    /// Coordinate of a patient point along this axis.
    @inlinable
    public func coordinate(_ x: Double, _ y: Double, _ z: Double) -> Double {
        switch self {
        case .x: return x
        case .y: return y
        case .z: return z
        }
    }
}

/// A solid centred at the origin, given as a function from plane position z to the
/// polygons of its cross-section, with its closed-form volume and (where the
/// literature gives one) its cumulative DVH in a linear gradient.
public struct Phantom: Sendable {
    public var name: String
    /// Cross-section of the solid at plane z (empty outside the solid).
    public var polygonsAt: @Sendable (Double) -> [[SIMD2<Double>]]
    /// z range of the solid.
    public var extent: ClosedRange<Double>
    /// Volume of the true solid, mm³.
    public var trueVolumeMM3: Double
    /// Half the solid's extent along each axis, mm (the true Dmin/Dmax are 16 ∓ this).
    public var halfExtent: Double
    /// True fraction of the solid receiving ≥ D as a function of β = (D − Dmin)/(Dmax − Dmin)
    /// ∈ [0, 1], for the gradient along the given axis; nil where no closed form is given.
    public var trueFraction: @Sendable (GradientAxis) -> (@Sendable (Double) -> Double)?

    public init(name: String, polygonsAt: @escaping @Sendable (Double) -> [[SIMD2<Double>]], extent: ClosedRange<Double>,
                trueVolumeMM3: Double, halfExtent: Double,
                trueFraction: @escaping @Sendable (GradientAxis) -> (@Sendable (Double) -> Double)?) {
        self.name = name
        self.polygonsAt = polygonsAt
        self.extent = extent
        self.trueVolumeMM3 = trueVolumeMM3
        self.halfExtent = halfExtent
        self.trueFraction = trueFraction
    }

    /// True V(≥ D)/V of the solid for the gradient along `axis` (1 Gy/mm, 16 Gy at the
    /// centre), or nil where no closed form is given.
    public func trueFraction(atLeast d: Double, gradient axis: GradientAxis) -> Double? {
        guard let f = trueFraction(axis) else { return nil }
        let b = (d - (16 - halfExtent)) / (2 * halfExtent)
        return f(min(1, max(0, b)))
    }
}

// MARK: Closed-form V(D) (Nelms et al. 2015; each checked by Monte Carlo)

public enum LinearGradientDVH {
    /// Sphere.
    @Sendable public static func sphere(_ b: Double) -> Double { (1 - b) * (1 - b) * (1 + 2 * b) }
    /// Cylinder with its axis parallel to the gradient.
    @Sendable public static func cylinderParallel(_ b: Double) -> Double { 1 - b }
    /// Cylinder with its axis perpendicular to the gradient.
    @Sendable public static func cylinderPerpendicular(_ b: Double) -> Double {
        let u = min(1, max(-1, 2 * b - 1))
        return 0.5 - (asin(u) + u * (1 - u * u).squareRoot()) / .pi
    }
    /// Cone with its axis parallel to the gradient, apex at the low-dose end.
    @Sendable public static func coneApexLow(_ b: Double) -> Double { 1 - b * b * b }
    /// Cone with its axis parallel to the gradient, apex at the high-dose end.
    @Sendable public static func coneApexHigh(_ b: Double) -> Double { (1 - b) * (1 - b) * (1 - b) }
    /// Cone of equal base diameter and height with its axis perpendicular to the gradient:
    /// [arccos u − 2u√(1−u²) + u³·arsech|u|]/π, u = 2β − 1 (with the factor 2 that
    /// pymedphys' nelms.py omits; V = 0.110 at u = 0.5).
    @Sendable public static func conePerpendicular(_ b: Double) -> Double {
        let u = min(1, max(-1, 2 * b - 1))
        let s = (1 - u * u).squareRoot()
        let au = abs(u)
        let arsech = au > 0 ? log((1 + s) / au) : 0   // u³·arsech|u| → 0 as u → 0
        return min(1, max(0, (acos(u) - 2 * u * s + u * u * u * arsech) / .pi))
    }
}

// MARK: The phantoms

public enum Phantoms {
    /// Polygon of a circle with vertices ≤ 0.2 mm apart (as Nelms' MATLAB contours).
    public static func circle(_ r: Double, cx: Double = 0, cy: Double = 0) -> [SIMD2<Double>] {
        let n = max(12, Int((2 * Double.pi * r / 0.2).rounded(.up)))
        return (0..<n).map { k in
            let t = 2 * Double.pi * Double(k) / Double(n)
            return SIMD2(cx + r * cos(t), cy + r * sin(t))
        }
    }

    /// Sphere of any diameter centred at the origin.
    public static func sphere(diameter: Double) -> Phantom {
        let r = diameter / 2
        let label = diameter == diameter.rounded() ? String(Int(diameter)) : String(diameter)
        return Phantom(name: "Sphere\(label)", polygonsAt: { z in
            let q = r * r - z * z
            return q > 1e-6 ? [circle(q.squareRoot())] : []
        }, extent: -r...r, trueVolumeMM3: 4.0 / 3.0 * .pi * r * r * r, halfExtent: r,
        trueFraction: { _ in LinearGradientDVH.sphere })
    }

    /// Nelms' sphere: diameter 24 mm.
    public static let sphere24 = sphere(diameter: 24)

    /// Cylinder of diameter and height 24 mm with its axis along z (Nelms "axial").
    public static let cylinderAlongZ = Phantom(name: "CylinderZ", polygonsAt: { z in abs(z) < 12 ? [circle(12)] : [] },
                                               extent: -12...12, trueVolumeMM3: .pi * 144 * 24, halfExtent: 12,
                                               trueFraction: { $0 == .z ? LinearGradientDVH.cylinderParallel : LinearGradientDVH.cylinderPerpendicular })

    /// Cylinder of diameter and height 24 mm with its axis along x (rectangles on z planes).
    public static let cylinderAcrossZ = Phantom(name: "CylinderX", polygonsAt: { z in
        let q = 144 - z * z
        guard q > 1e-6 else { return [] }
        let hw = q.squareRoot()
        return [[SIMD2(-12, -hw), SIMD2(12, -hw), SIMD2(12, hw), SIMD2(-12, hw)]]
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24, halfExtent: 12,
    trueFraction: { $0 == .x ? LinearGradientDVH.cylinderParallel : LinearGradientDVH.cylinderPerpendicular })

    /// Cylinder of diameter and height 24 mm with its axis along y (Nelms "rotated").
    public static let cylinderAlongY = Phantom(name: "CylinderY", polygonsAt: { z in
        let q = 144 - z * z
        guard q > 1e-6 else { return [] }
        let hw = q.squareRoot()
        return [[SIMD2(-hw, -12), SIMD2(hw, -12), SIMD2(hw, 12), SIMD2(-hw, 12)]]
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24, halfExtent: 12,
    trueFraction: { $0 == .y ? LinearGradientDVH.cylinderParallel : LinearGradientDVH.cylinderPerpendicular })

    /// Cone of base diameter and height 24 mm along z, apex at the top (+z, the high-dose
    /// end of a z gradient).
    public static let coneAlongZ = Phantom(name: "ConeZ", polygonsAt: { z in
        guard abs(z) < 12 else { return [] }
        let r = 12 * (12 - z) / 24
        return r > 1e-3 ? [circle(r)] : []
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24 / 3, halfExtent: 12,
    trueFraction: { $0 == .z ? LinearGradientDVH.coneApexHigh : LinearGradientDVH.conePerpendicular })

    /// As `coneAlongZ` with the apex at the bottom (−z, the low-dose end of a z gradient).
    public static let coneAlongZApexDown = Phantom(name: "ConeZdown", polygonsAt: { z in
        guard abs(z) < 12 else { return [] }
        let r = 12 * (12 + z) / 24
        return r > 1e-3 ? [circle(r)] : []
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24 / 3, halfExtent: 12,
    trueFraction: { $0 == .z ? LinearGradientDVH.coneApexLow : LinearGradientDVH.conePerpendicular })

    /// Cone of base diameter and height 24 mm with its axis along y (Nelms "rotated"),
    /// base at y = −12, apex at y = +12. Its section by the plane z is the region
    /// y ≤ 12 − 2√(x² + z²), y ≥ −12 (bounded by a hyperbola; convex).
    public static let coneAlongY = Phantom(name: "ConeY", polygonsAt: { z in
        guard abs(z) < 12 - 1e-3 else { return [] }
        let halfWidth = (144 - z * z).squareRoot()   // at the base, y = −12
        let n = max(8, Int((2 * halfWidth / 0.1).rounded(.up)))
        var poly: [SIMD2<Double>] = [SIMD2(-halfWidth, -12), SIMD2(halfWidth, -12)]
        for k in 1..<n {
            let x = halfWidth - 2 * halfWidth * Double(k) / Double(n)
            poly.append(SIMD2(x, 12 - 2 * (x * x + z * z).squareRoot()))
        }
        return [poly]
    }, extent: -12...12, trueVolumeMM3: .pi * 144 * 24 / 3, halfExtent: 12,
    trueFraction: { $0 == .y ? LinearGradientDVH.coneApexHigh : LinearGradientDVH.conePerpendicular })

    /// The Nelms objects (all principal dimensions 24 mm), with the extra orientations.
    public static let nelms: [Phantom] = [sphere24, cylinderAlongZ, cylinderAcrossZ, cylinderAlongY,
                                          coneAlongZ, coneAlongZApexDown, coneAlongY]
}
