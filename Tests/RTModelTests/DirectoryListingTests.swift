import Base
import Foundation
import RTModel
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// `DirectoryScan.listFilesReportingFolders`: which entries of a folder tree are files to
/// read, on a real tree with links, hidden entries, a pipe and an unlistable folder.
final class DirectoryListingTests: XCTestCase {
    /// A fresh folder (its real path: /tmp may itself be a link), removed when the test ends.
    func freshFolder() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-listing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.resolvingSymlinksInPath().path
    }

    func write(_ path: String) throws { try Data("x".utf8).write(to: URL(fileURLWithPath: path)) }

    func testRegularFilesAndLinksToFilesAreListedSortedHiddenAndOtherEntriesAreNot() throws {
        let root = try freshFolder()
        let fm = FileManager.default
        for d in ["a", "a/deep", ".hidden", "b", "elsewhere"] { try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        for f in ["z.dcm", "a/one.dcm", "a/deep/two", ".hidden/no.dcm", "a/.dotfile", "elsewhere/target.dcm"] { try write(root + "/" + f) }
        try fm.createSymbolicLink(atPath: root + "/b/link.dcm", withDestinationPath: "../elsewhere/target.dcm")
        try fm.createSymbolicLink(atPath: root + "/b/folderlink", withDestinationPath: "../a")
        try fm.createSymbolicLink(atPath: root + "/b/broken", withDestinationPath: "nowhere")
        XCTAssertEqual(mkfifo(root + "/b/pipe", 0o600), 0)

        let listing = try DirectoryScan.listFilesReportingFolders(root)
        XCTAssertEqual(listing.files, ["a/deep/two", "a/one.dcm", "b/link.dcm", "elsewhere/target.dcm", "z.dcm"].map { root + "/" + $0 })
        XCTAssertTrue(listing.unreadable.isEmpty)
        // A trailing slash gives the same paths; a file is listed as itself.
        XCTAssertEqual(try DirectoryScan.listFiles(root + "/"), listing.files)
        XCTAssertEqual(try DirectoryScan.listFiles(root + "/z.dcm"), [root + "/z.dcm"])
    }

    func testALinkGivenAsTheFolderIsFollowed() throws {
        let root = try freshFolder()
        try FileManager.default.createDirectory(atPath: root + "/real", withIntermediateDirectories: true)
        try write(root + "/real/f.dcm")
        try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: "real")
        XCTAssertEqual(try DirectoryScan.listFiles(root + "/link"), [root + "/link/f.dcm"])
    }

    func testAMissingPathIsAnErrorNamingIt() {
        XCTAssertThrowsError(try DirectoryScan.listFiles("/nonexistent/sbrt-listing")) { e in
            let err = e as? SBRTError
            XCTAssertEqual(err?.kind, .invalidValue)
            XCTAssertEqual(err?.file, "/nonexistent/sbrt-listing")
        }
    }

    /// A folder whose path is longer than the system accepts (ENAMETOOLONG, whoever runs
    /// the test, root included) cannot be listed: `listFiles` names it, the reporting
    /// form lists it and goes on, and a scan told to skip unreadable entries does too.
    func testAFolderThatCannotBeListedIsReportedNotSkippedSilently() throws {
        let root = try freshFolder()
        try write(root + "/top.dcm")
        let segment = String(repeating: "d", count: 200)
        var fd = open(root, O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        var depth = 0
        while (root.count + 1) + depth * (segment.count + 1) <= Int(PATH_MAX) {
            XCTAssertEqual(mkdirat(fd, segment, 0o700), 0)
            let next = openat(fd, segment, O_RDONLY | O_DIRECTORY)
            close(fd)
            fd = next
            depth += 1
        }
        close(fd)
        addTeardownBlock { Self.removeDeep(root, segment: segment, depth: depth) }

        let listing = try DirectoryScan.listFilesReportingFolders(root)
        XCTAssertEqual(listing.files, [root + "/top.dcm"])
        XCTAssertEqual(listing.unreadable.count, 1)
        XCTAssertEqual(listing.unreadable.first?.kind, .io)
        XCTAssertTrue(listing.unreadable.first?.message.contains("cannot list folder") ?? false)
        XCTAssertEqual(listing.unreadable.first?.file?.count, root.count + depth * (segment.count + 1))
        XCTAssertThrowsError(try DirectoryScan.listFiles(root)) { e in XCTAssertEqual((e as? SBRTError)?.kind, .io) }
        XCTAssertThrowsError(try DirectoryScan.scan(root)) { e in XCTAssertEqual((e as? SBRTError)?.kind, .io) }
        let skipping = try DirectoryScan.scan(root, skipUnreadable: true)
        XCTAssertEqual(skipping.unreadable.count, 1)
        XCTAssertEqual(skipping.ignored, [root + "/top.dcm"])
    }

    /// Removes the nested folders of the test above, deepest first, through descriptors.
    static func removeDeep(_ root: String, segment: String, depth: Int) {
        var fds = [open(root, O_RDONLY | O_DIRECTORY)]
        for _ in 0..<depth { fds.append(openat(fds.last!, segment, O_RDONLY | O_DIRECTORY)) }
        for k in stride(from: depth - 1, through: 0, by: -1) {
            close(fds[k + 1])
            unlinkat(fds[k], segment, AT_REMOVEDIR)
        }
        close(fds[0])
    }
}
