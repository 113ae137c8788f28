import Foundation
import XCTest

/// A test case with a fresh folder `tmp` for each test's outputs, removed after it.
class TemporaryFolderTestCase: XCTestCase {
    var tmp: URL!

    /// The start of the folder's name (`sbrt-render`, …), so that a folder left by a
    /// killed run says which tests made it.
    var folderPrefix: String { "sbrt-e2e" }

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("\(folderPrefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }
}
