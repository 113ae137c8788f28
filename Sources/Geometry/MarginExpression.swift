import Base
/// Structure algebra with margins: a `StructureExpression` extended with expansions.
///
/// Syntax: names, `+` union, `-` difference, `&` intersection, `^` symmetric
/// difference (left to right), parentheses, and `(E+m)` / `(E-m)`: E grown (or shrunk)
/// by m mm, written as a parenthesised group whose last operator is followed by a
/// number (`PTV-(SpinalCord+2)`, `((GTV+5)&BONE)+3`… note the margin needs its own
/// parentheses: `(GTV+5)`). A structure whose name is a number must be quoted.
public indirect enum MarginExpression: Equatable, Sendable, CustomStringConvertible {
    case roi(String)
    case union(MarginExpression, MarginExpression)
    case difference(MarginExpression, MarginExpression)
    case intersection(MarginExpression, MarginExpression)
    case symmetricDifference(MarginExpression, MarginExpression)
    /// Euclidean (octant-body) growth or, for negative margins, contraction.
    case expansion(MarginExpression, DirectionalMargin)
    /// Growth by shortest paths that avoid the named barrier structures (uniform, ≥ 0 mm).
    case geodesic(MarginExpression, Double, barriers: [String])

    /// The ROI names used, in order of first use (barriers included).
    public var names: [String] {
        func merge(_ a: [String], _ b: [String]) -> [String] {
            var out = a
            for n in b where !out.contains(n) { out.append(n) }
            return out
        }
        switch self {
        case .roi(let n): return [n]
        case .union(let a, let b), .difference(let a, let b), .intersection(let a, let b), .symmetricDifference(let a, let b):
            return merge(a.names, b.names)
        case .expansion(let a, _): return a.names
        case .geodesic(let a, _, let barriers): return merge(a.names, barriers)
        }
    }

    /// Every margin of the expression, mm (directional margins give their six values).
    public var marginsMM: [Double] {
        switch self {
        case .roi: return []
        case .union(let a, let b), .difference(let a, let b), .intersection(let a, let b), .symmetricDifference(let a, let b):
            return a.marginsMM + b.marginsMM
        case .expansion(let a, let m): return a.marginsMM + m.values
        case .geodesic(let a, let m, _): return a.marginsMM + [m]
        }
    }

    /// The same expression without margins, when it has none.
    public init(_ e: StructureExpression) {
        switch e {
        case .roi(let n): self = .roi(n)
        case .union(let a, let b): self = .union(MarginExpression(a), MarginExpression(b))
        case .difference(let a, let b): self = .difference(MarginExpression(a), MarginExpression(b))
        case .intersection(let a, let b): self = .intersection(MarginExpression(a), MarginExpression(b))
        case .symmetricDifference(let a, let b): self = .symmetricDifference(MarginExpression(a), MarginExpression(b))
        }
    }

    /// The same expression as a `StructureExpression`, or nil when it has a margin.
    public var withoutMargins: StructureExpression? {
        func both(_ a: MarginExpression, _ b: MarginExpression, _ f: (StructureExpression, StructureExpression) -> StructureExpression) -> StructureExpression? {
            guard let x = a.withoutMargins, let y = b.withoutMargins else { return nil }
            return f(x, y)
        }
        switch self {
        case .roi(let n): return .roi(n)
        case .union(let a, let b): return both(a, b, StructureExpression.union)
        case .difference(let a, let b): return both(a, b, StructureExpression.difference)
        case .intersection(let a, let b): return both(a, b, StructureExpression.intersection)
        case .symmetricDifference(let a, let b): return both(a, b, StructureExpression.symmetricDifference)
        case .expansion, .geodesic: return nil
        }
    }

    public var description: String {
        func wrap(_ e: MarginExpression) -> String {
            switch e {
            case .roi, .expansion, .geodesic: return e.description
            default: return "(" + e.description + ")"
            }
        }
        func num(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
        switch self {
        case .roi(let n): return StructureExpression.roi(n).description
        case .union(let a, let b): return a.description + "+" + wrap(b)
        case .difference(let a, let b): return a.description + "-" + wrap(b)
        case .intersection(let a, let b): return a.description + "&" + wrap(b)
        case .symmetricDifference(let a, let b): return a.description + "^" + wrap(b)
        case .expansion(let a, let m):
            if m.isUniform { return "(" + a.description + (m.rightMM < 0 ? "-" : "+") + num(abs(m.rightMM)) + ")" }
            return "(" + a.description + " grown by " + m.description + ")"
        case .geodesic(let a, let m, let b): return "(" + a.description + "+" + num(m) + " avoiding " + b.joined(separator: ",") + ")"
        }
    }

    /// Parses `text`; a whole-text ROI name in `knownNames` wins over an expression.
    /// - Throws: `StructureExpression.ParseError`.
    public static func parse(_ text: String, knownNames: [String] = []) throws -> MarginExpression {
        let trimmed = text.trimmingSpaces()
        if let exact = StructureName.find(trimmed, in: knownNames) { return .roi(exact) }
        var p = Parser(chars: Array(trimmed), known: knownNames)
        let e = try p.expression()
        p.skipSpaces()
        guard p.pos == p.chars.count else {
            throw StructureExpression.ParseError(description: "unexpected \"\(String(p.chars[p.pos...]))\" in structure expression \"\(text)\"")
        }
        return e
    }

    /// The most operators (and margins) an expression may hold, and the deepest nesting of
    /// parentheses: the expression is a tree that every engine walks recursively, so its
    /// depth is bounded (a 10,000-term union would overflow a thread's stack).
    public static let maximumOperators = 100
    public static let maximumNesting = 50

    private struct Parser {
        var chars: [Character]
        var known: [String]
        var pos = 0
        var operators = 0
        var nesting = 0

        mutating func countOperator() throws {
            operators += 1
            guard operators <= MarginExpression.maximumOperators else {
                throw StructureExpression.ParseError(description: "the expression has more than \(MarginExpression.maximumOperators) operators; split it into several structures")
            }
        }

        mutating func skipSpaces() { while pos < chars.count && chars[pos] == " " { pos += 1 } }

        /// A margin literal at `pos`: digits with an optional fraction and "mm", followed by ")".
        func marginAhead() -> (value: Double, end: Int)? {
            var k = pos
            while k < chars.count && chars[k] == " " { k += 1 }
            let start = k
            while k < chars.count && (chars[k].isNumber || chars[k] == ".") { k += 1 }
            guard k > start, let v = Double(String(chars[start..<k])) else { return nil }
            var m = k
            while m < chars.count && chars[m] == " " { m += 1 }
            if m + 1 < chars.count && chars[m] == "m" && chars[m + 1] == "m" { m += 2 }
            while m < chars.count && chars[m] == " " { m += 1 }
            guard m < chars.count && chars[m] == ")" else { return nil }
            // Not a margin when the whole token is a known ROI name.
            if known.contains(where: { $0 == String(chars[start..<k]) }) { return nil }
            return (v, m)
        }

        /// Parses operators until ")" or the end; inside parentheses a trailing `+m`/`-m` is a margin.
        mutating func expression(inParentheses: Bool = false) throws -> MarginExpression {
            var left = try term()
            while true {
                skipSpaces()
                guard pos < chars.count, "+-&^".contains(chars[pos]) else { return left }
                let op = chars[pos]
                pos += 1
                try countOperator()
                if inParentheses && (op == "+" || op == "-"), let (v, end) = marginAhead() {
                    pos = end  // at ")"
                    return .expansion(left, DirectionalMargin(uniformMM: op == "+" ? v : -v))
                }
                let right = try term()
                switch op {
                case "+": left = .union(left, right)
                case "-": left = .difference(left, right)
                case "&": left = .intersection(left, right)
                default: left = .symmetricDifference(left, right)
                }
            }
        }

        mutating func term() throws -> MarginExpression {
            skipSpaces()
            guard pos < chars.count else {
                throw StructureExpression.ParseError(description: "a structure name is missing at the end of the expression")
            }
            let c = chars[pos]
            if c == "(" {
                pos += 1
                nesting += 1
                defer { nesting -= 1 }
                guard nesting <= MarginExpression.maximumNesting else {
                    throw StructureExpression.ParseError(description: "the expression nests parentheses more than \(MarginExpression.maximumNesting) deep")
                }
                let e = try expression(inParentheses: true)
                skipSpaces()
                guard pos < chars.count, chars[pos] == ")" else {
                    throw StructureExpression.ParseError(description: "a closing parenthesis is missing")
                }
                pos += 1
                return e
            }
            if c == "\"" || c == "'" {
                pos += 1
                let start = pos
                while pos < chars.count && chars[pos] != c { pos += 1 }
                guard pos < chars.count else { throw StructureExpression.ParseError(description: "a closing quote is missing") }
                let name = String(chars[start..<pos])
                pos += 1
                return .roi(resolve(name))
            }
            let start = pos
            while pos < chars.count && !"+-&^()".contains(chars[pos]) { pos += 1 }
            let name = String(chars[start..<pos]).trimmingSpaces()
            guard !name.isEmpty else {
                throw StructureExpression.ParseError(description: "a structure name is missing before \"\(chars[pos])\"")
            }
            return .roi(resolve(name))
        }

        func resolve(_ name: String) -> String {
            StructureName.find(name, in: known) ?? name
        }
    }
}
