import DICOM
import Foundation

/// The header of one element in an encoded explicit VR little endian file.
public struct RawElement: Sendable {
    public var offset: Int
    public var tag: Tag
    /// Offset of the two VR bytes; nil for items and delimiters.
    public var vrOffset: Int?
    public var lengthOffset: Int
    /// 2 or 4 bytes.
    public var lengthSize: Int
    public var length: UInt32
}

extension RawElement {
    /// The element headers of a Part 10 file in explicit VR little endian, as sbrt's writer
    /// makes it (sequences and items of undefined length; fragments of encapsulated pixel
    /// data are skipped). Stops quietly at anything it cannot follow.
    public static func scan(_ d: Data) -> [RawElement] {
        let b = [UInt8](d)
        var out: [RawElement] = []
        var p = 132
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) | UInt32(u16(i + 2)) << 16 }
        while p + 8 <= b.count {
            let tag = Tag(u16(p), u16(p + 2))
            if tag.group == 0xFFFE {
                let len = u32(p + 4)
                out.append(RawElement(offset: p, tag: tag, vrOffset: nil, lengthOffset: p + 4, lengthSize: 4, length: len))
                // A defined-length item is a pixel-data fragment: skip its bytes.
                p += 8 + (tag == .item && len != 0xFFFF_FFFF ? Int(len) : 0)
                continue
            }
            let vr = VR(b[p + 4], b[p + 5])
            if vr.hasLongLength {
                guard p + 12 <= b.count else { break }
                let len = u32(p + 8)
                out.append(RawElement(offset: p, tag: tag, vrOffset: p + 4, lengthOffset: p + 8, lengthSize: 4, length: len))
                p += 12 + (len == 0xFFFF_FFFF || vr == .SQ ? 0 : Int(len))
            } else {
                let len = UInt32(u16(p + 6))
                out.append(RawElement(offset: p, tag: tag, vrOffset: p + 4, lengthOffset: p + 6, lengthSize: 2, length: len))
                p += 8 + Int(len)
            }
        }
        return out
    }
}

extension Mutator {
    /// Applies one byte-level mutation to an encoded explicit VR little endian file: an
    /// element length changed, VR bytes changed, the file cut, or bytes flipped.
    public mutating func mutateBytes(_ data: inout Data) -> String {
        let elements = RawElement.scan(data)
        guard !elements.isEmpty else { return flipBytes(&data) }
        switch below(4) {
        case 0:
            let e = pick(elements)
            let lengths: [UInt32] = e.lengthSize == 2
                ? [0, 1, 2, e.length &+ 2, e.length &- 2, e.length | 1, 0xFFFF, 0xFFFE]
                : [0, 1, 3, e.length &+ 2, e.length &- 2, e.length | 1, 0xFFFF_FFFF, 0x7FFF_FFFF, 0xFFFF_FFF0]
            let len = pick(lengths)
            for k in 0..<e.lengthSize { data[e.lengthOffset + k] = UInt8(truncatingIfNeeded: len >> (8 * UInt32(k))) }
            return "length of \(e.tag) at byte \(e.offset): \(e.length) → \(len & (e.lengthSize == 2 ? 0xFFFF : 0xFFFF_FFFF))"
        case 1:
            let withVR = elements.filter { $0.vrOffset != nil }
            guard let e = withVR.isEmpty ? nil : pick(withVR), let at = e.vrOffset else { return flipBytes(&data) }
            let vr = pick(["UN", "SQ", "OB", "US", "DS", "ZZ", "\0\0", "ob"])
            let bytes = Array(vr.utf8)
            data[at] = bytes[0]
            data[at + 1] = bytes[1]
            return "VR of \(e.tag) at byte \(e.offset) → \"\(vr)\""
        case 2:
            let e = pick(elements)
            let cut = min(data.count, e.offset + below(12))
            data = data.prefix(cut)
            return "file cut at byte \(cut) (in \(e.tag))"
        default:
            return flipBytes(&data)
        }
    }

    mutating func flipBytes(_ data: inout Data) -> String {
        guard data.count > 132 else { return "nothing to flip" }
        var at: [Int] = []
        for _ in 0..<(1 + below(8)) {
            let i = 132 + below(data.count - 132)
            data[i] ^= UInt8(truncatingIfNeeded: 1 << below(8))
            at.append(i)
        }
        return "bits flipped at bytes \(at.map(String.init).joined(separator: ","))"
    }
}
