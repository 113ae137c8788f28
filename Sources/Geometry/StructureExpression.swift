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
    /// The grammar is `MarginExpression`'s (one parser for both); a margin `(S+m)` is
    /// refused here, since DVHs are of structures, not of grown ones.
    public static func parse(_ text: String, knownNames: [String] = []) throws -> StructureExpression {
        let e = try MarginExpression.parse(text, knownNames: knownNames)
        guard let plain = e.withoutMargins else {
            throw ParseError(description: "\"\(text)\" grows or shrinks a structure; margins belong to `sbrt expand` (quote a structure whose name is a number)")
        }
        return plain
    }
}

