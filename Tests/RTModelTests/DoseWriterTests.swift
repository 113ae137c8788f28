import TestSupport
import XCTest
@testable import RTModel

/// The RT Dose writer's quantisation (the round trip through a file is tested with the
/// composite, in DosimetryTests).
final class DoseWriterTests: XCTestCase {
    /// The writer's stored value equals `UInt32(x.rounded())` (half away from zero) on
    /// halves, their neighbours one ulp either side, random values and the top of the range.
    func testStoredValueRoundsHalfAwayFromZeroLikeRounded() {
        var values: [Double] = [0, 0.5, 1.5, 2.5, 0.49999999999999994, 4_294_967_294.5, 4_294_967_294.499_999_5,
                                4_294_967_295, 4_294_967_296, 1e300, .infinity]
        for k in [1.0, 2, 3, 1000, 123_456, 4_000_000_000] {
            let half = k + 0.5
            values += [half, half.nextUp, half.nextDown, k, k.nextUp, k.nextDown]
        }
        var g = SplitMix64(seed: 11)
        values += (0..<100_000).map { _ in g.next01() * 4.0e9 }
        for x in values {
            let expected = x < 4_294_967_295 ? UInt32(x.rounded()) : UInt32.max
            XCTAssertEqual(DoseWriter.storedValue(x), expected, "x = \(x)")
        }
    }
}

extension DoseWriterTests {
    /// The quantiser's maximum is the plain loop's (start at 0, keep a larger value; NaNs and
    /// negatives passed over) for every length around the eight lanes.
    func testLargestPositiveIsThePlainLoopsMaximum() {
        var g = SplitMix64(seed: 12)
        for n in [0, 1, 7, 8, 9, 15, 16, 17, 1000, 1003] {
            for trial in 0..<4 {
                var v = (0..<n).map { _ in Float(g.next01() * 80 - 20) }
                if trial == 1, n > 0 { v[Int(g.next01() * Double(n))] = .nan }
                if trial == 2 { v = v.map { -abs($0) - 1 } }
                if trial == 3, n > 2 { v[n - 1] = 1000; v[0] = .nan }
                var loop: Float = 0
                for x in v where x > loop { loop = x }
                XCTAssertEqual(DoseWriter.largestPositive(v), loop, "n \(n) trial \(trial)")
            }
        }
    }
}
