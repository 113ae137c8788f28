import DICOM
import Foundation

extension Mutator {
    /// Contour data made hostile: a far point, all points equal, a non-multiple of three,
    /// scaled coordinates, another geometric type, a wrong point count, a huge polygon.
    mutating func contour(_ ds: inout DataSet) -> String? {
        let paths = ds.paths(following: [.roiContourSequence, .contourSequence, .contourData])
        guard !paths.isEmpty else { return nil }
        let path = pick(paths)
        guard let e = ds.element(at: path), var v = e.textValues, v.count >= 3 else { return nil }
        let what: String
        switch below(8) {
        case 0:
            let i = below(v.count)
            v[i] = pick(["1e308", "-1e30", "1e15", "1e5", "-1e5", "10001", "9999", "-5000", "1e-320", "inf"])
            what = "coordinate \(i) = \(v[i])"
        case 1:
            let first = Array(v.prefix(3))
            v = (0..<(v.count / 3)).flatMap { _ in first }
            what = "every point equal"
        case 2:
            v = Array(v.prefix(max(1, v.count - 1 - below(2))))
            what = "\(v.count) numbers (not triplets)"
        case 3:
            let f = pick([1e-9, 1e-3, 30, 100, 1e3, 1e6, -1.0])
            v = v.map { String((Double($0.trimmingCharacters(in: .whitespaces)) ?? 0) * f) }
            what = "coordinates × \(f)"
        case 4:
            v = Array(v.prefix(3 * pick([1, 2])))
            what = "\(v.count / 3) point(s)"
        case 5:
            var item = path
            item.tag = .contourGeometricType
            let type = pick(["POINT", "OPEN_PLANAR", "OPEN_NONPLANAR", "CLOSEDPLANAR_XOR", "", "BOGUS"])
            ds.modify(item) { $0 = Element(tag: .contourGeometricType, vr: .CS, value: .bytes(Data(type.utf8))) }
            return "\(item) = \"\(type)\""
        case 6:
            var item = path
            item.tag = .numberOfContourPoints
            let n = pick(["0", "1", "2147483648", "-5", "1e9"])
            ds.modify(item) { $0 = Element(tag: .numberOfContourPoints, vr: .IS, value: .bytes(Data(n.utf8))) }
            return "\(item) = \(n)"
        default:
            // A polygon of 20,000 points on a circle of 1 m radius in the contour's plane.
            let z = v[2]
            v = (0..<20_000).flatMap { k -> [String] in
                let a = Double(k) * 2 * Double.pi / 20_000
                return [String(format: "%.2f", 1000 * cos(a)), String(format: "%.2f", 1000 * sin(a)), z]
            }
            what = "20,000 points on a 1 m circle"
        }
        ds.modify(path) { $0 = e.withText(v) }
        return "\(path): \(what)"
    }

    /// A text attribute made very long, empty, or not valid in its character set.
    mutating func text(_ ds: inout DataSet) -> String? {
        let textVRs: [VR] = [.LO, .SH, .CS, .PN, .UI, .ST, .LT, .DA, .TM]
        let paths = ds.elementPaths().filter { p in ds.element(at: p).map { textVRs.contains($0.vr) } ?? false }
        guard !paths.isEmpty else { return nil }
        let path = pick(paths)
        guard let e = ds.element(at: path) else { return nil }
        let choices: [(String, Data)] = [
            ("64 KiB of letters", Data(repeating: 0x41, count: 65_000)),
            ("empty", Data()),
            ("invalid UTF-8", Data([0xFF, 0xFE, 0xC3, 0x28, 0x80])),
            ("backslashes", Data(String(repeating: "\\", count: 100).utf8)),
            ("control bytes", Data([0x00, 0x1B, 0x07, 0x0A, 0x0D])),
        ]
        let (what, bytes) = pick(choices)
        ds.modify(path) { $0 = Element(tag: e.tag, vr: e.vr, value: .bytes(bytes)) }
        return "\(path) \(what)"
    }

    /// An element written with another VR (the value bytes unchanged).
    mutating func changeVR(_ ds: inout DataSet) -> String? {
        let paths = ds.elementPaths().filter { ds.element(at: $0)?.bytes != nil }
        guard !paths.isEmpty else { return nil }
        let path = chance(0.6) ? (paths.filter { Self.numericTags.contains($0.tag) || Self.pixelTags.contains($0.tag) }.randomElement(using: &rng) ?? pick(paths)) : pick(paths)
        guard let e = ds.element(at: path) else { return nil }
        let vr = pick([VR.US, .SS, .UL, .FD, .FL, .DS, .IS, .OB, .UN, .LO, .AT, .SQ])
        ds.modify(path) { $0 = Element(tag: e.tag, vr: vr, value: e.value) }
        return "\(path) VR \(e.vr) → \(vr)"
    }

    /// Pixel data cut short, made odd, or removed.
    mutating func pixelData(_ ds: inout DataSet) -> String? {
        guard let e = ds[.pixelData], let d = e.bytes else { return nil }
        let cut: Int
        switch below(3) {
        case 0: cut = d.count / 2
        case 1: cut = max(0, d.count - 1)
        default: cut = 0
        }
        ds[.pixelData] = Element(tag: .pixelData, vr: e.vr, value: .bytes(d.prefix(cut)))
        return "Pixel Data cut to \(cut) of \(d.count) bytes"
    }
}
