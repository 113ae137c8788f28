import Base
import Foundation
import XCTest
@testable import DICOM

/// Damaged input gives a `SBRTError` that says what is wrong and where; it never crashes,
/// hangs or reads out of bounds.
final class ErrorTests: XCTestCase {

    /// A small valid file with undefined-length sequences three levels deep, a
    /// defined-length sequence, defined- and undefined-length items, text and binary.
    static func smallFile() -> Data {
        var b = Bytes()
        b.explicit(0x0008, 0x0005, "CS", text: "ISO_IR 100")
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.481.3")
        b.explicit(0x0008, 0x0018, "UI", text: "1.2.3.4.5")
        b.explicit(0x0008, 0x0060, "CS", text: "RTSTRUCT")
        b.explicit(0x0010, 0x0010, "PN", Data([0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72]))
        b.explicit(0x0028, 0x0010, "US", Bytes.le16([512]))
        b.explicitUndefined(0x3006, 0x0039)
        b.itemStart()
        b.explicit(0x3006, 0x002A, "IS", text: "255\\0\\0")
        b.explicitUndefined(0x3006, 0x0040)
        b.itemStart()
        b.explicitUndefined(0x3006, 0x0016)
        b.itemStart()
        b.explicit(0x0008, 0x1155, "UI", text: "1.2.3.9")
        b.itemEnd()
        b.sequenceEnd()
        b.explicit(0x3006, 0x0050, "DS", text: "0\\0\\0\\1.5\\0\\0\\0\\2.5\\-1")
        b.itemEnd()
        b.sequenceEnd()
        b.explicit(0x3006, 0x0084, "IS", text: "1")
        b.itemEnd()
        b.sequenceEnd()
        // A defined-length sequence with one defined-length item.
        var item = Bytes()
        item.explicit(0x3006, 0x0022, "IS", text: "1")
        item.explicit(0x3006, 0x0026, "LO", text: "PTV")
        var seq = Bytes()
        seq.itemStart(length: UInt32(item.data.count))
        seq.raw(item.data)
        b.explicit(0x3006, 0x0020, "SQ", seq.data)
        b.explicit(0x7FE0, 0x0010, "OW", Bytes.le16([1, 2, 3, 4]))
        return part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data,
                          sopClass: "1.2.840.10008.5.1.4.1.1.481.3")
    }

    func testTheSmallFileIsValid() throws {
        let f = try DICOMFile.parse(Self.smallFile())
        XCTAssertEqual(f.dataSet.string(.patientName), "Müller")
        let contour = try XCTUnwrap(f.dataSet.sequence(.roiContourSequence)?.first?.sequence(.contourSequence)?.first)
        XCTAssertEqual(try contour.doubles(.contourData)?.count, 9)
        XCTAssertEqual(contour.sequence(.contourImageSequence)?.first?.string(.referencedSOPInstanceUID), "1.2.3.9")
        XCTAssertEqual(f.dataSet.sequence(.structureSetROISequence)?.first?.string(.roiName), "PTV")
        XCTAssertEqual(try f.nativePixelData().count, 8)
    }

    // MARK: Truncation (doubles as a mutation test)

    /// Cut at every length: shorter than the preamble + DICM it is not DICOM; otherwise it
    /// either parses (cut between top-level elements) or reports truncation.
    func testTruncationAtEveryOffset() throws {
        let full = Self.smallFile()
        var parsed = 0, truncated = 0
        for n in 0..<full.count {
            let cut = full.prefix(n)
            do {
                let f = try DICOMFile.parse(cut)
                exerciseAccessors(f.dataSet)
                parsed += 1
                XCTAssertGreaterThanOrEqual(n, 132, "cut at \(n) should not parse")
            } catch let e as SBRTError {
                if n < 132 {
                    XCTAssertEqual(e.kind, .notDICOM, "cut at \(n): \(e)")
                } else {
                    XCTAssertEqual(e.kind, .truncated, "cut at \(n): \(e)")
                    truncated += 1
                    let offset = try XCTUnwrap(e.offset, "cut at \(n): a truncation names the offset")
                    XCTAssertLessThanOrEqual(offset, n, "cut at \(n): \(e)")
                }
            } catch {
                XCTFail("cut at \(n): \(error)")
            }
        }
        XCTAssertGreaterThan(truncated, full.count / 2)
        XCTAssertGreaterThan(parsed, 3)
    }

    /// The same at every offset of the body after the whole file was read into a mapped
    /// file on disk, through `DICOMFile.read`: the error names the file.
    func testTruncatedFileOnDiskNamesThePath() throws {
        let dir = try temporaryFolder(self)
        let path = dir.appendingPathComponent("cut.dcm").path
        let full = Self.smallFile()
        try full.prefix(full.count - 3).write(to: URL(fileURLWithPath: path))
        let err = assertDICOMError(.truncated, containing: "past the end") { try DICOMFile.read(path: path) }
        XCTAssertEqual(err?.file, path)
        XCTAssertTrue(err?.description.hasPrefix(path + ": ") ?? false, err?.description ?? "")
        XCTAssertTrue(err?.description.contains("(at byte ") ?? false, err?.description ?? "")
    }

    func testMissingFileIsAnIOErrorNamingThePath() {
        let path = "/nonexistent/\(UUID().uuidString).dcm"
        let err = assertDICOMError(.io, containing: "cannot read") { try DICOMFile.read(path: path) }
        XCTAssertTrue(err?.description.hasPrefix(path) ?? false)
    }

    func testEveryReadErrorCarriesThePath() throws {
        let dir = try temporaryFolder(self)
        let cases: [(String, Data, SBRTError.Kind)] = [
            ("text.dcm", Data("hello, this is not DICOM at all".utf8), .notDICOM),
            ("unknown-ts.dcm", part10File(transferSyntax: "1.2.3.4.5.6", body: Data()), .unsupported),
            ("cut.dcm", Self.smallFile().prefix(400), .truncated),
        ]
        for (name, bytes, kind) in cases {
            let path = dir.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            let err = assertDICOMError(kind) { try DICOMFile.read(path: path) }
            XCTAssertEqual(err?.file, path, name)
            XCTAssertTrue(err?.description.hasPrefix(path + ": ") ?? false, err?.description ?? "")
        }
    }

    // MARK: Random corruption

    /// 2000 copies of the small file, each with 1–8 random bytes changed: each parses or
    /// throws a SBRTError, quickly. (The fuzzer does this at scale; this keeps a fixed sample.)
    func testRandomByteFlipsNeverCrashOrHang() {
        let full = [UInt8](Self.smallFile())
        var rng = SplitMix64(seed: 2024)
        var parsed = 0
        let start = Date()
        for i in 0..<2000 {
            var bytes = full
            let flips = Int.random(in: 1...8, using: &rng)
            for _ in 0..<flips {
                // Mostly in the body, where the structure is; sometimes anywhere.
                let lower = Bool.random(using: &rng) ? 128 : 132 + 60
                let at = Int.random(in: lower..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &rng)
                case 1: bytes[at] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
                default: bytes[at] = [0x00, 0xFF, 0xFE, 0xE0, 0x0D, 0xDD][Int.random(in: 0..<6, using: &rng)]
                }
            }
            let t0 = Date()
            if parsesOrThrowsDICOMError(Data(bytes), "mutation \(i)") { parsed += 1 }
            XCTAssertLessThan(Date().timeIntervalSince(t0), 1.0, "mutation \(i) took too long")
        }
        XCTAssertGreaterThan(parsed, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }

    /// Random lengths spliced into element and item headers are the most dangerous
    /// mutation; every 32-bit length position gets a few hostile values.
    func testHostileLengthsAtEveryPosition() {
        let full = [UInt8](Self.smallFile())
        let hostile: [UInt32] = [0, 1, 2, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF, 0xFFFF_FFF0]
        for at in stride(from: 132, to: full.count - 4, by: 2) {
            for v in hostile {
                var bytes = full
                bytes[at] = UInt8(v & 0xFF); bytes[at + 1] = UInt8((v >> 8) & 0xFF)
                bytes[at + 2] = UInt8((v >> 16) & 0xFF); bytes[at + 3] = UInt8(v >> 24)
                parsesOrThrowsDICOMError(Data(bytes), "length \(v) at \(at)")
            }
        }
    }

    // MARK: Specific damage

    func testLengthPastTheEndIsTruncation() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.tag(0x0010, 0x0010); b.ascii("PN"); b.u16(200)          // 200 bytes announced…
        b.ascii("Doe^John")                                       // …8 present
        let err = assertDICOMError(.truncated, containing: "past the end") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
        XCTAssertTrue(err?.message.contains("(0010,0010)") ?? false, err?.message ?? "")
    }

    func testValueLengthPastTheEndOfItsItemIsMalformed() {
        var item = Bytes()
        item.tag(0x3006, 0x0026); item.ascii("LO"); item.u16(100); item.ascii("PTV ")
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicitUndefined(0x3006, 0x0020)
        b.itemStart(length: UInt32(item.data.count))
        b.raw(item.data)
        b.sequenceEnd()
        b.explicit(0x0010, 0x0010, "PN", text: String(repeating: "X", count: 200))
        assertDICOMError(.malformed, containing: "enclosing item") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
    }

    func testSequenceThatNeverClosesIsReported() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicitUndefined(0x3006, 0x0020)
        b.itemStart(length: 0)
        b.itemStart(length: 0)
        let err = assertDICOMError(.truncated, containing: "never closes") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
        XCTAssertTrue(err?.message.contains("(3006,0020)") ?? false, err?.message ?? "")
    }

    func testItemThatNeverClosesIsReported() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicitUndefined(0x3006, 0x0020)
        b.itemStart()
        b.explicit(0x3006, 0x0026, "LO", text: "PTV")
        assertDICOMError(.truncated, containing: "never closes") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
    }

    func testEncapsulatedPixelDataThatNeverClosesIsReported() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicitUndefined(0x7FE0, 0x0010, "OB")
        b.itemStart(length: 0)
        b.itemStart(length: 2); b.raw([0xFF, 0xD8])
        assertDICOMError(.truncated, containing: "never closes") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.4.50", body: b.data))
        }
    }

    /// 10 000 nested sequences would overflow the stack of a naive recursive reader; the
    /// parser refuses past its depth limit.
    func testDeepNestingIsRefused() {
        var b = Bytes()
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        for _ in 0..<10_000 {
            b.implicitUndefined(0x0008, 0x1140)
            b.itemStart()
        }
        for _ in 0..<10_000 {
            b.itemEnd()
            b.sequenceEnd()
        }
        assertDICOMError(.malformed, containing: "nested") { try DICOMFile.parse(b.data) }
        // The same with defined lengths is refused too.
        var inner = Data()
        for _ in 0..<10_000 {
            var item = Bytes()
            item.itemStart(length: UInt32(inner.count + 8))
            item.tag(0x0008, 0x1140); item.u32(UInt32(inner.count))
            item.raw(inner)
            inner = item.data
        }
        var d = Bytes()
        d.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        d.implicit(0x0008, 0x1140, inner)
        assertDICOMError(.malformed, containing: "nested") { try DICOMFile.parse(d.data) }
    }

    func testModerateNestingIsAccepted() throws {
        var b = Bytes()
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        let depth = 20
        for _ in 0..<depth { b.implicitUndefined(0x0008, 0x1140); b.itemStart() }
        b.implicit(0x0010, 0x0010, text: "Deep")
        for _ in 0..<depth { b.itemEnd(); b.sequenceEnd() }
        let f = try DICOMFile.parse(b.data)
        var ds = f.dataSet
        for _ in 0..<depth { ds = try XCTUnwrap(ds.sequence(Tag(0x0008, 0x1140))?.first) }
        XCTAssertEqual(ds.string(.patientName), "Deep")
    }

    func testUnknownTransferSyntaxIsUnsupported() {
        let err = assertDICOMError(.unsupported, containing: "unknown transfer syntax") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.3.4.5.6", body: Data()))
        }
        XCTAssertTrue(err?.message.contains("1.2.3.4.5.6") ?? false)
    }

    func testRandomBytesAreNotDICOM() {
        var rng = SplitMix64(seed: 99)
        for size in [0, 1, 7, 8, 131, 132, 1000, 4096] {
            var bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if size > 0 { bytes[0] = 0x41 }        // never group 0002/0008 by chance
            XCTAssertFalse(DICOMFile.hasDICOMSignature(Data(bytes)))
            assertDICOMError(.notDICOM, containing: "not a DICOM file") { try DICOMFile.parse(Data(bytes)) }
        }
        assertDICOMError(.notDICOM) { try DICOMFile.parse(Data("%PDF-1.7\n".utf8)) }
        assertDICOMError(.notDICOM) { try DICOMFile.parse(Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + [UInt8](repeating: 0, count: 200))) }
    }

    func testInvalidVRInExplicitFileIsMalformed() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.tag(0x0010, 0x0010); b.raw([0x70, 0x6E]); b.u16(2); b.ascii("AB")   // "pn": lower case
        assertDICOMError(.malformed, containing: "invalid VR") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
    }

    func testUndefinedLengthOnATextElementIsMalformed() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicitUndefined(0x0010, 0x0010, "UT")
        assertDICOMError(.malformed, containing: "undefined length") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
    }

    func testStrayDelimitersAreMalformed() {
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.itemEnd()
        assertDICOMError(.malformed, containing: "item delimitation") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
        var c = Bytes()
        c.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        c.explicitUndefined(0x3006, 0x0020)
        c.explicit(0x0010, 0x0010, "PN", text: "Doe")                 // not an item
        assertDICOMError(.malformed, containing: "where an item") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: c.data))
        }
    }

    func testDefinedLengthSequenceWithSequenceDelimiterIsMalformed() {
        var seq = Bytes()
        seq.sequenceEnd()
        var b = Bytes()
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        b.explicit(0x3006, 0x0020, "SQ", seq.data)
        assertDICOMError(.malformed, containing: "sequence delimitation") {
            try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
        }
    }

    func testErrorDescriptionFormat() {
        let e = SBRTError(.truncated, "file is truncated", file: "/a/b.dcm", offset: 42)
        XCTAssertEqual(e.description, "/a/b.dcm: file is truncated (at byte 42)")
        XCTAssertEqual(SBRTError(.io, "x").description, "x")
        XCTAssertEqual(e.inFile("/other").file, "/a/b.dcm", "a named file is not replaced")
        XCTAssertEqual(SBRTError(.io, "x").inFile("/c").file, "/c")
    }

    func testDeflatedBodyOffsetsAreFileOffsets() {
        // In a deflated file, offsets inside the inflated body are reported past the meta group.
        var body = Bytes()
        body.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        body.tag(0x0010, 0x0010); body.ascii("PN"); body.u16(100); body.ascii("AB")
        let file = part10File(transferSyntax: "1.2.840.10008.1.2.1.99", body: Inflate.deflateRaw(body.data))
        let metaEnd = file.count - Inflate.deflateRaw(body.data).count
        let err = assertDICOMError(.truncated) { try DICOMFile.parse(file) }
        XCTAssertEqual(err?.offset, metaEnd + 34, "offset = start of the body + offset within the inflated body")
    }
}
