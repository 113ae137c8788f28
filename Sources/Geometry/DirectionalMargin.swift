import Base
import VoxelKit

/// A margin in mm in each of the six patient directions, as planning systems offer it.
///
/// Patient directions in DICOM LPS coordinates: right = −x, left = +x, anterior = −y,
/// posterior = +y, superior = +z, inferior = −z. A point x belongs to S grown by the
/// margin when x − y lies in the union of ellipsoid octants E whose semi-axis along each
/// patient axis is the margin of the direction of that displacement component (for
/// x − y pointing left and anterior and superior: semi-axes left, anterior, superior).
/// All six equal: the ball of that radius, the ordinary isotropic margin. Negative
/// values contract (erosion by the same octant body); signs may not be mixed.
public struct DirectionalMargin: Equatable, Sendable, CustomStringConvertible {
    public var rightMM: Double
    public var leftMM: Double
    public var anteriorMM: Double
    public var posteriorMM: Double
    public var superiorMM: Double
    public var inferiorMM: Double

    public init(rightMM: Double, leftMM: Double, anteriorMM: Double, posteriorMM: Double, superiorMM: Double, inferiorMM: Double) {
        self.rightMM = rightMM
        self.leftMM = leftMM
        self.anteriorMM = anteriorMM
        self.posteriorMM = posteriorMM
        self.superiorMM = superiorMM
        self.inferiorMM = inferiorMM
    }

    /// The same margin in every direction.
    public init(uniformMM m: Double) {
        self.init(rightMM: m, leftMM: m, anteriorMM: m, posteriorMM: m, superiorMM: m, inferiorMM: m)
    }

    /// The six values in the order R, L, A, P, S, I.
    public var values: [Double] { [rightMM, leftMM, anteriorMM, posteriorMM, superiorMM, inferiorMM] }

    public var isUniform: Bool { values.allSatisfy { $0 == rightMM } }
    public var isZero: Bool { values.allSatisfy { $0 == 0 } }
    /// True when no value is negative (a growth); false when no value is positive (a contraction).
    public var isExpansion: Bool { values.allSatisfy { $0 >= 0 } }
    public var hasMixedSigns: Bool { values.contains { $0 > 0 } && values.contains { $0 < 0 } }
    /// The largest magnitude, mm.
    public var maxMagnitudeMM: Double { values.map(abs).max() ?? 0 }

    public var description: String {
        isUniform ? num(rightMM) + " mm" : "R \(num(rightMM)), L \(num(leftMM)), A \(num(anteriorMM)), P \(num(posteriorMM)), S \(num(superiorMM)), I \(num(inferiorMM)) mm"
    }

    private func num(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : String(x)
    }

    /// Parses "R,L,A,P,S,I" (six numbers in mm).
    public static func parse(directions text: String) -> DirectionalMargin? {
        let parts = text.split(separator: ",").map { Double(String($0).trimmingSpaces()) }
        guard parts.count == 6, parts.allSatisfy({ $0 != nil && $0!.isFinite }) else { return nil }
        let v = parts.map { $0! }
        return DirectionalMargin(rightMM: v[0], leftMM: v[1], anteriorMM: v[2], posteriorMM: v[3], superiorMM: v[4], inferiorMM: v[5])
    }

    /// The margin's magnitudes along ± each axis of `frame` (u, v in-plane; w the normal).
    ///
    /// `uPlus` is the reach for displacements x − y along +u, and so on. Uniform margins
    /// suit any frame; directional ones need a frame whose axes are along patient axes
    /// (any of HFS, FFS, HFP, FFP, decubitus), since octants of an oblique frame are not
    /// the patient's.
    /// - Throws: `SBRTError` for a directional margin on an oblique frame.
    public func frameRadii(_ frame: PlaneFrame) throws -> FrameRadii {
        let m = values.map(abs)
        if isUniform { return FrameRadii(uniform: m[0]) }
        // Patient axis a: plus = margin for +axis displacement, minus for −axis.
        let plus = [m[1], m[3], m[4]]   // +x left, +y posterior, +z superior
        let minus = [m[0], m[2], m[5]]  // −x right, −y anterior, −z inferior
        func along(_ axis: Vec3) throws -> (Double, Double) {
            let comps = [axis.x, axis.y, axis.z]
            guard let a = comps.firstIndex(where: { abs($0) > 1 - 1e-4 }) else {
                throw SBRTError(.invalidRequest, "directional margins need CT axes along the patient axes; this CT is oblique (use a uniform margin)")
            }
            return comps[a] > 0 ? (plus[a], minus[a]) : (minus[a], plus[a])
        }
        let (up, um) = try along(frame.u)
        let (vp, vm) = try along(frame.v)
        let (wp, wm) = try along(frame.n)
        return FrameRadii(uPlus: up, uMinus: um, vPlus: vp, vMinus: vm, wPlus: wp, wMinus: wm)
    }
}

/// Semi-axes (mm, ≥ 0) of the octant body along ± each axis of a plane frame.
public struct FrameRadii: Equatable, Sendable {
    public var uPlus, uMinus, vPlus, vMinus, wPlus, wMinus: Double

    public init(uPlus: Double, uMinus: Double, vPlus: Double, vMinus: Double, wPlus: Double, wMinus: Double) {
        self.uPlus = uPlus
        self.uMinus = uMinus
        self.vPlus = vPlus
        self.vMinus = vMinus
        self.wPlus = wPlus
        self.wMinus = wMinus
    }

    public init(uniform r: Double) {
        self.init(uPlus: r, uMinus: r, vPlus: r, vMinus: r, wPlus: r, wMinus: r)
    }

    public var isUniform: Bool { [uMinus, vPlus, vMinus, wPlus, wMinus].allSatisfy { $0 == uPlus } }
    public var maxMM: Double { max(uPlus, uMinus, vPlus, vMinus, wPlus, wMinus) }
    public var maxInPlaneMM: Double { max(uPlus, uMinus, vPlus, vMinus) }

    /// The body reflected through the origin (−E): the gauge of y − x instead of x − y.
    public var reflected: FrameRadii {
        FrameRadii(uPlus: uMinus, uMinus: uPlus, vPlus: vMinus, vMinus: vPlus, wPlus: wMinus, wMinus: wPlus)
    }
}

/// The van Herk PTV margin recipe (van Herk et al., IJROBP 2000;47:1121):
/// M = 2.5 Σ + 0.7 σ, for a minimum CTV dose ≥ 95 % in 90 % of patients.
public enum VanHerk {
    /// - Parameters: systematicMM Σ (SD of systematic errors, quadrature sum of set-up,
    ///   delineation and motion), randomMM σ (SD of random errors), both mm.
    public static func marginMM(systematicMM: Double, randomMM: Double) -> Double {
        2.5 * systematicMM + 0.7 * randomMM
    }
}
