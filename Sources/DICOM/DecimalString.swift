import Base
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
                    failure = ParseError(token: tok.trimmingSpaces())
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
    /// many significant digits as fit: C's `%.<p>g` for the largest precision p ≤ 16 whose
    /// text fits and reads back finite.
    ///
    /// For 1e-5 ≤ |v| < 1e15 the digits are computed here, exactly: |v| = m·2^e is scaled
    /// to the integer part of m·2^e·10^s in 128-bit arithmetic and rounded half to even,
    /// as glibc's printf rounds (`formatReference`, which asks printf, is the twin and
    /// the tests compare them on random and tie values). Other values go to printf.
    public static func format(_ v: Double) -> String {
        if v == 0 { return "0" }
        if v == v.rounded() && abs(v) < 1e15 {
            return String(Int64(v))
        }
        let a = abs(v)
        guard a >= 1e-5 && a < 1e15 else { return formatReference(v) }
        for precision in stride(from: 16, through: 1, by: -1) {
            if let s = generalFormat(v, precision: precision, maximumLength: 16) { return s }
        }
        return formatReference(v)
    }

    /// `format` through printf (`%.<p>g`): the reference for the digits computed here.
    public static func formatReference(_ v: Double) -> String {
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

    /// C's `%.<p>g` of a finite v with 1e-5 ≤ |v| < 1e15 and 1 ≤ p ≤ 16, when it has at
    /// most `maximumLength` characters (nil otherwise: the text is not built).
    static func generalFormat(_ v: Double, precision p: Int, maximumLength: Int = .max) -> String? {
        let a = abs(v)
        // The p significant digits round(a · 10^(p − 1 − X)), half to even, exactly, with X
        // the decimal exponent of the result: from an estimate, until there are p digits
        // (a carry, 9.99… to 10.0…, moves X up by one).
        let low = UInt128Pow10(p - 1), high = UInt128Pow10(p)
        var x = Int((a.exponent * 30103) / 100_000)   // ≈ log10(2^exponent)
        var scaled = scaledRounded(a, p - 1 - x)
        var tries = 0
        while scaled < low || scaled >= high {
            tries += 1
            guard tries < 6 else {
                let s = String(format: "%.\(p)g", v)
                return s.utf8.count <= maximumLength ? s : nil
            }
            x += scaled < low ? -1 : 1
            scaled = scaledRounded(a, p - 1 - x)
        }
        // The digits without their trailing zeros (%g drops them).
        var digits = UInt64(scaled), kept = p
        // By eight, four, two and one digits: a chain of divisions by ten is the slow part.
        while kept > 8 && digits % 100_000_000 == 0 { digits /= 100_000_000; kept -= 8 }
        while kept > 4 && digits % 10_000 == 0 { digits /= 10_000; kept -= 4 }
        while kept > 2 && digits % 100 == 0 { digits /= 100; kept -= 2 }
        while kept > 1 && digits % 10 == 0 { digits /= 10; kept -= 1 }
        let scientific = x < -4 || x >= p
        let sign = v < 0 ? 1 : 0
        let exponentDigits = abs(x) < 100 ? 2 : 3
        let length: Int
        if scientific {
            length = sign + kept + (kept > 1 ? 1 : 0) + 2 + exponentDigits
        } else if x >= 0 {
            length = sign + max(kept, x + 1) + (kept > x + 1 ? 1 : 0)
        } else {
            length = sign + 2 + (-x - 1) + kept
        }
        guard length <= maximumLength else { return nil }
        // The text, written once: the digits into a buffer on the stack, then the string
        // (up to 15 bytes it stays inline, without an allocation).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { d in
            // The kept digits, most significant first.
            var rest = digits
            for k in stride(from: kept - 1, through: 0, by: -1) { d[k] = UInt8(48 + rest % 10); rest /= 10 }
            return String(unsafeUninitializedCapacity: length) { out in
                var n = 0
                @inline(__always) func put(_ b: UInt8) { out[n] = b; n += 1 }
                if sign == 1 { put(45) }                                   // "-"
                if scientific {
                    put(d[0])
                    if kept > 1 { put(46); for k in 1..<kept { put(d[k]) } }   // "."
                    put(101); put(x < 0 ? 45 : 43)                         // "e-" / "e+"
                    let e = abs(x)
                    if e >= 100 { put(UInt8(48 + e / 100)) }
                    put(UInt8(48 + (e / 10) % 10)); put(UInt8(48 + e % 10))
                } else if x >= 0 {
                    for k in 0...x { put(k < kept ? d[k] : 48) }
                    if kept > x + 1 { put(46); for k in (x + 1)..<kept { put(d[k]) } }
                } else {
                    put(48); put(46)                                       // "0."
                    for _ in 0..<(-x - 1) { put(48) }
                    for k in 0..<kept { put(d[k]) }
                }
                return n
            }
        }
    }

    /// 10^k as a 128-bit integer, 0 ≤ k ≤ 38.
    private static let pow10Table: [UInt128] = {
        var t: [UInt128] = [1]
        for _ in 1...38 { t.append(t.last! &* 10) }
        return t
    }()

    @inline(__always)
    private static func UInt128Pow10(_ k: Int) -> UInt128 { pow10Table[k] }

    /// round(a · 10^s) for a = m·2^e, rounded half to even, in 128-bit integers (callers keep
    /// m·2^max(e, 0)·10^max(s, 0) below 2^127: |a| in [1e-5, 1e15), s ≤ 21). When the
    /// divisor is a power of two (s ≥ 0) the quotient and remainder are a shift and a mask.
    private static func scaledRounded(_ a: Double, _ s: Int) -> UInt128 {
        let m = UInt128(a.significandBitPattern | (1 << 52)), e = Int(a.exponent) - 52
        var num = m
        if e >= 0 { num <<= UInt128(e) }
        if s >= 0 {
            num &*= UInt128Pow10(s)
            guard e < 0 else { return num }
            let k = UInt128(-e), q = num >> k, r = num & ((1 << k) - 1)
            let half = UInt128(1) << (k - 1)
            return r > half || (r == half && q & 1 == 1) ? q + 1 : q
        }
        var den = UInt128Pow10(-s)
        if e < 0 { den <<= UInt128(-e) }
        let q = num / den, r = num % den
        let twice = r << 1
        return twice > den || (twice == den && q & 1 == 1) ? q + 1 : q
    }
}
