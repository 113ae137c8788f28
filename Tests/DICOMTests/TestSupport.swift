@_exported import TestSupport
import Base
import Foundation
import XCTest
@testable import DICOM

// Helpers shared by the DICOM tests.
//
// `Bytes` builds DICOM byte streams by hand, independently of `DICOMWriter`, so reader
// tests do not depend on the writer being right (and the writer tests can check bytes).

/// A little- or big-endian byte stream builder.
struct Bytes {
    var data = Data()
    var bigEndian = false

    init(bigEndian: Bool = false) { self.bigEndian = bigEndian }

    mutating func u8(_ v: UInt8) { data.append(v) }

    mutating func u16(_ v: UInt16) {
        let w = bigEndian ? v.bigEndian : v.littleEndian
        withUnsafeBytes(of: w) { data.append(contentsOf: $0) }
    }

    mutating func u32(_ v: UInt32) {
        let w = bigEndian ? v.bigEndian : v.littleEndian
        withUnsafeBytes(of: w) { data.append(contentsOf: $0) }
    }

    mutating func raw(_ d: Data) { data.append(d) }
    mutating func raw(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func ascii(_ s: String) { data.append(contentsOf: Array(s.utf8)) }

    mutating func tag(_ g: UInt16, _ e: UInt16) { u16(g); u16(e) }

    static func isLong(_ vr: String) -> Bool {
        ["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"].contains(vr)
    }

    /// An explicit VR element with a defined length; the value is used as given (no padding).
    mutating func explicit(_ g: UInt16, _ e: UInt16, _ vr: String, _ value: Data) {
        tag(g, e)
        ascii(vr)
        if Bytes.isLong(vr) {
            u16(0)
            u32(UInt32(value.count))
        } else {
            u16(UInt16(value.count))
        }
        raw(value)
    }

    /// An explicit VR text element, padded to even length (NUL for UI, space otherwise).
    mutating func explicit(_ g: UInt16, _ e: UInt16, _ vr: String, text: String) {
        explicit(g, e, vr, Bytes.padded(text, vr: vr))
    }

    /// An implicit VR element with a defined length.
    mutating func implicit(_ g: UInt16, _ e: UInt16, _ value: Data) {
        tag(g, e)
        u32(UInt32(value.count))
        raw(value)
    }

    mutating func implicit(_ g: UInt16, _ e: UInt16, text: String, vr: String = "LO") {
        implicit(g, e, Bytes.padded(text, vr: vr))
    }

    /// The header of an explicit VR sequence (or UN) of undefined length.
    mutating func explicitUndefined(_ g: UInt16, _ e: UInt16, _ vr: String = "SQ") {
        tag(g, e)
        ascii(vr)
        u16(0)
        u32(0xFFFF_FFFF)
    }

    /// The header of an implicit VR element of undefined length.
    mutating func implicitUndefined(_ g: UInt16, _ e: UInt16) {
        tag(g, e)
        u32(0xFFFF_FFFF)
    }

    mutating func itemStart(length: UInt32 = 0xFFFF_FFFF) { tag(0xFFFE, 0xE000); u32(length) }
    mutating func itemEnd() { tag(0xFFFE, 0xE00D); u32(0) }
    mutating func sequenceEnd() { tag(0xFFFE, 0xE0DD); u32(0) }

    static func padded(_ text: String, vr: String) -> Data {
        var d = Data(text.utf8)
        if d.count % 2 == 1 { d.append(vr == "UI" ? 0 : 0x20) }
        return d
    }

    static func le16(_ values: [UInt16]) -> Data {
        var b = Bytes(); for v in values { b.u16(v) }; return b.data
    }
}

/// A Part 10 file: 128-byte preamble, `DICM`, an explicit VR LE meta group with a correct
/// group length, then `body` (already encoded in `transferSyntax`).
func part10File(transferSyntax: String, body: Data,
                sopClass: String = "1.2.840.10008.5.1.4.1.1.2", sopInstance: String = "1.2.3.4.5") -> Data {
    var meta = Bytes()
    meta.explicit(0x0002, 0x0001, "OB", Data([0, 1]))
    meta.explicit(0x0002, 0x0002, "UI", text: sopClass)
    meta.explicit(0x0002, 0x0003, "UI", text: sopInstance)
    meta.explicit(0x0002, 0x0010, "UI", text: transferSyntax)
    var out = Bytes()
    out.raw([UInt8](repeating: 0, count: 128))
    out.ascii("DICM")
    out.explicit(0x0002, 0x0000, "UL", Bytes.le16([UInt16(meta.data.count & 0xFFFF), UInt16(meta.data.count >> 16)]))
    out.raw(meta.data)
    out.raw(body)
    return out.data
}

/// Asserts that `body` throws a `SBRTError` of `kind` whose message contains `substring`
/// (case-insensitive), and returns it.
@discardableResult
func assertDICOMError<T>(_ kind: SBRTError.Kind, containing substring: String? = nil,
                         file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) -> SBRTError? {
    do {
        _ = try body()
        XCTFail("expected a \(kind) error, but it succeeded", file: file, line: line)
        return nil
    } catch let error as SBRTError {
        XCTAssertEqual(error.kind, kind, "unexpected kind; message: \(error.description)", file: file, line: line)
        if let substring {
            XCTAssertTrue(error.message.lowercased().contains(substring.lowercased()),
                          "message \"\(error.message)\" does not contain \"\(substring)\"", file: file, line: line)
        }
        return error
    } catch {
        XCTFail("expected a SBRTError, got \(error)", file: file, line: line)
        return nil
    }
}


/// Reads everything a caller typically reads from a parsed data set, recursively, so a
/// damaged file that parses is also exercised through the accessors.
func exerciseAccessors(_ ds: DataSet, depth: Int = 0) {
    if depth > 8 { return }
    for e in ds.elements {
        _ = ds.string(e.tag)
        _ = ds.strings(e.tag)
        _ = try? ds.doubles(e.tag)
        _ = try? ds.ints(e.tag)
        _ = ds.tagValue(e.tag)
        _ = ds.uint16(e.tag)
        if let items = ds.sequence(e.tag) {
            for item in items { exerciseAccessors(item, depth: depth + 1) }
        }
    }
}

/// Parses `data`; passes when it parses or throws a `SBRTError`, fails on any other error.
/// Returns whether it parsed. With `exercise`, also reads every value through the accessors.
@discardableResult
func parsesOrThrowsDICOMError(_ data: Data, _ context: @autoclosure () -> String, exercise: Bool = true,
                              file: StaticString = #filePath, line: UInt = #line) -> Bool {
    do {
        let f = try DICOMFile.parse(data)
        if exercise { exerciseAccessors(f.dataSet) }
        _ = try? f.nativePixelData()
        return true
    } catch is SBRTError {
        return false
    } catch {
        XCTFail("\(context()): threw a non-SBRTError \(error)", file: file, line: line)
        return false
    }
}

/// The package root, found from this file's location (Tests/DICOMTests/TestSupport.swift).
let packageRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()   // DICOMTests
    .deletingLastPathComponent()   // Tests
    .deletingLastPathComponent()   // package root

let fixturesRoot: URL = packageRoot.appendingPathComponent("Fixtures")

/// Regular files under `folder` (recursively) whose names end in `.dcm`, sorted.
func dicomFiles(under folder: URL) -> [URL] {
    guard let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
    var out: [URL] = []
    for case let url as URL in e where url.pathExtension.lowercased() == "dcm" {
        out.append(url)
    }
    return out.sorted { $0.path < $1.path }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("sbrt-dicom-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
