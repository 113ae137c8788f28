import Base
import DICOM
import Foundation
import VoxelKit
#if canImport(Glibc)
import Glibc
#endif

/// The DICOM files found under a folder, parsed (pixel data not decoded).
public struct DirectoryScan: Sendable {
    /// Parsed DICOM files, ordered by path.
    public var files: [DICOMFile]
    /// Files that are not DICOM (no `DICM` prefix and no recognisable data set), by path.
    public var ignored: [String]
    /// Folders that could not be listed and DICOM files that could not be read, when the
    /// scan was asked to skip them.
    public var unreadable: [SBRTError]

    public var scannedCount: Int { files.count + ignored.count + unreadable.count }

    /// Scans `path` (a folder, searched recursively, or a single file).
    ///
    /// A file is DICOM when it has the Part 10 `DICM` prefix or begins like a raw data
    /// set; anything else (README, PNG, JSON…) is ignored and listed. A DICOM file that
    /// fails to parse is an error naming it, unless `skipUnreadable` is set, in which
    /// case it is listed in `unreadable`; so is a folder that cannot be listed. Hidden
    /// files and folders (`.name`) are skipped (`listFilesReportingFolders`).
    /// Files are parsed concurrently; results are ordered by path (deterministic).
    public static func scan(_ path: String, skipUnreadable: Bool = false) throws -> DirectoryScan {
        let listing = try listFilesReportingFolders(path)
        if !skipUnreadable, let e = listing.unreadable.first { throw e }
        var scan = try scan(files: listing.files, skipUnreadable: skipUnreadable)
        scan.unreadable = listing.unreadable + scan.unreadable
        return scan
    }

    /// Scans the given files (in the order given; callers sort for determinism).
    public static func scan(files paths: [String], skipUnreadable: Bool = false) throws -> DirectoryScan {
        var results = [Result<DICOMFile?, SBRTError>](repeating: .success(nil), count: paths.count)
        results.withUnsafeMutableBufferPointer { out in
            let buffer = out
            Parallel.forEachChunk(paths.count) { _, range in
                for n in range { buffer[n] = readIfDICOM(paths[n]) }
            }
        }
        var scan = DirectoryScan(files: [], ignored: [], unreadable: [])
        for (n, r) in results.enumerated() {
            switch r {
            case .success(let f?): scan.files.append(f)
            case .success(nil): scan.ignored.append(paths[n])
            case .failure(let e):
                if skipUnreadable { scan.unreadable.append(e) } else { throw e }
            }
        }
        return scan
    }

    /// Reads `path` when it looks like DICOM; `.success(nil)` when it does not.
    /// A file without the Part 10 prefix that fails to parse is taken as not DICOM.
    static func readIfDICOM(_ path: String) -> Result<DICOMFile?, SBRTError> {
        let data: Data
        do {
            data = try DICOMFile.contents(ofFile: path)
        } catch let e as SBRTError {
            return .failure(e)
        } catch {
            return .failure(SBRTError(.io, "cannot read the file", file: path))
        }
        guard let signature = DICOMFile.signature(of: data) else { return .success(nil) }
        do {
            return .success(try DICOMFile.parse(data, path: path))
        } catch let e as SBRTError {
            if signature == .rawDataSet { return .success(nil) }
            return .failure(e.inFile(path))
        } catch {
            return .failure(SBRTError(.malformed, "cannot be read as DICOM", file: path))
        }
    }

    /// All regular files under `path`, sorted, skipping hidden entries
    /// (`listFilesReportingFolders`); a folder that cannot be listed is an error.
    public static func listFiles(_ path: String) throws -> [String] {
        let listing = try listFilesReportingFolders(path)
        if let e = listing.unreadable.first { throw e }
        return listing.files
    }

    /// The regular files under `path` (a folder, searched recursively, or a single file),
    /// sorted, and the folders under it that could not be listed (each an `.io` error
    /// naming it and the reason).
    ///
    /// Entries whose names begin with "." are skipped, with everything under them. A
    /// symbolic link to a regular file counts as that file; a link to a folder is not
    /// followed (no loops, no file reached twice), except `path` itself. Pipes, devices
    /// and sockets are skipped. Read with `readdir`: the entry type it returns saves a
    /// `stat` per file, and no owner names are looked up (Foundation's enumerator reads
    /// /etc/passwd and /etc/group for every file: 30 µs a file).
    /// - Throws: `SBRTError` (`.invalidValue`) when `path` does not exist, (`.io`) when
    ///   `path` itself cannot be listed.
    public static func listFilesReportingFolders(_ path: String) throws -> (files: [String], unreadable: [SBRTError]) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SBRTError(.invalidValue, "no such file or folder", file: path) }
        guard st.st_mode & S_IFMT == S_IFDIR else { return ([path], []) }
        var files: [String] = [], unreadable: [SBRTError] = []
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
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.baseAddress!.assumingMemoryBound(to: CChar.self)) }
                if name.hasPrefix(".") { continue }
                let full = (folder as NSString).appendingPathComponent(name)
                switch kind(of: full, type: entry.pointee.d_type) {
                case .file: files.append(full)
                case .folder: pending.append(full)
                case .other: break
                }
            }
        }
        return (files.sorted(), unreadable)
    }

    private enum EntryKind { case file, folder, other }

    /// A folder entry's kind from `readdir`'s type, asking the file system only when the
    /// type is unknown or a link (followed to a regular file; never to a folder).
    private static func kind(of path: String, type: UInt8) -> EntryKind {
        switch Int32(type) {
        case Int32(DT_REG): return .file
        case Int32(DT_DIR): return .folder
        case Int32(DT_LNK):
            var st = stat()
            return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? .file : .other
        case Int32(DT_UNKNOWN):
            var st = stat()
            guard lstat(path, &st) == 0 else { return .other }
            switch st.st_mode & S_IFMT {
            case S_IFREG: return .file
            case S_IFDIR: return .folder
            case S_IFLNK: return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG ? .file : .other
            default: return .other
            }
        default: return .other
        }
    }
}
