/// Checked conversions and size limits for numbers that come from data or options.
///
/// `Int(someDouble)` traps when the value is not finite or out of range; data can
/// carry any number, so every conversion of a data-derived Double goes through these.
public enum Checked {
    /// The largest grid, lattice or image, in cells, that sbrt allocates (2³¹).
    public static let maximumCells = 1 << 31

    /// `Int(value)` rounded toward zero, or nil when `value` is not finite or does not
    /// fit in ±2⁶² (far beyond any index).
    @inlinable
    public static func int(_ value: Double) -> Int? {
        guard value.isFinite, abs(value) < 4.6e18 else { return nil }
        return Int(value)
    }

    /// `Int(value)` rounded toward zero after clamping `value` to ±2⁴⁰ (NaN gives 0): for
    /// pixel and cell positions computed from data, which callers clamp to their image or
    /// lattice anyway, so that no absurd or undefined position can trap.
    @inlinable
    public static func clamped(_ value: Double) -> Int {
        let limit = 1_099_511_627_776.0
        guard value.isFinite else { return value.isNaN ? 0 : (value > 0 ? Int(limit) : -Int(limit)) }
        return Int(Swift.min(Swift.max(value, -limit), limit))
    }

    /// `Int(value.rounded(rule))`, or nil (see `int(_:)`).
    @inlinable
    public static func int(_ value: Double, rounding rule: FloatingPointRoundingRule) -> Int? {
        int(value.rounded(rule))
    }

    /// The product of `dimensions`, or an error naming `what` when it overflows or is
    /// over `maximumCells`.
    /// - Throws: `SBRTError` of kind `.tooLarge`.
    public static func cellCount(_ dimensions: [Int], what: String, file: String? = nil) throws -> Int {
        var n = 1
        for d in dimensions {
            guard d >= 0 else { throw SBRTError(.invalidValue, "\(what) has a negative dimension (\(d))", file: file) }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= maximumCells else {
                throw SBRTError(.tooLarge, "\(what) would need \(dimensions.map(String.init).joined(separator: " × ")) cells, over the limit of 2³¹", file: file)
            }
            n = p
        }
        return n
    }

    /// `value` when it is finite and within `range`, else an error naming `what`.
    /// - Throws: `SBRTError` of kind `.invalidValue`.
    public static func inRange(_ value: Double, _ range: ClosedRange<Double>, _ what: String, file: String? = nil) throws -> Double {
        guard value.isFinite, range.contains(value) else {
            throw SBRTError(.invalidValue, "\(what) is \(InputLimits.number(value)), outside \(InputLimits.describe(range, ""))", file: file)
        }
        return value
    }
}

extension Checked {
    /// `values` when every one is finite and within `range`, else an error naming `what`,
    /// the value (and its position when there are several) and the range.
    /// - Throws: `SBRTError` of kind `.invalidValue`.
    @discardableResult
    public static func all(_ values: [Double], in range: ClosedRange<Double>, unit: String, _ what: String, file: String? = nil) throws -> [Double] {
        for (n, v) in values.enumerated() where !(v.isFinite && range.contains(v)) {
            let which = values.count > 1 ? " (value \(n + 1) of \(values.count))" : ""
            throw SBRTError(.invalidValue, "\(what) is \(InputLimits.number(v))\(which), outside \(InputLimits.describe(range, unit))", file: file)
        }
        return values
    }
}
