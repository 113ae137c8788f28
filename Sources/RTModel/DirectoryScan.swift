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

    /// How many of `unreadable` are folder entries that could not be listed or read, not files.
    public var unlistedEntries = 0

    /// Files looked at (DICOM, ignored or unreadable; not the folders that could not be listed).
    public var scannedCount: Int { files.count + ignored.count + unreadable.count - unlistedEntries }

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
        scan.unlistedEntries = listing.unreadable.count
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
    /// sorted, and the entries under it that could not be read as folder entries (each
    /// an `.io` error naming it and the reason, sorted by path): `FolderWalk`.
    /// - Throws: `SBRTError` (`.invalidValue`) when `path` does not exist, (`.io`) when
    ///   `path` itself cannot be listed.
    public static func listFilesReportingFolders(_ path: String) throws -> (files: [String], unreadable: [SBRTError]) {
        let walk = try FolderWalk(path)
        return (walk.files, walk.unreadable)
    }
}
