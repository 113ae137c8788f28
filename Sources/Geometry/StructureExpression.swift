/// An expression on structures: a name, or union (`+`), difference (`-`), intersection
/// (`&`) and symmetric difference (`^`) of expressions, left to right, with parentheses.
///
/// Names are matched case-insensitively; a name containing spaces or operator characters
/// is quoted (`"Lung L"+'PTV-eval'`). An expression that is exactly the name of an ROI is
/// that ROI, so an ROI called `PTV-GTV` is found before the difference is tried.
public indirect enum StructureExpression: Equatable, Sendable, CustomStringConvertible {
    case roi(String)
    case union(StructureExpression, StructureExpression)
    case difference(StructureExpression, StructureExpression)
    case intersection(StructureExpression, StructureExpression)
    case symmetricDifference(StructureExpression, StructureExpression)

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The ROI names the expression uses, in order of first use.
    public var names: [String] {
        switch self {
        case .roi(let n): return [n]
        case .union(let a, let b), .difference(let a, let b), .intersection(let a, let b), .symmetricDifference(let a, let b):
            var out = a.names
            for n in b.names where !out.contains(n) { out.append(n) }
            return out
        }
    }

    public var description: String {
        func wrap(_ e: StructureExpression) -> String {
            if case .roi = e { return e.description }
            return "(" + e.description + ")"
        }
        switch self {
        case .roi(let n):
            return n.contains(where: { "+-&^() ".contains($0) }) ? "\"\(n)\"" : n
        case .union(let a, let b): return a.description + "+" + wrap(b)
        case .difference(let a, let b): return a.description + "-" + wrap(b)
        case .intersection(let a, let b): return a.description + "&" + wrap(b)
        case .symmetricDifference(let a, let b): return a.description + "^" + wrap(b)
        }
    }

    /// Parses `text`; `knownNames` lets a whole-text ROI name win over an expression.
    public static func parse(_ text: String, knownNames: [String] = []) throws -> StructureExpression {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let exact = knownNames.first(where: { $0.lowercased() == trimmed.lowercased() }) {
            return .roi(exact)
        }
        var p = Parser(chars: Array(trimmed), known: knownNames)
        let e = try p.expression()
        p.skipSpaces()
        guard p.pos == p.chars.count else {
            throw ParseError(description: "unexpected \"\(String(p.chars[p.pos...]))\" in structure expression \"\(text)\"")
        }
        return e
    }

    private struct Parser {
        var chars: [Character]
        var known: [String]
        var pos = 0

        mutating func skipSpaces() { while pos < chars.count && chars[pos] == " " { pos += 1 } }

        mutating func expression() throws -> StructureExpression {
            var left = try term()
            while true {
                skipSpaces()
                guard pos < chars.count, "+-&^".contains(chars[pos]) else { return left }
                let op = chars[pos]
                pos += 1
                let right = try term()
                switch op {
                case "+": left = .union(left, right)
                case "-": left = .difference(left, right)
                case "&": left = .intersection(left, right)
                default: left = .symmetricDifference(left, right)
                }
            }
        }

        mutating func term() throws -> StructureExpression {
            skipSpaces()
            guard pos < chars.count else { throw ParseError(description: "a structure name is missing at the end of the expression") }
            let c = chars[pos]
            if c == "(" {
                pos += 1
                let e = try expression()
                skipSpaces()
                guard pos < chars.count, chars[pos] == ")" else { throw ParseError(description: "a closing parenthesis is missing") }
                pos += 1
                return e
            }
            if c == "\"" || c == "'" {
                pos += 1
                let start = pos
                while pos < chars.count && chars[pos] != c { pos += 1 }
                guard pos < chars.count else { throw ParseError(description: "a closing quote is missing") }
                let name = String(chars[start..<pos])
                pos += 1
                return .roi(resolve(name))
            }
            let start = pos
            while pos < chars.count && !"+-&^()".contains(chars[pos]) { pos += 1 }
            let name = String(chars[start..<pos]).trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty else { throw ParseError(description: "a structure name is missing before \"\(chars[pos])\"") }
            return .roi(resolve(name))
        }

        func resolve(_ name: String) -> String {
            known.first { $0.lowercased() == name.lowercased() } ?? name
        }
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

extension Set where Element == Character {
    static let whitespaces: Set<Character> = [" ", "\t"]
}
