import Base
import Foundation
import XCTest
@testable import DICOM

/// Inputs the fuzzer (Tools/Fuzz) once failed on, kept in Tools/Fuzz/regressions/. Each must
/// parse or throw a SBRTError; what parses must survive the writer and read back, the
/// property the fuzz target checks.
final class FuzzRegressionTests: XCTestCase {

    func testEveryRegressionInputParsesOrFailsCleanlyAndRoundTrips() throws {
        // Every file under Tools/Fuzz/regressions, the command-line fuzzer's mutants in
        // cli/NAME/mutant.dcm included (their case.json files are not DICOM: skipped).
        let folder = packageRoot.appendingPathComponent("Tools/Fuzz/regressions")
        let files = (FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])?.allObjects as? [URL] ?? [])
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true && $0.pathExtension != "json" }
        XCTAssertFalse(files.isEmpty, "the fuzz regression inputs are missing from \(folder.path)")
        for url in files.sorted(by: { $0.path < $1.path }) {
            let data = try Data(contentsOf: url)
            let file: DICOMFile
            do {
                file = try DICOMFile.parse(data)
            } catch is SBRTError {
                continue
            }
            exerciseAccessors(file.dataSet)
            var ds = file.dataSet
            if ds.string(.sopClassUID)?.isEmpty ?? true { ds.set(.sopClassUID, .UI, "1.2.3") }
            if ds.string(.sopInstanceUID)?.isEmpty ?? true { ds.set(.sopInstanceUID, .UI, "1.2.3.4") }
            guard let encoded = try? DICOMWriter.encodeFile(ds) else { continue }
            XCTAssertNoThrow(try DICOMFile.parse(encoded), "\(url.lastPathComponent): the writer's output does not read back")
        }
    }

    /// The first fuzz finding, spelled out: explicit VR big endian, first data element with
    /// the undefined VR "CQ". It reads; written back, the VR becomes the dictionary's (CS).
    func testUnknownVRFirstElementBigEndian() throws {
        let url = packageRoot.appendingPathComponent("Tools/Fuzz/regressions/unknown-vr-first-element-big-endian.dcm")
        let data = try Data(contentsOf: url)
        let file = try DICOMFile.parse(data)
        XCTAssertEqual(file.transferSyntax, .explicitVRBigEndian)
        XCTAssertEqual(file.dataSet[.specificCharacterSet]?.vr, VR("CQ"))
        let back = try DICOMFile.parse(try DICOMWriter.encodeFile(file.dataSet))
        XCTAssertEqual(back.dataSet[.specificCharacterSet]?.vr, .CS)
        XCTAssertEqual(back.dataSet.string(.specificCharacterSet), "ISO_IR 100")
        XCTAssertEqual(back.dataSet.string(.modality), "RTSTRUCT")
    }
}
