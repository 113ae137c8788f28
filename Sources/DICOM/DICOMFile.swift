import Base
import Foundation

/// A DICOM file: its file meta information, its data set and how it was encoded.
///
/// Reads Part 10 files (128-byte preamble, `DICM`, meta group) and raw data sets
/// without them (implicit or explicit VR little endian, as older systems wrote), in
/// implicit VR LE, explicit VR LE, deflated explicit VR LE and explicit VR big endian.
/// Files with encapsulated (compressed) pixel data parse; decoding their pixels throws.
public struct DICOMFile: Sendable {
    /// File meta information (group 0002); empty for a raw data set.
    public var meta: DataSet
    public var dataSet: DataSet
    public var transferSyntax: TransferSyntax
    /// Whether the file had the 128-byte preamble and `DICM` prefix.
    public var hasPreamble: Bool
    public var path: String?

    public init(meta: DataSet, dataSet: DataSet, transferSyntax: TransferSyntax, hasPreamble: Bool, path: String?) {
        self.meta = meta
        self.dataSet = dataSet
        self.transferSyntax = transferSyntax
        self.hasPreamble = hasPreamble
        self.path = path
    }

    /// Reads and parses the file at `path`. Pixel data is not decoded: the file is mapped
    /// and values are slices of it, so listing many images touches little memory.
    /// - Throws: `SBRTError` naming the file, the problem and the byte offset.
    public static func read(path: String) throws -> DICOMFile {
        let data = try contents(ofFile: path)
        do {
            return try parse(data, path: path)
        } catch let error as SBRTError {
            throw error.inFile(path)
        }
    }

    /// Files at least this large are memory-mapped by `contents(ofFile:)`; smaller ones are read.
    public static let mappingThreshold = 64 * 1024

    /// The bytes of the file at `path`, memory-mapped when it holds at least
    /// `mappingThreshold` bytes, read into memory otherwise.
    ///
    /// Mapping matters for image series: values are slices of the file, so parsing a CT
    /// series copies nothing, and pixels are read from the page cache only when decoded.
    /// (Foundation's `.mappedIfSafe` reads the whole file into memory on Linux, which
    /// doubled the memory traffic of loading a large case; `.alwaysMapped` maps.)
    /// As with any mapping, a file truncated by another program while it is mapped can
    /// make a later access fail with SIGBUS; DICOM exports under review are not rewritten
    /// in place.
    /// - Throws: `SBRTError` of kind `.io` naming the file.
    public static func contents(ofFile path: String) throws -> Data {
        try InputFiles.read(path, mappingThreshold: mappingThreshold)
    }

    /// Whether `data` starts like DICOM: a Part 10 header, or a raw data set whose first
    /// element is a plausible group 0002 or 0008 element. Cheap; does not parse.
    public static func hasDICOMSignature(_ data: Data) -> Bool {
        detectLayout(data) != nil
    }

    enum Layout { case part10, metaWithoutPreamble, raw(explicit: Bool) }

    static func detectLayout(_ data: Data) -> Layout? {
        let b = data
        let s = b.startIndex
        if b.count >= 132 && b[s + 128] == 0x44 && b[s + 129] == 0x49 && b[s + 130] == 0x43 && b[s + 131] == 0x4D {
            return .part10
        }
        guard b.count >= 8 else { return nil }
        let group = UInt16(b[s]) | UInt16(b[s + 1]) << 8
        let element = UInt16(b[s + 2]) | UInt16(b[s + 3]) << 8
        let vr = VR(b[s + 4], b[s + 5])
        if group == 0x0002 && vr.isKnown { return .metaWithoutPreamble }
        if group == 0x0008 && element <= 0x0100 {
            if vr.isKnown { return .raw(explicit: true) }
            // Implicit VR: bytes 4..7 are a length; demand a sane one.
            let len = UInt32(b[s + 4]) | UInt32(b[s + 5]) << 8 | UInt32(b[s + 6]) << 16 | UInt32(b[s + 7]) << 24
            if len < 1024 || len == 0xFFFF_FFFF { return .raw(explicit: false) }
        }
        return nil
    }

    /// Parses a whole file held in memory.
    public static func parse(_ input: Data, path: String? = nil) throws -> DICOMFile {
        guard let layout = detectLayout(input) else {
            throw SBRTError(.notDICOM, input.count < 132
                ? "not a DICOM file (only \(input.count) bytes, no DICM prefix and no recognisable data set)"
                : "not a DICOM file (no DICM prefix at byte 128 and no recognisable data set)", file: path)
        }
        return try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) throws -> DICOMFile in
            guard let base = raw.baseAddress else {
                throw SBRTError(.notDICOM, "empty file", file: path)
            }
            var meta = DataSet()
            var pos = 0
            var ts: TransferSyntax
            var hasPreamble = false
            switch layout {
            case .part10, .metaWithoutPreamble:
                if case .part10 = layout { pos = 132; hasPreamble = true }
                var p = Parser(data: input, base: base, pos: pos, explicit: true, bigEndian: false)
                meta = try p.parseDataSet(limit: input.count, undefinedItem: false, depth: 0,
                                          characterSet: .default, metaOnly: true)
                pos = p.pos
                if meta.isEmpty && input.count - pos < 8 {
                    throw SBRTError(.truncated, "file is truncated: it ends after the DICM prefix, before the file meta information", file: path, offset: pos)
                }
                if meta.isEmpty {
                    throw SBRTError(.malformed, "the DICM prefix is not followed by file meta information (group 0002); the file is damaged", file: path, offset: pos)
                }
                if let uid = meta.string(.transferSyntaxUID), !uid.isEmpty {
                    guard let known = TransferSyntax.named(uid) else {
                        throw SBRTError(.unsupported, "unknown transfer syntax \(uid) in the file meta information", file: path)
                    }
                    ts = known
                } else {
                    ts = guessSyntax(input, at: pos)
                }
            case .raw(let explicit):
                ts = explicit ? .explicitVRLittleEndian : .implicitVRLittleEndian
            }

            var body = input
            var bodyBase = base
            var bodyStart = pos
            var fileOffset = 0
            var inflated = Data()
            if ts.deflated {
                inflated = try Inflate.raw(input[(input.startIndex + pos)...], path: path)
                fileOffset = pos
                body = inflated
                bodyStart = 0
            }
            let parseBody = { (b: UnsafeRawPointer) throws -> DataSet in
                var p = Parser(data: body, base: b, pos: bodyStart, explicit: ts.explicitVR,
                               bigEndian: ts.bigEndian, fileOffset: fileOffset)
                // Some writers label implicit data sets as explicit; detect and follow the bytes.
                if ts.explicitVR && !ts.bigEndian && body.count >= bodyStart + 6 {
                    let vr = VR(b.load(fromByteOffset: bodyStart + 4, as: UInt8.self),
                                b.load(fromByteOffset: bodyStart + 5, as: UInt8.self))
                    if !vr.isKnown { p.explicit = false }
                }
                return try p.parseDataSet(limit: body.count, undefinedItem: false, depth: 0, characterSet: .default)
            }
            let ds: DataSet
            if ts.deflated {
                ds = try inflated.withUnsafeBytes { (r: UnsafeRawBufferPointer) throws -> DataSet in
                    guard let b = r.baseAddress else { return DataSet() }
                    return try parseBody(b)
                }
            } else {
                _ = bodyBase
                bodyBase = base
                ds = try parseBody(bodyBase)
            }
            return DICOMFile(meta: meta, dataSet: ds, transferSyntax: ts, hasPreamble: hasPreamble, path: path)
        }
    }

    /// Without a transfer syntax in the meta group, guess from the first element's bytes.
    static func guessSyntax(_ d: Data, at pos: Int) -> TransferSyntax {
        let s = d.startIndex + pos
        guard d.count >= pos + 6 else { return .implicitVRLittleEndian }
        return VR(d[s + 4], d[s + 5]).isKnown ? .explicitVRLittleEndian : .implicitVRLittleEndian
    }

    // MARK: Convenience

    public var sopClassUID: String? { dataSet.string(.sopClassUID) ?? meta.string(.mediaStorageSOPClassUID) }
    public var sopInstanceUID: String? { dataSet.string(.sopInstanceUID) ?? meta.string(.mediaStorageSOPInstanceUID) }
    public var modality: String? { dataSet.string(.modality) }
}

extension DICOMFile {
    /// The uncompressed pixel data bytes (little endian), not copied from the file.
    /// - Throws: `unsupported` for encapsulated (compressed) pixel data, naming the
    ///   transfer syntax and how to decompress it; `missingAttribute` without pixel data.
    public func nativePixelData() throws -> Data {
        guard let e = dataSet[.pixelData] else {
            throw SBRTError(.missingAttribute, "no Pixel Data (7FE0,0010)", file: path)
        }
        switch e.value {
        case .bytes(let d): return d
        case .encapsulated:
            let ts = transferSyntax
            let tool: String
            if ts.uid.hasPrefix("1.2.840.10008.1.2.4.9") || ts.uid.hasPrefix("1.2.840.10008.1.2.4.20") {
                tool = "`gdcmconv --raw IN OUT` (GDCM) or `dcmj2pnm`-capable tools"
            } else if ts.uid == "1.2.840.10008.1.2.5" {
                tool = "`dcmdrle IN OUT` (dcmtk)"
            } else if ts.uid.hasPrefix("1.2.840.10008.1.2.4.8") {
                tool = "`dcmdjpls IN OUT` (dcmtk)"
            } else {
                tool = "`dcmdjpeg IN OUT` (dcmtk)"
            }
            throw SBRTError(.unsupported,
                             "pixel data is compressed with \(ts.name) (\(ts.uid)), which sbrt does not decode; decompress it first, e.g. with \(tool)",
                             file: path)
        case .sequence:
            throw SBRTError(.malformed, "Pixel Data (7FE0,0010) is a sequence", file: path)
        }
    }
}

extension DICOMFile {
    /// How sure a quick look at the first bytes is that a file is DICOM.
    public enum Signature: Sendable {
        /// The `DICM` prefix, or a file meta group at byte 0: certainly DICOM.
        case part10
        /// Starts like a raw data set (group 0008): probably DICOM.
        case rawDataSet
    }

    /// The signature of `data`, or nil when it does not start like DICOM at all.
    public static func signature(of data: Data) -> Signature? {
        switch detectLayout(data) {
        case .part10?, .metaWithoutPreamble?: return .part10
        case .raw?: return .rawDataSet
        case nil: return nil
        }
    }
}
