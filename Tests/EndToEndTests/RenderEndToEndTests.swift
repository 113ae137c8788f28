import Foundation
import XCTest

/// `sbrt render`: figures written, deterministic, free of patient identifiers, and
/// refused with exit 2 when they cannot be drawn as asked.
final class RenderEndToEndTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "sbrt-render" }

    /// Width and height from the IHDR chunk of a PNG file.
    func pngSize(_ path: String) throws -> (Int, Int) {
        let b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        XCTAssertEqual(Array(b[0..<8]), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        func be32(_ o: Int) -> Int { Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]) }
        return (be32(16), be32(20))
    }

    func testFigureOfThePelvisPlanIsWrittenTwiceIdenticallyWithoutPatientIdentifiers() throws {
        let a = tmp.appendingPathComponent("a.png").path, b = tmp.appendingPathComponent("b.png").path
        let r = try runSBRT(["render", fixture("pelvis"), "--figure", "--out", a, "--size", "400"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("axial slice at z = 0 mm with the DVH"), r.out)
        XCTAssertEqual(try runSBRT(["render", fixture("pelvis"), "--figure", "--out", b, "--size", "400"]).status, 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: a))
        XCTAssertEqual(bytes, try Data(contentsOf: URL(fileURLWithPath: b)))
        let (w, h) = try pngSize(a)
        XCTAssertGreaterThan(w, 2 * 400)
        XCTAssertGreaterThan(h, 200)
        let latin1 = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(latin1.contains("Plan SBRT_PELV"))
        for identifier in ["Phantom", "SBRT-PELVIS-01", "20061105"] { XCTAssertFalse(latin1.contains(identifier), identifier) }
    }

    func testSagittalColourwashDVHAndSVG() throws {
        let slice = tmp.appendingPathComponent("sag.png").path
        let r = try runSBRT(["render", fixture("pelvis"), "--out", slice, "--view", "sagittal", "--at-max", "--colorwash",
                             "--window", "bone", "--isodose-gy", "40,20,10", "--size", "300"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(try pngSize(slice).0, 300 + 131)
        let dvh = tmp.appendingPathComponent("dvh.png").path, svg = tmp.appendingPathComponent("dvh.svg").path
        let d = try runSBRT(["render", fixture("pelvis"), "--dvh", "--out", dvh, "--svg", svg, "--structures", "PTV,Rectum", "--size", "400"])
        XCTAssertEqual(d.status, 0, d.err)
        XCTAssertEqual(try pngSize(dvh).0, 400)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("<svg") && text.contains(">Rectum</text>") && text.contains("Dose (Gy)"))
    }

    func testAllSlicesThroughAStructureWritesOneFilePerCTSlice() throws {
        let dir = tmp.appendingPathComponent("slices").path
        let r = try runSBRT(["render", fixture("pelvis"), "--through", "GTV", "--all-slices", "--out-dir", dir, "--size", "128"])
        XCTAssertEqual(r.status, 0, r.err)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".png") }.sorted()
        XCTAssertEqual(files.count, 11) // the GTV is contoured on 11 CT slices
        XCTAssertEqual(Set(try files.map { try pngSize(dir + "/" + $0).0 }).count, 1)
        XCTAssertTrue(files[0].hasPrefix("axial_001_z"), files[0])
    }

    func testFeetFirstCTIsRendered() throws {
        let out = tmp.appendingPathComponent("ffs.png").path
        let r = try runSBRT(["render", fixture("variants/ffs"), "--out", out, "--view", "coronal", "--size", "200"])
        XCTAssertEqual(r.status, 0, r.err)
    }

    func testBadRequestsExitWith2AndSayWhy() throws {
        let out = tmp.appendingPathComponent("x.png").path
        let outside = try runSBRT(["render", fixture("pelvis"), "--out", out, "--slice-z", "500"])
        XCTAssertEqual(outside.status, 2)
        XCTAssertTrue(outside.err.contains("outside the CT"), outside.err)
        let unknown = try runSBRT(["render", fixture("pelvis"), "--out", out, "--through", "Liver"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.err.contains("no ROI named \"Liver\""), unknown.err)
        let levels = try runSBRT(["render", fixture("pelvis"), "--out", out, "--isodose", "100,abc"])
        XCTAssertEqual(levels.status, 2)
        XCTAssertEqual(try runSBRT(["render", fixture("pelvis"), "--out", out, "--slice-z", "0", "--at-max"]).status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))

        // Without a plan there is no prescription: % levels are refused, Gy levels and --rx work.
        let noPlan = tmp.appendingPathComponent("noplan")
        try FileManager.default.createDirectory(at: noPlan, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: fixture("pelvis")) where !f.hasPrefix("RP.") {
            try FileManager.default.copyItem(atPath: fixture("pelvis") + "/" + f, toPath: noPlan.appendingPathComponent(f).path)
        }
        let noRx = try runSBRT(["render", noPlan.path, "--out", out, "--size", "128"])
        XCTAssertEqual(noRx.status, 2)
        XCTAssertTrue(noRx.err.contains("--rx"), noRx.err)
        XCTAssertEqual(try runSBRT(["render", noPlan.path, "--out", out, "--size", "128", "--isodose-gy", "40,20"]).status, 0)
        XCTAssertEqual(try runSBRT(["render", noPlan.path, "--out", out, "--size", "128", "--rx", "40"]).status, 0)
    }
}

final class CompositeRenderEndToEndTests: XCTestCase {
    /// A composite written by `sbrt composite` renders like a plan, labelled with its quantity.
    func testACompositeRendersLabelledEQD2() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-comp-render-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let composite = try runSBRT(["composite", "--course", fixture("reirradiation/prior") + ":date=2025-03-02",
                                     "--course", fixture("pelvis") + ":date=2026-01-15", "--alpha-beta", "3",
                                     "--out", dir.appendingPathComponent("RD.composite.dcm").path])
        XCTAssertEqual(composite.status, 1, composite.err) // written; SmallBowel's flag is not evaluable (outside the prior grid)
        for f in try FileManager.default.contentsOfDirectory(atPath: fixture("pelvis")) where f.hasPrefix("CT") || f.hasPrefix("RS") || f.hasPrefix("RP") {
            try FileManager.default.copyItem(atPath: fixture("pelvis/" + f), toPath: dir.appendingPathComponent(f).path)
        }
        let svg = dir.appendingPathComponent("dvh.svg").path
        let r = try runSBRT(["render", dir.path, "--dvh", "--out", dir.appendingPathComponent("dvh.png").path, "--svg", svg])
        XCTAssertEqual(r.status, 0, r.err)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        XCTAssertTrue(text.contains("Dose (Gy EQD2)"), "the DVH axis must say EQD2")
        XCTAssertFalse(text.contains("Rx 40 Gy"), "a physical Rx line does not belong on an EQD2 plot")
    }
}

final class DVHConstraintMarkerTests: XCTestCase {
    func testConstraintsAreMarkedWithTheirVerdict() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-markers-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let svg = dir.appendingPathComponent("dvh.svg").path
        // SacralPlexus D0.035cc is about 24.5 Gy: met against 32 Gy, violated against 20 Gy.
        let r = try runSBRT(["render", fixture("pelvis"), "--dvh", "--out", dir.appendingPathComponent("dvh.png").path, "--svg", svg,
                             "--constraint", "SacralPlexus:D0.035cc<32", "--constraint", "SacralPlexus:D0.035cc<20"])
        XCTAssertEqual(r.status, 0, r.err)
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        let met = text.components(separatedBy: "<g><title>SacralPlexus D0.035cc &lt; 32</title>")
        let violated = text.components(separatedBy: "<g><title>SacralPlexus D0.035cc &lt; 20</title>")
        XCTAssertEqual(met.count, 2)
        XCTAssertEqual(violated.count, 2)
        XCTAssertTrue(met[1].prefix(400).contains("#008c3c"), "met in green")
        XCTAssertTrue(violated[1].prefix(400).contains("#d21e1e"), "violated in red")
        let bad = try runSBRT(["render", fixture("pelvis"), "--dvh", "--out", dir.appendingPathComponent("x.png").path, "--constraint", "Liver:Dmax<10"])
        XCTAssertEqual(bad.status, 2)
        XCTAssertTrue(bad.err.contains("Liver"), bad.err)
    }
}
