import Base
import Foundation
import RTModel
import VoxelKit
import XCTest

/// The study resolver on the review fixtures (Tools/fixtures/review.py): dose summation
/// types, BEAM sums, several plans, the patient's age; numbers against numpy.
final class StudyResolverTests: XCTestCase {
    func expected(_ name: String) throws -> Expected { try Expected(fixture("review/" + name)) }

    func plan(_ e: Expected, _ k: Int = 0) -> [String: Any] { (e["plans"] as! [[String: Any]])[k] }

    func testPerSessionDoseIsRefusedThenMultipliedByTheFractions() throws {
        let dir = fixture("review/per_session")
        XCTAssertThrowsError(try ResolvedStudy.resolve(dir, StudyRequest())) { e in
            let err = e as! SBRTError
            XCTAssertEqual(err.kind, .doseType)
            XCTAssertTrue(err.message.contains("FRACTION_SESSION"), err.message)
            XCTAssertTrue(err.file?.hasSuffix("RD.session.dcm") == true)
        }
        var req = StudyRequest()
        req.perSessionDose = true
        let s = try ResolvedStudy.resolve(dir, req)
        let d = try XCTUnwrap(s.dose)
        XCTAssertEqual(d.summationType, "FRACTION_SESSION")
        XCTAssertEqual(d.handling, .perSessionTimesFractions)
        XCTAssertEqual(d.multiplier, 5)
        XCTAssertTrue(d.summary.contains("× 5 fractions"), d.summary)
        let e = try expected("per_session")
        let session = ((e["doses"] as! [[String: Any]])[0]["max_gy"] as! NSNumber).doubleValue
        XCTAssertEqual(Double(d.volume.voxels.max()!), 5 * session, accuracy: 1e-4 * session)
        XCTAssertEqual((plan(e)["course_max_gy"] as! NSNumber).doubleValue, 5 * session, accuracy: 1e-5)
    }

    func testTheBeamDosesOfAPlanAreSummedVoxelByVoxel() throws {
        let s = try ResolvedStudy.resolve(fixture("review/beams"), StudyRequest())
        let d = try XCTUnwrap(s.dose)
        XCTAssertEqual(d.handling, .beamSum)
        XCTAssertEqual(d.files.count, 2)
        XCTAssertTrue(d.summary.contains("2 BEAM doses of plan BEAMS summed"), d.summary)
        let e = try expected("beams")
        XCTAssertEqual(Double(d.volume.voxels.max()!), (plan(e)["course_max_gy"] as! NSNumber).doubleValue, accuracy: 1e-3)
        // Each beam is less than the sum; the sum is the course (40 Gy at the PTV surface, 104 %).
        for beam in e["doses"] as! [[String: Any]] {
            XCTAssertLessThan((beam["max_gy"] as! NSNumber).doubleValue, Double(d.volume.voxels.max()!))
        }
    }

    func testAMissingBeamDoseNamesTheBeam() throws {
        XCTAssertThrowsError(try ResolvedStudy.resolve(fixture("review/beams_missing"), StudyRequest())) { e in
            let err = e as! SBRTError
            XCTAssertEqual(err.kind, .missingBeamDose)
            XCTAssertTrue(err.message.contains("beam(s) 3 (B3_G180)"), err.message)
        }
    }

    func testTwoPlansAreAmbiguousUntilOneIsChosen() throws {
        let dir = fixture("review/two_plans")
        XCTAssertThrowsError(try ResolvedStudy.resolve(dir, StudyRequest())) { e in
            let err = e as! SBRTError
            XCTAssertEqual(err.kind, .ambiguous)
            for s in ["PLAN_A", "PLAN_B", "Rx 40 Gy", "Rx 30 Gy", "RD.A.dcm", "RD.B.dcm"] { XCTAssertTrue(err.message.contains(s), err.message) }
        }
        let e = try expected("two_plans")
        var req = StudyRequest()
        req.plan = "plan_b"
        let s = try ResolvedStudy.resolve(dir, req)
        XCTAssertEqual(s.plan?.label, "PLAN_B")
        XCTAssertEqual(s.rx?.value, 30)
        XCTAssertEqual(s.dose?.paths.map { ($0 as NSString).lastPathComponent }, ["RD.B.dcm"])
        XCTAssertEqual(Double(s.dose!.volume.voxels.max()!), (plan(e, 1)["course_max_gy"] as! NSNumber).doubleValue, accuracy: 1e-3)
        req.plan = plan(e, 0)["sop_instance_uid"] as? String
        XCTAssertEqual(try ResolvedStudy.resolve(dir, req).plan?.label, "PLAN_A")
    }

    func testThePatientsAgeComesFromThePlanUnlessStated() throws {
        let s = try ResolvedStudy.resolve(fixture("review/age7"), StudyRequest())
        XCTAssertEqual(s.age?.value, 7)
        XCTAssertEqual(s.age?.source, "RT Plan AGE7: Patient's Age 007Y")
        var req = StudyRequest()
        req.ageYears = 8.5
        let t = try ResolvedStudy.resolve(fixture("review/age7"), req)
        XCTAssertEqual(t.age?.value, 8.5)
        XCTAssertEqual(t.age?.source, "stated by the user")
        XCTAssertTrue(t.notes.contains { $0.contains("overrides the plan's Patient's Age 007Y") }, "\(t.notes)")
    }

    func testStructureNameKeysIgnoreCaseSpacingLateralityAndSpelling() {
        let same = [["Lt Lung", "Lung_L", "LUNG-LEFT", "Left lung", "L_Lung", "LungL", "lung lt"],
                    ["Spinal_Cord", "spinal cord", "SPINALCORD", "SpinalCord"],
                    ["Oesophagus", "Esophagus", "esophagus"]]
        for group in same {
            for n in group { XCTAssertEqual(StructureName.key(n), StructureName.key(group[0]), n) }
        }
        XCTAssertNotEqual(StructureName.key("Lt Lung"), StructureName.key("Rt Lung"))
        XCTAssertNotEqual(StructureName.key("L1"), StructureName.key("L2"))
        XCTAssertEqual(StructureName.key("L1"), "l1")
        XCTAssertTrue(StructureName.isUnion("GTV_All") && StructureName.isUnion("PTV Total") && StructureName.isUnion("GTV1+GTV2"))
        XCTAssertFalse(StructureName.isUnion("GTV2") || StructureName.isUnion("Ptv_Small"))
        XCTAssertTrue(StructureName.same(" ptv ", "PTV"))
    }
}
