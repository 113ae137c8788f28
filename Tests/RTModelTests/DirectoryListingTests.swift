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
        let root = try freshFolder(), outside = try freshFolder()
        let fm = FileManager.default
        for d in ["a", "a/deep", ".hidden", "b", "elsewhere", "lost+found"] { try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true) }
        for f in ["z.dcm", "a/one.dcm", "a/deep/two", ".hidden/no.dcm", "a/.dotfile", "elsewhere/target.dcm", "lost+found/#123"] { try write(root + "/" + f) }
        try write(outside + "/shared.dcm")
        // A link to a file of the tree is that file again: not listed twice.
        try fm.createSymbolicLink(atPath: root + "/b/link.dcm", withDestinationPath: "../elsewhere/target.dcm")
        // Two links to one file outside the tree: the file once, by the first link's path.
        try fm.createSymbolicLink(atPath: root + "/b/out1.dcm", withDestinationPath: outside + "/shared.dcm")
        try fm.createSymbolicLink(atPath: root + "/b/out2.dcm", withDestinationPath: outside + "/shared.dcm")
        try fm.createSymbolicLink(atPath: root + "/b/folderlink", withDestinationPath: "../a")
        try fm.createSymbolicLink(atPath: root + "/b/broken", withDestinationPath: "nowhere")
        XCTAssertEqual(mkfifo(root + "/b/pipe", 0o600), 0)

        let listing = try DirectoryScan.listFilesReportingFolders(root)
        XCTAssertEqual(listing.files, ["a/deep/two", "a/one.dcm", "b/out1.dcm", "elsewhere/target.dcm", "z.dcm"].map { root + "/" + $0 })
        XCTAssertTrue(listing.unreadable.isEmpty)
        // A trailing slash gives the same paths; a file is listed as itself.
        XCTAssertEqual(try DirectoryScan.listFiles(root + "/"), listing.files)
        XCTAssertEqual(try DirectoryScan.listFiles(root + "/z.dcm"), [root + "/z.dcm"])
    }

    /// A name that is not UTF-8 text cannot be given to the readers as a path: it is
    /// reported, with the folder it is in, not skipped.
    func testANameThatIsNotUTF8IsReported() throws {
        let root = try freshFolder()
        try write(root + "/ok.dcm")
        let fd = open(root, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        let bad: [CChar] = [0x62, 0x61, CChar(bitPattern: 0xFF), 0x2E, 0x64, 0x63, 0x6D, 0]   // "ba\xFF.dcm"
        let f = openat(fd, bad, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        XCTAssertGreaterThanOrEqual(f, 0)
        close(f)
        addTeardownBlock { _ = unlinkat(fd, bad, 0) }
        let listing = try DirectoryScan.listFilesReportingFolders(root)
        XCTAssertEqual(listing.files, [root + "/ok.dcm"])
        XCTAssertEqual(listing.unreadable.count, 1)
        XCTAssertTrue(listing.unreadable[0].message.contains("not UTF-8"))
        XCTAssertTrue(listing.unreadable[0].file?.hasPrefix(root + "/ba") ?? false)
        XCTAssertThrowsError(try DirectoryScan.listFiles(root))
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
        while (root.utf8.count + 1) + depth * (segment.utf8.count + 1) <= Int(PATH_MAX) {
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
        XCTAssertEqual(listing.unreadable.first?.file?.utf8.count, root.utf8.count + depth * (segment.utf8.count + 1))
        XCTAssertThrowsError(try DirectoryScan.listFiles(root)) { e in XCTAssertEqual((e as? SBRTError)?.kind, .io) }
        XCTAssertThrowsError(try DirectoryScan.scan(root)) { e in XCTAssertEqual((e as? SBRTError)?.kind, .io) }
        let skipping = try DirectoryScan.scan(root, skipUnreadable: true)
        XCTAssertEqual(skipping.unreadable.count, 1)
        XCTAssertEqual(skipping.ignored, [root + "/top.dcm"])
        XCTAssertEqual(skipping.scannedCount, 1, "the folder that cannot be listed is not a file looked at")
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
