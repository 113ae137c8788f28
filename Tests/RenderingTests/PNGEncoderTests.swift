import Base
import Foundation
import XCTest
@testable import Rendering

/// `PNGEncoder` writes 8-bit PNGs that an independent decoder reads back pixel for
/// pixel, with `Software` = `sbrt` text, no timestamps, the same bytes every time, and
/// a `SBRTError` (never a crash) for anything PNG cannot hold.
final class PNGEncoderTests: XCTestCase {

    // MARK: Fixtures

    /// 7×5 opaque gradient: red rises along x, green down y, blue mixes both.
    static func gradient() -> RGBAImage {
        var image = RGBAImage(width: 7, height: 5)
        for y in 0..<5 {
            for x in 0..<7 {
                image[x: x, y: y] = SIMD4(UInt8(x * 40), UInt8(y * 60), UInt8((x * 7 + y * 13) % 256), 255)
            }
        }
        return image
    }

    /// 6×4 image whose alpha runs from 0 to 253 with colours that differ per pixel.
    static func translucent() -> RGBAImage {
        var image = RGBAImage(width: 6, height: 4)
        for y in 0..<4 {
            for x in 0..<6 {
                let i = y * 6 + x
                image[x: x, y: y] = SIMD4(UInt8(255 - i * 9), UInt8(i * 11), UInt8(i % 3 * 100), UInt8(i * 11))
            }
        }
        return image
    }

    /// 256×3 grey ramp: row 0 rises 0…255, row 1 falls, row 2 alternates 0/255.
    static func greyRamp() -> GrayImage {
        var image = GrayImage(width: 256, height: 3)
        for x in 0..<256 {
            image[x: x, y: 0] = UInt8(x)
            image[x: x, y: 1] = UInt8(255 - x)
            image[x: x, y: 2] = x % 2 == 0 ? 0 : 255
        }
        return image
    }

    /// A larger pseudo-random image (fixed seed) with smooth and noisy regions, so that
    /// libpng's per-row heuristic picks several filter types.
    static func mixed(width: Int = 97, height: Int = 61) -> RGBAImage {
        var image = RGBAImage(width: width, height: height)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for y in 0..<height {
            for x in 0..<width {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let noise = UInt8(truncatingIfNeeded: state >> 56)
                let smooth = UInt8(truncatingIfNeeded: x * 2 + y)
                let v = y < height / 2 ? smooth : noise
                image[x: x, y: y] = SIMD4(v, smooth, noise, UInt8(truncatingIfNeeded: 128 + x))
            }
        }
        return image
    }

    static func rgb(of image: RGBAImage) -> [UInt8] {
        (0..<(image.width * image.height)).flatMap { Array(image.pixels[(4 * $0)..<(4 * $0 + 3)]) }
    }

    /// When SBRT_TEST_PNG_DIR is set, keeps a copy of `data` there for
    /// `Tools/check_png.py` and pngcheck.
    func keep(_ data: Data, as name: String) throws {
        guard let dir = ProcessInfo.processInfo.environment["SBRT_TEST_PNG_DIR"] else { return }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try OutputFiles.write(data, to: (dir as NSString).appendingPathComponent(name))
    }

    // MARK: Pixels

    func testOpaqueImageIsWrittenAsRGBAndDecodesToTheSamePixels() throws {
        let image = Self.gradient()
        let data = try PNGEncoder.encode(image, text: [("Source", "gradient 7x5")])
        try keep(data, as: "gradient-rgb.png")
        let png = try PNGTestDecoder.decode(data)
        XCTAssertEqual(png.width, 7)
        XCTAssertEqual(png.height, 5)
        XCTAssertEqual(png.colourType, 2)
        XCTAssertEqual(png.pixels, Self.rgb(of: image))
    }

    func testTranslucentImageIsWrittenAsRGBAAndDecodesToTheSamePixels() throws {
        let image = Self.translucent()
        let data = try PNGEncoder.encode(image)
        try keep(data, as: "translucent-rgba.png")
        let png = try PNGTestDecoder.decode(data)
        XCTAssertEqual(png.colourType, 6)
        XCTAssertEqual(png.pixels, image.pixels)
    }

    func testOpaqueImageKeepsAlphaWhenAsked() throws {
        let image = Self.gradient()
        let png = try PNGTestDecoder.decode(try PNGEncoder.encode(image, dropAlphaIfOpaque: false))
        XCTAssertEqual(png.colourType, 6)
        XCTAssertEqual(png.pixels, image.pixels)
    }

    func testGreyImageIsWrittenAsGreyAndDecodesToTheSamePixels() throws {
        let image = Self.greyRamp()
        let data = try PNGEncoder.encode(image, text: [("Source", "grey ramp")])
        try keep(data, as: "grey-ramp.png")
        let png = try PNGTestDecoder.decode(data)
        XCTAssertEqual(png.colourType, 0)
        XCTAssertEqual(png.width, 256)
        XCTAssertEqual(png.height, 3)
        XCTAssertEqual(png.pixels, image.pixels)
    }

    func testLargerImageWithSeveralRowFiltersDecodesToTheSamePixels() throws {
        let image = Self.mixed()
        let data = try PNGEncoder.encode(image)
        try keep(data, as: "mixed-rgba.png")
        let png = try PNGTestDecoder.decode(data)
        XCTAssertEqual(png.pixels, image.pixels)
        XCTAssertGreaterThan(Set(png.rowFilters).count, 1, "expected libpng to choose more than one filter type")
    }

    /// The report's fast compression: the same pixels, every row Paeth-filtered (type 4),
    /// different bytes from the standard compression.
    func testFastCompressionDecodesToTheSamePixelsWithPaethRows() throws {
        let image = Self.mixed()
        let fast = try PNGEncoder.encode(image, compression: .fast)
        let png = try PNGTestDecoder.decode(fast)
        XCTAssertEqual(png.pixels, image.pixels)
        XCTAssertEqual(Set(png.rowFilters), [4])
        XCTAssertNotEqual(fast, try PNGEncoder.encode(image))
        XCTAssertEqual(fast, try PNGEncoder.encode(image, compression: .fast))
    }

    func testOnePixelImagesEncode() throws {
        let rgba = RGBAImage(width: 1, height: 1, fill: SIMD4(1, 2, 3, 4))
        XCTAssertEqual(try PNGTestDecoder.decode(try PNGEncoder.encode(rgba)).pixels, [1, 2, 3, 4])
        let grey = GrayImage(width: 1, height: 1, fill: 200)
        XCTAssertEqual(try PNGTestDecoder.decode(try PNGEncoder.encode(grey)).pixels, [200])
    }

    // MARK: Header and chunks

    func testSignatureAndHeaderFields() throws {
        let data = try PNGEncoder.encode(Self.gradient())
        XCTAssertEqual(Array(data.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(Array(data[8..<16]), [0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52], "IHDR of length 13 comes first")
        let png = try PNGTestDecoder.decode(data)
        XCTAssertEqual(png.bitDepth, 8)
        XCTAssertEqual(png.compressionMethod, 0)
        XCTAssertEqual(png.filterMethod, 0)
        XCTAssertEqual(png.interlaceMethod, 0)
    }

    func testOnlyHeaderTextDataAndEndChunksAreWritten() throws {
        let png = try PNGTestDecoder.decode(try PNGEncoder.encode(Self.translucent(), text: [("Source", "x")]))
        XCTAssertEqual(Set(png.chunkTypes), ["IHDR", "tEXt", "IDAT", "IEND"])
        XCTAssertFalse(png.chunkTypes.contains("tIME"))
        XCTAssertLessThan(png.chunkTypes.lastIndex(of: "tEXt")!, png.chunkTypes.firstIndex(of: "IDAT")!)
    }

    func testSoftwareTextComesFirstThenTheCallersTextInOrder() throws {
        let text = [("Source", "RD.1.2.3.dcm"), ("Comment", "axial slice 42")]
        let png = try PNGTestDecoder.decode(try PNGEncoder.encode(Self.gradient(), text: text))
        XCTAssertEqual(png.text.map(\.keyword), ["Software", "Source", "Comment"])
        XCTAssertEqual(png.text.map(\.value), ["sbrt", "RD.1.2.3.dcm", "axial slice 42"])
        XCTAssertEqual(png.text.map(\.chunk), ["tEXt", "tEXt", "tEXt"])
    }

    func testSoftwareTextIsWrittenWithoutCallerText() throws {
        let png = try PNGTestDecoder.decode(try PNGEncoder.encode(Self.greyRamp()))
        XCTAssertEqual(png.text.count, 1)
        XCTAssertEqual(png.text.first?.keyword, "Software")
        XCTAssertEqual(png.text.first?.value, "sbrt")
    }

    func testCallersSoftwareReplacesTheDefault() throws {
        let png = try PNGTestDecoder.decode(try PNGEncoder.encode(Self.greyRamp(), text: [("Software", "sbrt 0.1")]))
        XCTAssertEqual(png.text.map(\.value), ["sbrt 0.1"])
    }

    func testLatin1TextIsTEXtAndOtherTextIsITXt() throws {
        let text = [("Source", "Müller/RD.dcm"), ("Title", "Ω dose ≥ 20 Gy")]
        let data = try PNGEncoder.encode(Self.gradient(), text: text)
        try keep(data, as: "text-latin1-utf8.png")
        let png = try PNGTestDecoder.decode(data)
        XCTAssertEqual(png.text.map(\.chunk), ["tEXt", "tEXt", "iTXt"])
        XCTAssertEqual(png.text.map(\.value), ["sbrt", "Müller/RD.dcm", "Ω dose ≥ 20 Gy"])
    }

    // MARK: Determinism

    func testEncodingTwiceGivesIdenticalBytes() throws {
        let text = [("Source", "determinism")]
        XCTAssertEqual(try PNGEncoder.encode(Self.mixed(), text: text), try PNGEncoder.encode(Self.mixed(), text: text))
        XCTAssertEqual(try PNGEncoder.encode(Self.gradient()), try PNGEncoder.encode(Self.gradient()))
        XCTAssertEqual(try PNGEncoder.encode(Self.greyRamp()), try PNGEncoder.encode(Self.greyRamp()))
    }

    // MARK: Errors

    func assertInvalidImage(_ body: @autoclosure () throws -> Data, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue, "\(error)", file: file, line: line)
        }
    }

    func testEmptyImagesThrowInsteadOfCrashing() {
        assertInvalidImage(try PNGEncoder.encode(RGBAImage(width: 0, height: 5)))
        assertInvalidImage(try PNGEncoder.encode(RGBAImage(width: 5, height: 0)))
        assertInvalidImage(try PNGEncoder.encode(GrayImage(width: 0, height: 0)))
    }

    func testPixelBufferOfTheWrongLengthThrows() {
        var image = Self.gradient()
        image.pixels.removeLast()
        assertInvalidImage(try PNGEncoder.encode(image))
        var grey = Self.greyRamp()
        grey.pixels.append(0)
        assertInvalidImage(try PNGEncoder.encode(grey))
    }

    func testSidesBeyondThePNGLimitThrow() {
        XCTAssertNoThrow(try PNGEncoder.checkDimensions(width: Int(Int32.max), height: 1))
        for (w, h) in [(1 << 31, 1), (1, 1 << 31), (-1, 4), (4, -1), (Int.max, Int.max)] {
            XCTAssertThrowsError(try PNGEncoder.checkDimensions(width: w, height: h)) { error in
                XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue)
                XCTAssertTrue("\(error)".contains("\(w)×\(h)"), "\(error)")
            }
        }
    }

    func testInvalidTextThrows() {
        let bad: [(String, String)] = [
            ("", "empty keyword"),
            (String(repeating: "k", count: 80), "keyword too long"),
            (" Lead", "leading space"),
            ("Trail ", "trailing space"),
            ("Two  spaces", "consecutive spaces"),
            ("Dose≥", "not Latin-1"),
            ("Tab\tKey", "control character"),
            ("Comment", "NUL \u{0} inside"),
        ]
        for pair in bad {
            XCTAssertThrowsError(try PNGEncoder.encode(Self.gradient(), text: [pair]), "\(pair)") { error in
                XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue, "\(pair): \(error)")
            }
        }
        XCTAssertNoThrow(try PNGEncoder.encode(Self.gradient(), text: [(String(repeating: "k", count: 79), "")]))
    }

    // MARK: Files

    func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("sbrt-rendering-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    func testWriteStoresTheEncodedBytesAndLeavesNoTemporaryFile() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("slice.png").path
        try PNGEncoder.write(Self.gradient(), to: path, text: [("Source", "test")])
        try PNGEncoder.write(Self.greyRamp(), to: dir.appendingPathComponent("grey.png").path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)),
                       try PNGEncoder.encode(Self.gradient(), text: [("Source", "test")]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), ["grey.png", "slice.png"])
    }

    func testWriteReplacesAnExistingFile() throws {
        let path = try temporaryDirectory().appendingPathComponent("slice.png").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        try PNGEncoder.write(Self.translucent(), to: path)
        XCTAssertEqual(try PNGTestDecoder.decode(try Data(contentsOf: URL(fileURLWithPath: path))).pixels,
                       Self.translucent().pixels)
    }

    func testWriteIntoAMissingFolderThrowsAnIOErrorNamingTheFile() throws {
        let path = try temporaryDirectory().appendingPathComponent("no/such/dir/slice.png").path
        XCTAssertThrowsError(try PNGEncoder.write(Self.gradient(), to: path)) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .io)
            XCTAssertEqual((error as? SBRTError)?.file, path)
        }
    }

    func testWriteOfAnInvalidImageNamesTheFileAndWritesNothing() throws {
        let dir = try temporaryDirectory()
        let path = dir.appendingPathComponent("empty.png").path
        XCTAssertThrowsError(try PNGEncoder.write(GrayImage(width: 0, height: 3), to: path)) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue)
            XCTAssertEqual((error as? SBRTError)?.file, path)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}
