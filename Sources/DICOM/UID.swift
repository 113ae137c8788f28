import Foundation

/// Generation of DICOM unique identifiers.
///
/// New UIDs are `2.25.` followed by the decimal value of a random (version 4) UUID, as
/// PS3.5 §B.2 and ISO/IEC 9834-8 allow without a registered root. At most 44 characters,
/// within the 64 the UI VR allows.
public enum UID {
    /// A new, random UID under `2.25.`.
    public static func generate() -> String {
        fromUUID(UUID())
    }

    /// The `2.25.` UID of a given UUID.
    public static func fromUUID(_ uuid: UUID) -> String {
        let u = uuid.uuid
        let bytes = [u.0, u.1, u.2, u.3, u.4, u.5, u.6, u.7, u.8, u.9, u.10, u.11, u.12, u.13, u.14, u.15]
        var hi: UInt64 = 0, lo: UInt64 = 0
        for b in bytes[0..<8] { hi = hi << 8 | UInt64(b) }
        for b in bytes[8..<16] { lo = lo << 8 | UInt64(b) }
        return "2.25." + decimal(hi: hi, lo: lo)
    }

    /// Decimal digits of the 128-bit number hi·2⁶⁴ + lo (no leading zeros).
    static func decimal(hi: UInt64, lo: UInt64) -> String {
        var hi = hi, lo = lo
        if hi == 0 { return String(lo) }
        var digits: [UInt8] = []
        while hi != 0 || lo != 0 {
            // Divide the 128-bit value by 10, keeping the remainder.
            let (qh, rh) = hi.quotientAndRemainder(dividingBy: 10)
            let (ql, rl) = UInt64(10).dividingFullWidth((high: rh, low: lo))
            hi = qh
            lo = ql
            digits.append(UInt8(rl) + 0x30)
        }
        return String(decoding: digits.reversed(), as: UTF8.self)
    }

    /// Whether `uid` is syntactically valid (PS3.5 §9.1): digits and dots, components
    /// without leading zeros, at most 64 characters.
    public static func isValid(_ uid: String) -> Bool {
        guard !uid.isEmpty, uid.utf8.count <= 64 else { return false }
        for part in uid.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
            if part.count > 1 && part.first == "0" { return false }
        }
        return true
    }
}
