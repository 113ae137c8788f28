import Base
import Foundation

/// Where a plan store lives: a SQLite file, or a PostgreSQL database named by URL.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite database file (created on first write).
    case sqlite(path: String)
    /// A PostgreSQL database: `postgresql://user[:password]@host[:port]/db[?params]`
    /// (also `postgres://`), as libpq reads it; the password may instead come from
    /// `PGPASSWORD` or `~/.pgpass`, which libpq consults.
    case postgres(url: String)

    /// Reads the value of a `--db` option: a `postgresql://` or `postgres://` URL, or
    /// else a file path for SQLite.
    ///
    /// - Throws: `SBRTError` of kind `.invalidRequest` for an empty text, another URL scheme
    ///   (`mysql://…`), or a PostgreSQL URL without a host.
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            let rest = text[text.range(of: "://")!.upperBound...]
            guard let first = rest.first, first != "/", first != "?" else {
                throw SBRTError(.invalidRequest, "the PostgreSQL URL names no host (expected postgresql://user@host[:port]/database)",
                                 file: Self.redacted(text))
            }
            self = .postgres(url: text)
            return
        }
        guard !text.isEmpty else { throw SBRTError(.invalidRequest, "the database location is empty") }
        if let r = text.range(of: "://"), text[..<r.lowerBound].allSatisfy({ $0.isLetter || $0 == "+" || $0 == "." || $0 == "-" }) {
            throw SBRTError(.invalidRequest, "unsupported database URL scheme \"\(text[..<r.lowerBound])\": use a SQLite file path or a postgresql:// URL",
                             file: Self.redacted(text))
        }
        self = .sqlite(path: text)
    }

    /// The location as it may be shown to a user: a PostgreSQL URL without its password.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url): return Self.redacted(url)
        }
    }

    /// `url` with the password of its user-info part and any `password=` parameter
    /// replaced by `***`.
    static func redacted(_ url: String) -> String {
        var s = url
        if let scheme = s.range(of: "://") {
            let authorityEnd = s[scheme.upperBound...].firstIndex { $0 == "/" || $0 == "?" } ?? s.endIndex
            if let at = s[scheme.upperBound..<authorityEnd].lastIndex(of: "@"),
               let colon = s[scheme.upperBound..<at].firstIndex(of: ":") {
                s.replaceSubrange(s.index(after: colon)..<at, with: "***")
            }
        }
        if let q = s.firstIndex(of: "?") {
            let params = s[s.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).map { p -> String in
                p.lowercased().hasPrefix("password=") ? "password=***" : String(p)
            }
            s = String(s[...q]) + params.joined(separator: "&")
        }
        return s
    }
}
