import Base

/// A 4×4 homogeneous transform of patient coordinates (mm), row-major as DICOM's
/// Frame of Reference Transformation Matrix (3006,00C6): p' = M·(x, y, z, 1).
///
/// Rigid registrations have an orthonormal 3×3 part; any affine matrix is accepted
/// (`isRigid` says which), the last row must be (0, 0, 0, 1).
public struct RigidTransform: Equatable, Sendable, CustomStringConvertible {
    /// Sixteen numbers, row-major.
    public var m: [Double]

    public init(_ m: [Double]) throws {
        guard m.count == 16 else { throw SBRTError(.invalidValue, "a 4×4 transform needs 16 numbers, got \(m.count)") }
        guard m.allSatisfy(\.isFinite) else { throw SBRTError(.invalidValue, "the transform holds a non-finite number") }
        guard abs(m[12]) < 1e-9, abs(m[13]) < 1e-9, abs(m[14]) < 1e-9, abs(m[15] - 1) < 1e-9 else {
            throw SBRTError(.invalidValue, "the transform's last row is (\(m[12...15].map { "\($0)" }.joined(separator: ", "))), not (0, 0, 0, 1)")
        }
        let det = RigidTransform.det3(m)
        guard abs(det) > 1e-9 else { throw SBRTError(.invalidValue, "the transform's 3×3 part is singular") }
        self.m = m
    }

    /// Checks that the transform can map patient coordinates (docs/safety.md): its
    /// translation within ±10 m (`InputLimits.coordinateMM`) and every entry of its 3×3
    /// part within ±`InputLimits.transformLinear`.
    /// - Throws: `SBRTError` (`.invalidValue`) naming the entry and its value.
    public func checkPlausible() throws {
        for (n, name) in [(3, "x"), (7, "y"), (11, "z")] where abs(m[n]) > InputLimits.coordinateMM {
            throw SBRTError(.invalidValue, "the transform translates \(name) by \(InputLimits.number(m[n])) mm, beyond ±\(InputLimits.number(InputLimits.coordinateMM)) mm")
        }
        for n in [0, 1, 2, 4, 5, 6, 8, 9, 10] where abs(m[n]) > InputLimits.transformLinear {
            throw SBRTError(.invalidValue, "the transform's 3×3 part holds \(InputLimits.number(m[n])) (row \(n / 4 + 1), column \(n % 4 + 1)), beyond ±\(InputLimits.number(InputLimits.transformLinear))")
        }
    }

    public static let identity = try! RigidTransform([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1])

    /// A pure translation by `t` (mm).
    public static func translation(_ t: Vec3) -> RigidTransform {
        try! RigidTransform([1, 0, 0, t.x, 0, 1, 0, t.y, 0, 0, 1, t.z, 0, 0, 0, 1])
    }

    @inlinable
    public func apply(_ p: Vec3) -> Vec3 {
        Vec3(m[0] * p.x + m[1] * p.y + m[2] * p.z + m[3],
             m[4] * p.x + m[5] * p.y + m[6] * p.z + m[7],
             m[8] * p.x + m[9] * p.y + m[10] * p.z + m[11])
    }

    /// The 3×3 part applied to a direction.
    @inlinable
    public func applyLinear(_ v: Vec3) -> Vec3 {
        Vec3(m[0] * v.x + m[1] * v.y + m[2] * v.z,
             m[4] * v.x + m[5] * v.y + m[6] * v.z,
             m[8] * v.x + m[9] * v.y + m[10] * v.z)
    }

    static func det3(_ m: [Double]) -> Double {
        m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8]) + m[2] * (m[4] * m[9] - m[5] * m[8])
    }

    /// The inverse transform.
    public var inverse: RigidTransform {
        let d = RigidTransform.det3(m)
        // Adjugate of the 3×3 part.
        let a = [
            (m[5] * m[10] - m[6] * m[9]) / d, (m[2] * m[9] - m[1] * m[10]) / d, (m[1] * m[6] - m[2] * m[5]) / d,
            (m[6] * m[8] - m[4] * m[10]) / d, (m[0] * m[10] - m[2] * m[8]) / d, (m[2] * m[4] - m[0] * m[6]) / d,
            (m[4] * m[9] - m[5] * m[8]) / d, (m[1] * m[8] - m[0] * m[9]) / d, (m[0] * m[5] - m[1] * m[4]) / d,
        ]
        let t = Vec3(m[3], m[7], m[11])
        let ti = -Vec3(a[0] * t.x + a[1] * t.y + a[2] * t.z, a[3] * t.x + a[4] * t.y + a[5] * t.z, a[6] * t.x + a[7] * t.y + a[8] * t.z)
        return try! RigidTransform([a[0], a[1], a[2], ti.x, a[3], a[4], a[5], ti.y, a[6], a[7], a[8], ti.z, 0, 0, 0, 1])
    }

    /// self ∘ other: first `other`, then `self`.
    public func composed(after other: RigidTransform) -> RigidTransform {
        var r = [Double](repeating: 0, count: 16)
        for i in 0..<4 { for j in 0..<4 { for k in 0..<4 { r[i * 4 + j] += m[i * 4 + k] * other.m[k * 4 + j] } } }
        return try! RigidTransform(r)
    }

    /// Whether the 3×3 part is a rotation (orthonormal, determinant +1) within `tolerance`.
    public func isRigid(tolerance: Double = 1e-4) -> Bool {
        let c = [Vec3(m[0], m[4], m[8]), Vec3(m[1], m[5], m[9]), Vec3(m[2], m[6], m[10])]
        for i in 0..<3 { for j in 0..<3 where abs(dot(c[i], c[j]) - (i == j ? 1 : 0)) > tolerance { return false } }
        return RigidTransform.det3(m) > 0
    }

    public var isIdentity: Bool { zip(m, RigidTransform.identity.m).allSatisfy { abs($0 - $1) < 1e-12 } }

    /// The sixteen numbers, comma-separated, integers without a decimal point.
    public var description: String {
        m.map { $0 == $0.rounded() && abs($0) < 1e15 ? String(Int64($0)) : "\($0)" }.joined(separator: ",")
    }
}
