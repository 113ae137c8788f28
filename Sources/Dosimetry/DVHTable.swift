import Base
import Foundation

/// The cumulative DVH table of `sbrt dvh --format csv`, written and read in one place.
///
/// Format: a header `structure,dose_gy,volume_cc,volume_pct`, then one row per structure
/// and dose step, doses increasing within a structure; `volume_cc` is the volume
/// receiving at least `dose_gy` (≥). Structure names are quoted as RFC 4180 asks
/// (`CSV`). Doses have 4 decimals, volumes 6.
public enum DVHTable {
    public static let header = "structure,dose_gy,volume_cc,volume_pct"
    /// The most rows a table may hold, written or read (a bound on memory for hostile input).
    public static let maximumRows = 10_000_000

    /// The table of `dvhs`, sampled every `stepGy` up to each structure's maximum; refused
    /// beyond `maximumRows` rows, counted before any is made.
    /// - Throws: `SBRTError` of kind `.tooLarge`.
    public static func csv(_ dvhs: [DVH], stepGy: Double) throws -> String {
        var rows = 0
        for d in dvhs {
            guard let n = d.curveCount(stepGy: stepGy), rows + n <= maximumRows else {
                throw SBRTError(.tooLarge, "the CSV would have more than \(maximumRows) rows (\(d.name) reaches \(String(format: "%g", d.maxGy)) Gy, in steps of \(String(format: "%g", stepGy)) Gy); give a larger step")
            }
            rows += n
        }
        var out = header + "\n"
        for d in dvhs {
            let name = CSV.field(d.name)
            for (dose, cc) in d.curve(stepGy: stepGy) {
                let pct = d.volumeCC > 0 ? 100 * cc / d.volumeCC : 0
                out += "\(name),\(String(format: "%.4f", dose)),\(String(format: "%.6f", cc)),\(String(format: "%.6f", pct))\n"
            }
        }
        return out
    }

    /// Reads a table: structure names in order of appearance, each with its
    /// (dose Gy, volume cc) points.
    /// - Throws: `SBRTError` (`.invalidValue`) whose file is `path:line`.
    public static func read(_ text: String, path: String) throws -> [(name: String, curve: [(doseGy: Double, volumeCC: Double)])] {
        var order: [String] = []
        var curves: [String: [(doseGy: Double, volumeCC: Double)]] = [:]
        var lineNumber = 0
        for line in text.textLines() {
            lineNumber += 1
            if line.isEmpty { continue }
            if lineNumber == 1 {
                guard line.lowercased().hasPrefix("structure,dose_gy,volume_cc") else {
                    throw SBRTError(.invalidValue, "not a DVH table: expected the header \(header)", file: "\(path):1")
                }
                continue
            }
            guard lineNumber <= maximumRows + 1 else { throw SBRTError(.tooLarge, "more than \(maximumRows) rows", file: path) }
            let cells = CSV.split(line)
            guard cells.count >= 3, let d = Double(cells[1]), let v = Double(cells[2]), d.isFinite, v.isFinite else {
                throw SBRTError(.invalidValue, "expected structure,dose_gy,volume_cc[,volume_pct]", file: "\(path):\(lineNumber)")
            }
            let name = cells[0]
            if curves[name] == nil { order.append(name); curves[name] = [] }
            if let last = curves[name]!.last, d <= last.doseGy {
                throw SBRTError(.invalidValue, "doses of \(name) must increase", file: "\(path):\(lineNumber)")
            }
            curves[name]!.append((d, v))
        }
        guard !order.isEmpty else { throw SBRTError(.invalidValue, "no DVH rows", file: path) }
        return order.map { ($0, curves[$0]!) }
    }
}
