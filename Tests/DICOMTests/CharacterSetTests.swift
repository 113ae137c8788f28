import Foundation
import XCTest
@testable import DICOM

/// Text is decoded in the repertoire named by Specific Character Set (0008,0005),
/// which sequence items inherit (PS3.5 §6.1).
final class CharacterSetTests: XCTestCase {

    let muellerLatin1: [UInt8] = [0x4D, 0xFC, 0x6C, 0x6C, 0x65, 0x72]   // "Müller" in ISO 8859-1

    func file(characterSet: String?, name: [UInt8], itemName: [UInt8]? = nil) throws -> DICOMFile {
        var b = Bytes()
        if let characterSet { b.explicit(0x0008, 0x0005, "CS", text: characterSet) }
        b.explicit(0x0008, 0x0016, "UI", text: "1.2.840.10008.5.1.4.1.1.2")
        var padded = Data(name)
        if padded.count % 2 == 1 { padded.append(0x20) }
        b.explicit(0x0010, 0x0010, "PN", padded)
        if let itemName {
            b.explicitUndefined(0x0008, 0x1140)
            b.itemStart()
            var p = Data(itemName)
            if p.count % 2 == 1 { p.append(0x20) }
            b.explicit(0x0008, 0x1070, "PN", p)                 // Operators' Name inside the item
            b.itemEnd()
            b.sequenceEnd()
        }
        return try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2.1", body: b.data))
    }

    func testLatin1() throws {
        let f = try file(characterSet: "ISO_IR 100", name: muellerLatin1)
        XCTAssertEqual(f.dataSet.characterSet.encoding, .latin1)
        XCTAssertEqual(f.dataSet.characterSet.terms, ["ISO_IR 100"])
        XCTAssertEqual(f.dataSet.string(.patientName), "Müller")
    }

    func testUTF8() throws {
        let f = try file(characterSet: "ISO_IR 192", name: Array("Müller^Jürgen".utf8))
        XCTAssertEqual(f.dataSet.characterSet.encoding, .utf8)
        XCTAssertEqual(f.dataSet.string(.patientName), "Müller^Jürgen")
        let g = try file(characterSet: "ISO_IR 192", name: Array("山田^太郎".utf8))
        XCTAssertEqual(g.dataSet.string(.patientName), "山田^太郎")
    }

    func testLatin2() throws {
        // "Łódź" in ISO 8859-2: Ł=A3, ó=F3, d, ź=BC
        let f = try file(characterSet: "ISO_IR 101", name: [0xA3, 0xF3, 0x64, 0xBC])
        XCTAssertEqual(f.dataSet.characterSet.encoding, .latin2)
        XCTAssertEqual(f.dataSet.string(.patientName), "Łódź")
    }

    func testISO2022FormsWithoutEscapesAndCaseAndSpacesInTheTerm() {
        XCTAssertEqual(SpecificCharacterSet(terms: ["ISO 2022 IR 100"]).encoding, .latin1)
        XCTAssertEqual(SpecificCharacterSet(terms: [" iso_ir 192 "]).encoding, .utf8)
        XCTAssertEqual(SpecificCharacterSet(terms: ["", "ISO 2022 IR 101"]).encoding, .latin2,
                       "an empty first value means the default; the next term names the repertoire")
        XCTAssertEqual(SpecificCharacterSet(terms: []).encoding, .ascii)
        XCTAssertEqual(SpecificCharacterSet(terms: ["ISO_IR 6"]).encoding, .ascii)
    }

    func testUnsupportedRepertoireFallsBackWithoutLosingText() throws {
        let cs = SpecificCharacterSet(terms: ["ISO 2022 IR 87"])
        XCTAssertEqual(cs.encoding, .fallback)
        XCTAssertFalse(cs.isExactlySupported)
        XCTAssertTrue(SpecificCharacterSet(terms: ["ISO_IR 100"]).isExactlySupported)
        XCTAssertEqual(cs.decode(Data("Müller".utf8)), "Müller", "valid UTF-8 is read as UTF-8")
        XCTAssertEqual(cs.decode(Data(muellerLatin1)), "Müller", "otherwise as Latin-1")
    }

    func testDefaultRepertoireReadsStrayHighBytesAsLatin1() throws {
        let f = try file(characterSet: nil, name: muellerLatin1)
        XCTAssertEqual(f.dataSet.characterSet, .default)
        XCTAssertEqual(f.dataSet.string(.patientName), "Müller")
        let g = try file(characterSet: nil, name: Array("Doe^John".utf8))
        XCTAssertEqual(g.dataSet.string(.patientName), "Doe^John")
    }

    /// The character set applies only to SH, LO, ST, LT, UC, UT and PN; a CS or UI value is
    /// always the default repertoire.
    func testCharacterSetAppliesOnlyToTextVRsThatUseIt() {
        XCTAssertTrue(VR.PN.usesSpecificCharacterSet)
        XCTAssertTrue(VR.LO.usesSpecificCharacterSet)
        XCTAssertFalse(VR.CS.usesSpecificCharacterSet)
        XCTAssertFalse(VR.UI.usesSpecificCharacterSet)
    }

    func testItemsInheritTheCharacterSetOfTheFile() throws {
        let f = try file(characterSet: "ISO_IR 100", name: muellerLatin1, itemName: [0x4A, 0xE9, 0x72, 0xF4, 0x6D, 0x65])
        let item = try XCTUnwrap(f.dataSet.sequence(Tag(0x0008, 0x1140))?.first)
        XCTAssertEqual(item.characterSet.encoding, .latin1)
        XCTAssertEqual(item.string(.operatorsName), "Jérôme")
    }

    func testItemsOfAnImplicitVRPrivateSequenceInheritTheCharacterSetWhenParsedLazily() throws {
        var item = Bytes()
        item.implicit(0x0010, 0x0010, Data(muellerLatin1))
        var seq = Bytes()
        seq.itemStart(length: UInt32(item.data.count))
        seq.raw(item.data)
        var b = Bytes()
        b.implicit(0x0008, 0x0005, text: "ISO_IR 100", vr: "CS")
        b.implicit(0x0008, 0x0016, text: "1.2.840.10008.5.1.4.1.1.2", vr: "UI")
        b.implicit(0x0009, 0x0010, text: "ACME")
        b.implicit(0x0009, 0x1001, seq.data)
        let f = try DICOMFile.parse(part10File(transferSyntax: "1.2.840.10008.1.2", body: b.data))
        XCTAssertEqual(f.dataSet.sequence(Tag(0x0009, 0x1001))?.first?.string(.patientName), "Müller")
    }

    func testItemsAddedInMemoryInheritTheCharacterSet() {
        var ds = DataSet()
        ds.characterSet = SpecificCharacterSet(terms: ["ISO_IR 100"])
        var item = DataSet()
        item.set(.roiName, .LO, "PTV")
        ds.set(.structureSetROISequence, items: [item])
        XCTAssertEqual(ds.sequence(.structureSetROISequence)?.first?.characterSet.encoding, .latin1)
    }

    /// Setting text the data set's repertoire cannot hold switches it to UTF-8 and says so in
    /// (0008,0005); the text survives a write and read.
    func testNonASCIINameOnAnASCIIDataSetSwitchesToUTF8() throws {
        var ds = DataSet()
        ds.set(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.2")
        ds.set(.sopInstanceUID, .UI, "1.2.3.4")
        ds.set(.patientID, .LO, "ID-7")
        XCTAssertNil(ds[.specificCharacterSet])
        ds.set(.patientName, .PN, "Müller^Zoë")
        XCTAssertEqual(ds.characterSet.encoding, .utf8)
        XCTAssertEqual(ds.string(.specificCharacterSet), "ISO_IR 192")
        XCTAssertEqual(ds.bytes(.patientName), Data("Müller^Zoë".utf8))
        XCTAssertEqual(ds.string(.patientName), "Müller^Zoë")

        let back = try DICOMFile.parse(try DICOMWriter.encodeFile(ds))
        XCTAssertEqual(back.dataSet.characterSet.encoding, .utf8)
        XCTAssertEqual(back.dataSet.string(.patientName), "Müller^Zoë")
        XCTAssertEqual(back.dataSet.string(.patientID), "ID-7")
    }

    func testLatin1DataSetKeepsLatin1ForTextItCanHold() {
        var ds = DataSet()
        ds.set(.specificCharacterSet, .CS, "ISO_IR 100")
        ds.characterSet = SpecificCharacterSet(terms: ["ISO_IR 100"])
        ds.set(.patientName, .PN, "Müller")
        XCTAssertEqual(ds.bytes(.patientName), Data(muellerLatin1))
        XCTAssertEqual(ds.string(.specificCharacterSet), "ISO_IR 100")
        XCTAssertEqual(ds.string(.patientName), "Müller")
    }

    func testASCIITextDoesNotChangeTheCharacterSet() {
        var ds = DataSet()
        ds.set(.patientName, .PN, "Doe^John")
        ds.set(.institutionName, .LO, "Clinic")
        XCTAssertEqual(ds.characterSet, .default)
        XCTAssertNil(ds[.specificCharacterSet])
    }
}
