import DICOM
import Foundation
import FuzzKit
import XCTest

/// Valid DICOM carrying absurd numbers (issue 14): each is refused where it enters, with
/// exit 2 and a message naming the file, the attribute and the value, within 20 s and
/// 4 GiB — never a trap, a hang or an unbounded allocation (docs/safety.md).
final class NumericInputEndToEndTests: XCTestCase {
    let contour: [Tag] = [.roiContourSequence, .contourSequence, .contourData]

    /// The ROI Contour item of the ROI named `name`.
    func contourItem(_ ds: DataSet, _ name: String) throws -> Int {
        let number = try XCTUnwrap(ds.sequence(.structureSetROISequence)?.first { $0.string(.roiName) == name }.flatMap { try? $0.int(.roiNumber) })
        return try XCTUnwrap(ds.sequence(.roiContourSequence)?.firstIndex { (try? $0.int(.referencedROINumber)) == number })
    }

    func testContourCoordinatesBeyondTenMetresAreRefusedByEveryCommand() throws {
        for value in ["1e308", "-1e30"] {
            let m = try mutated(self, "pelvis", "RS.") { $0.setValue(contour, index: 0, to: value) }
            let shown = value == "1e308" ? "1e+308" : "-1e+30"
            for args in [["dvh", m.study], ["expand", m.study, "--from", "GTV", "--margin", "5", "--name", "CTV5", "--out", m.output("rs.dcm")],
                         ["render", m.study, "--view", "sagittal", "--out", m.output("s.png")], ["check", m.study, "--protocol", "tg101"]] {
                assertRefused(try runLimited(args), mentioning: ["RS.", "Contour Data (3006,0050)", shown, "±10000 mm"])
            }
        }
    }

    func testOneBodyPointFarAwayIsRefusedOrBounded() throws {
        // 10^15 mm: beyond the range, refused.
        let far = try mutated(self, "pelvis", "RS.") { ds in
            let k = try contourItem(ds, "BODY")
            ds.modify(ElementPath([.init(tag: .roiContourSequence, item: k), .init(tag: .contourSequence, item: 0)], .contourData)) {
                $0 = $0?.replacingValue(2, with: "1e15")
            }
        }
        assertRefused(try runLimited(["dvh", far.study]), mentioning: ["BODY", "1e+15", "point 1, z"])
        // 9 m: within the range; the DVH and the margin are computed (or refused) within the limits.
        let near = try mutated(self, "pelvis", "RS.") { ds in
            let k = try contourItem(ds, "PTV")
            ds.modify(ElementPath([.init(tag: .roiContourSequence, item: k), .init(tag: .contourSequence, item: 0)], .contourData)) {
                $0 = $0?.replacingValue(2, with: "9000")
            }
        }
        for args in [["dvh", near.study, "--structure", "PTV"], ["expand", near.study, "--from", "PTV", "--margin", "3", "--name", "PTV3", "--out", near.output("rs.dcm")]] {
            let r = try runLimited(args)
            XCTAssertTrue(r.problems.isEmpty, "\(args[0]): \(r.problems) \(r.err)")
            XCTAssertTrue(r.status == 0 || r.status == 2, "\(args[0]): \(r.summary) \(r.err)")
        }
    }

    func testDoseGeometryAndScalingOutOfRangeAreRefused() throws {
        let cases: [(Tag, Int, String, [String])] = [
            (.pixelSpacing, 0, "1e-320", ["Pixel Spacing (0028,0030)", "1e-320", "0.01–100 mm"]),
            (.pixelSpacing, 1, "1e308", ["Pixel Spacing (0028,0030)", "1e+308"]),
            (.pixelSpacing, 0, "1e-4", ["Pixel Spacing (0028,0030)", "0.0001"]),
            (.imageOrientationPatient, 1, "1e300", ["Image Orientation (Patient) (0020,0037)", "1e+300"]),
            (.doseGridScaling, 0, "1e308", ["Dose Grid Scaling (3004,000E)", "1e+308"]),
            (.doseGridScaling, 0, "1e-320", ["Dose Grid Scaling (3004,000E)", "1e-320"]),
            (.gridFrameOffsetVector, 3, "1e300", ["Grid Frame Offset Vector (3004,000C)", "1e+300"]),
            (.imagePositionPatient, 2, "-1e15", ["Image Position (Patient) (0020,0032)", "-1e+15"]),
        ]
        for (tag, index, value, mentions) in cases {
            let m = try mutated(self, "pelvis", "RD.") { $0.setValue([tag], index: index, to: value) }
            for args in [["dvh", m.study], ["check", m.study, "--protocol", "tg101"], ["render", m.study, "--out", m.output("a.png")]] {
                assertRefused(try runLimited(args), mentioning: ["RD."] + mentions)
            }
        }
    }

    func testADoseGridOfMoreThanTwoToThe31ValuesIsRefusedBeforeAnyAllocation() throws {
        // 60 × 56 × 2,000,000 values: refused from the header, before the offsets are read.
        let m = try mutated(self, "pelvis", "RD.") { $0.set(.numberOfFrames, .IS, "2000000") }
        assertRefused(try runLimited(["dvh", m.study]), mentioning: ["RD.", "2³¹"])
    }

    func testACTSliceFarAwayIsRefusedEvenByInfo() throws {
        let m = try mutated(self, "pelvis", "CT.", nth: 7) { $0.setValue([.imagePositionPatient], index: 2, to: "1e300") }
        for args in [["info", m.study], ["render", m.study, "--out", m.output("a.png")]] {
            assertRefused(try runLimited(args), mentioning: ["CT.", "Image Position (Patient) (0020,0032)", "1e+300"])
        }
    }

    func testAnImageOfMoreThanTwoToThe31PixelsIsRefusedBeforeAnyAllocation() throws {
        // One CT slice left, claiming 65535 × 65535 pixels (8 GiB of Int16).
        let m = try mutated(self, "pelvis", "CT.") { ds in
            ds.set(.rows, .US, binary: [UInt16(65535)])
            ds.set(.columns, .US, binary: [UInt16(65535)])
        }
        for f in m.files(prefix: "CT.").dropFirst() { try FileManager.default.removeItem(atPath: f) }
        for args in [["info", m.study], ["render", m.study, "--out", m.output("a.png")]] {
            assertRefused(try runLimited(args), mentioning: ["CT.", "65535 × 65535 × 1", "2³¹"])
        }
    }

    func testTheLargestAllowedDoseScalingGivesResultsOrARefusalNeverAHugeTable() throws {
        // 1000 Gy per stored unit: doses of 10⁷ Gy and more, finite; a 0.01 Gy CSV would
        // need ~10⁹ rows, refused before any is made; the other commands end cleanly.
        let m = try mutated(self, "pelvis", "RD.") { $0.set(.doseGridScaling, .DS, "1000") }
        assertRefused(try runLimited(["dvh", m.study, "--format", "csv"]), mentioning: ["more than 10000000 rows"])
        for args in [["dvh", m.study, "--structure", "GTV"], ["check", m.study, "--protocol", "tg101"], ["render", m.study, "--out", m.output("a.png")],
                     ["compare", fixture("pelvis"), m.study]] {
            let r = try runLimited(args)
            XCTAssertTrue(r.problems.isEmpty, "\(args[0]): \(r.problems) \(r.err)")
        }
    }

    func testADecimalCommaIsRefusedNotReadAsAPoint() throws {
        let m = try mutated(self, "pelvis", "RD.") { $0.setValue([.pixelSpacing], index: 0, to: "2,5") }
        assertRefused(try runLimited(["dvh", m.study]), mentioning: ["RD.", "Pixel Spacing", "\"2,5\"", "decimal comma"])
    }

    func testAbsurdNumbersInAProtocolFileAreRefused() throws {
        let dir = NSTemporaryDirectory() + "sbrt-protocol-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/p.toml"
        try "id = \"p\"\nname = \"P\"\nfractions = [1e300]\n".write(toFile: path, atomically: true, encoding: .utf8)
        assertRefused(try runLimited(["check", fixture("pelvis"), "--protocol", path]), mentioning: ["p.toml:3", "1e300"])
    }

    func testAbsurdPlanNumbersAreRefused() throws {
        let rx = try mutated(self, "pelvis", "RP.") { $0.setValue([.doseReferenceSequence, .targetPrescriptionDose], index: 0, to: "1e308") }
        assertRefused(try runLimited(["dvh", rx.study]), mentioning: ["RP.", "Target Prescription Dose (300A,0026)", "1e+308"])
        let fx = try mutated(self, "pelvis", "RP.") { $0.setValue([.fractionGroupSequence, .numberOfFractionsPlanned], index: 0, to: "9223372036854775807") }
        assertRefused(try runLimited(["dvh", fx.study]), mentioning: ["RP.", "Number of Fractions Planned (300A,0078)"])
    }
}
