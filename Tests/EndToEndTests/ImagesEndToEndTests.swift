import Foundation
import XCTest

/// Planning images other than CT: the pelvis plan drawn on MR behaves like the CT one in
/// every command, `info` lists every series, and `--image` draws a registered MR.
final class ImagesEndToEndTests: TemporaryFolderTestCase {
    override var folderPrefix: String { "sbrt-images" }

    func testInfoListsTheMRSeriesAndTheStructureSetDrawnOnIt() throws {
        let r = try runSBRT(["info", fixture("pelvis_mr")])
        XCTAssertEqual(r.status, 0, r.err)
        for expected in [
            "Image series 1: MR ", "\"T1 TSE Planung\"",
            "40 images, 128×112×40 voxels at 3.00×3.00×2.50 mm, HFS (Patient Position HFS)",
            "MR signal 0 … ", "(no units)",
            "planning images of structure set \"SBRT_PELV_MR\"",
            "images MR \"T1 TSE Planung\" (40 images): the series the structure set references",
        ] {
            XCTAssertTrue(r.out.contains(expected), "missing: \(expected)\n\(r.out)")
        }
        XCTAssertFalse(r.out.contains("Other:"), r.out)
        XCTAssertFalse(r.out.contains("structure-set-without-ct"), r.out)
        let j = try runSBRT(["info", "--json", fixture("pelvis_mr")])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
        let study = ((json["patients"] as! [[String: Any]])[0]["studies"] as! [[String: Any]])[0]
        XCTAssertEqual((study["ct_series"] as? [Any])?.count, 0)
        let series = try XCTUnwrap(study["image_series"] as? [[String: Any]])
        XCTAssertEqual(series.count, 1)
        XCTAssertEqual(series[0]["modality"] as? String, "MR")
        XCTAssertEqual(series[0]["number"] as? Int, 1)
        XCTAssertEqual(series[0]["values"] as? String, "signal")
        XCTAssertEqual(series[0]["sop_class_uid"] as? String, "1.2.840.10008.5.1.4.1.1.4")
        XCTAssertEqual((series[0]["referenced_by_structure_sets"] as? [String])?.count, 1)
    }

    func testInfoListsBothSeriesTheRegistrationAndIgnoredObjectsByName() throws {
        // A secondary capture beside the plan: listed as ignored, with its SOP Class name.
        let dir = tmp.appendingPathComponent("plan").path
        try FileManager.default.copyItem(atPath: fixture("registered_mr"), toPath: dir)
        let ct = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: dir).first { $0.hasPrefix("CT.") })
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + ct))
        let ctClass = Data("1.2.840.10008.5.1.4.1.1.2\0".utf8), scClass = Data("1.2.840.10008.5.1.4.1.1.7\0".utf8)
        while let range = bytes.range(of: ctClass) { bytes.replaceSubrange(range, with: scClass) }
        try bytes.write(to: URL(fileURLWithPath: dir + "/SC.dcm"))
        let r = try runSBRT(["info", dir])
        XCTAssertEqual(r.status, 0, r.err)
        for expected in ["Image series 1: CT ", "Image series 2: MR ", "\"T1 SE registriert\"", "56×56×12 voxels at 3.50×3.50×3.00 mm",
                         "Spatial registration ", "Ignored: 1 × Secondary Capture Image Storage (CT, 1.2.840.10008.5.1.4.1.1.7): not used by sbrt"] {
            XCTAssertTrue(r.out.contains(expected), "missing: \(expected)\n\(r.out)")
        }
        let j = try runSBRT(["info", "--json", dir])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
        let study = ((json["patients"] as! [[String: Any]])[0]["studies"] as! [[String: Any]])[0]
        XCTAssertEqual((study["registrations"] as? [[String: Any]])?.first?["registered_frames_of_reference"].map { ($0 as! [String]).count }, 2)
        let other = try XCTUnwrap((study["other_objects"] as? [[String: Any]])?.first)
        XCTAssertEqual(other["sop_class_name"] as? String, "Secondary Capture Image Storage")
        XCTAssertEqual(other["status"] as? String, "ignored")
    }

    func testRenderAndCheckDrawTheMRPlan() throws {
        let png = tmp.appendingPathComponent("mr.png").path
        let r = try runSBRT(["render", fixture("pelvis_mr"), "--figure", "--size", "400", "--out", png])
        XCTAssertEqual(r.status, 0, r.err)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: png)), as: UTF8.self)
        XCTAssertTrue(text.contains("MR W1127/L622 (1st–99th percentile inside BODY)"), "caption")
        XCTAssertTrue(text.contains("MR series 2.25."), "provenance")
        // A CT preset on MR is refused; an explicit W/L is taken.
        let soft = try runSBRT(["render", fixture("pelvis_mr"), "--window", "soft", "--out", png])
        XCTAssertEqual(soft.status, 2)
        XCTAssertTrue(soft.err.contains("CT preset in HU, but the image is MR"), soft.err)
        XCTAssertEqual(try runSBRT(["render", fixture("pelvis_mr"), "--window", "800/400", "--size", "200", "--out", png]).status, 0)
        let html = tmp.appendingPathComponent("review.html").path
        let c = try runSBRT(["check", fixture("pelvis_mr"), "--protocol", "tg101", "--html", html])
        XCTAssertNotEqual(c.status, 2, c.err)
        XCTAssertTrue(try String(contentsOfFile: html, encoding: .utf8).contains("MR W1127/L622"))
    }

    func testExpandWritesTheStructureSetAgainstTheMRImages() throws {
        let out = tmp.appendingPathComponent("RS.mr.dcm").path
        let r = try runSBRT(["expand", fixture("pelvis_mr"), "--from", "GTV", "--margin", "5", "--name", "CTV", "--out", out])
        XCTAssertEqual(r.status, 0, r.err)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        XCTAssertNotNil(bytes.range(of: Data("1.2.840.10008.5.1.4.1.1.4\0".utf8)), "references MR Image Storage")
        XCTAssertNil(bytes.range(of: Data("1.2.840.10008.5.1.4.1.1.2\0".utf8)), "no CT Image Storage reference")
        // sbrt reads it back with the MR images: the new ROI lies on MR slices.
        let dir = tmp.appendingPathComponent("back").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: fixture("pelvis_mr")) where f.hasPrefix("MR.") {
            try FileManager.default.copyItem(atPath: fixture("pelvis_mr") + "/" + f, toPath: dir + "/" + f)
        }
        try FileManager.default.copyItem(atPath: out, toPath: dir + "/RS.mr.dcm")
        let info = try runSBRT(["info", dir])
        XCTAssertEqual(info.status, 0, info.err)
        XCTAssertTrue(info.out.contains("CTV "), info.out)
        XCTAssertFalse(info.out.contains("contour-off-plane"), info.out)
        XCTAssertTrue(info.out.contains("planning images of structure set"), info.out)
    }

    func testRenderDrawsTheRegisteredMRUnderTheIsodoseLines() throws {
        let png = tmp.appendingPathComponent("reg.png").path
        let r = try runSBRT(["render", fixture("registered_mr"), "--image", "2", "--size", "300", "--out", png])
        XCTAssertEqual(r.status, 0, r.err)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: png)), as: UTF8.self)
        XCTAssertTrue(text.contains("MR series 2 (registered) W"), "caption")
        XCTAssertTrue(text.contains("(Spatial Registration REG."), "provenance")
        let missing = try runSBRT(["render", fixture("registered_mr"), "--image", "3", "--out", png])
        XCTAssertEqual(missing.status, 2)
        XCTAssertTrue(missing.err.contains("no image series 3: the folder has 2"), missing.err)
        XCTAssertEqual(try runSBRT(["render", fixture("registered_mr"), "--dvh", "--image", "2", "--out", png]).status, 2)
        let html = tmp.appendingPathComponent("reg.html").path
        let c = try runSBRT(["check", fixture("registered_mr"), "--protocol", "tg101", "--html", html, "--image", "2"])
        XCTAssertNotEqual(c.status, 2, c.err)
        XCTAssertTrue(try String(contentsOfFile: html, encoding: .utf8).contains("MR series 2 (registered)"))
    }
}
