import Foundation
import FuzzKit
import XCTest

/// I/O failures are told in sbrt's own words (issue 14): what the file is and what is
/// wrong with it, never a framework's error domain and code or a decoder's dump.
final class MessagesEndToEndTests: XCTestCase {
    var tmp: String!

    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "sbrt-messages-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    func testADeviceGivenAsAnInputSaysWhatItIs() throws {
        for args in [["info", "/dev/null"], ["dvh", fixture("pelvis"), "--dose", "/dev/null"], ["compare", "/dev/null", fixture("pelvis")],
                     ["check", fixture("pelvis"), "--protocol", "tg101", "--map", "/dev/null"]] {
            assertRefused(try runLimited(args), mentioning: ["/dev/null", "not a regular file"])
        }
    }

    func testMissingAndMalformedFilesAreDescribedInWords() throws {
        assertRefused(try runLimited(["dvh", tmp + "/nothing"]), mentioning: ["nothing", "no such file or folder"])
        let cases: [(String, String, String)] = [
            ("broken.json", "{", "not valid JSON"),
            ("shape.json", "{\"report\": 5}", "report is not an object"),
            ("type.json", "{\"report\":{\"structures\":[{\"name\":\"A\",\"volume_cc\":\"x\"}]}}", "report.structures.0.volume_cc is not a number"),
            ("missing.json", "{\"report\":{\"structures\":[{\"name\":\"A\"}]}}", "report.structures.0.volume_cc is missing"),
        ]
        for (name, text, words) in cases {
            let path = tmp + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let r = try runLimited(["compare", path, fixture("pelvis")])
            assertRefused(r, mentioning: [name, "not a DVH export", words])
            XCTAssertFalse(r.err.contains("DecodingError") || r.err.contains("Debug description"), r.err)
        }
    }
}
