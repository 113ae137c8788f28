import Foundation
import XCTest

final class ExpandEndToEndTests: XCTestCase {
    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-expand-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    /// CTV = GTV + 5 mm ∩ BODY, written as a new structure set that sbrt reads back with all eight ROIs.
    func testExpandWritesAStructureSetThatKeepsEveryROIAndAddsTheNewOne() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A folder with the CT and the new structure set only.
        let src = fixture("pelvis")
        for f in try FileManager.default.contentsOfDirectory(atPath: src) where f.hasPrefix("CT") {
            try FileManager.default.copyItem(atPath: src + "/" + f, toPath: dir.appendingPathComponent(f).path)
        }
        let out = dir.appendingPathComponent("RS.new.dcm").path
        let nrrd = dir.appendingPathComponent("ctv.nrrd").path
        let r = try runSBRT(["expand", src, "--from", "GTV", "--margin", "5", "--name", "CTV", "--crop-to", "BODY", "--out", out, "--nrrd", nrrd])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("CTV = (GTV+5)&BODY (interpolated source)"), r.out)
        // Both volumes of the result: as the interpolated solid and as a prism stack.
        let numbers = r.out.split(separator: "\n")[0].components(separatedBy: " cc").dropLast().compactMap { Double($0.split(separator: " ").last ?? "") }
        XCTAssertEqual(numbers.count, 2, r.out)
        if numbers.count == 2 {
            XCTAssertGreaterThan(numbers[0], 1)
            XCTAssertEqual(numbers[0], numbers[1], accuracy: 0.05 * numbers[1], r.out)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: nrrd))
        let info = try runSBRT(["info", dir.path])
        XCTAssertEqual(info.status, 0, info.err)
        for name in ["BODY", "GTV", "PTV", "SacralPlexus", "Rectum", "SmallBowel", "Bladder"] { XCTAssertTrue(info.out.contains(name), name) }
        XCTAssertTrue(info.out.contains("8   CTV           CTV"), info.out)
        // Growing it again from the written file works (sbrt reads its own output).
        let again = try runSBRT(["expand", dir.path, "--from", "CTV", "--margin-directions", "3,3,3,5,5,5", "--name", "PTV2",
                                 "--avoid", "Rectum:2", "--out", dir.appendingPathComponent("RS.2.dcm").path])
        XCTAssertEqual(again.status, 0, again.err)
    }

    func testRecipePrintsTheVanHerkMargin() throws {
        let r = try runSBRT(["expand", "--recipe", "systematic=1.5,random=2.0"])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.out.contains("PTV margin 5.15 mm"), r.out)
    }

    func testBadInputExitsWithStatus2AndAMessage() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.dcm").path
        let dup = try runSBRT(["expand", fixture("pelvis"), "--from", "GTV", "--margin", "5", "--name", "PTV", "--out", out])
        XCTAssertEqual(dup.status, 2)
        XCTAssertTrue(dup.err.contains("already exists"), dup.err)
        let missing = try runSBRT(["expand", fixture("pelvis"), "--from", "Nope", "--margin", "5", "--name", "X", "--out", out])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("no structure named \"Nope\""), missing.err)
        let mixed = try runSBRT(["expand", fixture("pelvis"), "--from", "GTV", "--margin-directions", "3,-3,3,3,3,3", "--name", "X", "--out", out])
        XCTAssertEqual(mixed.status, 2)
        // Shrinking the 12 cc GTV by 30 mm leaves nothing: refused, not an empty ROI.
        let empty = try runSBRT(["expand", fixture("pelvis"), "--from", "GTV", "--margin", "-30", "--name", "X", "--out", out])
        XCTAssertEqual(empty.status, 2)
        XCTAssertTrue(empty.err.contains("is empty on every CT slice"), empty.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
