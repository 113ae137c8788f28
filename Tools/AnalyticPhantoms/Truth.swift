import Dosimetry
import Foundation

/// A DVH endpoint as reported by Nelms 2015 and ICRU 83.
public enum Endpoint: Hashable, Sendable, CustomStringConvertible {
    /// Structure volume, mm³.
    case volume
    case mean
    case min
    case max
    /// Minimum dose of the hottest x % of the volume.
    case hottestPercent(Double)
    /// Minimum dose of the hottest x cc.
    case hottestCC(Double)

    public var description: String {
        switch self {
        case .volume: return "volume"
        case .mean: return "Dmean"
        case .min: return "Dmin"
        case .max: return "Dmax"
        case .hottestPercent(let x): return "D\(Endpoint.format(x))"
        case .hottestCC(let x): return "D\(Endpoint.format(x))cc"
        }
    }

    static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }

    /// Volume and Dmean errors are % of truth; the others are doses, % of the local dose.
    public var isVolumeOrMean: Bool { self == .volume || self == .mean }

    /// The value sbrt reports (volume in mm³; doses in Gy), nil when undefined.
    public func measure(_ dvh: DVH) -> Double? {
        switch self {
        case .volume: return dvh.volumeCC * 1000
        case .mean: return dvh.meanGy
        case .min: return dvh.minGy
        case .max: return dvh.maxGy
        case .hottestPercent(let x): return dvh.dose(hottestPercent: x)
        case .hottestCC(let x): return dvh.dose(hottestCC: x)
        }
    }

    /// Volume, Dmean, D99, D98, D95, D50, D5, D2, D1, D0.03cc, Dmin, Dmax.
    public static let all: [Endpoint] = [.volume, .mean] + [99.0, 98, 95, 50, 5, 2, 1].map { .hottestPercent($0) }
        + [.hottestCC(0.03), .min, .max]
}

/// Ground truth of a phantom's DVH.
public protocol DVHTruth {
    /// The true value of an endpoint (volume in mm³, doses in Gy), nil where not defined
    /// (e.g. D0.03cc of a structure smaller than 0.03 cc).
    func value(_ endpoint: Endpoint) -> Double?
}

/// One endpoint of one DVH against its truth.
public struct Comparison: Sendable {
    public var endpoint: Endpoint
    public var truth: Double
    public var measured: Double?
    /// |measured − truth| / truth (∞ when sbrt gave no value).
    public var relativeError: Double {
        guard let m = measured else { return .infinity }
        return abs(m - truth) / abs(truth)
    }

    public init(endpoint: Endpoint, truth: Double, measured: Double?) {
        self.endpoint = endpoint
        self.truth = truth
        self.measured = measured
    }
}

/// Compares `dvh` with `truth` at each endpoint the truth defines.
public func compare(_ dvh: DVH, with truth: some DVHTruth, at endpoints: [Endpoint] = Endpoint.all) -> [Comparison] {
    endpoints.compactMap { e in
        truth.value(e).map { Comparison(endpoint: e, truth: $0, measured: e.measure(dvh)) }
    }
}

// MARK: Closed-form truth of the prism stack

/// The exact DVH of the prism stack built from the very polygons given to the engine
/// (`prism` or `none` end caps): every error against it is the engine's own.
public struct PrismStackTruth: DVHTruth {
    public let slabs: [AnalyticCase.Slab]
    public let gradient: GradientAxis
    /// Total volume, mm³.
    public let volume: Double

    public init(_ c: AnalyticCase) {
        precondition(c.endCap != .interpolated, "the prism-stack truth is for prism or none end caps")
        slabs = c.slabs
        gradient = c.gradient
        volume = c.slabs.reduce(0) { acc, s in acc + s.polygons.reduce(0) { $0 + PolygonMath.area($1) } * (s.hi - s.lo) }
    }

    /// Exact V(≥ D) of the prism stack, mm³.
    public func volume(atLeast d: Double) -> Double {
        let c = d - 16
        return slabs.reduce(0) { acc, s in
            switch gradient {
            case .z:
                let len = max(0, s.hi - max(s.lo, c))
                return acc + s.polygons.reduce(0) { $0 + PolygonMath.area($1) } * min(len, s.hi - s.lo)
            case .x, .y:
                let axis = gradient == .x ? 0 : 1
                let a = s.polygons.reduce(0) { $0 + PolygonMath.area(PolygonMath.clip($1, axis: axis, atLeast: c)) }
                return acc + a * (s.hi - s.lo)
            }
        }
    }

    /// Exact mean dose: the dose at the centroid of each prism (of the polygon for an
    /// in-plane gradient, of the slab for z).
    public var mean: Double {
        var v = 0.0, m = 0.0
        for s in slabs {
            for poly in s.polygons {
                let a = PolygonMath.area(poly), t = s.hi - s.lo
                let c = PolygonMath.centroid(poly)
                let dose: Double
                switch gradient {
                case .x: dose = 16 + c.x
                case .y: dose = 16 + c.y
                case .z: dose = 16 + (s.lo + s.hi) / 2
                }
                v += a * t
                m += a * t * dose
            }
        }
        return m / v
    }

    /// Exact (Dmin, Dmax) of the stack.
    public var range: (min: Double, max: Double) {
        switch gradient {
        case .z: return (16 + slabs.first!.lo, 16 + slabs.last!.hi)
        case .x, .y:
            let axis = gradient == .x ? 0 : 1
            let cs = slabs.flatMap { $0.polygons.flatMap { $0.map { $0[axis] } } }
            return (16 + cs.min()!, 16 + cs.max()!)
        }
    }

    /// Minimum dose of the hottest `mm3` of the stack.
    public func dose(hottestMM3 mm3: Double) -> Double {
        let (lo, hi) = range
        return invertVolume({ volume(atLeast: $0) }, target: mm3, lo: lo - 1, hi: hi + 1)
    }

    public func value(_ e: Endpoint) -> Double? {
        switch e {
        case .volume: return volume
        case .mean: return mean
        case .min: return range.min
        case .max: return range.max
        case .hottestPercent(let x): return dose(hottestMM3: volume * x / 100)
        case .hottestCC(let x): return volume > x * 1000 ? dose(hottestMM3: x * 1000) : nil
        }
    }
}

// MARK: Closed-form truth of the true solid

/// The DVH of the true solid (the closed forms of Nelms et al. 2015), for comparison with
/// `interpolated` end caps; only where a closed form is given for the gradient.
public struct TrueSolidTruth: DVHTruth {
    public let phantom: Phantom
    public let gradient: GradientAxis
    let curve: (Double) -> Double

    /// nil when no closed form is given for this phantom and gradient.
    public init?(_ phantom: Phantom, gradient: GradientAxis) {
        guard let f = phantom.trueFraction(gradient) else { return nil }
        self.phantom = phantom
        self.gradient = gradient
        let lo = 16 - phantom.halfExtent, span = 2 * phantom.halfExtent
        curve = { d in f(Swift.min(1, Swift.max(0, (d - lo) / span))) }
    }

    public var range: (min: Double, max: Double) { (16 - phantom.halfExtent, 16 + phantom.halfExtent) }

    /// True V(≥ D)/V.
    public func fraction(atLeast d: Double) -> Double { curve(d) }

    /// True mean: Dmin + ∫ V_rel dD over [Dmin, Dmax] (midpoint rule, 4000 steps).
    public var mean: Double {
        let (lo, hi) = range
        let n = 4000
        let step = (hi - lo) / Double(n)
        var s = 0.0
        for k in 0..<n { s += curve(lo + (Double(k) + 0.5) * step) }
        return lo + s * step
    }

    public func value(_ e: Endpoint) -> Double? {
        let (lo, hi) = range
        switch e {
        case .volume: return phantom.trueVolumeMM3
        case .mean: return mean
        case .min: return lo
        case .max: return hi
        case .hottestPercent(let x): return invertVolume(curve, target: x / 100, lo: lo, hi: hi)
        case .hottestCC(let x):
            let v = phantom.trueVolumeMM3
            return v > x * 1000 ? invertVolume(curve, target: x * 1000 / v, lo: lo, hi: hi) : nil
        }
    }
}
