/// The ranges sbrt accepts for numbers read from files and options (docs/safety.md).
///
/// A number outside its range is refused where it enters (exit 2), with the file, the
/// attribute or option, and the value named. The ranges are wide — far beyond any real
/// patient, plan or dose — and exist so that every later computation stays finite and
/// every allocation bounded.
public enum InputLimits {
    /// Pixel spacing, slice spacing, slice thickness and frame spacing, mm.
    public static let spacingMM: ClosedRange<Double> = 0.01...100
    /// Largest |coordinate| of any patient position (image positions, contour points, frame
    /// offsets, translations), mm: 10 m.
    public static let coordinateMM: Double = 10_000
    /// Largest deviation of a direction cosine vector from unit length, and largest |cos|
    /// of the angle between the row and column directions.
    public static let orientationTolerance: Double = 1e-4
    /// Dose Grid Scaling (3004,000E), Gy (or the dose units) per stored value: with at most
    /// 2³² − 1 stored, every dose stays below 4.3 × 10¹² and finite in single precision.
    public static let doseGridScaling: ClosedRange<Double> = 1e-12...1e3
    /// Prescription dose, Gy.
    public static let prescriptionGy: ClosedRange<Double> = 0...1000
    /// Number of fractions.
    public static let fractions: ClosedRange<Int> = 1...100
    /// Largest entry of the 3×3 part of a transform (rotation, or affine scaling and shear).
    public static let transformLinear: Double = 100

    /// `lo–hi unit`, or `±hi unit` for a symmetric range, as messages print a range.
    public static func describe(_ range: ClosedRange<Double>, _ unit: String) -> String {
        let u = unit.isEmpty ? "" : " " + unit
        if range.lowerBound == -range.upperBound { return "±\(number(range.upperBound))\(u)" }
        return "\(number(range.lowerBound))–\(number(range.upperBound))\(u)"
    }

    /// A number as messages print it: integers without a decimal point, others as Swift
    /// prints a Double (`1e-320`, `1e+308`, `inf`).
    public static func number(_ v: Double) -> String {
        if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        let shortest = "\(v)"
        // Swift writes up to 2⁵³ in full ("1000000000000000.0"); a message says 1e+15.
        if v.isFinite, abs(v) >= 1e15, !shortest.contains("e") {
            for digits in 0...17 {
                let s = String(format: "%.\(digits)e", v)
                if Double(s) == v { return s }
            }
        }
        return shortest
    }
}
