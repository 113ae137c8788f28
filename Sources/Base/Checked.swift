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
            throw SBRTError(.invalidValue, "\(what) is \(value), outside \(range.lowerBound)–\(range.upperBound)", file: file)
        }
        return value
    }
}
