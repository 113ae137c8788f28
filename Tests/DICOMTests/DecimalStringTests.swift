import Foundation
import XCTest
@testable import DICOM

/// DS and IS values (PS3.5 Table 6.2-1) as real exports write them.
final class DecimalStringTests: XCTestCase {

    func parse(_ s: String) throws -> [Double] { try DecimalString.parse(Data(s.utf8)) }

    // MARK: Accepted forms

    func testPlainDecimal() throws {
        XCTAssertEqual(try parse("1.5"), [1.5])
        XCTAssertEqual(try parse("0"), [0])
        XCTAssertEqual(try parse("-0.125"), [-0.125])
        XCTAssertEqual(try parse(".5"), [0.5])
        XCTAssertEqual(try parse("5."), [5])
    }

    func testSurroundingSpacesSignAndExponent() throws {
        XCTAssertEqual(try parse(" -2.25E+02 "), [-225])
        XCTAssertEqual(try parse("+3"), [3])
        XCTAssertEqual(try parse("1e-3"), [0.001])
        XCTAssertEqual(try parse("1E3"), [1000])
        XCTAssertEqual(try parse("-7.5e0"), [-7.5])
        XCTAssertEqual(try parse("2.5\0"), [2.5], "a NUL pad is tolerated")
        XCTAssertEqual(try parse("\t4\t"), [4])
    }

    func testDecimalCommaIsRefusedNotReadAsAPoint() throws {
        // PS3.5 allows only a point; "1,5" might as well be two values (issue 14).
        for text in ["1,5", "-0,25\\3,75", "0,1234567890123456789"] {
            XCTAssertThrowsError(try parse(text), text)
        }
    }

    func testMultipleValuesAndEmptyTokens() throws {
        XCTAssertEqual(try parse("1\\2\\3"), [1, 2, 3])
        XCTAssertEqual(try parse("1\\\\2"), [1, 2], "an empty value between separators is skipped")
        XCTAssertEqual(try parse("\\1\\"), [1])
        XCTAssertEqual(try parse(" \\ "), [])
        XCTAssertEqual(try parse(""), [])
        XCTAssertEqual(try parse("-120.5\\ 45 \\1e2 "), [-120.5, 45, 100])
    }

    /// Mantissas longer than the fast path handles are still correctly rounded.
    func testLongMantissasAreCorrectlyRounded() throws {
        XCTAssertEqual(try parse("0.1234567890123456789"), [0.1234567890123456789])
        XCTAssertEqual(try parse("123456789012345678901234"), [123456789012345678901234.0])
        XCTAssertEqual(try parse("-9007199254740993"), [-9007199254740992], "2^53+1 rounds to even")
        XCTAssertEqual(try parse("3.14159265358979323846"), [Double.pi])
        XCTAssertEqual(try parse("1e-30"), [1e-30], "exponent beyond the exact powers of ten")
        XCTAssertEqual(try parse("0.000000000000000000000000123"), [1.23e-25])
        XCTAssertEqual(try parse("1e400"), [Double.infinity])
    }

    /// Both paths agree with the standard library's correctly rounded parser on a large
    /// random sample of the shapes DS values take.
    func testAgreesWithStandardLibraryOnRandomValues() throws {
        var rng = SplitMix64(seed: 42)
        for i in 0..<20_000 {
            let magnitude = Double.random(in: -30...30, using: &rng)
            let v = (Bool.random(using: &rng) ? -1.0 : 1.0) * pow(10, magnitude) * Double.random(in: 1..<10, using: &rng)
            let precision = Int.random(in: 1...20, using: &rng)
            let style = ["g", "e", "f"][i % 3]
            let text = String(format: "%.\(precision)\(style)", v)
            let expected = try XCTUnwrap(Double(text), text)
            XCTAssertEqual(try parse(text), [expected], "parsing \(text)")
        }
    }

    // MARK: Rejected forms

    func testGarbageThrowsNamingTheToken() {
        for bad in ["abc", "1.5\\abc", "1.2.3", "--1", "1e", "1e+", ".", "-", "0x10", "1 2", "NaN", "inf"] {
            XCTAssertThrowsError(try parse(bad), bad) { error in
                guard let e = error as? DecimalString.ParseError else { return XCTFail("\(error)") }
                XCTAssertFalse(e.token.isEmpty, bad)
            }
        }
        XCTAssertThrowsError(try parse("1.5\\abc ")) { error in
            XCTAssertEqual((error as? DecimalString.ParseError)?.token, "abc")
        }
    }

    func testDataSetReportsGarbageAsInvalidValue() {
        var ds = DataSet()
        ds.set(.sliceThickness, .DS, "2.5mm")
        assertDICOMError(.invalidValue, containing: "2.5mm") { try ds.doubles(.sliceThickness) }
        assertDICOMError(.invalidValue, containing: "(0018,0050)") { try ds.double(.sliceThickness) }
    }

    // MARK: Formatting

    func testFormatOfSimpleValues() {
        XCTAssertEqual(DecimalString.format(0), "0")
        XCTAssertEqual(DecimalString.format(-0.0), "0")
        XCTAssertEqual(DecimalString.format(42), "42")
        XCTAssertEqual(DecimalString.format(-7), "-7")
        XCTAssertEqual(DecimalString.format(1.5), "1.5")
        XCTAssertEqual(DecimalString.format(-250.25), "-250.25")
        XCTAssertEqual(DecimalString.format(0.1), "0.1")
        XCTAssertEqual(DecimalString.format(999_999_999_999_999), "999999999999999")
        XCTAssertEqual(DecimalString.format(-999_999_999_999_999), "-999999999999999")
    }

    /// Significant digits in the mantissa of a formatted number.
    func significantDigits(_ s: String) -> Int {
        let mantissa = s.split(whereSeparator: { $0 == "e" || $0 == "E" }).first.map(String.init) ?? s
        let digits = mantissa.filter(\.isNumber).drop(while: { $0 == "0" })
        return max(1, digits.count)
    }

    /// A DS value holds at most 16 characters; within that, as many digits as fit. The
    /// value read back is the original rounded to the digits written: relative error at
    /// most half a unit in the last written digit. Between 0.1 and 10^15 at least 13
    /// digits always fit (relative error ≤ 1e-12); anywhere in the normal range at least 9.
    func testFormatFitsSixteenCharactersAndParsesBackClosely() throws {
        var rng = SplitMix64(seed: 7)
        var samples: [Double] = [
            .pi, -.pi, 1.0 / 3.0, -2.0 / 3.0, 1e-5, 1.2345678901234567e-5, -9.87654321e-300,
            1.7976931348623157e308, -2.2250738585072014e-308, 1e15, -1e15, 1e16, 123456.78901234567,
            0.1 + 0.2, -0.000123456789012345, 99999999999999.99, 0.09999999999999999,
        ]
        for _ in 0..<20_000 {
            let exponent = Double.random(in: -307...307, using: &rng)
            let sign: Double = Bool.random(using: &rng) ? -1 : 1
            samples.append(sign * pow(10, exponent) * Double.random(in: 1..<10, using: &rng))
        }
        for _ in 0..<5_000 {
            samples.append(Double.random(in: -1000...1000, using: &rng))
        }
        for v in samples where v.isNormal || v == 0 {
            let s = DecimalString.format(v)
            XCTAssertLessThanOrEqual(s.utf8.count, 16, "format(\(v)) = \(s)")
            let back = try XCTUnwrap(try DecimalString.parse(Data(s.utf8)).first, s)
            let rel = abs(back - v) / abs(v)
            let digits = significantDigits(s)
            XCTAssertLessThanOrEqual(rel, 0.5 * pow(10, Double(1 - digits)) * (1 + 1e-9),
                                     "format(\(v)) = \(s) (\(digits) digits) reads back as \(back)")
            XCTAssertLessThanOrEqual(rel, 5e-9, "format(\(v)) = \(s)")
            if abs(v) >= 0.1 && abs(v) < 1e15 {
                XCTAssertLessThanOrEqual(rel, 1e-12, "format(\(v)) = \(s)")
            }
        }
    }

    func testDataSetSetDecimalsWritesFormattedValues() throws {
        var ds = DataSet()
        ds.set(.pixelSpacing, decimals: [0.9765625, 0.9765625])
        XCTAssertEqual(ds.string(.pixelSpacing), "0.9765625\\0.9765625")
        ds.set(.imagePositionPatient, decimals: [-1.0 / 3.0, 1e20, 2])
        for s in ds.strings(.imagePositionPatient) ?? [] { XCTAssertLessThanOrEqual(s.count, 16, s) }
        let back = try XCTUnwrap(try ds.doubles(.imagePositionPatient))
        XCTAssertEqual(back[0], -1.0 / 3.0, accuracy: 1e-12)
        XCTAssertEqual(back[1], 1e20)
        XCTAssertEqual(back[2], 2)
    }

    // MARK: Formatting

    /// The formatter's own digits against printf's (`formatReference`), text for text:
    /// random magnitudes, values rounded to 0.1 µm as contours are written, exact binary
    /// ties, neighbours of powers of ten, and the range edges.
    func testFormatWritesWhatPrintfWrites() {
        var state: UInt64 = 0x5EED
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        var values: [Double] = [1e-5, -1e-5, 0.1, 0.3, 0.125, 2.5, 1e14 + 0.5, 999_999_999_999_999.9, 1e15 - 0.125, 12345.67891]
        for _ in 0..<20_000 {
            let magnitude = pow(10, (next() * 20) - 5)
            let v = (next() - 0.5) * 2 * magnitude
            values.append(v)
            values.append((v * 1e4).rounded() / 1e4)
        }
        for k in -5...14 {
            let p = pow(10.0, Double(k))
            values += [p, p.nextUp, p.nextDown, -p.nextDown]
        }
        for n in 1...40 { values.append(Double(n) / 8); values.append(Double(2 * n + 1) / 1024); values.append(Double(n) * 0.05) }
        var mismatches = 0
        for v in values where v.isFinite {
            let fast = DecimalString.format(v), slow = DecimalString.formatReference(v)
            if fast != slow {
                mismatches += 1
                if mismatches <= 5 { XCTFail("\(v): \(fast) ≠ printf \(slow)") }
            }
        }
        XCTAssertEqual(mismatches, 0)
    }
}
