import Base
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The regular files under a folder, as every command reads a folder (`DirectoryScan`).
///
/// - Entries whose names begin with "." are skipped, with everything under them; so is a
///   folder named `lost+found` (a file system's own, at the root of a disk: never part of
///   an export, and unreadable to anyone but root).
/// - A symbolic link to a regular file counts as that file, unless the file is listed
///   already (itself, or through another link): a file is read once. A link to a folder is
///   not followed (no loops), except the folder the walk starts from.
/// - Pipes, devices and sockets are skipped.
/// - A folder that cannot be listed, an entry whose type cannot be read, or a name that is
///   not UTF-8 text is an `.io` error in `unreadable`, naming it and the reason: the
///   caller decides whether that stops it (never skipped without a word).
///
/// Read with `readdir`: the entry type it returns saves a `stat` per file, and no owner
/// names are looked up (Foundation's directory enumerator read /etc/passwd and /etc/group
/// for every file it listed: 30 µs a file).
struct FolderWalk {
    /// The files, sorted.
    private(set) var files: [String] = []
    /// What could not be read as a folder entry, sorted by path.
    private(set) var unreadable: [SBRTError] = []
    /// Links to regular files, with their targets' identities.
    private var links: [(path: String, target: FileIdentity)] = []

    /// - Throws: `SBRTError` (`.invalidValue`) when `path` does not exist, (`.io`) when
    ///   `path` itself cannot be listed.
    init(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SBRTError(.invalidValue, "no such file or folder", file: path) }
        guard st.st_mode & S_IFMT == S_IFDIR else { files = [path]; return }
        var pending = [path]
        while let folder = pending.popLast() {
            guard let dir = opendir(folder) else {
                let e = SBRTError(.io, "cannot list folder: \(errnoText())", file: folder)
                if folder == path { throw e }
                unreadable.append(e)
                continue
            }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                visit(entry.pointee, in: folder, pending: &pending)
            }
        }
        files += linkedFilesNotListed()
        files.sort()
        unreadable.sort { ($0.file ?? "") < ($1.file ?? "") }
    }

    /// One entry of `folder`: a file, a folder to walk, a link to keep for later, or an error.
    private mutating func visit(_ entry: dirent, in folder: String, pending: inout [String]) {
        let name = withUnsafeBytes(of: entry.d_name) { raw -> String? in
            String(validatingCString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        guard let name else {
            let shown = withUnsafeBytes(of: entry.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            unreadable.append(SBRTError(.io, "a name that is not UTF-8 text; rename it", file: (folder as NSString).appendingPathComponent(shown)))
            return
        }
        if name.hasPrefix(".") { return }
        let full = (folder as NSString).appendingPathComponent(name)
        switch Self.kind(of: full, type: entry.d_type) {
        case .file: files.append(full)
        case .folder: if name != "lost+found" { pending.append(full) }
        case .link(let target): links.append((full, target))
        case .other: break
        case .unknown(let why): unreadable.append(SBRTError(.io, "cannot tell what this entry is: \(why)", file: full))
        }
    }

    /// The links whose target is not among the listed files or an earlier link (by path).
    private func linkedFilesNotListed() -> [String] {
        guard !links.isEmpty else { return [] }
        var seen = Set(files.compactMap { FileIdentity(path: $0) })
        return links.sorted { $0.path < $1.path }.filter { seen.insert($0.target).inserted }.map(\.path)
    }

    private enum EntryKind { case file, folder, link(FileIdentity), other, unknown(String) }

    /// A folder entry's kind from `readdir`'s type, asking the file system only when the
    /// type is unknown or a link (followed to a regular file; never to a folder).
    private static func kind(of path: String, type: UInt8) -> EntryKind {
        switch Int32(type) {
        case Int32(DT_REG): return .file
        case Int32(DT_DIR): return .folder
        case Int32(DT_LNK): return linked(path)
        case Int32(DT_UNKNOWN):
            var st = stat()
            guard lstat(path, &st) == 0 else { return .unknown(errnoText()) }
            switch st.st_mode & S_IFMT {
            case S_IFREG: return .file
            case S_IFDIR: return .folder
            case S_IFLNK: return linked(path)
            default: return .other
            }
        default: return .other
        }
    }

    /// A link to a regular file (with the file's identity), or something to skip.
    private static func linked(_ path: String) -> EntryKind {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, let id = FileIdentity(path: path) else { return .other }
        return .link(id)
    }
}
