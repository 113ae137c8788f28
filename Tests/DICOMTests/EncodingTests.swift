import Foundation
import XCTest
@testable import DICOM

/// The reader decodes every encoding it claims to (PS3.5 §7, §10, §A): each test builds the
/// bytes by hand, independently of `DICOMWriter`.
final class EncodingTests: XCTestCase {

    static let implicitLE = "1.2.840.10008.1.2"
    static let explicitLE = "1.2.840.10008.1.2.1"
    static let deflatedLE = "1.2.840.10008.1.2.1.99"
    static let explicitBE = "1.2.840.10008.1.2.2"
    static let jpegBaseline = "1.2.840.10008.1.2.4.50"

    // MARK: Implicit VR little endian

    /// Implicit VR: the VR comes from the dictionary; sequence and items of undefined length
    /// end at their delimiters.
    func testImplicitVRWithUndefinedLengthSequenceAndItems() throws {
        var b = Bytes()
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.481.2", vr: "UI")
        b.implicit(0x0008, 0x0018, text: "1.2.3.4.5", vr: "UI")
        b.implicit(0x0008, 0x0060, text: "RTDOSE")
        b.implicitUndefined(0x0008, 0x1140)                       // Referenced Image Sequence
        for i in 1...2 {
            b.itemStart()
            b.implicit(0x0008, 0x1150, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
            b.implicit(0x0008, 0x1155, text: "1.2.3.\(i)", vr: "UI")
            b.itemEnd()
        }
        b.sequenceEnd()
        b.implicit(0x0010, 0x0010, text: "Doe^John")
        b.implicit(0x0028, 0x0010, Bytes.le16([512]))             // Rows, US
        b.implicit(0x3004, 0x000C, text: "0\\2.5\\5")              // Grid Frame Offset Vector, DS

        let f = try DICOMFile.parse(part10File(transferSyntax: Self.implicitLE, body: b.data))
        XCTAssertEqual(f.transferSyntax, .implicitVRLittleEndian)
        let ds = f.dataSet
        XCTAssertEqual(ds.string(.modality), "RTDOSE")
        XCTAssertEqual(ds[.modality]?.vr, .CS, "implicit VR takes the dictionary VR")
        XCTAssertEqual(ds[Tag(0x0008, 0x1140)]?.vr, .SQ)
        let items = try XCTUnwrap(ds.sequence(Tag(0x0008, 0x1140)))
        XCTAssertEqual(items.map { $0.string(.referencedSOPInstanceUID) }, ["1.2.3.1", "1.2.3.2"])
        XCTAssertEqual(items[0].string(.referencedSOPClassUID), "1.2.840.10008.5.1.4.1.1.2")
        XCTAssertEqual(ds.string(.patientName), "Doe^John")
        XCTAssertEqual(ds.uint16(.rows), 512)
        XCTAssertEqual(ds[.rows]?.vr, .US)
        XCTAssertEqual(try ds.doubles(.gridFrameOffsetVector), [0, 2.5, 5])
    }

    /// Some writers label an implicit VR data set as explicit VR; the reader follows the bytes.
    func testImplicitDataSetMislabelledAsExplicitIsStillRead() throws {
        var b = Bytes()
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        b.implicit(0x0010, 0x0010, text: "Doe^John")
        let f = try DICOMFile.parse(part10File(transferSyntax: Self.explicitLE, body: b.data))
        XCTAssertEqual(f.dataSet.string(.patientName), "Doe^John")
        XCTAssertEqual(f.dataSet.string(.sopClassUID), "1.2.840.10008.5.1.4.1.1.2")
    }

    /// Older systems wrote bare data sets: no preamble, no DICM, no meta group.
    func testRawImplicitDataSetWithoutPreambleOrMeta() throws {
        var b = Bytes()
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        b.implicit(0x0008, 0x0018, text: "1.2.3.4.5.6", vr: "UI")
        b.implicit(0x0008, 0x0060, text: "CT")
        b.implicit(0x0020, 0x0032, text: "-250\\-250\\12.5", vr: "DS")
        b.implicit(0x0028, 0x0011, Bytes.le16([256]))
        XCTAssertTrue(DICOMFile.hasDICOMSignature(b.data))
        let f = try DICOMFile.parse(b.data)
        XCTAssertFalse(f.hasPreamble)
        XCTAssertTrue(f.meta.isEmpty)
        XCTAssertEqual(f.transferSyntax, .implicitVRLittleEndian)
        XCTAssertEqual(f.sopInstanceUID, "1.2.3.4.5.6")
        XCTAssertEqual(f.modality, "CT")
        XCTAssertEqual(try f.dataSet.doubles(.imagePositionPatient), [-250, -250, 12.5])
        XCTAssertEqual(f.dataSet.uint16(.columns), 256)
    }

    func testRawExplicitDataSetWithoutPreambleOrMeta() throws {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicit(0x0008, 0x0060, "CS", text: "CT")
        b.explicit(0x0028, 0x0010, "US", Bytes.le16([64]))
        let f = try DICOMFile.parse(b.data)
        XCTAssertFalse(f.hasPreamble)
        XCTAssertEqual(f.transferSyntax, .explicitVRLittleEndian)
        XCTAssertEqual(f.modality, "CT")
        XCTAssertEqual(f.dataSet.uint16(.rows), 64)
    }

    /// A meta group without the preamble (seen from some network dumps) is still read.
    func testMetaGroupWithoutPreamble() throws {
        var body = Bytes()
        body.explicit(0x0008, 0x0060, "CS", text: "MR")
        let full = part10File(transferSyntax: Self.explicitLE, body: body.data)
        let f = try DICOMFile.parse(full.subdata(in: 132..<full.count))
        XCTAssertFalse(f.hasPreamble)
        XCTAssertEqual(f.meta.string(.transferSyntaxUID), Self.explicitLE)
        XCTAssertEqual(f.modality, "MR")
    }

    /// `Data` slices do not start at index 0; parsing one must give the same result.
    func testParsingADataSliceWithNonZeroStartIndex() throws {
        var body = Bytes()
        body.explicit(0x0008, 0x0060, "CS", text: "CT")
        body.explicit(0x0028, 0x0010, "US", Bytes.le16([7]))
        let file = part10File(transferSyntax: Self.explicitLE, body: body.data)
        let padded = Data([0xAA, 0xBB, 0xCC]) + file
        let slice = padded[3...]
        XCTAssertEqual(slice.startIndex, 3)
        let f = try DICOMFile.parse(slice)
        XCTAssertEqual(f.modality, "CT")
        XCTAssertEqual(f.dataSet.uint16(.rows), 7)
        XCTAssertEqual(f.dataSet.bytes(.modality), Data("CT".utf8))
    }

    // MARK: Explicit VR big endian

    func testExplicitVRBigEndianSwapsBinaryValuesAndLeavesTextAlone() throws {
        var b = Bytes(bigEndian: true)
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicit(0x0008, 0x0060, "CS", text: "CT")
        b.explicit(0x0010, 0x0010, "PN", text: "Doe^John")
        b.explicit(0x0020, 0x0032, "DS", text: "-1.5\\2\\3E1")
        var us = Bytes(bigEndian: true); us.u16(512)
        b.explicit(0x0028, 0x0010, "US", us.data)
        var ss = Bytes(bigEndian: true); ss.u16(UInt16(bitPattern: -2))
        b.explicit(0x0028, 0x0106, "SS", ss.data)
        var at = Bytes(bigEndian: true); at.u16(0x3004); at.u16(0x000C)
        b.explicit(0x0028, 0x0009, "AT", at.data)
        var ul = Bytes(bigEndian: true); ul.u32(0x0102_0304); ul.u32(70000)
        b.explicit(0x0028, 0x9001, "UL", ul.data)
        var fl = Bytes(bigEndian: true); fl.u32(Float(-0.75).bitPattern)
        b.explicit(0x0028, 0x9002, "FL", fl.data)
        var fd = Bytes(bigEndian: true)
        withUnsafeBytes(of: (1.5).bitPattern.bigEndian) { fd.raw(Data($0)) }
        withUnsafeBytes(of: (-1e10).bitPattern.bigEndian) { fd.raw(Data($0)) }
        b.explicit(0x0028, 0x9003, "FD", fd.data)
        // A sequence in big endian: item headers are big endian too.
        b.explicitUndefined(0x3006, 0x0039)
        b.itemStart()
        b.explicit(0x3006, 0x0046, "IS", text: "3")
        b.explicit(0x3006, 0x0084, "IS", text: "42")
        b.itemEnd()
        b.sequenceEnd()
        var ow = Bytes(bigEndian: true); ow.u16(0x0102); ow.u16(0xFFFE)
        b.explicit(0x7FE0, 0x0010, "OW", ow.data)

        let f = try DICOMFile.parse(part10File(transferSyntax: Self.explicitBE, body: b.data))
        XCTAssertEqual(f.transferSyntax, .explicitVRBigEndian)
        let ds = f.dataSet
        XCTAssertEqual(ds.uint16(.rows), 512)
        XCTAssertEqual(try ds.int(.rows), 512)
        XCTAssertEqual(ds.binary(Tag(0x0028, 0x0106), as: Int16.self), [-2])
        XCTAssertEqual(ds.tagValue(.frameIncrementPointer), Tag(0x3004, 0x000C))
        XCTAssertEqual(ds.binary(Tag(0x0028, 0x9001), as: UInt32.self), [0x0102_0304, 70000])
        XCTAssertEqual(try ds.doubles(Tag(0x0028, 0x9002)), [-0.75])
        XCTAssertEqual(try ds.doubles(Tag(0x0028, 0x9003)), [1.5, -1e10])
        XCTAssertEqual(ds.string(.modality), "CT")
        XCTAssertEqual(ds.string(.patientName), "Doe^John")
        XCTAssertEqual(ds.bytes(.patientName), Data("Doe^John".utf8), "text bytes are not swapped")
        XCTAssertEqual(try ds.doubles(.imagePositionPatient), [-1.5, 2, 30])
        let items = try XCTUnwrap(ds.sequence(.roiContourSequence))
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(try items[0].int(.referencedROINumber), 42)
        XCTAssertEqual(try f.nativePixelData(), Bytes.le16([0x0102, 0xFFFE]), "pixel data is handed out little endian")
    }

    // MARK: Deflated explicit VR little endian

    func testDeflatedExplicitVRLittleEndian() throws {
        var body = Bytes()
        body.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.481.3")
        body.explicit(0x0008, 0x0060, "CS", text: "RTSTRUCT")
        body.explicit(0x0010, 0x0010, "PN", text: "Deflated^Dora")
        body.explicitUndefined(0x3006, 0x0020)
        body.itemStart()
        body.explicit(0x3006, 0x0022, "IS", text: "7")
        body.explicit(0x3006, 0x0026, "LO", text: "PTV")
        body.itemEnd()
        body.sequenceEnd()
        body.explicit(0x3006, 0x0050, "DS", text: String(repeating: "1.25\\", count: 200) + "1.25")
        let compressed = Inflate.deflateRaw(body.data)
        XCTAssertLessThan(compressed.count, body.data.count)
        let file = part10File(transferSyntax: Self.deflatedLE, body: compressed)

        let f = try DICOMFile.parse(file)
        XCTAssertEqual(f.transferSyntax, .deflatedExplicitVRLittleEndian)
        XCTAssertEqual(f.meta.string(.transferSyntaxUID), Self.deflatedLE, "the meta group is not compressed")
        XCTAssertEqual(f.modality, "RTSTRUCT")
        XCTAssertEqual(f.dataSet.string(.patientName), "Deflated^Dora")
        let rois = try XCTUnwrap(f.dataSet.sequence(.structureSetROISequence))
        XCTAssertEqual(try rois.first?.int(.roiNumber), 7)
        XCTAssertEqual(rois.first?.string(.roiName), "PTV")
        XCTAssertEqual(try f.dataSet.doubles(.contourData), [Double](repeating: 1.25, count: 201))
    }

    func testInflateRoundTripsAndRejectsGarbageAndTruncation() throws {
        let text = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 % 251) })
        let packed = Inflate.deflateRaw(text)
        XCTAssertEqual(try Inflate.raw(packed, path: nil), text)
        assertDICOMError(.truncated, containing: "truncated") { try Inflate.raw(packed.prefix(packed.count / 2), path: nil) }
        assertDICOMError(.malformed, containing: "corrupt") { try Inflate.raw(Data([0xFF, 0xFF, 0xFF, 0xFF]), path: nil) }
    }

    func testTruncatedDeflatedBodyIsATruncationError() throws {
        var body = Bytes()
        body.explicit(0x0008, 0x0060, "CS", text: "CT")
        body.explicit(0x0010, 0x0010, "PN", text: String(repeating: "X", count: 3000))
        let compressed = Inflate.deflateRaw(body.data)
        let file = part10File(transferSyntax: Self.deflatedLE, body: compressed.prefix(compressed.count - 4))
        assertDICOMError(.truncated, containing: "deflate") { try DICOMFile.parse(file) }
    }

    // MARK: UN sequences

    /// PS3.5 §6.2.2: a sequence sent as UN of undefined length is implicit VR LE inside,
    /// even in an explicit VR file; reading resumes in explicit VR after it.
    func testUNOfUndefinedLengthInExplicitVRIsAnImplicitVRSequence() throws {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.481.3")
        b.explicitUndefined(0x3006, 0x0010, "UN")                // Referenced Frame of Reference Sequence
        b.itemStart()
        b.implicit(0x0020, 0x0052, text: "1.2.3.99", vr: "UI")   // Frame of Reference UID
        b.implicitUndefined(0x3006, 0x0012)                       // nested RT Referenced Study Sequence
        b.itemStart()
        b.implicit(0x0008, 0x1150, text: "1.2.840.10008.3.1.2.3.1", vr: "UI")
        b.itemEnd()
        b.sequenceEnd()
        b.itemEnd()
        b.sequenceEnd()
        b.explicit(0x3006, 0x0020, "SQ", Data())                 // an empty explicit SQ right after
        b.explicit(0x3006, 0x0026, "LO", text: "after")

        let f = try DICOMFile.parse(part10File(transferSyntax: Self.explicitLE, body: b.data))
        let ds = f.dataSet
        XCTAssertEqual(ds[.referencedFrameOfReferenceSequence]?.vr, .SQ)
        let items = try XCTUnwrap(ds.sequence(.referencedFrameOfReferenceSequence))
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(items[0].string(.frameOfReferenceUID), "1.2.3.99")
        XCTAssertEqual(items[0][.frameOfReferenceUID]?.vr, .UI, "items are implicit VR: VRs come from the dictionary")
        XCTAssertEqual(items[0].sequence(.rtReferencedStudySequence)?.first?.string(.referencedSOPClassUID),
                       "1.2.840.10008.3.1.2.3.1")
        XCTAssertEqual(ds.sequence(.structureSetROISequence)?.count, 0)
        XCTAssertEqual(ds.string(.roiName), "after", "explicit VR resumes after the UN sequence")
    }

    /// An implicit VR file with a private sequence: the dictionary cannot know it is a
    /// sequence, so it stays bytes (UN) and `sequence(_:)` parses it when asked.
    func testPrivateDefinedLengthSequenceInImplicitVRIsParsedLazily() throws {
        var item1 = Bytes()
        item1.implicit(0x0009, 0x1001, text: "inner")
        item1.implicit(0x0010, 0x0010, text: "Nested^Name")
        var item2 = Bytes()
        item2.implicit(0x0028, 0x0010, Bytes.le16([12]))
        var seq = Bytes()
        seq.itemStart(length: UInt32(item1.data.count))
        seq.raw(item1.data)
        seq.itemStart()                                         // items of undefined length are allowed too
        seq.raw(item2.data)
        seq.itemEnd()

        var b = Bytes()
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        b.implicit(0x0009, 0x0010, text: "ACME 1.0")
        b.implicit(0x0009, 0x1002, seq.data)
        b.implicit(0x0010, 0x0010, text: "Outer^Name")
        let f = try DICOMFile.parse(part10File(transferSyntax: Self.implicitLE, body: b.data))
        let ds = f.dataSet

        XCTAssertEqual(ds[Tag(0x0009, 0x1002)]?.vr, .UN)
        XCTAssertEqual(ds.bytes(Tag(0x0009, 0x1002)), seq.data, "the value is kept as bytes")
        XCTAssertEqual(ds.string(Tag(0x0009, 0x0010)), "ACME 1.0")
        XCTAssertEqual(ds[Tag(0x0009, 0x0010)]?.vr, .LO, "private creators are LO")
        let items = try XCTUnwrap(ds.sequence(Tag(0x0009, 0x1002)))
        XCTAssertEqual(items.count, 2)
        XCTAssertEqual(items[0].string(.patientName), "Nested^Name")
        XCTAssertEqual(items[0].bytes(Tag(0x0009, 0x1001)), Data("inner ".utf8))
        XCTAssertEqual(items[1].uint16(.rows), 12)
        XCTAssertEqual(ds.string(.patientName), "Outer^Name")
        XCTAssertNil(ds.sequence(.patientName), "text is not a sequence")
    }

    func testUNBytesThatAreNotASequenceGiveNil() throws {
        var ds = DataSet()
        ds.set(Tag(0x0009, 0x1002), .UN, data: Data([1, 2, 3, 4, 5, 6, 7, 8]))
        XCTAssertNil(ds.sequence(Tag(0x0009, 0x1002)))
        ds.set(Tag(0x0009, 0x1003), .UN, data: Data())
        XCTAssertEqual(ds.sequence(Tag(0x0009, 0x1003))?.count, 0)
    }

    // MARK: Encapsulated pixel data

    func jpegFile() -> Data {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicit(0x0008, 0x0060, "CS", text: "CT")
        b.explicit(0x0028, 0x0010, "US", Bytes.le16([2]))
        b.explicit(0x0028, 0x0011, "US", Bytes.le16([2]))
        b.explicitUndefined(0x7FE0, 0x0010, "OB")
        var table = Bytes(); table.u32(0)
        b.itemStart(length: 4); b.raw(table.data)               // basic offset table: one frame at 0
        b.itemStart(length: 6); b.raw([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10])
        b.itemStart(length: 4); b.raw([0x4A, 0x46, 0xFF, 0xD9])
        b.sequenceEnd()
        return part10File(transferSyntax: Self.jpegBaseline, body: b.data)
    }

    func testEncapsulatedPixelDataParsesIntoOffsetTableAndFragments() throws {
        let f = try DICOMFile.parse(jpegFile())
        XCTAssertTrue(f.transferSyntax.encapsulated)
        XCTAssertTrue(f.transferSyntax.explicitVR)
        XCTAssertEqual(f.transferSyntax.name, "JPEG Baseline (Process 1)")
        XCTAssertEqual(f.dataSet.uint16(.rows), 2)
        let e = try XCTUnwrap(f.dataSet[.pixelData])
        guard case .encapsulated(let table, let fragments) = e.value else {
            return XCTFail("pixel data should be encapsulated, is \(e.value)")
        }
        XCTAssertEqual(table, Data([0, 0, 0, 0]))
        XCTAssertEqual(fragments, [Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10]), Data([0x4A, 0x46, 0xFF, 0xD9])])
        XCTAssertEqual(e.byteCount, 14)
        XCTAssertNil(e.bytes)
    }

    func testDecodingCompressedPixelsIsRefusedWithAnActionableMessage() throws {
        let f = try DICOMFile.parse(jpegFile())
        let err = assertDICOMError(.unsupported, containing: "JPEG Baseline") { try f.nativePixelData() }
        XCTAssertTrue(err?.message.contains("dcmdjpeg") ?? false, err?.message ?? "")
        XCTAssertTrue(err?.message.contains("1.2.840.10008.1.2.4.50") ?? false)
    }

    func testCompressedPixelDataMessagesNameTheRightTool() throws {
        let cases = [("1.2.840.10008.1.2.4.90", "gdcmconv"), ("1.2.840.10008.1.2.4.80", "dcmdjpls"),
                     ("1.2.840.10008.1.2.4.70", "dcmdjpeg")]
        for (uid, tool) in cases {
            let ts = try XCTUnwrap(TransferSyntax.named(uid))
            let file = DICOMFile(meta: DataSet(),
                                 dataSet: DataSet(elements: [Element(tag: .pixelData, vr: .OB,
                                                                     value: .encapsulated(offsetTable: Data(), fragments: [Data([1])]))]),
                                 transferSyntax: ts, hasPreamble: true, path: nil)
            assertDICOMError(.unsupported, containing: tool) { try file.nativePixelData() }
        }
        XCTAssertEqual(TransferSyntax.named("1.2.840.10008.1.2.5")?.name, "RLE Lossless")
    }

    func testNativePixelDataIsTheValueBytesOrAMissingAttributeError() throws {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        let noPixels = try DICOMFile.parse(part10File(transferSyntax: Self.explicitLE, body: b.data))
        assertDICOMError(.missingAttribute, containing: "Pixel Data") { try noPixels.nativePixelData() }
        b.explicit(0x7FE0, 0x0010, "OW", Bytes.le16([1, 0xFFFF, 3, 4]))
        let f = try DICOMFile.parse(part10File(transferSyntax: Self.explicitLE, body: b.data))
        XCTAssertEqual(try f.nativePixelData(), Bytes.le16([1, 0xFFFF, 3, 4]))
    }

    // MARK: Transfer syntax table

    func testTransferSyntaxLookup() {
        XCTAssertEqual(TransferSyntax.named(Self.implicitLE), .implicitVRLittleEndian)
        XCTAssertEqual(TransferSyntax.named(Self.explicitLE), .explicitVRLittleEndian)
        XCTAssertEqual(TransferSyntax.named(Self.deflatedLE), .deflatedExplicitVRLittleEndian)
        XCTAssertEqual(TransferSyntax.named(Self.explicitBE), .explicitVRBigEndian)
        XCTAssertEqual(TransferSyntax.named("1.2.840.10008.1.2.4.91")?.encapsulated, true)
        XCTAssertNil(TransferSyntax.named("1.2.3.4"))
        XCTAssertEqual(TransferSyntax.explicitVRBigEndian.name, "Explicit VR Big Endian")
    }

    // MARK: Data set behaviour

    func testRepeatedTagKeepsTheFirstOccurrence() throws {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicit(0x0010, 0x0010, "PN", text: "First")
        b.explicit(0x0010, 0x0010, "PN", text: "Second")
        let f = try DICOMFile.parse(part10File(transferSyntax: Self.explicitLE, body: b.data))
        XCTAssertEqual(f.dataSet.string(.patientName), "First")
        XCTAssertEqual(f.dataSet.count, 2)
    }

    func testOutOfOrderElementsAreStoredSorted() throws {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.3")
        b.explicit(0x0010, 0x0010, "PN", text: "Doe")
        b.explicit(0x0008, 0x0060, "CS", text: "CT")
        let f = try DICOMFile.parse(b.data)
        XCTAssertEqual(f.dataSet.elements.map(\.tag), [.sopClassUID, .modality, .patientName])
        XCTAssertEqual(f.dataSet.string(.modality), "CT")
        XCTAssertEqual(f.dataSet.string(.patientName), "Doe")
    }

    func testSubscriptInsertsReplacesAndRemovesInOrder() {
        var ds = DataSet()
        ds.set(.patientName, .PN, "B")
        ds.set(.modality, .CS, "CT")
        ds.set(.patientName, .PN, "C")
        XCTAssertEqual(ds.elements.map(\.tag), [.modality, .patientName])
        XCTAssertEqual(ds.string(.patientName), "C")
        ds[.modality] = nil
        XCTAssertFalse(ds.contains(.modality))
        XCTAssertEqual(ds.count, 1)
        ds[.modality] = nil
        XCTAssertEqual(ds.count, 1)
    }

    func testDictionaryVRs() {
        XCTAssertEqual(DataDictionary.vr(for: .patientName), .PN)
        XCTAssertEqual(DataDictionary.vr(for: .contourData), .DS)
        XCTAssertEqual(DataDictionary.vr(for: .roiContourSequence), .SQ)
        XCTAssertEqual(DataDictionary.vr(for: .rows), .US)
        XCTAssertEqual(DataDictionary.vr(for: .doseGridScaling), .DS)
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x0010, 0x0000)), .UL, "group lengths are UL")
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x0009, 0x0010)), .LO, "private creators are LO")
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x0009, 0x1010)), .UN)
        XCTAssertEqual(DataDictionary.vr(for: Tag(0x0010, 0xABCD)), .UN)
    }
}
