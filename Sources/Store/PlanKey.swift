import Base
import Foundation

/// The identity of a plan in the store, computed from its inputs.
///
/// `make` hashes (SHA-256, FIPS 180-4) a versioned, length-prefixed serialisation of the
/// dose SOP Instance UIDs (sorted: summed beam doses are a set), the structure set SOP
/// Instance UID, the options as canonical JSON and the sbrt version. The same inputs
/// give the same key on every machine and run; changing any of them (another option,
/// another sbrt release) gives a new key, so a re-run with other options adds rows
/// rather than overwriting the earlier ones.
public enum PlanKey {
    /// Version of the serialisation; part of the hashed text, so a change makes new keys.
    static let scheme = "sbrt.plan-key/1"

    /// The key: `"p1-"` followed by the 64 lowercase hex digits of the SHA-256.
    public static func make(doseSOPInstanceUIDs: [String], structureSetSOPInstanceUID: String,
                            optionsJSON: String, sbrtVersion: String) -> String {
        var text = ""
        func field(_ name: String, _ value: String) {
            text += "\(name) \(value.utf8.count):\(value)\n"
        }
        field("scheme", scheme)
        for uid in doseSOPInstanceUIDs.sorted() { field("dose", uid) }
        field("structure-set", structureSetSOPInstanceUID)
        field("options", optionsJSON)
        field("sbrt", sbrtVersion)
        return "p1-" + SHA256.hex(Array(text.utf8))
    }

    /// `value` as canonical JSON: sbrt's JSON style (`JSONOutput`: snake_case keys,
    /// sorted, slashes unescaped) on one line without whitespace — the same bytes for
    /// the same options whatever the order they were set in.
    ///
    /// - Throws: `SBRTError` of kind `.invalidValue` when a number is not finite.
    public static func canonicalJSON<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONOutput.encoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw SBRTError(.invalidValue, "the options cannot be written as JSON: \(error)")
        }
    }
}
