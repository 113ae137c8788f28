import Foundation

/// Parsing of decimal strings (DS) and integer strings (IS), multi-valued with `\`.
///
/// Tolerant of what real exports contain: leading and trailing spaces, a leading `+`,
/// exponents, and empty values (skipped). A decimal comma is refused, not read as a
/// point: PS3.5 Table 6.2-1 allows only "0"-"9", "+", "-", "E", "e", "." and spaces in
/// DS, and `1,5` could as well be a list written with the wrong separator. The fast path is exact:
/// a mantissa of at most 15 digits scaled by a power of ten up to 10^22 is the
/// correctly rounded result (Clinger's fast path); anything longer falls back to the
/// standard library's correctly rounded parser.
public enum DecimalString {
    public struct ParseError: Error { public var token: String }

    private static let powers: [Double] = (0...22).map { pow(10.0, Double($0)) }

    /// Parses all values of a DS/IS value. Empty tokens (as in `1\\\2`) are skipped.
    /// - Complexity: O(n) in the number of bytes.
    public static func parse(_ d: Data) throws(ParseError) -> [Double] {
        var out: [Double] = []
        var failure: ParseError?
        d.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let p = raw.bindMemory(to: UInt8.self)
            out.reserveCapacity(p.count / 8 + 1)
            var start = 0
            let n = p.count
            while start <= n {
                var end = start
                while end < n && p[end] != 0x5C { end += 1 }  // backslash
                if let v = parseToken(p, start, end) {
                    if !v.isNaN { out.append(v) }
                } else {
                    let tok = String(decoding: UnsafeBufferPointer(rebasing: p[start..<end]), as: UTF8.self)
                    failure = ParseError(token: tok.trimmingCharacters(in: .whitespaces))
                    return
                }
                start = end + 1
            }
        }
        if let failure { throw failure }
        return out
    }

    /// One token in [start, end). Returns NaN for an empty token, nil for garbage.
    @inline(__always)
    static func parseToken(_ p: UnsafeBufferPointer<UInt8>, _ s0: Int, _ e0: Int) -> Double? {
        var s = s0, e = e0
        while s < e && (p[s] == 0x20 || p[s] == 0 || p[s] == 0x09) { s += 1 }
        while e > s && (p[e - 1] == 0x20 || p[e - 1] == 0 || p[e - 1] == 0x09) { e -= 1 }
        if s == e { return .nan }
        var i = s
        var negative = false
        if p[i] == 0x2D { negative = true; i += 1 } else if p[i] == 0x2B { i += 1 }
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        var sawDigit = false
        var sawPoint = false
        while i < e {
            let c = p[i]
            if c >= 0x30 && c <= 0x39 {
                sawDigit = true
                if digits < 19 {
                    if mantissa != 0 || c != 0x30 { digits += 1 }
                    mantissa = mantissa &* 10 &+ UInt64(c - 0x30)
                    if sawPoint { scale -= 1 }
                } else if !sawPoint {
                    scale += 1
                }
            } else if c == 0x2E && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { return nil }
        var exponent = 0
        if i < e && (p[i] == 0x45 || p[i] == 0x65) {
            i += 1
            var expNegative = false
            if i < e && (p[i] == 0x2D || p[i] == 0x2B) { expNegative = p[i] == 0x2D; i += 1 }
            var sawExpDigit = false
            while i < e && p[i] >= 0x30 && p[i] <= 0x39 {
                sawExpDigit = true
                if exponent < 100_000 { exponent = exponent * 10 + Int(p[i] - 0x30) }
                i += 1
            }
            guard sawExpDigit else { return nil }
            if expNegative { exponent = -exponent }
        }
        guard i == e else { return nil }
        let total = scale + exponent
        if digits <= 15 && total >= -22 && total <= 22 {
            var v = Double(mantissa)
            if total < 0 { v /= powers[-total] } else { v *= powers[total] }
            return negative ? -v : v
        }
        // Slow path: rebuild a clean token and let the standard library round it.
        return Double(String(decoding: UnsafeBufferPointer(rebasing: p[s..<e]), as: UTF8.self))
    }

    /// Formats `v` as a DS value of at most 16 characters (PS3.5 Table 6.2-1), with as
    /// many significant digits as fit.
    public static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v == v.rounded() && abs(v) < 1e15 {
            return String(Int64(v))
        }
        for precision in stride(from: 16, through: 1, by: -1) {
            let s = String(format: "%.\(precision)g", v)
            // Rounding near the top of the range can overflow ("1.797693135e+308" is
            // infinity); take fewer digits then.
            if s.utf8.count <= 16, Double(s)?.isFinite ?? false { return s }
        }
        return String(format: "%.6g", v)
    }
}
