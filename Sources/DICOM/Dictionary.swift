/// The VR of a standard attribute, for decoding implicit-VR data sets (PS3.6).
///
/// Unknown and private attributes are `UN`; group lengths are `UL`; private creator
/// elements (gggg,0010–00FF in odd groups) are `LO`.
public enum DataDictionary {
    private static let table: (tags: [UInt32], vrs: [VR]) = {
        var tags: [UInt32] = []
        var vrs: [VR] = []
        tags.reserveCapacity(dictionaryEntryCount)
        vrs.reserveCapacity(dictionaryEntryCount)
        dictionaryData.withUTF8Buffer { buf in
            var digits: [UInt8] = []
            digits.reserveCapacity(10)
            for b in buf where b != 0x0A && b != 0x0D {
                digits.append(b)
                if digits.count == 10 {
                    var t: UInt32 = 0
                    for h in digits[0..<8] {
                        let v: UInt32 = h <= 0x39 ? UInt32(h - 0x30) : UInt32(h - 0x41 + 10)
                        t = t << 4 | v
                    }
                    tags.append(t)
                    vrs.append(VR(digits[8], digits[9]))
                    digits.removeAll(keepingCapacity: true)
                }
            }
        }
        return (tags, vrs)
    }()

    /// The dictionary VR of `tag`, or `UN` when the standard does not define it.
    public static func vr(for tag: Tag) -> VR {
        if tag.element == 0 { return .UL }
        if tag.isPrivate {
            return (0x0010...0x00FF).contains(tag.element) ? .LO : .UN
        }
        let key = tag.combined
        let tags = table.tags
        var lo = 0, hi = tags.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            if tags[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        if lo < tags.count && tags[lo] == key { return table.vrs[lo] }
        return .UN
    }
}
