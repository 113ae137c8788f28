import Base
import Foundation

/// A value of the protocol file format: the small subset of TOML that protocol files use.
public indirect enum ProtocolValue: Equatable, Sendable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([ProtocolValue])

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var number: Double? { if case .number(let v) = self { return v } else { return nil } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var array: [ProtocolValue]? { if case .array(let a) = self { return a } else { return nil } }
}

/// One table of a protocol file: keys and values in file order, with the line it starts on.
public struct ProtocolTable: Sendable {
    public var name: String
    public var line: Int
    public var entries: [(key: String, value: ProtocolValue, line: Int)] = []

    public subscript(key: String) -> ProtocolValue? { entries.first { $0.key == key }?.value }
    public func lineOf(_ key: String) -> Int { entries.first { $0.key == key }?.line ?? line }
}

/// A parsed protocol file: a TOML subset read by `ProtocolDocument.parse`.
///
/// The subset: `# comments` (outside strings), `[table]` and `[[array-of-tables]]`
/// headers (dotted names kept whole), `key = value` with bare keys, and values that are
/// basic strings (`"…"` with `\"`, `\\`, `\n`, `\t`), numbers, `true`/`false`, and
/// arrays of these (nested, spanning lines, trailing comma allowed). Nothing else of
/// TOML (no inline tables, dates, literal or multi-line strings).
public struct ProtocolDocument: Sendable {
    /// Keys before the first header.
    public var root: ProtocolTable
    /// `[name]` tables and `[[name]]` entries, in file order.
    public var tables: [ProtocolTable]

    public func table(_ name: String) -> ProtocolTable? { tables.first { $0.name == name } }
    public func array(_ name: String) -> [ProtocolTable] { tables.filter { $0.name == name } }

    /// Parses the text of a file.
    /// - Throws: `SBRTError` naming `file` and the line at fault.
    public static func parse(_ text: String, file: String) throws -> ProtocolDocument {
        var root = ProtocolTable(name: "", line: 1)
        var tables: [ProtocolTable] = []
        var singles = Set<String>()
        // Lines end at LF or CRLF (TOML's newlines: a file saved on Windows reads the same).
        let lines = text.textLines()
        var i = 0
        func fail(_ line: Int, _ why: String) -> SBRTError { SBRTError(.invalidProtocol, "\(file):\(line): \(why)") }
        while i < lines.count {
            let lineNumber = i + 1
            var line = try stripComment(lines[i], file: file, line: lineNumber).trimmingSpaces()
            i += 1
            if line.isEmpty { continue }
            if line.hasPrefix("[[") {
                guard line.hasSuffix("]]") else { throw fail(lineNumber, "a [[table]] header ends with ]]") }
                let name = line.dropFirst(2).dropLast(2).trimmingSpaces()
                guard isKey(name) else { throw fail(lineNumber, "\"\(name)\" is not a table name") }
                tables.append(ProtocolTable(name: name, line: lineNumber))
                continue
            }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]") else { throw fail(lineNumber, "a [table] header ends with ]") }
                let name = line.dropFirst().dropLast().trimmingSpaces()
                guard isKey(name) else { throw fail(lineNumber, "\"\(name)\" is not a table name") }
                guard singles.insert(name).inserted else { throw fail(lineNumber, "table [\(name)] appears twice") }
                tables.append(ProtocolTable(name: name, line: lineNumber))
                continue
            }
            guard let eq = line.firstIndex(of: "=") else { throw fail(lineNumber, "expected key = value") }
            let key = line[..<eq].trimmingSpaces()
            guard isKey(key) else { throw fail(lineNumber, "\"\(key)\" is not a key (letters, digits, _ and -)") }
            var valueText = String(line[line.index(after: eq)...]).trimmingSpaces()
            // Arrays may span lines: read on until the brackets balance.
            while bracketDepth(valueText) > 0 {
                guard i < lines.count else { throw fail(lineNumber, "array never closed") }
                line = try stripComment(lines[i], file: file, line: i + 1)
                valueText += " " + line.trimmingSpaces()
                i += 1
            }
            var scanner = ValueScanner(text: Array(valueText), file: file, line: lineNumber)
            let value = try scanner.value()
            scanner.skipSpace()
            guard scanner.atEnd else { throw fail(lineNumber, "unexpected text after the value of \(key)") }
            if tables.isEmpty {
                guard root[key] == nil else { throw fail(lineNumber, "key \(key) appears twice") }
                root.entries.append((key, value, lineNumber))
            } else {
                guard tables[tables.count - 1][key] == nil else { throw fail(lineNumber, "key \(key) appears twice in [\(tables[tables.count - 1].name)]") }
                tables[tables.count - 1].entries.append((key, value, lineNumber))
            }
        }
        return ProtocolDocument(root: root, tables: tables)
    }

    static func isKey<S: StringProtocol>(_ s: S) -> Bool {
        !s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "." }
    }

    /// The line without its comment (a # outside a string).
    static func stripComment(_ line: String, file: String, line n: Int) throws -> String {
        var inString = false, escaped = false
        for (k, c) in line.enumerated() {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "#" {
                return String(line.prefix(k))
            }
        }
        if inString { throw SBRTError(.invalidProtocol, "\(file):\(n): string never closed") }
        return line
    }

    static func bracketDepth(_ s: String) -> Int {
        var depth = 0, inString = false, escaped = false
        for c in s {
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" { inString = true } else if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
        }
        return depth
    }

    struct ValueScanner {
        var text: [Character]
        var file: String
        var line: Int
        var p = 0
        var atEnd: Bool { p >= text.count }

        mutating func skipSpace() { while p < text.count, text[p] == " " || text[p] == "\t" { p += 1 } }
        func fail(_ why: String) -> SBRTError { SBRTError(.invalidProtocol, "\(file):\(line): \(why)") }

        mutating func value() throws -> ProtocolValue {
            skipSpace()
            guard p < text.count else { throw fail("missing value") }
            let c = text[p]
            if c == "\"" {
                p += 1
                var s = ""
                while p < text.count {
                    let d = text[p]; p += 1
                    if d == "\"" { return .string(s) }
                    if d == "\\" {
                        guard p < text.count else { break }
                        let e = text[p]; p += 1
                        switch e {
                        case "n": s.append("\n")
                        case "t": s.append("\t")
                        case "\"": s.append("\"")
                        case "\\": s.append("\\")
                        default: throw fail("unknown escape \\\(e)")
                        }
                    } else { s.append(d) }
                }
                throw fail("string never closed")
            }
            if c == "[" {
                p += 1
                var items: [ProtocolValue] = []
                while true {
                    skipSpace()
                    guard p < text.count else { throw fail("array never closed") }
                    if text[p] == "]" { p += 1; return .array(items) }
                    items.append(try value())
                    skipSpace()
                    guard p < text.count else { throw fail("array never closed") }
                    if text[p] == "," { p += 1; continue }
                    if text[p] == "]" { p += 1; return .array(items) }
                    throw fail("expected , or ] in an array")
                }
            }
            var word = ""
            while p < text.count, !" \t,]".contains(text[p]) { word.append(text[p]); p += 1 }
            if word == "true" { return .bool(true) }
            if word == "false" { return .bool(false) }
            if let v = Double(word.replacingOccurrences(of: "_", with: "")), v.isFinite {
                // Doses, volumes, ages and counts: anything beyond ±10⁹ is a typo, and would
                // not convert to a whole number safely.
                guard abs(v) <= 1e9 else { throw fail("\(word) is beyond ±10⁹, not a dose, volume, age or count") }
                return .number(v)
            }
            throw fail("\"\(word)\" is not a value (strings are quoted)")
        }
    }
}

