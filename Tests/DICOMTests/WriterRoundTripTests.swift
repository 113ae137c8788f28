import Foundation
import XCTest
@testable import DICOM

/// `DICOMWriter` writes explicit VR little endian Part 10 files that `DICOMFile` reads back
/// unchanged; the bytes it writes follow PS3.5 / PS3.10.
final class WriterRoundTripTests: XCTestCase {

    // MARK: Fixtures

    static let ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"
    static let rtStructStorage = "1.2.840.10008.5.1.4.1.1.481.3"

    func baseDataSet() -> DataSet {
        var ds = DataSet()
        ds.set(.sopClassUID, .UI, Self.rtStructStorage)
        ds.set(.sopInstanceUID, .UI, "1.2.826.0.1.3680043.8.498.1")   // 27 chars: odd, NUL-padded
        ds.set(.modality, .CS, "RTSTRUCT")
        return ds
    }

    func roundTrip(_ ds: DataSet, file: StaticString = #filePath, line: UInt = #line) throws -> (Data, DICOMFile) {
        let bytes = try DICOMWriter.encodeFile(ds)
        let parsed = try DICOMFile.parse(bytes)
        XCTAssertEqual(parsed.transferSyntax, .explicitVRLittleEndian, file: file, line: line)
        return (bytes, parsed)
    }

    /// The byte offset of the first element with `tag` in an explicit-VR LE encoding.
    func offset(of tag: Tag, in bytes: Data, from start: Int = 132) -> Int? {
        let b = [UInt8](bytes)
        let key: [UInt8] = [UInt8(tag.group & 0xFF), UInt8(tag.group >> 8), UInt8(tag.element & 0xFF), UInt8(tag.element >> 8)]
        var i = start
        while i + 4 <= b.count {
            if b[i] == key[0] && b[i + 1] == key[1] && b[i + 2] == key[2] && b[i + 3] == key[3] { return i }
            i += 1
        }
        return nil
    }

    // MARK: File structure

    func testFileStartsWithZeroPreambleAndDICMPrefix() throws {
        let (bytes, parsed) = try roundTrip(baseDataSet())
        XCTAssertEqual([UInt8](bytes.prefix(128)), [UInt8](repeating: 0, count: 128))
        XCTAssertEqual(String(decoding: bytes[128..<132], as: UTF8.self), "DICM")
        XCTAssertTrue(parsed.hasPreamble)
    }

    func testMetaGroupLengthCountsExactlyTheMetaElementsThatFollowIt() throws {
        let (bytes, parsed) = try roundTrip(baseDataSet())
        let b = [UInt8](bytes)
        // (0002,0000) UL, length 4, right after DICM.
        XCTAssertEqual(Array(b[132..<140]), [0x02, 0x00, 0x00, 0x00, 0x55, 0x4C, 0x04, 0x00])
        let groupLength = Int(b[140]) | Int(b[141]) << 8 | Int(b[142]) << 16 | Int(b[143]) << 24
        // The group ends exactly where the first non-0002 element starts.
        let end = 144 + groupLength
        XCTAssertEqual(Array(b[end..<(end + 2)]), [0x08, 0x00], "first element after the meta group should be group 0008")
        XCTAssertEqual(Array(b[(end - 2)..<end]).count, 2)
        var i = 144
        while i < end {
            XCTAssertEqual(Array(b[i..<(i + 2)]), [0x02, 0x00], "element at \(i) inside the meta group is not group 0002")
            let vr = String(decoding: b[(i + 4)..<(i + 6)], as: UTF8.self)
            if Bytes.isLong(vr) {
                i += 12 + (Int(b[i + 8]) | Int(b[i + 9]) << 8 | Int(b[i + 10]) << 16 | Int(b[i + 11]) << 24)
            } else {
                i += 8 + (Int(b[i + 6]) | Int(b[i + 7]) << 8)
            }
        }
        XCTAssertEqual(i, end, "the meta elements must add up to the group length exactly")
        XCTAssertEqual(parsed.meta.uint32(.fileMetaInformationGroupLength), UInt32(groupLength))
    }

    func testMetaGroupNamesSOPTransferSyntaxAndImplementation() throws {
        let (_, parsed) = try roundTrip(baseDataSet())
        XCTAssertEqual(parsed.meta.bytes(.fileMetaInformationVersion), Data([0x00, 0x01]))
        XCTAssertEqual(parsed.meta.string(.mediaStorageSOPClassUID), Self.rtStructStorage)
        XCTAssertEqual(parsed.meta.string(.mediaStorageSOPInstanceUID), "1.2.826.0.1.3680043.8.498.1")
        XCTAssertEqual(parsed.meta.string(.transferSyntaxUID), "1.2.840.10008.1.2.1")
        XCTAssertEqual(parsed.meta.string(.implementationClassUID), DICOMWriter.implementationClassUID)
        XCTAssertTrue(UID.isValid(DICOMWriter.implementationClassUID))
        XCTAssertEqual(parsed.meta.string(.implementationVersionName), "SBRT_0_1")
        XCTAssertEqual(parsed.sopClassUID, Self.rtStructStorage)
        XCTAssertEqual(parsed.sopInstanceUID, "1.2.826.0.1.3680043.8.498.1")
        XCTAssertEqual(parsed.modality, "RTSTRUCT")
    }

    func testWritingWithoutSOPClassOrInstanceIsRefused() {
        var ds = DataSet()
        ds.set(.sopInstanceUID, .UI, "1.2.3")
        assertDICOMError(.missingAttribute, containing: "SOP Class UID") { try DICOMWriter.encodeFile(ds) }
        ds = DataSet()
        ds.set(.sopClassUID, .UI, "1.2.3")
        assertDICOMError(.missingAttribute, containing: "SOP Instance UID") { try DICOMWriter.encodeFile(ds) }
    }

    func testGroupLengthsOutsideTheMetaGroupAndMetaElementsInTheDataSetAreNotWritten() throws {
        var ds = baseDataSet()
        ds.set(Tag(0x0008, 0x0000), .UL, binary: [UInt32(1234)])
        ds.set(.transferSyntaxUID, .UI, "1.2.840.10008.1.2")   // a stray meta element in the data set
        let (_, parsed) = try roundTrip(ds)
        XCTAssertNil(parsed.dataSet[Tag(0x0008, 0x0000)])
        XCTAssertNil(parsed.dataSet[.transferSyntaxUID])
        XCTAssertEqual(parsed.meta.string(.transferSyntaxUID), "1.2.840.10008.1.2.1")
    }

    // MARK: Text and padding

    func testOddLengthTextIsPaddedWithASpaceAndUIWithANUL() throws {
        var ds = baseDataSet()
        ds.set(.patientID, .LO, "ABC")                         // 3 bytes → "ABC "
        ds.set(.studyInstanceUID, .UI, "1.2.3")                 // 5 bytes → "1.2.3\0"
        ds.set(.patientSex, .CS, "MF")                          // even: unchanged
        let (bytes, parsed) = try roundTrip(ds)

        let b = [UInt8](bytes)
        let id = try XCTUnwrap(offset(of: .patientID, in: bytes))
        XCTAssertEqual(Array(b[(id + 4)..<(id + 12)]), Array("LO".utf8) + [4, 0] + Array("ABC ".utf8))
        let uid = try XCTUnwrap(offset(of: .studyInstanceUID, in: bytes))
        XCTAssertEqual(Array(b[(uid + 4)..<(uid + 14)]), Array("UI".utf8) + [6, 0] + Array("1.2.3".utf8) + [0])

        XCTAssertEqual(parsed.dataSet.bytes(.patientID), Data("ABC ".utf8))
        XCTAssertEqual(parsed.dataSet.string(.patientID), "ABC")
        XCTAssertEqual(parsed.dataSet.bytes(.studyInstanceUID), Data("1.2.3\0".utf8))
        XCTAssertEqual(parsed.dataSet.string(.studyInstanceUID), "1.2.3")
        XCTAssertEqual(parsed.dataSet.string(.patientSex), "MF")
        XCTAssertEqual(parsed.dataSet[.patientID]?.vr, .LO)
        XCTAssertEqual(parsed.dataSet[.studyInstanceUID]?.vr, .UI)
    }

    func testMultiValuedTextSplitsOnBackslashAndTrimsEachValue() throws {
        var ds = baseDataSet()
        ds.set(.imageType, .CS, "ORIGINAL", "PRIMARY", "AXIAL")
        let (_, parsed) = try roundTrip(ds)
        XCTAssertEqual(parsed.dataSet.strings(.imageType), ["ORIGINAL", "PRIMARY", "AXIAL"])
        XCTAssertEqual(parsed.dataSet.string(.imageType), "ORIGINAL\\PRIMARY\\AXIAL")
    }

    func testLongTextKeepsLeadingSpacesAndBackslashes() throws {
        var ds = baseDataSet()
        ds.set(.doseComment, .LT, "  indented \\ not a separator")
        let (_, parsed) = try roundTrip(ds)
        XCTAssertEqual(parsed.dataSet.string(.doseComment), "  indented \\ not a separator")
        XCTAssertEqual(parsed.dataSet.strings(.doseComment), ["  indented \\ not a separator"])
    }

    func testEmptyValuesArePresentWithZeroLength() throws {
        var ds = baseDataSet()
        ds.set(.accessionNumber, .SH, "")
        ds.set(.referringPhysicianName, .PN, "")
        ds.set(.sliceThickness, .DS, "")
        let (bytes, parsed) = try roundTrip(ds)
        let b = [UInt8](bytes)
        let acc = try XCTUnwrap(offset(of: .accessionNumber, in: bytes))
        XCTAssertEqual(Array(b[(acc + 4)..<(acc + 8)]), Array("SH".utf8) + [0, 0])
        XCTAssertEqual(parsed.dataSet.bytes(.accessionNumber), Data())
        XCTAssertEqual(parsed.dataSet.string(.accessionNumber), "")
        XCTAssertEqual(parsed.dataSet.strings(.accessionNumber), [])
        XCTAssertEqual(parsed.dataSet.string(.referringPhysicianName), "")
        XCTAssertEqual(try parsed.dataSet.doubles(.sliceThickness), [])
        XCTAssertNil(try parsed.dataSet.double(.sliceThickness))
        XCTAssertNil(parsed.dataSet.string(.patientName), "an absent attribute is nil, not empty")
    }

    // MARK: Numbers

    func testDecimalAndIntegerStringsRoundTripAllValues() throws {
        var ds = baseDataSet()
        ds.set(.imagePositionPatient, decimals: [-250.5, 0.1, 1234.5678])
        ds.set(.imageOrientationPatient, decimals: [1, 0, 0, 0, 1, 0])
        ds.set(.roiDisplayColor, integers: [255, 0, 128])
        ds.set(.doseGridScaling, decimals: [1.2345678901234e-5])
        let (_, parsed) = try roundTrip(ds)
        XCTAssertEqual(try parsed.dataSet.doubles(.imagePositionPatient), [-250.5, 0.1, 1234.5678])
        XCTAssertEqual(try parsed.dataSet.doubles(.imageOrientationPatient), [1, 0, 0, 0, 1, 0])
        XCTAssertEqual(parsed.dataSet.string(.imageOrientationPatient), "1\\0\\0\\0\\1\\0")
        XCTAssertEqual(try parsed.dataSet.ints(.roiDisplayColor), [255, 0, 128])
        XCTAssertEqual(try parsed.dataSet.int(.roiDisplayColor), 255)
        let scaling = try XCTUnwrap(try parsed.dataSet.double(.doseGridScaling))
        XCTAssertEqual(scaling, 1.2345678901234e-5, accuracy: 1.2345678901234e-5 * 1e-9)
        for s in parsed.dataSet.strings(.imagePositionPatient) ?? [] {
            XCTAssertLessThanOrEqual(s.count, 16)
        }
    }

    func testIntsAcceptIntegralDecimalsAndRejectFractions() throws {
        var ds = baseDataSet()
        ds.set(.instanceNumber, .IS, "5.0")
        ds.set(.seriesNumber, .IS, "5.5")
        XCTAssertEqual(try ds.int(.instanceNumber), 5)
        assertDICOMError(.invalidValue, containing: "not an integer") { try ds.ints(.seriesNumber) }
    }

    func testBinaryValuesRoundTrip() throws {
        var ds = baseDataSet()
        ds.set(.rows, .US, binary: [UInt16(512)])
        ds.set(.columns, .US, binary: [UInt16(0xFFFF)])
        ds.set(Tag(0x0028, 0x0106), .SS, binary: [Int16(-1024)])
        ds.set(Tag(0x0018, 0x9219), .UL, binary: [UInt32(0xDEAD_BEEF), 7])
        ds.set(Tag(0x0018, 0x9089), .FD, binary: [1.5, -0.25, 1e-300])
        ds.set(Tag(0x0018, 0x9087), .FL, binary: [Float(3.25), Float(-7.5)])
        ds.set(.frameIncrementPointer, .AT, binary: [UInt16(0x3004), UInt16(0x000C)])
        ds.set(Tag(0x0009, 0x0010), .LO, "SBRT TEST")
        ds.set(Tag(0x0009, 0x1001), .OB, data: Data([1, 2, 3]))              // odd: NUL-padded
        ds.set(Tag(0x0009, 0x1002), .OW, binary: [UInt16(1), 2, 0xABCD])
        let (bytes, parsed) = try roundTrip(ds)
        let p = parsed.dataSet

        XCTAssertEqual(p.uint16(.rows), 512)
        XCTAssertEqual(p.uint16(.columns), 65535)
        XCTAssertEqual(try p.int(.rows), 512)
        XCTAssertEqual(p.binary(Tag(0x0028, 0x0106), as: Int16.self), [-1024])
        XCTAssertEqual(try p.double(Tag(0x0028, 0x0106)), -1024)
        XCTAssertEqual(p.binary(Tag(0x0018, 0x9219), as: UInt32.self), [0xDEAD_BEEF, 7])
        XCTAssertEqual(p.uint32(Tag(0x0018, 0x9219)), 0xDEAD_BEEF)
        XCTAssertEqual(try p.doubles(Tag(0x0018, 0x9089)), [1.5, -0.25, 1e-300])
        XCTAssertEqual(try p.doubles(Tag(0x0018, 0x9087)), [3.25, -7.5])
        XCTAssertEqual(p.tagValue(.frameIncrementPointer), .gridFrameOffsetVector)
        XCTAssertEqual(p[.frameIncrementPointer]?.vr, .AT)
        XCTAssertEqual(p.bytes(Tag(0x0009, 0x1001)), Data([1, 2, 3, 0]))
        XCTAssertEqual(p.binary(Tag(0x0009, 0x1002), as: UInt16.self), [1, 2, 0xABCD])
        XCTAssertEqual(p[Tag(0x0009, 0x1002)]?.vr, .OW)

        // OB and OW have the long header: VR, two reserved zero bytes, 32-bit length.
        let b = [UInt8](bytes)
        let ob = try XCTUnwrap(offset(of: Tag(0x0009, 0x1001), in: bytes))
        XCTAssertEqual(Array(b[(ob + 4)..<(ob + 16)]), Array("OB".utf8) + [0, 0, 4, 0, 0, 0, 1, 2, 3, 0])
        let us = try XCTUnwrap(offset(of: .rows, in: bytes))
        XCTAssertEqual(Array(b[(us + 4)..<(us + 10)]), Array("US".utf8) + [2, 0, 0x00, 0x02])
    }

    func testPrivateElementsAreKept() throws {
        var ds = baseDataSet()
        ds.set(Tag(0x0009, 0x0010), .LO, "ACME 1.0")
        ds.set(Tag(0x0009, 0x1001), .LO, "private text")
        ds.set(Tag(0x0009, 0x1002), .UN, data: Data([0xDE, 0xAD, 0xBE, 0xEF]))
        ds.set(Tag(0x7FD1, 0x0010), .LO, "OTHER")
        let (_, parsed) = try roundTrip(ds)
        let p = parsed.dataSet
        XCTAssertTrue(Tag(0x0009, 0x1001).isPrivate)
        XCTAssertEqual(p.string(Tag(0x0009, 0x0010)), "ACME 1.0")
        XCTAssertEqual(p.string(Tag(0x0009, 0x1001)), "private text")
        XCTAssertEqual(p.bytes(Tag(0x0009, 0x1002)), Data([0xDE, 0xAD, 0xBE, 0xEF]))
        XCTAssertEqual(p[Tag(0x0009, 0x1002)]?.vr, .UN)
        XCTAssertEqual(p.string(Tag(0x7FD1, 0x0010)), "OTHER")
    }

    func testElementsComeBackInTagOrder() throws {
        var ds = DataSet()
        ds.set(.patientName, .PN, "Z")
        ds.set(.sopInstanceUID, .UI, "1.2.3")
        ds.set(.modality, .CS, "CT")
        ds.set(.sopClassUID, .UI, Self.ctImageStorage)
        let (_, parsed) = try roundTrip(ds)
        let tags = parsed.dataSet.elements.map(\.tag)
        XCTAssertEqual(tags, [.sopClassUID, .sopInstanceUID, .modality, .patientName])
        XCTAssertEqual(tags, tags.sorted())
    }

    // MARK: Sequences

    func testThreeLevelsOfNestedSequencesRoundTrip() throws {
        var image = DataSet()
        image.set(.referencedSOPClassUID, .UI, Self.ctImageStorage)
        image.set(.referencedSOPInstanceUID, .UI, "1.2.3.100")
        var contour = DataSet()
        contour.set(.contourImageSequence, items: [image])
        contour.set(.contourGeometricType, .CS, "CLOSED_PLANAR")
        contour.set(.numberOfContourPoints, integers: [3])
        contour.set(.contourData, decimals: [0, 0, 10, 5, 0, 10, 5, 5, 10])
        var roi = DataSet()
        roi.set(.roiDisplayColor, integers: [255, 0, 0])
        roi.set(.contourSequence, items: [contour, contour])
        roi.set(.referencedROINumber, integers: [1])
        var roi2 = DataSet()
        roi2.set(.referencedROINumber, integers: [2])
        var ds = baseDataSet()
        ds.set(.roiContourSequence, items: [roi, roi2])
        ds.set(.patientName, .PN, "After^Sequence")

        let (_, parsed) = try roundTrip(ds)
        let p = parsed.dataSet
        let rois = try XCTUnwrap(p.sequence(.roiContourSequence))
        XCTAssertEqual(rois.count, 2)
        XCTAssertEqual(try rois[0].ints(.roiDisplayColor), [255, 0, 0])
        XCTAssertEqual(try rois[0].int(.referencedROINumber), 1)
        XCTAssertEqual(try rois[1].int(.referencedROINumber), 2)
        XCTAssertNil(rois[1].sequence(.contourSequence))
        let contours = try XCTUnwrap(rois[0].sequence(.contourSequence))
        XCTAssertEqual(contours.count, 2)
        XCTAssertEqual(contours[1].string(.contourGeometricType), "CLOSED_PLANAR")
        XCTAssertEqual(try contours[1].doubles(.contourData), [0, 0, 10, 5, 0, 10, 5, 5, 10])
        let images = try XCTUnwrap(contours[0].sequence(.contourImageSequence))
        XCTAssertEqual(images.count, 1)
        XCTAssertEqual(images[0].string(.referencedSOPInstanceUID), "1.2.3.100")
        XCTAssertEqual(p[.roiContourSequence]?.vr, .SQ)
        XCTAssertEqual(p.string(.patientName), "After^Sequence", "elements after a sequence are read")
    }

    func testSequencesAreWrittenWithUndefinedLengthAndDelimiters() throws {
        var item = DataSet()
        item.set(.roiNumber, integers: [1])
        var ds = baseDataSet()
        ds.set(.structureSetROISequence, items: [item])
        let bytes = try DICOMWriter.encodeFile(ds)
        let b = [UInt8](bytes)
        let sq = try XCTUnwrap(offset(of: .structureSetROISequence, in: bytes))
        XCTAssertEqual(Array(b[(sq + 4)..<(sq + 20)]),
                       Array("SQ".utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF] + [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF])
        // item: (3006,0022) IS "1 " = 10 bytes, then item and sequence delimiters.
        let tail = sq + 20 + 10
        XCTAssertEqual(Array(b[tail..<(tail + 16)]),
                       [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0])
    }

    func testEmptySequenceAndEmptyItemRoundTrip() throws {
        var ds = baseDataSet()
        ds.set(.referencedFrameOfReferenceSequence, items: [])
        ds.set(.structureSetROISequence, items: [DataSet()])
        let (_, parsed) = try roundTrip(ds)
        XCTAssertEqual(parsed.dataSet.sequence(.referencedFrameOfReferenceSequence)?.count, 0)
        XCTAssertEqual(parsed.dataSet[.referencedFrameOfReferenceSequence]?.vr, .SQ)
        let items = try XCTUnwrap(parsed.dataSet.sequence(.structureSetROISequence))
        XCTAssertEqual(items.count, 1)
        XCTAssertTrue(items[0].isEmpty)
    }

    // MARK: Long values

    /// ContourData of a detailed contour easily exceeds 64 KiB. DS has a 16-bit length in
    /// explicit VR, so the writer must fall back to UN (32-bit length), and the reader must
    /// still read the numbers through the dictionary VR.
    func testDecimalStringLongerThan16BitLengthRoundTripsAsUN() throws {
        let n = 6000 * 3
        let values = (0..<n).map { Double($0 % 997) * 0.125 - 60.0625 }
        var contour = DataSet()
        contour.set(.contourGeometricType, .CS, "CLOSED_PLANAR")
        contour.set(.contourData, decimals: values)
        var roi = DataSet()
        roi.set(.contourSequence, items: [contour])
        var ds = baseDataSet()
        ds.set(.roiContourSequence, items: [roi])
        ds.set(.patientName, .PN, "Long^Contour")
        let text = try XCTUnwrap(contour.bytes(.contourData))
        XCTAssertGreaterThan(text.count, 0xFFFE, "the test value must not fit a 16-bit length")

        let (bytes, parsed) = try roundTrip(ds)
        let b = [UInt8](bytes)
        let at = try XCTUnwrap(offset(of: .contourData, in: bytes))
        let padded = text.count + (text.count & 1)
        let length = UInt32(padded)
        XCTAssertEqual(Array(b[(at + 4)..<(at + 12)]),
                       Array("UN".utf8) + [0, 0, UInt8(length & 0xFF), UInt8((length >> 8) & 0xFF),
                                           UInt8((length >> 16) & 0xFF), UInt8(length >> 24)])

        let back = try XCTUnwrap(parsed.dataSet.sequence(.roiContourSequence)?.first?.sequence(.contourSequence)?.first)
        XCTAssertEqual(back[.contourData]?.vr, .UN)
        XCTAssertEqual(try back.doubles(.contourData), values)
        XCTAssertEqual(back.string(.contourGeometricType), "CLOSED_PLANAR")
        XCTAssertEqual(parsed.dataSet.string(.patientName), "Long^Contour")
    }

    // MARK: Writing files

    func testWriteIsAtomicAndReadsBack() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("rs.dcm").path
        var ds = baseDataSet()
        ds.set(.patientName, .PN, "Doe^Jane")
        try DICOMWriter.write(ds, to: path)
        let f = try DICOMFile.read(path: path)
        XCTAssertEqual(f.path, path)
        XCTAssertEqual(f.dataSet.string(.patientName), "Doe^Jane")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(leftovers, ["rs.dcm"], "no temporary file is left behind")
    }

    func testWriteIntoAMissingFolderFailsWithIOErrorNamingThePath() {
        let path = "/nonexistent-\(UUID().uuidString)/out.dcm"
        let err = assertDICOMError(.io) { try DICOMWriter.write(self.baseDataSet(), to: path) }
        XCTAssertEqual(err?.file, path)
    }

    /// Regression (found by the fuzzer): a file whose first data element had a well-formed
    /// but undefined VR ("CQ") was written back with that VR; the reader then took the
    /// unknown VR as a sign of an implicit VR data set and misread the whole file.
    func testUndefinedVRIsWrittenAsUNSoTheOutputReadsBack() throws {
        // Big endian, as the fuzzer found it: the little-endian reader would itself take the
        // unknown first VR as implicit VR, but the big-endian reader keeps it.
        var body = Bytes(bigEndian: true)
        body.explicit(0x0008, 0x0005, "CQ", Data("ISO_IR 100".utf8))
        body.explicit(0x0008, 0x0016, "UI", text: Self.ctImageStorage)
        body.explicit(0x0008, 0x0018, "UI", text: "1.2.3.4.5")
        body.explicit(0x0010, 0x0010, "PN", text: "Doe^John")
        let original = try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.2", body: body.data))
        XCTAssertEqual(original.dataSet[.specificCharacterSet]?.vr, VR("CQ"))

        let (bytes, parsed) = try roundTrip(original.dataSet)
        let at = try XCTUnwrap(offset(of: .specificCharacterSet, in: bytes))
        // Written with the dictionary VR of (0008,0005), which the bytes then satisfy.
        XCTAssertEqual(String(decoding: bytes[(at + 4)..<(at + 6)], as: UTF8.self), "CS")
        XCTAssertEqual(parsed.dataSet.string(.specificCharacterSet), "ISO_IR 100")
        XCTAssertEqual(parsed.dataSet.string(.patientName), "Doe^John")
        XCTAssertEqual(parsed.dataSet.string(.sopInstanceUID), "1.2.3.4.5")
    }

    func testUndefinedVROfAPrivateElementIsWrittenAsUN() throws {
        var ds = baseDataSet()
        ds[Tag(0x0009, 0x1001)] = Element(tag: Tag(0x0009, 0x1001), vr: VR("ZZ"), value: .bytes(Data([1, 2])))
        let (_, parsed) = try roundTrip(ds)
        XCTAssertEqual(parsed.dataSet[Tag(0x0009, 0x1001)]?.vr, .UN)
        XCTAssertEqual(parsed.dataSet.bytes(Tag(0x0009, 0x1001)), Data([1, 2]))
    }

    // MARK: Large values as segments of their own

    func testALargeValueIsASegmentOfItsOwnAndTheSegmentsAreTheFile() throws {
        var ds = baseDataSet()
        // An odd-length OB of 70 001 bytes (padded with one NUL), between small elements,
        // and a 100 000-byte Pixel Data at the end.
        let lut = Data((0..<70_001).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let pixels = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 1) })
        ds.set(Tag(0x0009, 0x1010), .OB, data: lut)
        ds.set(Tag(0x0010, 0x0020), .LO, "ID")
        ds.set(.pixelData, .OW, data: pixels)
        let segments = try DICOMWriter.encodeFileSegments(ds)
        XCTAssertTrue(segments.contains(lut), "the 70 001-byte value is a segment")
        XCTAssertEqual(segments.last, pixels, "the Pixel Data is the last segment")
        XCTAssertFalse(segments.contains { $0.isEmpty })
        XCTAssertEqual(segments.count, 4, "bytes, OB value, bytes (its padding and the next elements' headers), Pixel Data")
        let whole = try DICOMWriter.encodeFile(ds)
        XCTAssertEqual(segments.reduce(Data(), +), whole)
        let parsed = try DICOMFile.parse(whole).dataSet
        XCTAssertEqual(parsed.bytes(Tag(0x0009, 0x1010)), lut + Data([0]))
        XCTAssertEqual(parsed.string(Tag(0x0010, 0x0020)), "ID")
        XCTAssertEqual(parsed.bytes(.pixelData), pixels)
        // Written through `OutputFiles`, segment after segment: the same bytes.
        let path = NSTemporaryDirectory() + "sbrt-segments-\(UUID().uuidString).dcm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try DICOMWriter.write(ds, to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), whole)
    }

    func testSmallValuesStayInOneSegmentAndTheThresholdIsExact() throws {
        var ds = baseDataSet()
        ds.set(.pixelData, .OW, data: Data(count: ByteSink.ownSegment - 2))
        XCTAssertEqual(try DICOMWriter.encodeFileSegments(ds).count, 1)
        ds.set(.pixelData, .OW, data: Data(repeating: 5, count: ByteSink.ownSegment))
        let segments = try DICOMWriter.encodeFileSegments(ds)
        XCTAssertEqual(segments.count, 2)
        XCTAssertEqual(segments.last, Data(repeating: 5, count: ByteSink.ownSegment))
    }

    func testALongMetaValueIsCountedInTheGroupLength() throws {
        // A SOP Instance UID of 70 001 characters (absurd, but a public-API caller can
        // pass it) goes into the meta group too: the group length must count all of it.
        var ds = baseDataSet()
        let uid = String(repeating: "1.", count: 35_000) + "1"
        ds.set(.sopInstanceUID, .UI, uid)
        let bytes = try DICOMWriter.encodeFile(ds)
        let b = [UInt8](bytes)
        let groupLength = Int(b[140]) | Int(b[141]) << 8 | Int(b[142]) << 16 | Int(b[143]) << 24
        XCTAssertEqual(Array(b[(144 + groupLength)..<(146 + groupLength)]), [0x08, 0x00], "the group ends where group 0008 starts")
        let parsed = try DICOMFile.parse(bytes)
        XCTAssertEqual(parsed.dataSet.string(.sopInstanceUID), uid)
        XCTAssertEqual(try DICOMWriter.encodeFileSegments(ds).reduce(Data(), +), bytes)
    }
}
