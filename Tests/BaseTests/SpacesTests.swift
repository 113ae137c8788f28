import Base
import Foundation
import XCTest

/// `trimmingSpaces()` removes exactly what Foundation's `trimmingCharacters(in: .whitespaces)` removes.
final class SpacesTests: XCTestCase {
    func testTrimmingSpacesIsFoundationsWhitespaceTrim() {
        // Every ASCII character (decided without Foundation) alone, and around a word.
        var samples: [String] = []
        for v in 0..<0x80 {
            let c = String(Character(Unicode.Scalar(UInt8(v))))
            samples += [c, c + "a" + c, "a" + c, c + c + "b c" + c]
        }
        // Spaces and near-spaces beyond ASCII, line ends, a combining mark after a space.
        let pool = ["\u{00A0}", "\u{1680}", "\u{2000}", "\u{2009}", "\u{200A}", "\u{200B}", "\u{202F}", "\u{205F}", "\u{3000}",
                    "\u{FEFF}", "\u{0085}", "\r", "\n", "\u{0B}", "\u{0C}", " ", "\t", "x", "é", "e\u{301}", " \u{301}", "Gy", "漢"]
        var state: UInt64 = 0x5EED
        for _ in 0..<5_000 {
            var s = ""
            for _ in 0..<Int(state % 7) {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                s += pool[Int(state >> 33) % pool.count]
            }
            state = state &* 6364136223846793005 &+ 1442695040888963407
            samples.append(s)
        }
        samples += pool
        for s in samples {
            XCTAssertEqual(s.trimmingSpaces(), s.trimmingCharacters(in: .whitespaces), "\(s.unicodeScalars.map { String($0.value, radix: 16) })")
            let sub = Substring("(" + s + ")").dropFirst().dropLast()
            XCTAssertEqual(sub.trimmingSpaces(), sub.trimmingCharacters(in: .whitespaces))
        }
        XCTAssertEqual("  D95%  ".trimmingSpaces(), "D95%")
        XCTAssertEqual("\t\u{3000}PTV\u{00A0}".trimmingSpaces(), "PTV")
        XCTAssertEqual("Lung\r".trimmingSpaces(), "Lung\r")
    }
}
