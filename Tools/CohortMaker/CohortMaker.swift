import Base
import DICOM
import Foundation
import RTModel
import Store

/// Makes test and benchmark cohorts from the fixture plans: each copy of a fixture
/// folder is a distinct plan, with fresh UIDs (so its plan key differs), its own
/// patient ID, and its dose scaled by a factor near 1 (so the cohort's DVHs spread).
///
/// Every UID value (VR UI, at any depth of sequences) is replaced, except the DICOM
/// standard's own (`1.2.840.10008.…`: SOP classes, transfer syntaxes); one old UID maps to
/// one new UID within a copy, so every reference (plan → structure set, dose → plan,
/// structure set → images, frames of reference) still holds. New UIDs are
/// `2.25.<decimal of 128 bits of SHA-256(salt|old UID)>` (PS3.5 §B.2): the same copy of
/// the same fixture gets the same UIDs on every run. Files are written with sbrt's DICOM
/// writer (explicit VR little endian); files that are not DICOM are not copied.
public enum CohortMaker {
    /// Where a copy came from and what it is.
    public struct Copy: Sendable {
        public var source: String
        public var folder: String
        public var patientID: String
        public var doseScale: Double
    }

    /// Writes `count` copies of the `fixtures` folders (round robin) under `destination`,
    /// copy n in `destination/<patient-ID>/<fixture folder name>`.
    /// - Parameter scaleDose: scale each copy's dose by a factor in [0.92, 1.08] (else 1).
    /// - Throws: `SBRTError` for an unreadable fixture file or a failed write.
    @discardableResult
    public static func make(fixtures: [String], count: Int, into destination: String, salt: String = "sbrt-cohort",
                            scaleDose: Bool = true) throws -> [Copy] {
        guard !fixtures.isEmpty, count >= 0 else { throw SBRTError(.invalidRequest, "no fixtures to copy") }
        var copies: [Copy] = []
        for n in 0..<count {
            let source = fixtures[n % fixtures.count]
            let patient = String(format: "COHORT-%04d", n + 1)
            let folder = (destination as NSString).appendingPathComponent(patient + "/" + (source as NSString).lastPathComponent)
            let scale = scaleDose ? 0.92 + 0.16 * unitFraction("\(salt)|scale|\(n)") : 1
            try copyPlan(from: source, to: folder, salt: "\(salt)|\(n)", patientID: patient, doseScale: scale)
            copies.append(Copy(source: source, folder: folder, patientID: patient, doseScale: scale))
        }
        return copies
    }

    /// Copies the DICOM files under `source` (keeping their relative paths) into
    /// `destination` with fresh UIDs, `patientID`, and the dose (and the embedded DVHs'
    /// dose axis) multiplied by `doseScale`. Returns the number of files written.
    @discardableResult
    public static func copyPlan(from source: String, to destination: String, salt: String, patientID: String,
                                doseScale: Double = 1) throws -> Int {
        var written = 0
        for path in try DirectoryScan.listFiles(source) {
            let data = try InputFiles.read(path)
            guard DICOMFile.signature(of: data) != nil else { continue }
            var ds = try DICOMFile.parse(data, path: path).dataSet
            ds = remapUIDs(ds, salt: salt)
            ds.set(.patientID, .LO, patientID)
            if doseScale != 1 { try scaleDose(&ds, by: doseScale) }
            let relative = String(path.dropFirst(source.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            let out = (destination as NSString).appendingPathComponent(relative)
            try FileManager.default.createDirectory(atPath: (out as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try DICOMWriter.write(ds, to: out)
            written += 1
        }
        return written
    }

    /// `ds` with every non-standard UID value replaced (see the type's rule).
    static func remapUIDs(_ ds: DataSet, salt: String) -> DataSet {
        var out = ds
        for e in ds.elements {
            switch e.value {
            case .sequence(let items):
                out[e.tag] = Element(tag: e.tag, vr: e.vr, value: .sequence(items.map { remapUIDs($0, salt: salt) }))
            case .bytes(let bytes) where e.vr == .UI:
                let values = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\0 "))
                    .split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
                out.set(e.tag, .UI, strings: values.map { newUID($0, salt: salt) })
            default:
                break
            }
        }
        return out
    }

    /// The new UID of `old` in the copy `salt` (standard UIDs and empty values unchanged).
    static func newUID(_ old: String, salt: String) -> String {
        guard !old.isEmpty, !old.hasPrefix("1.2.840.10008.") else { return old }
        let d = SHA256.digest(Array("\(salt)|\(old)".utf8))
        return UID.fromUUID(UUID(uuid: (d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13], d[14], d[15])))
    }

    /// Multiplies Dose Grid Scaling (3004,000E) and each DVH Dose Scaling (3004,0052).
    static func scaleDose(_ ds: inout DataSet, by factor: Double) throws {
        if let s = try ds.double(.doseGridScaling) { ds.set(.doseGridScaling, decimals: [s * factor]) }
        guard let dvhs = ds.sequence(.dvhSequence) else { return }
        var items: [DataSet] = []
        for var item in dvhs {
            let s = try item.double(.dvhDoseScaling) ?? 1
            item.set(.dvhDoseScaling, decimals: [s * factor])
            items.append(item)
        }
        ds.set(.dvhSequence, items: items)
    }

    /// A number in [0, 1) from the SHA-256 of `text`.
    static func unitFraction(_ text: String) -> Double {
        let d = SHA256.digest(Array(text.utf8))
        var h: UInt64 = 0
        for b in d.prefix(7) { h = h << 8 | UInt64(b) }
        return Double(h) / Double(UInt64(1) << 56)
    }
}
