import Base
import DICOM
import Foundation
import VoxelKit

/// The DICOM files found under a folder, parsed (pixel data not decoded).
public struct DirectoryScan: Sendable {
    /// Parsed DICOM files, ordered by path.
    public var files: [DICOMFile]
    /// Files that are not DICOM (no `DICM` prefix and no recognisable data set), by path.
    public var ignored: [String]
    /// DICOM files that could not be read, when the scan was asked to skip them.
    public var unreadable: [SBRTError]

    public var scannedCount: Int { files.count + ignored.count + unreadable.count }

    /// Scans `path` (a folder, searched recursively, or a single file).
    ///
    /// A file is DICOM when it has the Part 10 `DICM` prefix or begins like a raw data
    /// set; anything else (README, PNG, JSON…) is ignored and listed. A DICOM file that
    /// fails to parse is an error naming it, unless `skipUnreadable` is set, in which
    /// case it is listed in `unreadable`. Hidden files and folders (`.name`) are skipped.
    /// Files are parsed concurrently; results are ordered by path (deterministic).
    public static func scan(_ path: String, skipUnreadable: Bool = false) throws -> DirectoryScan {
        try scan(files: try listFiles(path), skipUnreadable: skipUnreadable)
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

    /// All regular files under `path`, sorted, skipping hidden entries.
    public static func listFiles(_ path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SBRTError(.invalidValue, "no such file or folder", file: path)
        }
        if !isDir.boolValue { return [path] }
        guard let e = FileManager.default.enumerator(atPath: path) else {
            throw SBRTError(.invalidValue, "cannot list folder", file: path)
        }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            let name = (rel as NSString).lastPathComponent
            if name.hasPrefix(".") {
                if let attrs = e.fileAttributes, attrs[.type] as? FileAttributeType == .typeDirectory {
                    e.skipDescendants()
                }
                continue
            }
            let full = (path as NSString).appendingPathComponent(rel)
            if let attrs = e.fileAttributes, attrs[.type] as? FileAttributeType == .typeRegular {
                out.append(full)
            } else if e.fileAttributes == nil {
                var d: ObjCBool = false
                if FileManager.default.fileExists(atPath: full, isDirectory: &d), !d.boolValue { out.append(full) }
            }
        }
        return out.sorted()
    }
}
