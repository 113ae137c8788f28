import Base
import Foundation
import XCTest

final class OutputFilesTests: XCTestCase {
    var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "sbrt-output-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func path(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }
    func read(_ p: String) -> String { (try? String(contentsOfFile: p, encoding: .utf8)) ?? "<missing>" }
    func leftovers() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains("sbrt-tmp") } }

    func assertRefused(_ kind: SBRTError.Kind, _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, kind, "\(error)", file: file, line: line)
        }
    }

    func testWritesANewFileAndReplacesAnOldOneLeavingNoTemporaryFile() throws {
        let p = path("a.txt")
        try OutputFiles.write("one", to: p)
        try OutputFiles.write("two", to: p)
        XCTAssertEqual(read(p), "two")
        XCTAssertEqual(leftovers(), [])
    }

    func testSegmentsAreWrittenInOrderAsOneFile() throws {
        let p = path("s.bin")
        var outputs = OutputFiles()
        outputs.add(segments: [Data("head-".utf8), Data(), Data(repeating: 7, count: 300_000), Data("-tail".utf8)], to: p)
        try outputs.commit()
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: p)),
                       Data("head-".utf8) + Data(repeating: 7, count: 300_000) + Data("-tail".utf8))
        XCTAssertEqual(leftovers(), [])
    }

    func testRefusesToWriteOverAnInputOfTheRun() throws {
        let p = path("input.dcm")
        try "precious".write(toFile: p, atomically: false, encoding: .utf8)
        _ = try InputFiles.read(p)
        assertRefused(.outputPath) { try OutputFiles.write("oops", to: p) }
        // Through a symlink, or a hard link, it is the same file.
        let link = path("link.dcm")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: p)
        assertRefused(.outputPath) { try OutputFiles.write("oops", to: link) }
        let hard = path("hard.dcm")
        XCTAssertEqual(Foundation.link(p, hard), 0)
        assertRefused(.outputPath) { try OutputFiles.write("oops", to: hard) }
        XCTAssertEqual(read(p), "precious")
    }

    func testRefusesAFolderAndTwoOutputsOnOneFile() throws {
        assertRefused(.outputPath) { try OutputFiles.write("x", to: dir) }
        var o = OutputFiles()
        o.add("x", to: path("same.txt"))
        o.add("y", to: dir + "/./same.txt")
        assertRefused(.outputPath) { try o.commit() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("same.txt")))
    }

    func testWritesThroughASymlinkAndKeepsPermissionsAndHardLinks() throws {
        let target = path("target.txt")
        try "old".write(toFile: target, atomically: false, encoding: .utf8)
        XCTAssertEqual(chmod(target, 0o600), 0)
        let link = path("link.txt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "target.txt")
        try OutputFiles.write("new", to: link)
        XCTAssertEqual(read(target), "new")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "target.txt")
        var st = stat()
        XCTAssertEqual(stat(target, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        let other = path("other.txt")
        XCTAssertEqual(Foundation.link(target, other), 0)
        try OutputFiles.write("both", to: target)
        XCTAssertEqual(read(other), "both")
    }

    func testDevicesAreWrittenDirectlyAndWriteErrorsReported() throws {
        try OutputFiles.write("discarded", to: "/dev/null")
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null must stay a device")
        if FileManager.default.fileExists(atPath: "/dev/full") {
            assertRefused(.io) { try OutputFiles.write("no room", to: "/dev/full") }
            XCTAssertEqual(stat("/dev/full", &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR)
        }
    }

    func testOneFailingOutputLeavesEveryOtherUntouched() throws {
        let a = path("a.txt")
        try "old a".write(toFile: a, atomically: false, encoding: .utf8)
        var o = OutputFiles()
        o.add("new a", to: a)
        o.add("b", to: "/proc/sbrt-cannot-write-here.txt")
        XCTAssertThrowsError(try o.commit())
        XCTAssertEqual(read(a), "old a")
        XCTAssertEqual(leftovers(), [])
    }

    func testStaleTemporaryFilesOfDeadRunsAreSwept() throws {
        // A pid far above pid_max is never alive.
        let stale = path(".out.txt.sbrt-tmp-999999999-12")
        try "junk".write(toFile: stale, atomically: false, encoding: .utf8)
        try OutputFiles.write("fresh", to: path("out.txt"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
    }

    func testReadingAFolderOrADeviceSaysWhat() throws {
        assertRefused(.io) { _ = try InputFiles.read(dir) }
        assertRefused(.io) { _ = try InputFiles.read("/dev/null") }
        assertRefused(.io) { _ = try InputFiles.read(path("missing.dcm")) }
    }
}

final class JSONOutputTests: XCTestCase {
    func testSnakeCaseKeepsAcronymsWhole() {
        let cases = ["sopInstanceUID": "sop_instance_uid", "frameOfReferenceUIDs": "frame_of_reference_uids",
                     "embeddedDVHs": "embedded_dvhs", "spacingMM": "spacing_mm", "d95Gy": "d95_gy",
                     "volumeCC": "volume_cc", "URLProperty": "url_property", "passRatePct": "pass_rate_pct",
                     "schema": "schema", "huRange": "hu_range"]
        for (k, v) in cases { XCTAssertEqual(JSONOutput.snakeCase(k), v, k) }
    }

    func testNonFiniteNumbersAreNeverWritten() {
        struct R: Encodable { var value: Double }
        XCTAssertThrowsError(try JSONOutput.text(R(value: .nan))) { error in
            XCTAssertEqual((error as? SBRTError)?.kind, .invalidValue)
        }
        XCTAssertEqual(try JSONOutput.text(R(value: 1.5)), "{\n  \"value\" : 1.5\n}\n")
    }
}
