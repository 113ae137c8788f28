import Base
import Foundation

/// The value of one data element.
///
/// Binary numbers are always held little endian in memory: the reader swaps
/// big-endian files once, so accessors never need to know the transfer syntax.
/// Byte values are slices of the file's bytes (no copy), so a large pixel-data
/// value costs nothing until it is decoded.
public enum Value: Sendable {
    /// The raw value bytes, without padding removed.
    case bytes(Data)
    /// The items of a sequence (VR SQ, or UN of undefined length).
    case sequence([DataSet])
    /// Encapsulated (compressed) pixel data: the basic offset table and the fragments.
    case encapsulated(offsetTable: Data, fragments: [Data])
}

/// One data element: tag, VR and value.
public struct Element: Sendable {
    public var tag: Tag
    public var vr: VR
    public var value: Value

    public init(tag: Tag, vr: VR, value: Value) {
        self.tag = tag
        self.vr = vr
        self.value = value
    }

    /// The raw bytes, or nil for sequences and encapsulated data.
    public var bytes: Data? {
        if case .bytes(let d) = value { return d }
        return nil
    }

    /// Length of the value in bytes as it would be stored (sequences count as 0 here).
    public var byteCount: Int {
        switch value {
        case .bytes(let d): return d.count
        case .sequence: return 0
        case .encapsulated(let t, let f): return t.count + f.reduce(0) { $0 + $1.count }
        }
    }
}

/// An ordered collection of data elements: a DICOM data set or a sequence item.
///
/// Elements are kept sorted by tag. Lookup is a binary search (O(log n)).
/// String accessors decode with the data set's character set, which items inherit
/// from the data set that holds them.
public struct DataSet: Sendable {
    public private(set) var elements: [Element] = []
    /// The character set named by (0008,0005), inherited by items.
    public var characterSet: SpecificCharacterSet = .default

    public init() {}

    public init(elements: [Element], characterSet: SpecificCharacterSet = .default) {
        self.characterSet = characterSet
        for e in elements { self[e.tag] = e }
    }

    public var isEmpty: Bool { elements.isEmpty }
    public var count: Int { elements.count }

    @inline(__always)
    private func index(of tag: Tag) -> (found: Bool, index: Int) {
        let key = tag.combined
        var lo = 0, hi = elements.count
        // Elements arrive in order, so the last position is the common insertion point.
        if hi > 0 && elements[hi - 1].tag.combined < key { return (false, hi) }
        while lo < hi {
            let mid = (lo + hi) >> 1
            if elements[mid].tag.combined < key { lo = mid + 1 } else { hi = mid }
        }
        return (lo < elements.count && elements[lo].tag == tag, lo)
    }

    /// The element with `tag`, if present. Setting nil removes it.
    public subscript(tag: Tag) -> Element? {
        get {
            let (found, i) = index(of: tag)
            return found ? elements[i] : nil
        }
        set {
            let (found, i) = index(of: tag)
            switch (found, newValue) {
            case (true, let e?): elements[i] = e
            case (true, nil): elements.remove(at: i)
            case (false, let e?): elements.insert(e, at: i)
            case (false, nil): break
            }
        }
    }

    public func contains(_ tag: Tag) -> Bool { index(of: tag).found }

    /// Appends an element known to sort after all present ones, or inserts it in order.
    /// A repeated tag keeps the first occurrence (what most readers do with such files).
    mutating func appendParsed(_ e: Element) {
        let (found, i) = index(of: e.tag)
        if found { return }
        if i == elements.count { elements.append(e) } else { elements.insert(e, at: i) }
    }

    // MARK: Raw values

    /// The raw bytes of `tag`, or nil when absent or not a byte value.
    public func bytes(_ tag: Tag) -> Data? { self[tag]?.bytes }

    /// The items of the sequence `tag`; nil when absent.
    ///
    /// A sequence that arrived as `UN` with a defined length (an implicit-VR file whose
    /// dictionary did not know the tag, or a private sequence) is parsed here as
    /// implicit VR little endian, as PS3.5 §6.2.2 prescribes for UN.
    public func sequence(_ tag: Tag) -> [DataSet]? {
        guard let e = self[tag] else { return nil }
        switch e.value {
        case .sequence(let items): return items
        case .bytes(let d):
            if d.isEmpty { return [] }
            guard e.vr == .UN || e.vr == .SQ else { return nil }
            return try? Parser.parseSequenceBytes(d, characterSet: characterSet)
        case .encapsulated: return nil
        }
    }

    // MARK: Text

    /// The whole text value of `tag`, decoded and stripped of padding; nil when absent.
    ///
    /// Trailing spaces and NULs are removed; leading spaces too, except for LT, ST and
    /// UT whose leading spaces are significant.
    public func string(_ tag: Tag) -> String? {
        guard let e = self[tag], let d = e.bytes else { return nil }
        let vr = effectiveVR(e)
        return DataSet.decodeText(d, vr: vr, characterSet: characterSet)
    }

    /// The values of a multi-valued text attribute, split on backslashes and trimmed.
    public func strings(_ tag: Tag) -> [String]? {
        guard let e = self[tag], let d = e.bytes else { return nil }
        let vr = effectiveVR(e)
        if vr.isSingleValuedText {
            return DataSet.decodeText(d, vr: vr, characterSet: characterSet).map { [$0] }
        }
        guard let whole = DataSet.decodeRaw(d, vr: vr, characterSet: characterSet) else { return nil }
        if whole.isEmpty { return [] }
        return whole.split(separator: "\\", omittingEmptySubsequences: false).map {
            String($0).trimmingCharacters(in: DataSet.padding)
        }
    }

    /// The VR to interpret a value with: the dictionary's when the file said UN.
    func effectiveVR(_ e: Element) -> VR {
        e.vr == .UN ? DataDictionary.vr(for: e.tag) : e.vr
    }

    static let padding = CharacterSet(charactersIn: " \0")

    static func decodeRaw(_ d: Data, vr: VR, characterSet: SpecificCharacterSet) -> String? {
        if vr.usesSpecificCharacterSet {
            return characterSet.decode(d)
        }
        return SpecificCharacterSet.default.decode(d)
    }

    static func decodeText(_ d: Data, vr: VR, characterSet: SpecificCharacterSet) -> String? {
        guard let s = decodeRaw(d, vr: vr, characterSet: characterSet) else { return nil }
        if vr == .LT || vr == .ST || vr == .UT {
            var t = Substring(s)
            while let last = t.last, last == " " || last == "\0" { t = t.dropLast() }
            return String(t)
        }
        return s.trimmingCharacters(in: padding)
    }

    // MARK: Numbers in text (DS, IS)

    /// The numbers of a DS or IS attribute (tolerant: surrounding spaces, `+`, exponents,
    /// no decimal comma). Returns nil when absent; throws when a value is not a number.
    public func doubles(_ tag: Tag) throws -> [Double]? {
        guard let e = self[tag] else { return nil }
        switch e.value {
        case .bytes(let d):
            let vr = effectiveVR(e)
            switch vr {
            case .FD, .OD: return binaryArray(d, Double.self)
            case .FL, .OF: return binaryArray(d, Float.self).map(Double.init)
            case .US: return binaryArray(d, UInt16.self).map(Double.init)
            case .SS: return binaryArray(d, Int16.self).map(Double.init)
            case .UL: return binaryArray(d, UInt32.self).map(Double.init)
            case .SL: return binaryArray(d, Int32.self).map(Double.init)
            default:
                do {
                    return try DecimalString.parse(d)
                } catch let err {
                    let hint = err.token.contains(",") ? " (a decimal comma? DICOM numbers use a point)" : ""
                    throw SBRTError(.invalidValue, "\(tag) holds \"\(err.token)\", which is not a number\(hint)")
                }
            }
        default:
            throw SBRTError(.invalidValue, "\(tag) is a sequence, not a number")
        }
    }

    /// The first number of a DS/IS (or binary numeric) attribute.
    public func double(_ tag: Tag) throws -> Double? {
        guard let values = try doubles(tag) else { return nil }
        return values.first
    }

    /// The integers of an IS (or binary integer) attribute; a DS-like "5.0" is accepted
    /// when it is integral.
    public func ints(_ tag: Tag) throws -> [Int]? {
        guard let values = try doubles(tag) else { return nil }
        return try values.map { v in
            guard v.isFinite, v.rounded() == v, abs(v) < 9.0e15 else {
                throw SBRTError(.invalidValue, "\(tag) holds \(v), which is not an integer")
            }
            return Int(v)
        }
    }

    public func int(_ tag: Tag) throws -> Int? { try ints(tag)?.first }

    // MARK: Binary numbers

    /// The values of a binary attribute read as `T` (little endian in memory).
    public func binary<T: FixedWidthInteger>(_ tag: Tag, as: T.Type) -> [T]? {
        guard let d = bytes(tag) else { return nil }
        return binaryArray(d, T.self)
    }

    public func uint16(_ tag: Tag) -> UInt16? { binary(tag, as: UInt16.self)?.first }
    public func uint32(_ tag: Tag) -> UInt32? { binary(tag, as: UInt32.self)?.first }

    /// An AT value as a tag.
    public func tagValue(_ tag: Tag) -> Tag? {
        guard let words = binary(tag, as: UInt16.self), words.count >= 2 else { return nil }
        return Tag(words[0], words[1])
    }
}

/// Reads `d` as packed little-endian values of `T`; a trailing partial value is ignored.
@usableFromInline
func binaryArray<T>(_ d: Data, _: T.Type) -> [T] {
    let n = d.count / MemoryLayout<T>.size
    return [T](unsafeUninitializedCapacity: n) { buf, count in
        d.withUnsafeBytes { raw in
            let dst = UnsafeMutableRawBufferPointer(buf)
            dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<(n * MemoryLayout<T>.size)]))
        }
        count = n
    }
}
