import DICOM
import Foundation
import FuzzKit
import XCTest

/// The built `sbrt` binary (next to the test bundle, else .build/debug).
func sbrtExecutable() -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments.first { $0.hasSuffix(".xctest") } ?? CommandLine.arguments[0])
    var dir = bundle.deletingLastPathComponent()
    if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("sbrt").path) {
        dir = packageRoot.appendingPathComponent(".build/debug")
    }
    return dir.appendingPathComponent("sbrt").path
}

/// Runs sbrt within the limits every bad input must respect: 20 s and 4 GiB of address
/// space (a larger allocation fails and shows as a trap).
func runLimited(_ args: [String], timeout: Double = 20) throws -> CommandRun {
    try CommandRun(sbrtExecutable(), args, timeout: timeout, memoryLimitMiB: 4096)
}

/// Asserts that `run` ended with exit 2 and a clean message containing every one of `mentions`.
func assertRefused(_ run: CommandRun, mentioning mentions: [String], file: StaticString = #filePath, line: UInt = #line) {
    let what = run.arguments.prefix(1).joined()
    XCTAssertTrue(run.problems.isEmpty, "\(what): \(run.problems) \(run.err)", file: file, line: line)
    XCTAssertEqual(run.status, 2, "\(what): \(run.summary)\n\(run.err)", file: file, line: line)
    for m in mentions {
        XCTAssertTrue(run.err.contains(m), "\(what): the message does not mention \"\(m)\": \(run.err)", file: file, line: line)
    }
}

/// A copy of `fixture` (under Fixtures/) with the data set of its `nth` file named
/// `prefix…` changed by `body`; removed when the test ends.
func mutated(_ testCase: XCTestCase, _ fixtureName: String, _ prefix: String, nth: Int = 0,
             _ body: (inout DataSet) throws -> Void) throws -> MutantFolder {
    let m = try MutantFolder(copying: fixture(fixtureName))
    testCase.addTeardownBlock { m.remove() }
    try m.edit(prefix, nth: nth, body)
    return m
}

extension DataSet {
    /// Sets value `index` of the DS/IS element reached by `tags` (sequences, then the
    /// element) in its `occurrence`-th place, depth first.
    mutating func setValue(_ tags: [Tag], occurrence: Int = 0, index: Int, to text: String) {
        let path = paths(following: tags)[occurrence]
        modify(path) { e in e = e?.replacingValue(index, with: text) }
    }
}
