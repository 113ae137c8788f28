import Base
import Foundation

/// Encodes data sets as Part 10 files in explicit VR little endian (1.2.840.10008.1.2.1).
///
/// - Values are padded to even length with the VR's padding byte (space for text,
///   NUL for UI and binary VRs).
/// - The file meta group is written with a correct (0002,0000) group length; other
///   group lengths, retired since 2008, are dropped, since edits would make them wrong.
/// - Sequences and items are written with undefined length and delimiters.
/// - A value too long for a 16-bit length field is written as UN, as PS3.5 §6.2.2
///   prescribes for explicit VR.
/// - Files are written to a temporary name in the target folder, then renamed, so a
///   failure never leaves a half-written file.
public enum DICOMWriter {
    /// The implementation class UID of sbrt, under the `2.25.` (UUID-derived) root.
    public static let implementationClassUID = "2.25.208957790397220781417383061829287077621"
    public static let implementationVersionName = "SBRT_0_1"

    /// The bytes of a complete Part 10 file for `dataSet`.
    public static func encodeFile(_ dataSet: DataSet) throws -> Data {
        joined(try encodeFileSegments(dataSet))
    }

    /// Consecutive segments as one `Data` (one allocation; a lone segment as it is).
    static func joined(_ segments: [Data]) -> Data {
        guard segments.count > 1 else { return segments.first ?? Data() }
        var whole = Data()
        whole.reserveCapacity(segments.reduce(0) { $0 + $1.count })
        for s in segments { whole.append(s) }
        return whole
    }

    /// The bytes of a complete Part 10 file for `dataSet`, as consecutive segments: a
    /// value of 64 KiB or more (a Pixel Data) is a segment of its own, the data set's own
    /// bytes, not copied; everything between is encoded into the segments around it.
    public static func encodeFileSegments(_ dataSet: DataSet) throws -> [Data] {
        guard let sopClass = dataSet.string(.sopClassUID), !sopClass.isEmpty else {
            throw SBRTError(.missingAttribute, "cannot write a file without SOP Class UID (0008,0016)")
        }
        guard let sopInstance = dataSet.string(.sopInstanceUID), !sopInstance.isEmpty else {
            throw SBRTError(.missingAttribute, "cannot write a file without SOP Instance UID (0008,0018)")
        }
        var meta = DataSet()
        meta[.fileMetaInformationVersion] = Element(tag: .fileMetaInformationVersion, vr: .OB, value: .bytes(Data([0, 1])))
        meta.set(.mediaStorageSOPClassUID, .UI, sopClass)
        meta.set(.mediaStorageSOPInstanceUID, .UI, sopInstance)
        meta.set(.transferSyntaxUID, .UI, TransferSyntax.explicitVRLittleEndian.uid)
        meta.set(.implementationClassUID, .UI, implementationClassUID)
        meta.set(.implementationVersionName, .SH, implementationVersionName)

        var metaBody = ByteSink()
        for e in meta.elements { try metaBody.write(e, characterSet: .default) }
        var out = ByteSink()
        // The bytes between large values at once (no regrowth); large values are not copied.
        let inline = dataSet.elements.reduce(0) { $0 + ($1.byteCount >= ByteSink.ownSegment && $1.bytes != nil ? 0 : $1.byteCount) + 13 }
        out.bytes.reserveCapacity(132 + 12 + 4096 + inline)
        out.bytes.append(contentsOf: [UInt8](repeating: 0, count: 128))
        out.bytes.append(contentsOf: Array("DICM".utf8))
        out.tag(.fileMetaInformationGroupLength)
        out.bytes.append(contentsOf: Array("UL".utf8))
        out.u16(4)
        // The meta group is short (UIDs), but a caller's value of 64 KiB or more would be a
        // segment of its own: joined here, so the group length counts every byte.
        let metaBytes = joined(metaBody.finished())
        out.u32(UInt32(metaBytes.count))
        out.bytes.append(contentsOf: metaBytes)
        for e in dataSet.elements where e.tag.group != 0x0002 && !(e.tag.isGroupLength) {
            try out.write(e, characterSet: dataSet.characterSet)
        }
        return out.finished()
    }

    /// Writes `dataSet` to `path` as one output (`OutputFiles`: atomic, never over an input).
    public static func write(_ dataSet: DataSet, to path: String) throws {
        var outputs = OutputFiles()
        outputs.add(segments: try encodeFileSegments(dataSet), to: path)
        try outputs.commit()
    }
}

/// A growing little-endian byte buffer with the element encoder. A large value is kept
/// as a segment of its own (`segments`), not copied into `bytes`.
struct ByteSink {
    /// Values of at least this many bytes become segments of their own.
    static let ownSegment = 1 << 16
    var bytes = Data()
    private var segments: [Data] = []

    /// Every byte written, in order.
    func finished() -> [Data] {
        let all = (segments + [bytes]).filter { !$0.isEmpty }
        return all.isEmpty ? [Data()] : all
    }

    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8((v >> 8) & 0xFF))
        bytes.append(UInt8((v >> 16) & 0xFF)); bytes.append(UInt8(v >> 24))
    }
    mutating func tag(_ t: Tag) { u16(t.group); u16(t.element) }

    mutating func header(_ tag: Tag, _ vr: VR, length: UInt32) {
        self.tag(tag)
        bytes.append(vr.first)
        bytes.append(vr.second)
        if vr.hasLongLength {
            u16(0)
            u32(length)
        } else {
            u16(UInt16(length))
        }
    }

    mutating func write(_ e: Element, characterSet: SpecificCharacterSet) throws {
        var vr = e.vr
        // A VR the standard does not define (read from a damaged file) is written as UN:
        // readers would take an unknown VR as a sign of implicit VR and misread the file.
        if !vr.isKnown { vr = .UN }
        if vr == .UN {
            let known = DataDictionary.vr(for: e.tag)
            if known != .UN { vr = known }
        }
        switch e.value {
        case .sequence(let items):
            try writeSequence(e.tag, items)
        case .bytes(let d):
            if vr == .SQ {
                // A sequence that arrived as UN bytes: decode it and write it as items.
                try writeSequence(e.tag, try Parser.parseSequenceBytes(d, characterSet: characterSet))
                return
            }
            let padded = d.count & 1 == 1 ? d.count + 1 : d.count
            let padding = vr.paddingByte
            if !vr.hasLongLength && padded > 0xFFFE { vr = .UN }
            if padded > 0xFFFF_FFFE {
                throw SBRTError(.invalidValue, "value of \(e.tag) is too long to encode (\(d.count) bytes)")
            }
            header(e.tag, vr, length: UInt32(padded))
            if d.count >= Self.ownSegment {
                segments.append(bytes)
                segments.append(d)
                bytes = Data()
            } else {
                bytes.append(contentsOf: d)
            }
            if padded != d.count { bytes.append(padding) }
        case .encapsulated(let table, let fragments):
            header(e.tag, vr == .OW ? .OW : .OB, length: 0xFFFF_FFFF)
            for frag in [table] + fragments {
                tag(.item)
                let padded = frag.count & 1 == 1 ? frag.count + 1 : frag.count
                u32(UInt32(padded))
                bytes.append(contentsOf: frag)
                if padded != frag.count { bytes.append(0) }
            }
            tag(.sequenceDelimitation)
            u32(0)
        }
    }

    mutating func writeSequence(_ t: Tag, _ items: [DataSet]) throws {
        header(t, .SQ, length: 0xFFFF_FFFF)
        for item in items {
            tag(.item)
            u32(0xFFFF_FFFF)
            for e in item.elements where !e.tag.isGroupLength {
                try write(e, characterSet: item.characterSet)
            }
            tag(.itemDelimitation)
            u32(0)
        }
        tag(.sequenceDelimitation)
        u32(0)
    }
}

// MARK: Building data sets

extension DataSet {
    /// Sets a text attribute; several values are joined with backslashes.
    /// Text in SH/LO/ST/LT/UC/UT/PN is encoded in the data set's character set; text that
    /// set cannot hold switches the data set to ISO_IR 192 (UTF-8) rather than lose
    /// characters (only valid on a top-level data set whose other text is ASCII).
    public mutating func set(_ tag: Tag, _ vr: VR, _ values: String...) {
        set(tag, vr, strings: values)
    }

    public mutating func set(_ tag: Tag, _ vr: VR, strings values: [String]) {
        let text = values.joined(separator: "\\")
        var data: Data
        if vr.usesSpecificCharacterSet {
            if let d = characterSet.encode(text) {
                data = d
            } else {
                characterSet = SpecificCharacterSet(encoding: .utf8, terms: ["ISO_IR 192"])
                self[.specificCharacterSet] = Element(tag: .specificCharacterSet, vr: .CS,
                                                      value: .bytes(Data("ISO_IR 192".utf8)))
                data = Data(text.utf8)
            }
        } else {
            data = Data(text.utf8)
        }
        self[tag] = Element(tag: tag, vr: vr, value: .bytes(data))
    }

    /// Sets a DS attribute from numbers, each formatted in at most 16 characters.
    public mutating func set(_ tag: Tag, decimals values: [Double]) {
        set(tag, .DS, strings: values.map(DecimalString.format))
    }

    /// Sets an IS attribute.
    public mutating func set(_ tag: Tag, integers values: [Int]) {
        set(tag, .IS, strings: values.map { String($0) })
    }

    /// Sets a binary attribute (US, SS, UL, SL, FL, FD, OB, OW, OF, AT…) from packed values.
    public mutating func set<T>(_ tag: Tag, _ vr: VR, binary values: [T]) {
        let data = values.withUnsafeBytes { Data($0) }
        self[tag] = Element(tag: tag, vr: vr, value: .bytes(data))
    }

    public mutating func set(_ tag: Tag, _ vr: VR, data: Data) {
        self[tag] = Element(tag: tag, vr: vr, value: .bytes(data))
    }

    /// Sets a sequence; items inherit this data set's character set.
    public mutating func set(_ tag: Tag, items: [DataSet]) {
        let cs = characterSet
        let adopted = items.map { item -> DataSet in
            var copy = item
            if copy.characterSet == .default { copy.characterSet = cs }
            return copy
        }
        self[tag] = Element(tag: tag, vr: .SQ, value: .sequence(adopted))
    }
}
