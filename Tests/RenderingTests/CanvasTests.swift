import Foundation
import XCTest
@testable import Rendering

/// The canvas, the stroke font and marching squares, on cases with known answers.
final class CanvasTests: XCTestCase {

    func testHorizontalLineCoversExactlyItsWidth() {
        var c = Canvas(width: 20, height: 20, background: .black)
        c.stroke([[SIMD2(2, 10), SIMD2(18, 10)]], lineWidth: 2, colour: .white)
        // Rows 9 and 10 (centres 9.5, 10.5) lie 0.5 px from the line: fully covered.
        XCTAssertEqual(c.colour(x: 10, y: 9), .white)
        XCTAssertEqual(c.colour(x: 10, y: 10), .white)
        XCTAssertEqual(c.colour(x: 10, y: 8), .black)
        XCTAssertEqual(c.colour(x: 10, y: 11), .black)
    }

    func testAntiAliasedEdgeIsPartialAndJoinsAreNotDarkenedTwice() {
        var c = Canvas(width: 20, height: 20, background: .black)
        c.stroke([[SIMD2(2, 10.25), SIMD2(18, 10.25)]], lineWidth: 1, colour: .white)
        let partial = c.colour(x: 10, y: 9).r
        XCTAssertGreaterThan(partial, 0)
        XCTAssertLessThan(partial, 255)
        // A translucent polyline with a joint: the joint pixel gets the same alpha.
        var d = Canvas(width: 20, height: 20, background: .black)
        d.stroke([[SIMD2(2, 10), SIMD2(10, 10), SIMD2(10, 2)]], lineWidth: 3, colour: .white, alpha: 0.5)
        XCTAssertEqual(d.colour(x: 9, y: 9).r, d.colour(x: 5, y: 9).r)
    }

    func testFilledSquareHasExactAreaCoverage() {
        var c = Canvas(width: 10, height: 10, background: .black)
        c.fillPolygons([[SIMD2(2, 2), SIMD2(6.5, 2), SIMD2(6.5, 6), SIMD2(2, 6)]], colour: .white)
        XCTAssertEqual(c.colour(x: 3, y: 3), .white)
        XCTAssertEqual(c.colour(x: 6, y: 3).r, 128) // half a pixel: 127.5 rounded
        XCTAssertEqual(c.colour(x: 7, y: 3), .black)
    }

    func testEveryPrintableASCIICharacterHasAGlyphWithinTheFontBox() {
        for scalar in 32...126 {
            let c = Character(UnicodeScalar(UInt8(scalar)))
            let g = try! XCTUnwrap(StrokeFont.glyphs[c], "no glyph for \(c)")
            XCTAssertGreaterThan(g.advance, 0)
            if c != " " { XCTAssertFalse(g.strokes.isEmpty, "\(c)") }
            for p in g.strokes.joined() {
                XCTAssertTrue((-1.5...g.advance + 1.5).contains(p.x) && (-3.5...11.5).contains(p.y), "\(c) \(p)")
            }
        }
        XCTAssertEqual(StrokeFont.width("ab", size: 14), StrokeFont.glyph("a").advance + StrokeFont.glyph("b").advance)
        XCTAssertEqual(StrokeFont.glyph("\u{2603}").advance, StrokeFont.glyph("?").advance)
    }

    /// Writes a glyph sheet for inspection when SBRT_RENDER_DEBUG_DIR is set.
    func testGlyphSheetIsDeterministic() throws {
        func sheet() -> RGBAImage {
            var c = Canvas(width: 760, height: 260, background: .white)
            var y = 30.0
            for size in [11.0, 14, 20, 28] {
                c.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz", x: 8, y: y, size: size, colour: .black)
                c.text("0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ × – − · ° ± ≥ ≤ µ cm³", x: 8, y: y + size * 1.2, size: size, colour: .black)
                y += size * 2.7
            }
            return c.image
        }
        let a = sheet()
        XCTAssertEqual(a, sheet())
        if let dir = ProcessInfo.processInfo.environment["SBRT_RENDER_DEBUG_DIR"] {
            try PNGEncoder.write(a, to: dir + "/glyphs.png")
        }
    }

    func testMarchingSquaresClosesACurveWithSubSampleVertices() {
        // A 6×6 field with a plateau of 1 in the middle 2×2, 0 elsewhere: level 0.5
        // crosses every edge from the plateau half way.
        var f = [Float](repeating: 0, count: 36)
        for j in 2...3 { for i in 2...3 { f[j * 6 + i] = 1 } }
        let lines = MarchingSquares.isolines(f, nx: 6, ny: 6, level: 0.5)
        XCTAssertEqual(lines.count, 1)
        XCTAssertTrue(lines[0].closed)
        XCTAssertEqual(lines[0].points.count, 8)
        for p in lines[0].points {
            XCTAssertTrue([1.5, 2, 3, 3.5].contains(p.x) && [1.5, 2, 3, 3.5].contains(p.y), "\(p)")
        }
        // Open at the border: a ramp along x gives one vertical line at x = 2.5.
        let ramp = (0..<20).map { Float($0 % 5) }
        let open = MarchingSquares.isolines(ramp, nx: 5, ny: 4, level: 2.5)
        XCTAssertEqual(open.count, 1)
        XCTAssertFalse(open[0].closed)
        XCTAssertEqual(open[0].points.count, 4)
        XCTAssertTrue(open[0].points.allSatisfy { $0.x == 2.5 })
    }

    func testSaddleCellsGiveTwoSeparateCurves() {
        // Diagonal corners high, centre low: two separate corner pieces.
        let f: [Float] = [1, 0, 0, 1]
        let lines = MarchingSquares.isolines(f, nx: 2, ny: 2, level: 0.6)
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines.allSatisfy { $0.points.count == 2 && !$0.closed })
    }

    func testWindowsAndIsodoseColours() {
        XCTAssertEqual(DisplayWindow(parsing: "soft"), DisplayWindow(width: 400, level: 40))
        XCTAssertEqual(DisplayWindow(parsing: "lung"), DisplayWindow(width: 1500, level: -600))
        XCTAssertEqual(DisplayWindow(parsing: "1800/400"), .bone)
        XCTAssertNil(DisplayWindow(parsing: "0/40"))
        XCTAssertNil(DisplayWindow(parsing: "wide"))
        // Hot at and above Rx, yellow/green below, blue for low doses.
        let c100 = IsodoseStyle.colour(percent: 100), c90 = IsodoseStyle.colour(percent: 90), c30 = IsodoseStyle.colour(percent: 30)
        XCTAssertTrue(c100.r == 255 && c100.b == 0)
        XCTAssertEqual(c90, Colour(255, 255, 0))
        XCTAssertTrue(c30.b > c30.r && c30.b > c30.g)
        let levels = IsodoseStyle.levels(percent: [50, 100], rxGy: 40)
        XCTAssertEqual(levels.map(\.doseGy), [40, 20])
    }
}
