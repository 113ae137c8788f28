import Foundation
import FuzzKit
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Outputs never destroy anything (issue 14, docs/safety.md): an output path that is an
/// input of the run, a device that refuses the data, or a second output on the same file
/// exits 2 and leaves every file as it was; the outputs of one command appear together
/// or not at all; a run killed while writing leaves no temporary file.
final class OutputSafetyEndToEndTests: XCTestCase {
    /// A private copy of the pelvis fixture (a failing test must not damage the real one).
    func study() throws -> MutantFolder {
        let m = try MutantFolder(copying: fixture("pelvis"))
        addTeardownBlock { m.remove() }
        return m
    }

    func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Runs `args` and asserts exit 2 naming `input`, with `input` unchanged.
    func assertProtects(_ input: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try bytes(input)
        let r = try runLimited(args)
        assertRefused(r, mentioning: ["input of the run"], file: file, line: line)
        XCTAssertEqual(try bytes(input), before, "\(args[0]) changed its input \(input)", file: file, line: line)
    }

    func testAnInputFileIsNeverAnOutput() throws {
        let m = try study()
        let rd = m.files(prefix: "RD.")[0], ct = m.files(prefix: "CT.")[0], rs = m.files(prefix: "RS.")[0]
        try assertProtects(rd, ["dvh", m.study, "--format", "csv", "--out", rd])
        try assertProtects(ct, ["render", m.study, "--out", ct])
        try assertProtects(rs, ["render", m.study, "--dvh", "--svg", rs])
        try assertProtects(rs, ["check", m.study, "--protocol", "tg101", "--out", rs])
        try assertProtects(rs, ["check", m.study, "--protocol", "tg101", "--html", rs])
        try assertProtects(rs, ["expand", m.study, "--from", "GTV", "--margin", "3", "--name", "G3", "--out", rs])
        try assertProtects(ct, ["expand", m.study, "--from", "GTV", "--margin", "3", "--name", "G3", "--nrrd", ct])
        for option in ["--out", "--nrrd", "--report"] {
            var args = ["composite", "--course", m.study, "--no-report", "--out", m.output("c.dcm")]
            if option == "--out" { args[args.count - 1] = rd } else { args += [option, rd] }
            try assertProtects(rd, args)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: m.outputs), [], "nothing written beside")
        // gamma writes only .nrrd and .png files: an RT Dose that happens to be named so.
        let named = (m.study as NSString).appendingPathComponent("dose.nrrd")
        try FileManager.default.moveItem(atPath: rd, toPath: named)
        try assertProtects(named, ["gamma", fixture("pelvis"), m.study, "--criteria", "3%/3mm", "--nrrd", named])
    }

    func testADeviceThatRefusesTheDataIsAnErrorAndStaysADevice() throws {
        let r = try runLimited(["dvh", fixture("pelvis"), "--format", "csv", "--out", "/dev/full"])
        assertRefused(r, mentioning: ["/dev/full", "cannot write"])
        var st = stat()
        XCTAssertEqual(stat("/dev/full", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/full is still a character device")
    }

    func testTwoOutputsOnOneFileAreRefusedBeforeTheWork() throws {
        let m = try study()
        let x = m.output("x")
        assertRefused(try runLimited(["expand", m.study, "--from", "GTV", "--margin", "3", "--name", "G3", "--out", x, "--nrrd", x]),
                      mentioning: ["two outputs"])
        assertRefused(try runLimited(["composite", "--course", m.study, "--no-report", "--out", x, "--nrrd", x]), mentioning: ["two outputs"])
        assertRefused(try runLimited(["check", m.study, "--protocol", "tg101", "--out", x, "--html", x]), mentioning: ["two outputs"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: x))
    }

    func testCompositeOutputsAreAllOrNothing() throws {
        let m = try study()
        let out = m.output("c.dcm"), report = m.output("r.json")
        let r = try runLimited(["composite", "--course", m.study, "--no-report", "--out", out, "--report", report, "--nrrd", "/proc/sbrt-test.nrrd"])
        XCTAssertTrue(r.problems.isEmpty, "\(r.problems)")
        XCTAssertEqual(r.status, 2, r.err)
        XCTAssertTrue(r.err.contains("/proc/sbrt-test.nrrd"), r.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: m.outputs), [], "no RT Dose or report without the NRRD")
        // And all three when all can be written.
        let ok = try runLimited(["composite", "--course", m.study, "--no-report", "--out", out, "--report", report, "--nrrd", m.output("c.nrrd")])
        XCTAssertEqual(ok.status, 0, ok.err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: m.outputs).sorted(), ["c.dcm", "c.nrrd", "r.json"])
    }

    /// A run killed (SIGTERM) while its outputs are being written removes its temporary
    /// files. The first output is a FIFO nobody reads, so the run blocks there with the
    /// second output complete in its temporary file; then it is killed.
    func testAKillWhileWritingLeavesNoTemporaryFile() throws {
        let m = try study()
        let fifo = m.output("fifo"), nrrd = m.output("mask.nrrd")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: sbrtExecutable())
        p.arguments = ["expand", m.study, "--from", "GTV", "--margin", "3", "--name", "G3", "--out", fifo, "--nrrd", nrrd]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        func temporaries() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: m.outputs)) ?? []).filter { $0.contains(".sbrt-tmp-") }
        }
        while temporaries().isEmpty && p.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(temporaries().isEmpty, "the run never staged its output")
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertEqual(temporaries(), [], "temporary files left behind")
        XCTAssertFalse(FileManager.default.fileExists(atPath: nrrd))
    }
}
