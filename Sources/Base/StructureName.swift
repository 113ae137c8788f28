import Foundation

/// Structure (ROI) names: the one rule for finding a named ROI, and the one key for
/// matching names written in different conventions.
///
/// - **Lookup** (`same`, `find`): a name the user typed denotes the ROI whose name equals
///   it after trimming spaces at both ends, ignoring case (`ptv` finds `PTV`).
/// - **Matching key** (`key`): how a protocol's canonical (TG-263) name and its aliases
///   meet a plan's names. Case, spaces, underscores, hyphens and other punctuation are
///   ignored; the name is cut into words (at punctuation and at lower→upper case
///   changes: `SpinalCord` → spinal, cord); laterality words `L`, `Lt`, `Left`, `R`, `Rt`,
///   `Right` are recognised as a prefix or a suffix and moved to the end as `l`/`r`;
///   British spellings are read as American (`Oesophagus` → esophagus). So `Lt Lung`,
///   `Lung_L`, `LUNG-LEFT` and `Left lung` share the key `lungl`, and `Spinal_Cord`,
///   `spinal cord` and `SPINALCORD` share `spinalcord`.
public enum StructureName {
    /// Whether `a` and `b` name the same ROI: equal after trimming spaces, ignoring case.
    public static func same(_ a: String, _ b: String) -> Bool {
        a.trimmingSpaces().caseInsensitiveCompare(b.trimmingSpaces()) == .orderedSame
    }

    /// The first of `names` that is `name` (by `same`), or nil.
    public static func find(_ name: String, in names: [String]) -> String? {
        names.first { same($0, name) }
    }

    /// The index of the first of `names` that is `name` (by `same`), or nil.
    public static func index(of name: String, in names: [String]) -> Int? {
        names.firstIndex { same($0, name) }
    }

    /// Lower-cased letters and digits only: `Spinal_Cord` → `spinalcord`.
    public static func compact(_ s: String) -> String {
        String(s.lowercased().filter { $0.isLetter || $0.isNumber })
    }

    /// British spellings of organ words, read as American (whole words, lower case).
    static let spellings: [String: String] = [
        "oesophagus": "esophagus", "oesophageal": "esophageal", "oesoph": "esoph",
        "caecum": "cecum", "tumour": "tumor", "haemorrhoidal": "hemorrhoidal",
    ]
    static let left: Set<String> = ["l", "lt", "left"]
    static let right: Set<String> = ["r", "rt", "right"]

    /// Words of a name: cut at anything not a letter or digit, and before an upper-case
    /// letter that follows a lower-case one or that starts a capitalised word
    /// (`LtLung` → Lt, Lung; `PTVHigh` → PTV, High). Digits stay with their letters (`L1`).
    public static func words(_ s: String) -> [String] {
        var out: [String] = []
        var cur: [Character] = []
        let chars = Array(s)
        func flush() { if !cur.isEmpty { out.append(String(cur)); cur = [] } }
        for (k, c) in chars.enumerated() {
            guard c.isLetter || c.isNumber else { flush(); continue }
            if c.isUppercase, let p = cur.last {
                let nextIsLower = k + 1 < chars.count && chars[k + 1].isLowercase
                if p.isLowercase || (p.isUppercase && nextIsLower) { flush() }
            }
            cur.append(c)
        }
        flush()
        return out
    }

    /// The matching key of a name (see the type's documentation).
    public static func key(_ s: String) -> String {
        var w = words(s).map { spellings[$0.lowercased()] ?? $0.lowercased() }
        var side = ""
        if w.count > 1, let last = w.last, left.contains(last) || right.contains(last) {
            side = left.contains(last) ? "l" : "r"
            w.removeLast()
        } else if w.count > 1, let first = w.first, left.contains(first) || right.contains(first) {
            side = left.contains(first) ? "l" : "r"
            w.removeFirst()
        }
        return w.joined() + side
    }

    /// Whether a name reads as a union of several structures rather than one
    /// (`GTV_All`, `PTV_Total`, `GTV_Sum`, `PTV_Union`, `GTVs_Combined`, `GTV1+GTV2`).
    public static func isUnion(_ s: String) -> Bool {
        if s.contains("+") { return true }
        let union: Set<String> = ["all", "total", "sum", "union", "combined", "comb", "composite"]
        return words(s).contains { union.contains($0.lowercased()) }
    }
}
