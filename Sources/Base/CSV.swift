/// CSV as sbrt writes and reads it: fields separated by commas, one record per line
/// (`\n`), and RFC 4180 quoting — a field holding a comma, a double quote, a carriage
/// return or a line feed is enclosed in double quotes, each double quote inside doubled.
/// The one place that quotes and splits CSV fields (DVH tables, batch exports).
public enum CSV {
    /// `text` as one field, quoted when it must be.
    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One record: the fields quoted as needed, joined by commas, ending in `\n`.
    public static func row(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\n"
    }

    /// The fields of one line (RFC 4180 quoting; a quoted field may hold commas and
    /// doubled quotes, not line breaks: the caller splits lines first).
    public static func split(_ line: String) -> [String] {
        var cells: [String] = [], cur = "", quoted = false
        let it = Array(line)
        var k = 0
        while k < it.count {
            let c = it[k]
            if quoted {
                if c == "\"" { if k + 1 < it.count && it[k + 1] == "\"" { cur.append("\""); k += 1 } else { quoted = false } } else { cur.append(c) }
            } else if c == "\"" { quoted = true } else if c == "," { cells.append(cur); cur = "" } else { cur.append(c) }
            k += 1
        }
        cells.append(cur)
        return cells
    }
}
