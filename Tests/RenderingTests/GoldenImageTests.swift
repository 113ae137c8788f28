import Foundation
import XCTest
@testable import Rendering

/// Rendered figures against small committed PNGs (`Fixtures/golden/`), with a small
/// per-pixel tolerance, decoded independently of libpng (`PNGTestDecoder`).
///
/// To regenerate after an intended change of looks, run the tests with
/// `SBRT_UPDATE_GOLDEN=1` and look at the new files before committing them.
final class GoldenImageTests: XCTestCase {
    /// Largest difference of any channel allowed in every pixel, and the fraction of
    /// pixels allowed beyond it (anti-aliasing of a few edge pixels may move with the
    /// compiler's floating-point contraction).
    static let tolerance = 6
    static let outlierFraction = 0.002

    func compare(_ image: RGBAImage, golden name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = renderingFixture("golden/" + name)
        if ProcessInfo.processInfo.environment["SBRT_UPDATE_GOLDEN"] == "1" {
            try PNGEncoder.write(image, to: path, text: [("Source", "sbrt RenderingTests golden image")])
        }
        let decoded = try PNGTestDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(decoded.width, image.width, file: file, line: line)
        XCTAssertEqual(decoded.height, image.height, file: file, line: line)
        guard decoded.width == image.width, decoded.height == image.height else { return }
        let ch = decoded.channels
        XCTAssertGreaterThanOrEqual(ch, 3)
        var outliers = 0, worst = 0
        for p in 0..<(image.width * image.height) {
            var d = 0
            for c in 0..<3 { d = max(d, abs(Int(image.pixels[4 * p + c]) - Int(decoded.pixels[ch * p + c]))) }
            worst = max(worst, d)
            if d > Self.tolerance { outliers += 1 }
        }
        XCTAssertLessThanOrEqual(Double(outliers), Self.outlierFraction * Double(image.width * image.height),
                                 "\(name): \(outliers) pixels differ by more than \(Self.tolerance) (worst \(worst))", file: file, line: line)
    }

    func pelvisSlice() throws -> SliceRendering {
        var request = SliceRequest()
        request.position = .through("PTV")
        request.widthPx = 180
        request.zoomTo = "PTV"
        request.paddingMM = 25
        return try SliceRenderer.render(Studies.pelvis, request)
    }

    func testPelvisAxialSliceMatchesGolden() throws {
        let slice = try pelvisSlice()
        try compare(slice.panel, golden: "pelvis_axial_ptv.png")
    }

    /// The same slice on the pelvis plan whose planning images are MR: the default
    /// percentile window, the caption naming MR.
    func testPelvisMRAxialSliceMatchesGolden() throws {
        var request = SliceRequest()
        request.position = .through("PTV")
        request.widthPx = 180
        request.zoomTo = "PTV"
        request.paddingMM = 25
        let slice = try SliceRenderer.render(Studies.pelvisMR, request)
        XCTAssertTrue(slice.caption.contains("MR W"), slice.caption)
        XCTAssertTrue(slice.caption.contains("(1st–99th percentile inside BODY)"), slice.caption)
        try compare(slice.panel, golden: "pelvis_mr_axial_ptv.png")
    }

    func testPelvisDVHMatchesGolden() throws {
        let study = Studies.pelvis
        let indices = try SliceRenderer.structureIndices(study, ["GTV", "PTV", "SacralPlexus", "Rectum"])
        let curves = try Figure.dvhCurves(Studies.pelvisResolved, rois: study.rois, indices: indices)
        let plot = DVHPlot.render(curves, rxGy: 40, width: 300, height: 216)
        try compare(plot, golden: "pelvis_dvh.png")
        let svg = DVHPlot.svg(curves, rxGy: 40, width: 300, height: 216)
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 4)
        XCTAssertTrue(svg.contains(">SacralPlexus</text>"))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
    }

    func testRenderingIsDeterministic() throws {
        let a = try pelvisSlice(), b = try pelvisSlice()
        XCTAssertEqual(a.panel, b.panel)
        XCTAssertEqual(try PNGEncoder.encode(a.panel), try PNGEncoder.encode(b.panel))
    }
}
