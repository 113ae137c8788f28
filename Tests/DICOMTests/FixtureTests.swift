import Base
import Foundation
import XCTest
@testable import DICOM

/// The pydicom-made fixtures under Fixtures/: valid files read, damaged files fail the way
/// Fixtures/broken/expected.json says, and no mutation of a valid file crashes the reader.
final class FixtureTests: XCTestCase {

    struct Expectation: Decodable {
        var description: String
        var expect_substring: String
        var accept_any: [String]?
        var outcome: String
    }

    /// Broken files whose damage only the RT model can see (the codec reads them fine);
    /// RTModelTests check their errors.
    static let rtLevel: Set<String> = [
        "ct_missing_ipp.dcm", "dose_missing_gfov.dcm", "dose_short_pixeldata.dcm",
        "struct_contourdata_not_triplets.dcm",
    ]
    /// Broken files whose pixel data is compressed: they read; decoding the pixels fails.
    static let pixelLevel: Set<String> = ["ct_jpeg_baseline.dcm", "ct_jpeg2000.dcm"]

    var brokenFolder: URL { fixturesRoot.appendingPathComponent("broken") }

    func validFixtureFiles() -> [URL] {
        dicomFiles(under: fixturesRoot.appendingPathComponent("pelvis"))
            + dicomFiles(under: fixturesRoot.appendingPathComponent("variants"))
    }

    func matches(_ message: String, _ e: Expectation) -> Bool {
        let m = message.lowercased()
        return ([e.expect_substring] + (e.accept_any ?? [])).contains { m.contains($0.lowercased()) }
    }

    func testBrokenFilesFailAsExpected() throws {
        let manifest = brokenFolder.appendingPathComponent("expected.json")
        // A fixture a test needs is part of the repository: missing is a failure, not a skip.
        guard FileManager.default.fileExists(atPath: manifest.path) else {
            return XCTFail("Fixtures/broken/expected.json is missing (python3 Tools/fixtures/make_fixtures.py)")
        }
        let expected = try JSONDecoder().decode([String: Expectation].self, from: Data(contentsOf: manifest))
        XCTAssertFalse(expected.isEmpty)
        for (name, e) in expected.sorted(by: { $0.key < $1.key }) {
            let path = brokenFolder.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path) else {
                XCTFail("\(name) is listed in expected.json but missing"); continue
            }
            let result = Result { try DICOMFile.read(path: path) }
            if Self.rtLevel.contains(name) {
                switch result {
                case .success(let f): exerciseAccessors(f.dataSet)
                case .failure(let error): XCTFail("\(name): the codec should read it (the damage is at the RT level): \(error)")
                }
                continue
            }
            if Self.pixelLevel.contains(name) {
                switch result {
                case .success(let f):
                    XCTAssertTrue(f.transferSyntax.encapsulated, name)
                    do {
                        _ = try f.nativePixelData()
                        XCTFail("\(name): decoding compressed pixels should fail")
                    } catch let err as SBRTError {
                        XCTAssertEqual(err.kind, .unsupported, name)
                        XCTAssertTrue(matches(err.description, e), "\(name): \(err.description)")
                        XCTAssertTrue(err.description.hasPrefix(path), "\(name): \(err.description)")
                    }
                case .failure(let error): XCTFail("\(name): the file itself should read: \(error)")
                }
                continue
            }
            switch (result, e.outcome) {
            case (.success(let f), "error-or-ok"), (.success(let f), "error-or-warning"):
                exerciseAccessors(f.dataSet)
            case (.success, _):
                XCTFail("\(name) (\(e.description)): read without error")
            case (.failure(let error), _):
                guard let err = error as? SBRTError else { XCTFail("\(name): \(error)"); continue }
                XCTAssertTrue(matches(err.description, e),
                              "\(name): \"\(err.description)\" contains none of \([e.expect_substring] + (e.accept_any ?? []))")
                XCTAssertEqual(err.file, path, name)
                XCTAssertTrue(err.description.hasPrefix(path + ": "), "\(name): \(err.description)")
            }
        }
    }

    /// Specific kinds for the codec-level damage, where the kind is unambiguous.
    func testBrokenFilesHaveTheRightKind() throws {
        let kinds: [String: SBRTError.Kind] = [
            "empty.dcm": .notDICOM, "random_bytes.bin": .notDICOM, "trunc_in_preamble.dcm": .notDICOM,
            "length_past_eof.dcm": .truncated, "trunc_in_value.dcm": .truncated,
            "trunc_in_element_header.dcm": .truncated, "trunc_in_nested_sequence.dcm": .truncated,
            "trunc_in_meta.dcm": .truncated, "item_never_closed.dcm": .truncated,
            "sequence_never_closed.dcm": .truncated, "huge_length_implicit.dcm": .truncated,
            "unknown_transfer_syntax.dcm": .unsupported, "deep_nesting.dcm": .malformed,
        ]
        var checked = 0
        for (name, kind) in kinds.sorted(by: { $0.key < $1.key }) {
            let path = brokenFolder.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path) else { XCTFail("Fixtures/broken/\(name) is missing"); continue }
            assertDICOMError(kind) { try DICOMFile.read(path: path) }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "Fixtures/broken is missing")
    }

    func testEveryValidFixtureReads() throws {
        let files = validFixtureFiles()
        guard !files.isEmpty else { return XCTFail("Fixtures/pelvis and Fixtures/variants are missing") }
        var syntaxes = Set<String>()
        for url in files {
            do {
                let f = try DICOMFile.read(path: url.path)
                syntaxes.insert(f.transferSyntax.uid)
                XCTAssertNotNil(f.sopInstanceUID, url.lastPathComponent)
                XCTAssertNotNil(f.modality, url.lastPathComponent)
                exerciseAccessors(f.dataSet)
                if f.modality == "CT" || f.modality == "RTDOSE" {
                    XCTAssertNoThrow(try f.nativePixelData(), url.path)
                }
            } catch {
                XCTFail("\(url.path): \(error)")
            }
        }
        XCTAssertTrue(syntaxes.contains(TransferSyntax.explicitVRLittleEndian.uid) || syntaxes.contains(TransferSyntax.implicitVRLittleEndian.uid))
    }

    /// The variants' encodings are the ones their folders name.
    func testVariantEncodings() throws {
        let variants = fixturesRoot.appendingPathComponent("variants")
        let cases: [(String, TransferSyntax)] = [
            ("bigendian", .explicitVRBigEndian), ("deflated", .deflatedExplicitVRLittleEndian),
            ("implicit", .implicitVRLittleEndian),
        ]
        var checked = 0
        for (folder, ts) in cases {
            for url in dicomFiles(under: variants.appendingPathComponent(folder)) where !url.lastPathComponent.hasPrefix("CT") {
                let f = try DICOMFile.read(path: url.path)
                XCTAssertEqual(f.transferSyntax, ts, url.path)
                checked += 1
            }
        }
        for url in dicomFiles(under: variants.appendingPathComponent("latin1")) {
            let f = try DICOMFile.read(path: url.path)
            XCTAssertEqual(f.dataSet.characterSet.encoding, .latin1, url.path)
            if let name = f.dataSet.string(.patientName) {
                XCTAssertFalse(name.contains("\u{FFFD}"), "\(url.path): \(name)")
            }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "Fixtures/variants is missing")
    }

    /// Truncations and byte flips of every valid fixture (sampled): each parses or throws a
    /// SBRTError. Structure-rich files (RS, RP, RD) get more mutations than CT slices.
    func testMutationsOfValidFixturesNeverCrash() throws {
        let files = validFixtureFiles()
        guard !files.isEmpty else { return XCTFail("Fixtures/pelvis and Fixtures/variants are missing") }
        var rng = SplitMix64(seed: 0xD1C0)
        let start = Date()
        var runs = 0
        for url in files {
            let original = try Data(contentsOf: url)
            let rich = !url.lastPathComponent.hasPrefix("CT")
            let count = rich ? 12 : 3
            // Reading every value of a large structure set in a debug build is slow; the
            // fuzzer (Tools/Fuzz) exercises the accessors at scale.
            let exercise = original.count < 100_000
            // Structure is in the first part of a CT (pixel data comes last); in RS/RP it is everywhere.
            let structural = rich ? original.count : min(original.count, 4096)
            for i in 0..<count {
                let n = Int.random(in: 0..<structural, using: &rng)
                parsesOrThrowsDICOMError(original.prefix(n), "\(url.lastPathComponent) cut at \(n) (\(i))", exercise: exercise)
                var bytes = [UInt8](original)
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    let at = Int.random(in: 128..<structural, using: &rng)
                    bytes[at] = UInt8.random(in: 0...255, using: &rng)
                }
                parsesOrThrowsDICOMError(Data(bytes), "\(url.lastPathComponent) flip \(i)", exercise: exercise)
                runs += 2
            }
        }
        XCTAssertGreaterThan(runs, 0)
        XCTAssertLessThan(Date().timeIntervalSince(start), 30, "mutation sweep is too slow (\(runs) runs)")
    }
}
