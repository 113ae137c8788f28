import Base
import Foundation

/// The character repertoire of a data set's text, from Specific Character Set (0008,0005).
///
/// Supported: the default repertoire (ISO_IR 6, read as ASCII with Latin-1 for stray
/// high bytes), ISO_IR 100 (Latin-1), ISO_IR 101 (Latin-2), ISO_IR 192 (UTF-8), and
/// the ISO 2022 forms of the first three without escape sequences. Anything else is
/// decoded as UTF-8 when valid and as Latin-1 otherwise, so no text is ever lost;
/// `isExactlySupported` tells the caller that such a fallback was used.
public struct SpecificCharacterSet: Sendable, Equatable {
    public enum Encoding: Sendable, Equatable { case ascii, latin1, latin2, utf8, fallback }

    public var encoding: Encoding
    /// The defined term(s) as they appeared in the file.
    public var terms: [String]

    public static let `default` = SpecificCharacterSet(encoding: .ascii, terms: [])

    public init(encoding: Encoding, terms: [String]) {
        self.encoding = encoding
        self.terms = terms
    }

    /// Interprets the value of (0008,0005).
    public init(terms raw: [String]) {
        let terms = raw.map { $0.trimmingSpaces().uppercased() }
        let first = terms.first(where: { !$0.isEmpty }) ?? ""
        let enc: Encoding
        switch first {
        case "", "ISO_IR 6", "ISO 2022 IR 6": enc = .ascii
        case "ISO_IR 100", "ISO 2022 IR 100": enc = .latin1
        case "ISO_IR 101", "ISO 2022 IR 101": enc = .latin2
        case "ISO_IR 192": enc = .utf8
        default: enc = .fallback
        }
        self.init(encoding: enc, terms: terms)
    }

    public var isExactlySupported: Bool { encoding != .fallback }

    /// Decodes text bytes; never fails.
    public func decode(_ d: Data) -> String {
        switch encoding {
        case .ascii:
            if d.allSatisfy({ $0 < 0x80 }) { return String(decoding: d, as: UTF8.self) }
            return String(data: d, encoding: .isoLatin1) ?? String(decoding: d, as: UTF8.self)
        case .latin1:
            return String(data: d, encoding: .isoLatin1) ?? String(decoding: d, as: UTF8.self)
        case .latin2:
            return String(data: d, encoding: .isoLatin2) ?? String(decoding: d, as: UTF8.self)
        case .utf8:
            return String(decoding: d, as: UTF8.self)
        case .fallback:
            if let s = String(data: d, encoding: .utf8) { return s }
            return String(data: d, encoding: .isoLatin1) ?? String(decoding: d, as: UTF8.self)
        }
    }

    /// Encodes text for writing. Characters the repertoire lacks make the caller fall
    /// back to UTF-8 (and declare ISO_IR 192), never to lossy replacement.
    public func encode(_ s: String) -> Data? {
        switch encoding {
        case .ascii: return s.allSatisfy({ $0.isASCII }) ? Data(s.utf8) : nil
        case .latin1: return s.data(using: .isoLatin1, allowLossyConversion: false)
        case .latin2: return s.data(using: .isoLatin2, allowLossyConversion: false)
        case .utf8, .fallback: return Data(s.utf8)
        }
    }
}
