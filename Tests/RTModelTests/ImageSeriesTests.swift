import Base
import DICOM
import Foundation
import RTModel
import VoxelKit
import XCTest

/// Planning images other than CT: the MR pelvis plan, the CT plan with a registered MR
/// (Tools/fixtures/mr_fixtures.py writes both and their numpy truth), PET values, and
/// the image objects sbrt refuses.
final class ImageSeriesTests: XCTestCase {
    func testPelvisPlanedOnMRReadsItsImagesAsMRSignal() throws {
        let dir = fixture("pelvis_mr")
        let exp = try Expected(dir)
        let study = try ResolvedStudy.resolve(dir, StudyRequest(needs: [.images, .structureSet]))
        let mr = try XCTUnwrap(study.images)
        XCTAssertEqual(mr.modality, .mr)
        XCTAssertEqual(mr.values.quantity, .signal)
        XCTAssertEqual(mr.values.unit, "")
        XCTAssertEqual(mr.slices.count, 40)
        XCTAssertTrue(mr.slices.allSatisfy { $0.sopClassUID == SOPClass.mrImage })
        XCTAssertEqual(mr.grid.size, SIMD3(128, 112, 40))
        XCTAssertTrue(study.choices.contains("images MR \"T1 TSE Planung\" (40 images): the series the structure set references"), "\(study.choices)")
        XCTAssertTrue(study.folder.warnings.isEmpty || !study.folder.warnings.contains { $0.kind == "structure-set-without-ct" })
        let values = try mr.loadValues()
        let probes = exp.array("probes")
        XCTAssertEqual(probes.count, 6)
        for p in probes {
            let idx = mr.grid.continuousIndex(of: vec(p["pos_mm"]))
            let (i, j, k) = (Int(idx.x.rounded()), Int(idx.y.rounded()), Int(idx.z.rounded()))
            XCTAssertEqual(i, (p["i"] as! NSNumber).intValue)
            XCTAssertEqual(j, (p["j"] as! NSNumber).intValue)
            XCTAssertEqual(values[i, j, k], (p["signal"] as! NSNumber).floatValue, "signal at \(p["pos_mm"]!)")
        }
        let range = try mr.valueRange()
        XCTAssertEqual(Double(values.voxels.min()!), range.min)
        XCTAssertEqual(Double(values.voxels.max()!), range.max)
    }

    /// The registration's MR item maps MR coordinates into the CT's frame (matrix M);
    /// a figure on the CT plan samples the MR at M⁻¹·p.
    func testRegisteredMRIsJoinedThroughTheSpatialRegistrationsMatrix() throws {
        let dir = fixture("registered_mr")
        let exp = try Expected(dir)
        let study = try ResolvedStudy.resolve(dir, StudyRequest(needs: [.images, .structureSet]))
        XCTAssertEqual(study.images?.modality, .ct)
        XCTAssertEqual(study.folder.imageSeries.map(\.modality), [.ct, .mr])
        let selected = try study.selectImages("2")
        XCTAssertEqual(selected.series.seriesInstanceUID, exp.string("mr_series_instance_uid"))
        XCTAssertEqual(selected.number, 2)
        XCTAssertTrue(selected.registration.hasPrefix("Spatial Registration REG."), selected.registration)
        let t = try XCTUnwrap(selected.seriesFromPlanning)
        let landmarkMR = vec(exp["landmark_mr_mm"]), landmarkCT = vec(exp["landmark_ct_mm"])
        XCTAssertLessThan(length(t.apply(landmarkCT) - landmarkMR), 1e-6)
        let m = exp.doubles("matrix_mr_to_ct")
        XCTAssertLessThan(length(t.inverse.apply(Vec3(0, 0, 0)) - Vec3(m[3], m[7], m[11])), 1e-6)
        // By Series Instance UID; the planning series itself needs no transform.
        XCTAssertEqual(try study.selectImages(exp.string("mr_series_instance_uid")!).number, 2)
        XCTAssertNil(try study.selectImages("1").seriesFromPlanning)
        for bad in ["3", "0", "1.2.3"] {
            XCTAssertThrowsError(try study.selectImages(bad)) { XCTAssertEqual(($0 as? SBRTError)?.kind, .noImages) }
        }
    }

    func testASeriesOnAnotherFrameOfReferenceWithoutRegistrationIsRefused() throws {
        let dir = try copyFixture("registered_mr", dropping: { $0.hasPrefix("REG.") })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let study = try ResolvedStudy.resolve(dir, StudyRequest(needs: [.images]))
        XCTAssertThrowsError(try study.selectImages("2")) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .frameOfReference)
            XCTAssertTrue((e as? SBRTError)?.message.contains("no Spatial Registration") ?? false)
        }
    }

    // MARK: PET

    /// A one-slice PET series: 2×2 pixels, stored values 0, 100, 1000, 30000 with Rescale
    /// Slope 0.5; `tags` set the SUV-related attributes.
    func petSeries(_ tags: (inout DataSet) -> Void) throws -> ImageSeries {
        var ds = DataSet()
        ds.set(.sopClassUID, .UI, SOPClass.petImage)
        ds.set(.sopInstanceUID, .UI, "2.25.1")
        ds.set(.modality, .CS, "PT")
        ds.set(.seriesInstanceUID, .UI, "2.25.2")
        ds.set(.frameOfReferenceUID, .UI, "2.25.3")
        ds.set(.imagePositionPatient, decimals: [0, 0, 0])
        ds.set(.imageOrientationPatient, decimals: [1, 0, 0, 0, 1, 0])
        ds.set(.pixelSpacing, decimals: [4, 4])
        ds.set(.rows, .US, binary: [UInt16(2)])
        ds.set(.columns, .US, binary: [UInt16(2)])
        ds.set(.bitsAllocated, .US, binary: [UInt16(16)])
        ds.set(.bitsStored, .US, binary: [UInt16(16)])
        ds.set(.pixelRepresentation, .US, binary: [UInt16(0)])
        ds.set(.rescaleSlope, decimals: [0.5])
        ds.set(.rescaleIntercept, decimals: [0])
        ds.set(.pixelData, .OW, binary: [UInt16(0), 100, 1000, 30000])
        tags(&ds)
        let file = try DICOMFile.parse(try DICOMWriter.encodeFile(ds), path: "pet.dcm")
        return try ImageSeries(files: [file], modality: .pet)
    }

    func suvTags(_ ds: inout DataSet) {
        ds.set(.petUnits, .CS, "BQML")
        ds.set(.correctedImage, .CS, "NORM", "DTIM", "ATTN", "SCAT", "DECY")
        ds.set(.decayCorrection, .CS, "START")
        ds.set(.patientWeight, decimals: [72.5])
        ds.set(.seriesDate, .DA, "20240311")
        ds.set(.seriesTime, .TM, "101500")
        ds.set(.acquisitionDate, .DA, "20240311")
        ds.set(.acquisitionTime, .TM, "101500.25")
        var drug = DataSet()
        drug.set(.radionuclideTotalDose, decimals: [3.7e8])
        drug.set(.radionuclideHalfLife, decimals: [6586.2])
        drug.set(.radiopharmaceuticalStartTime, .TM, "090000")
        ds.set(.radiopharmaceuticalInformationSequence, items: [drug])
    }

    /// SUVbw = Bq/ml × weight (g) / (dose × 2^(−Δt/T½)), Δt = 75 min from injection to Series Time.
    func testPETValuesAreBodyWeightSUVDecayCorrectedToTheSeriesTime() throws {
        let pet = try petSeries(suvTags)
        XCTAssertEqual(pet.values.quantity, .suvBodyWeight)
        XCTAssertEqual(pet.values.unit, "g/ml")
        let decayed = 3.7e8 * pow(2, -4500 / 6586.2)
        XCTAssertEqual(pet.values.factor, 72_500 / decayed, accuracy: 1e-12)
        let v = try pet.loadValues().voxels
        for (stored, value) in zip([0.0, 100, 1000, 30000], v) {
            XCTAssertEqual(Double(value), stored * 0.5 * 72_500 / decayed, accuracy: 1e-6 * max(1, stored * 0.5 * 72_500 / decayed))
        }
        XCTAssertEqual(try pet.valueRange().max, 15_000 * 72_500 / decayed, accuracy: 1e-9)
        // Corrected to the injection (ADMIN): no decay factor.
        let admin = try petSeries { suvTags(&$0); $0.set(.decayCorrection, .CS, "ADMIN") }
        XCTAssertEqual(admin.values.factor, 72_500 / 3.7e8, accuracy: 1e-15)
        // An injection the evening before (start time after the series time).
        let overnight = try petSeries { ds in
            suvTags(&ds)
            var drug = DataSet()
            drug.set(.radionuclideTotalDose, decimals: [3.7e8])
            drug.set(.radionuclideHalfLife, decimals: [6586.2])
            drug.set(.radiopharmaceuticalStartTime, .TM, "231500")
            ds.set(.radiopharmaceuticalInformationSequence, items: [drug])
        }
        XCTAssertEqual(overnight.values.factor, 72_500 / (3.7e8 * pow(2, -(11 * 3600) / 6586.2)), accuracy: 1e-9)
    }

    func testPETWithoutWhatSUVNeedsKeepsItsUnitsAndSaysWhy() throws {
        let noWeight = try petSeries { suvTags(&$0); $0[.patientWeight] = nil }
        XCTAssertEqual(noWeight.values.quantity, .petRaw)
        XCTAssertEqual(noWeight.values.unit, "BQML")
        XCTAssertEqual(noWeight.values.factor, 1)
        XCTAssertTrue(noWeight.values.note.contains("Patient's Weight"), noWeight.values.note)
        XCTAssertEqual(try noWeight.loadValues().voxels, [0, 50, 500, 15000])
        let counts = try petSeries { suvTags(&$0); $0.set(.petUnits, .CS, "CNTS") }
        XCTAssertEqual(counts.values.quantity, .petRaw)
        XCTAssertTrue(counts.values.note.contains("CNTS"))
        let notDecayCorrected = try petSeries { suvTags(&$0); $0.set(.decayCorrection, .CS, "NONE") }
        XCTAssertEqual(notDecayCorrected.values.quantity, .petRaw)
        let postProcessed = try petSeries { suvTags(&$0); $0.set(.seriesTime, .TM, "120000") }
        XCTAssertEqual(postProcessed.values.quantity, .petRaw)
        XCTAssertTrue(postProcessed.values.note.contains("post-processed"), postProcessed.values.note)
        let gml = try petSeries { $0.set(.petUnits, .CS, "GML") }
        XCTAssertEqual(gml.values.quantity, .suvBodyWeight)
        XCTAssertEqual(gml.values.factor, 1)
    }

    // MARK: Refused objects

    func testEnhancedMultiFrameImagesAreRefusedByNameAndListed() throws {
        let dir = try copyFixture("pelvis_mr", dropping: { _ in false })
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var ds = DataSet()
        ds.set(.sopClassUID, .UI, "1.2.840.10008.5.1.4.1.1.4.1")
        ds.set(.sopInstanceUID, .UI, "2.25.77")
        ds.set(.modality, .CS, "MR")
        ds.set(.seriesInstanceUID, .UI, "2.25.78")
        ds.set(.numberOfFrames, .IS, "40")
        try DICOMWriter.encodeFile(ds).write(to: URL(fileURLWithPath: dir + "/enhanced.dcm"))
        let folder = try StudyFolder.load(dir)
        XCTAssertEqual(folder.imageSeries.count, 1)
        XCTAssertEqual(folder.refusedFiles.count, 1)
        XCTAssertTrue(folder.refusedFiles[0].reason.hasPrefix("Enhanced MR Image Storage is a multi-frame object"), folder.refusedFiles[0].reason)
        let inventory = try Inventory(folder)
        let others = inventory.patients.flatMap(\.studies).flatMap(\.otherObjects)
        XCTAssertEqual(others.count, 1)
        guard others.count == 1 else { return }
        XCTAssertEqual(others[0].status, "refused")
        XCTAssertEqual(others[0].sopClassName, "Enhanced MR Image Storage")
        XCTAssertEqual(inventory.patients.flatMap(\.studies).flatMap(\.imageSeries).first?.referencedByStructureSets.count, 1)
    }

    /// A copy of a fixture folder in a temporary directory, without the files `dropping` names.
    func copyFixture(_ name: String, dropping: (String) -> Bool) throws -> String {
        let dir = NSTemporaryDirectory() + "sbrt-images-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: fixture(name)) where !dropping(f) {
            try FileManager.default.copyItem(atPath: fixture(name) + "/" + f, toPath: dir + "/" + f)
        }
        return dir
    }
}
