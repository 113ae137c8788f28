import Base
import Foundation

/// The bounded, non-recursive-in-depth-beyond-a-limit decoder of DICOM data sets.
///
/// Every read is checked against the end of its buffer, item or sequence; every
/// failure throws a `SBRTError` with the byte offset. Nesting deeper than
/// `maximumDepth` is refused rather than risking the stack.
struct Parser {
    static let maximumDepth = 64

    let data: Data
    let base: UnsafeRawPointer
    let count: Int
    var pos: Int
    var explicit: Bool
    var bigEndian: Bool
    /// Offset of `data` within the original file, so offsets in messages are file offsets.
    let fileOffset: Int

    init(data: Data, base: UnsafeRawPointer, pos: Int, explicit: Bool, bigEndian: Bool, fileOffset: Int = 0) {
        self.data = data
        self.base = base
        self.count = data.count
        self.pos = pos
        self.explicit = explicit
        self.bigEndian = bigEndian
        self.fileOffset = fileOffset
    }

    // MARK: Primitive reads

    @inline(__always)
    func u16(_ at: Int) -> UInt16 {
        let v = base.loadUnaligned(fromByteOffset: at, as: UInt16.self)
        return bigEndian ? v.byteSwapped : v
    }

    @inline(__always)
    func u32(_ at: Int) -> UInt32 {
        let v = base.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        return bigEndian ? v.byteSwapped : v
    }

    func fail(_ kind: SBRTError.Kind, _ message: String, at: Int? = nil) -> SBRTError {
        SBRTError(kind, message, offset: (at ?? pos) + fileOffset)
    }

    @inline(__always)
    func need(_ n: Int, _ what: @autoclosure () -> String, limit: Int) throws(SBRTError) {
        if pos + n > limit {
            if limit == count {
                throw fail(.truncated, "file is truncated: it ends inside \(what())")
            }
            throw fail(.malformed, "\(what()) runs past the end of its enclosing item or sequence")
        }
    }

    func slice(_ from: Int, _ length: Int) -> Data {
        let s = data.startIndex + from
        return data[s..<(s + length)]
    }

    // MARK: Data sets

    /// Parses elements until `limit`, or until an item delimiter when `undefinedItem`.
    /// With `metaOnly`, stops before the first element outside group 0002.
    mutating func parseDataSet(limit: Int, undefinedItem: Bool, depth: Int,
                               characterSet: SpecificCharacterSet, metaOnly: Bool = false) throws(SBRTError) -> DataSet {
        if depth > Parser.maximumDepth {
            throw fail(.malformed, "sequences are nested more than \(Parser.maximumDepth) levels deep")
        }
        var ds = DataSet()
        ds.characterSet = characterSet
        while true {
            if pos >= limit {
                if undefinedItem {
                    throw fail(.truncated, "an item of undefined length never closes (no item delimitation before the end of the \(limit == count ? "file" : "enclosing sequence"))")
                }
                break
            }
            if metaOnly {
                if pos + 2 > limit { break }
                if base.loadUnaligned(fromByteOffset: pos, as: UInt16.self) != 0x0002 { break }
            }
            guard let header = try elementHeader(limit: limit, undefinedItem: undefinedItem) else { return ds }
            var vr = header.vr
            let value = try elementValue(header, vr: &vr, limit: limit, depth: depth, characterSet: ds.characterSet)
            if header.tag == .specificCharacterSet, case .bytes(let d) = value {
                let terms = String(decoding: d, as: UTF8.self)
                    .split(separator: "\\", omittingEmptySubsequences: false).map(String.init)
                ds.characterSet = SpecificCharacterSet(terms: terms)
            }
            ds.appendParsed(Element(tag: header.tag, vr: vr, value: value))
        }
        return ds
    }

    /// An element's tag, VR and length as read at `pos`.
    struct ElementHeader {
        var tag: Tag
        var vr: VR
        var length: UInt32
        var start: Int
    }

    /// Reads the next element's header; nil at the item delimitation that closes an item
    /// of undefined length.
    mutating func elementHeader(limit: Int, undefinedItem: Bool) throws(SBRTError) -> ElementHeader? {
        try need(4, "an element tag", limit: limit)
        let tagStart = pos
        let tag = Tag(u16(pos), u16(pos + 2))
        pos += 4
        if tag == .itemDelimitation {
            try need(4, "an item delimitation length", limit: limit)
            pos += 4
            if undefinedItem { return nil }
            throw fail(.malformed, "item delimitation (FFFE,E00D) found outside an item of undefined length", at: tagStart)
        }
        if tag.group == 0xFFFE {
            throw fail(.malformed, "unexpected \(tag) where a data element was expected", at: tagStart)
        }
        guard explicit else {
            try need(4, "the length of element \(tag)", limit: limit)
            let length = u32(pos)
            pos += 4
            return ElementHeader(tag: tag, vr: DataDictionary.vr(for: tag), length: length, start: tagStart)
        }
        try need(4, "the header of element \(tag)", limit: limit)
        let vr = VR(base.load(fromByteOffset: pos, as: UInt8.self), base.load(fromByteOffset: pos + 1, as: UInt8.self))
        if !vr.isWellFormed {
            throw fail(.malformed, "element \(tag) has an invalid VR (bytes \(vr.first), \(vr.second)); the file may be damaged or mislabelled as explicit VR", at: tagStart)
        }
        let length: UInt32
        if vr.hasLongLength {
            try need(8, "the header of element \(tag)", limit: limit)
            length = u32(pos + 4)
            pos += 8
        } else {
            length = UInt32(u16(pos + 2))
            pos += 4
        }
        return ElementHeader(tag: tag, vr: vr, length: length, start: tagStart)
    }

    /// Reads an element's value after its header: bytes, a sequence, or encapsulated
    /// pixel data. A UN of undefined length becomes the sequence it is (`vr` → SQ).
    mutating func elementValue(_ h: ElementHeader, vr: inout VR, limit: Int, depth: Int,
                               characterSet: SpecificCharacterSet) throws(SBRTError) -> Value {
        let tag = h.tag
        if h.length == 0xFFFF_FFFF {
            if tag == .pixelData && (vr == .OB || vr == .OW || vr == .UN) {
                return try parseEncapsulated(limit: limit, depth: depth)
            }
            guard vr == .SQ || vr == .UN else {
                throw fail(.malformed, "element \(tag) (\(vr)) has undefined length, which only sequences and encapsulated pixel data may have", at: h.start)
            }
            // UN of undefined length is an implicit VR LE sequence (PS3.5 §6.2.2).
            let saved = (explicit, bigEndian)
            if vr == .UN { explicit = false; bigEndian = false }
            let items = try parseSequence(tag: tag, limit: limit, undefined: true, depth: depth, characterSet: characterSet)
            (explicit, bigEndian) = saved
            vr = .SQ
            return .sequence(items)
        }
        let n = Int(h.length)
        if n > limit - pos {
            if limit == count {
                throw fail(.truncated, "element \(tag) announces \(n) bytes but only \(count - pos) remain: the length points past the end of the file (file truncated or length corrupt)", at: h.start)
            }
            throw fail(.malformed, "element \(tag) announces \(n) bytes, past the end of its enclosing item or sequence", at: h.start)
        }
        if vr == .SQ {
            let end = pos + n
            let items = try parseSequence(tag: tag, limit: end, undefined: false, depth: depth, characterSet: characterSet)
            if pos != end { throw fail(.malformed, "sequence \(tag) items do not fill its defined length") }
            return .sequence(items)
        }
        var bytes = slice(pos, n)
        if bigEndian && vr.binaryWordSize > 1 {
            bytes = Parser.swapped(bytes, wordSize: vr.binaryWordSize)
        }
        pos += n
        return .bytes(bytes)
    }

    // MARK: Sequences

    mutating func parseSequence(tag: Tag, limit: Int, undefined: Bool, depth: Int,
                                characterSet: SpecificCharacterSet) throws(SBRTError) -> [DataSet] {
        var items: [DataSet] = []
        while true {
            if pos >= limit {
                if undefined {
                    throw fail(.truncated, "sequence \(tag) of undefined length never closes (no sequence delimitation before the end of the \(limit == count ? "file" : "enclosing item"))")
                }
                return items
            }
            try need(8, "an item header in sequence \(tag)", limit: limit)
            let itemTag = Tag(u16(pos), u16(pos + 2))
            let length = u32(pos + 4)
            let itemStart = pos
            pos += 8
            if itemTag == .sequenceDelimitation {
                if undefined { return items }
                throw fail(.malformed, "sequence delimitation inside sequence \(tag) of defined length", at: itemStart)
            }
            guard itemTag == .item else {
                throw fail(.malformed, "sequence \(tag) holds \(itemTag) where an item (FFFE,E000) was expected", at: itemStart)
            }
            if length == 0xFFFF_FFFF {
                items.append(try parseDataSet(limit: limit, undefinedItem: true, depth: depth + 1, characterSet: characterSet))
            } else {
                let n = Int(length)
                if n > limit - pos {
                    throw fail(limit == count ? .truncated : .malformed,
                               "an item of sequence \(tag) announces \(n) bytes, past the end of the \(limit == count ? "file" : "sequence")", at: itemStart)
                }
                let end = pos + n
                items.append(try parseDataSet(limit: end, undefinedItem: false, depth: depth + 1, characterSet: characterSet))
                pos = end
            }
        }
    }

    /// Encapsulated pixel data (PS3.5 §A.4): a basic offset table item, then fragments.
    mutating func parseEncapsulated(limit: Int, depth: Int) throws(SBRTError) -> Value {
        var items: [Data] = []
        while true {
            if pos >= limit {
                throw fail(.truncated, "encapsulated pixel data never closes (no sequence delimitation before the end of the file)")
            }
            try need(8, "a pixel data fragment header", limit: limit)
            let t = Tag(u16(pos), u16(pos + 2))
            let n = Int(u32(pos + 4))
            let start = pos
            pos += 8
            if t == .sequenceDelimitation { break }
            guard t == .item else {
                throw fail(.malformed, "encapsulated pixel data holds \(t) where a fragment item was expected", at: start)
            }
            if n > limit - pos {
                throw fail(.truncated, "a pixel data fragment of \(n) bytes runs past the end of the file", at: start)
            }
            items.append(slice(pos, n))
            pos += n
        }
        let table = items.isEmpty ? Data() : items.removeFirst()
        return .encapsulated(offsetTable: table, fragments: items)
    }

    static func swapped(_ d: Data, wordSize: Int) -> Data {
        var out = Data(d)
        out.withUnsafeMutableBytes { (raw: UnsafeMutableRawBufferPointer) in
            let n = raw.count / wordSize * wordSize
            var i = 0
            while i < n {
                var a = i, b = i + wordSize - 1
                while a < b { raw.swapAt(a, b); a += 1; b -= 1 }
                i += wordSize
            }
        }
        return out
    }

    /// Parses the bytes of a UN/SQ value of defined length as implicit VR LE items.
    static func parseSequenceBytes(_ d: Data, characterSet: SpecificCharacterSet) throws -> [DataSet] {
        let copy = Data(d)
        return try copy.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> [DataSet] in
            guard let base = raw.baseAddress else { return [] }
            var p = Parser(data: copy, base: base, pos: 0, explicit: false, bigEndian: false)
            return try p.parseSequence(tag: Tag(0, 0), limit: copy.count, undefined: false, depth: 1, characterSet: characterSet)
        }
    }
}
