import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The files this process has read as inputs. Readers note each file they open; the
/// output writer refuses to write over any of them (`SBRTError.Kind.outputPath`).
public enum InputFiles {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var identities: [FileIdentity: String] = [:]

    /// Records `path` as an input of this run (no effect if it does not exist).
    public static func note(_ path: String) {
        guard let id = FileIdentity(path: path) else { return }
        lock.lock(); defer { lock.unlock() }
        // The newest path wins: an older entry may name a deleted file whose inode was reused.
        identities[id] = path
    }

    /// Reads a whole input file (regular files only) and records it as an input.
    /// Files of at least `mappingThreshold` bytes are memory-mapped.
    /// - Throws: `SBRTError` of kind `.io` with the reason in words.
    public static func read(_ path: String, mappingThreshold: Int = Int.max) throws -> Data {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SBRTError(.io, "cannot read: \(errnoText())", file: path) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw SBRTError(.io, "is a folder, not a file", file: path)
        default: throw SBRTError(.io, "is not a regular file (a device, pipe or socket); give a file", file: path)
        }
        let big = Int(st.st_size) >= mappingThreshold
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: big ? [.alwaysMapped] : [])
        } catch {
            let why = access(path, R_OK) != 0 ? errnoText() : "the file could not be read"
            throw SBRTError(.io, "cannot read: \(why)", file: path)
        }
        note(path)
        return data
    }

    /// Reads a UTF-8 text input file and records it as an input.
    /// - Throws: `SBRTError` (`.io`, or `.invalidValue` when it is not UTF-8 text).
    public static func readText(_ path: String) throws -> String {
        let data = try read(path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw SBRTError(.invalidValue, "is not UTF-8 text", file: path)
        }
        return text
    }

    /// The input path recorded for the file `path` names, if it is one. An entry whose
    /// path no longer names the same file (deleted, its inode reused) does not count.
    public static func input(matching path: String) -> String? {
        guard let id = FileIdentity(path: path) else { return nil }
        lock.lock()
        let recorded = identities[id]
        lock.unlock()
        guard let recorded, FileIdentity(path: recorded) == id else { return nil }
        return recorded
    }
}
