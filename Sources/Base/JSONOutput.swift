import Foundation

/// The one JSON style of sbrt's outputs: snake_case keys, sorted, pretty-printed,
/// slashes unescaped, and a trailing newline. Every output names its schema and
/// version (`"schema": "sbrt.dvh/1"`); a non-finite number is an error, never printed
/// (`nan` is not a result).
public enum JSONOutput {
    /// The encoder every JSON output uses.
    public static func encoder() -> JSONEncoder {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        enc.keyEncodingStrategy = .custom { path in SnakeKey(snakeCase(path.last!.stringValue)) }
        enc.nonConformingFloatEncodingStrategy = .throw
        return enc
    }

    /// A decoder for sbrt's own JSON: snake_case keys to camelCase (`volume_cc` →
    /// `volumeCc`; declare `CodingKeys` for acronym properties).
    public static func decoder() -> JSONDecoder {
        let dec = JSONDecoder()
        dec.keyDecodingStrategy = .convertFromSnakeCase
        return dec
    }

    /// `camelCase` → `snake_case`, keeping acronyms whole, plural ones included:
    /// `sopInstanceUID` → `sop_instance_uid`, `frameOfReferenceUIDs` →
    /// `frame_of_reference_uids`, `embeddedDVHs` → `embedded_dvhs`, `spacingMM` →
    /// `spacing_mm`, `d95Gy` → `d95_gy`. (Foundation's `.convertToSnakeCase` splits a
    /// plural acronym: `embedded_dv_hs`.)
    public static func snakeCase(_ key: String) -> String {
        let c = Array(key)
        var out = ""
        for (n, ch) in c.enumerated() {
            if ch.isUppercase, n > 0 {
                let prev = c[n - 1]
                let next: Character? = n + 1 < c.count ? c[n + 1] : nil
                let nextNext: Character? = n + 2 < c.count ? c[n + 2] : nil
                // A plural acronym ends in "s" followed by the end or a new word.
                let pluralEnd = next == "s" && (nextNext == nil || nextNext!.isUppercase)
                let startsWord = prev.isLowercase || prev.isNumber ||
                    (prev.isUppercase && next != nil && next!.isLowercase && !pluralEnd)
                if startsWord { out.append("_") }
            }
            out.append(contentsOf: ch.lowercased())
        }
        return out
    }

    /// `value` as JSON text with a trailing newline.
    /// - Throws: `SBRTError` (`.invalidValue`) when a number is not finite.
    public static func text<T: Encodable>(_ value: T) throws -> String {
        do {
            return String(decoding: try encoder().encode(value), as: UTF8.self) + "\n"
        } catch let EncodingError.invalidValue(v, context) {
            let path = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            throw SBRTError(.invalidValue, "a result is not a finite number (\(v) at \(path)); this is a bug, please report it")
        }
    }
}

extension JSONOutput {
    /// What a decoding error says, in words: where in the document (as a dotted path of
    /// snake_case keys) and what was expected, without the decoder's debug dump.
    public static func problem(_ error: Error) -> String {
        func path(_ keys: [CodingKey]) -> String {
            let p = keys.map { $0.intValue.map(String.init) ?? snakeCase($0.stringValue) }.joined(separator: ".")
            return p.isEmpty ? "the top level" : p
        }
        guard let e = error as? DecodingError else { return "the file could not be read as JSON" }
        switch e {
        case .dataCorrupted(let c) where c.codingPath.isEmpty:
            return "it is not valid JSON"
        case .dataCorrupted(let c):
            return "the value at \(path(c.codingPath)) is not usable"
        case .keyNotFound(let key, let c):
            return "\(path(c.codingPath + [key])) is missing"
        case .typeMismatch(let type, let c), .valueNotFound(let type, let c):
            return "\(path(c.codingPath)) is not \(describe(type))"
        @unknown default:
            return "the file could not be read as JSON"
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type, is Int.Type, is Optional<Double>.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasPrefix("Array") { return "a list" }
            return "an object"
        }
    }
}

/// A coding key made from a converted string.
struct SnakeKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
