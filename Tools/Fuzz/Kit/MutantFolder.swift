import Base
import DICOM
import Foundation

/// A private copy of a fixture folder in which one file can be changed.
///
/// Files are copied, never linked: a command that wrongly wrote through a link would
/// otherwise damage the committed fixture.
public struct MutantFolder {
    /// The temporary folder holding the copy (`study/`) and room for outputs (`out/`).
    public let root: String
    /// The copied study folder.
    public let study: String
    /// A folder for the outputs of commands run on the copy.
    public let outputs: String

    /// Copies `fixture` (a folder) into a new temporary folder.
    public init(copying fixture: String, in parent: String = NSTemporaryDirectory()) throws {
        let fm = FileManager.default
        root = (parent as NSString).appendingPathComponent("sbrt-mutant-\(UUID().uuidString)")
        study = (root as NSString).appendingPathComponent("study")
        outputs = (root as NSString).appendingPathComponent("out")
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        try fm.copyItem(atPath: fixture, toPath: study)
        try fm.createDirectory(atPath: outputs, withIntermediateDirectories: true)
    }

    /// Paths of the copied files (recursively), sorted, optionally only those whose name
    /// starts with `prefix` (`RS.`, `RD.`, `CT.`, `RP.`).
    public func files(prefix: String = "") -> [String] {
        let e = FileManager.default.enumerator(atPath: study)
        var out: [String] = []
        while let rel = e?.nextObject() as? String {
            let full = (study as NSString).appendingPathComponent(rel)
            var dir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: full, isDirectory: &dir), !dir.boolValue else { continue }
            if (rel as NSString).lastPathComponent.hasPrefix(prefix) { out.append(full) }
        }
        return out.sorted()
    }

    /// Rewrites the `nth` file whose name starts with `prefix` after `body` changes its data
    /// set, and returns its path.
    @discardableResult
    public func edit(_ prefix: String, nth: Int = 0, _ body: (inout DataSet) throws -> Void) throws -> String {
        let candidates = files(prefix: prefix)
        guard nth < candidates.count else {
            throw SBRTError(.invalidRequest, "the fixture has no file \(prefix)… number \(nth + 1)", file: study)
        }
        let path = candidates[nth]
        var ds = try DICOMFile.read(path: path).dataSet
        try body(&ds)
        try DICOMWriter.encodeFile(ds).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Replaces the bytes of `path` (inside the copy).
    public func replace(_ path: String, with data: Data) throws {
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// A path for an output named `name` in the outputs folder.
    public func output(_ name: String) -> String {
        (outputs as NSString).appendingPathComponent(name)
    }

    /// Removes the whole temporary folder.
    public func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}
