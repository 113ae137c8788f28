import Base
import Foundation
import RTModel
import XCTest

final class PlanDiscoveryTests: XCTestCase {
    func testThePelvisFolderIsOnePlanWithItsDoseStructureSetAndCT() throws {
        let d = try PlanDiscovery.discover([fixture("pelvis")])
        XCTAssertEqual(d.plans.count, 1)
        let p = d.plans[0]
        XCTAssertEqual(p.planLabel, "SBRT_PELV")
        XCTAssertNil(p.problem)
        // RT Plan, RT Dose, RT Structure Set and the 40 CT images; not expected.json.
        XCTAssertEqual(p.files.count, 43)
        XCTAssertTrue(p.files.allSatisfy { $0.hasSuffix(".dcm") })
        // Its files resolve as the folder does.
        let study = try ResolvedStudy.resolve(folder: try StudyFolder(root: p.folder, scan: try DirectoryScan.scan(files: p.files)), StudyRequest())
        XCTAssertEqual(study.plan?.sopInstanceUID, p.planUID)
        XCTAssertEqual(study.images?.slices.count, 40)
    }

    func testAManifestListsFoldersRelativeToItselfAndCopiesAreOnePlanPerFolder() throws {
        let dir = NSTemporaryDirectory() + "sbrt-discovery-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: fixture("pelvis"), toPath: dir + "/a/copy")
        try "# cohort\n\(fixture("pelvis"))\na/copy\n".write(toFile: dir + "/cohort.txt", atomically: true, encoding: .utf8)
        let d = try PlanDiscovery.discover([dir + "/cohort.txt"])
        XCTAssertEqual(d.plans.count, 2, d.plans.map(\.id).joined(separator: "; "))
        for p in d.plans {
            XCTAssertEqual(p.files.count, 43)
            XCTAssertTrue(p.files.allSatisfy { $0.hasPrefix(p.folder) }, "each copy takes its own files")
        }
        XCTAssertThrowsError(try PlanDiscovery.discover([dir + "/missing"])) { e in
            XCTAssertEqual((e as? SBRTError)?.kind, .io)
        }
        // The same manifest saved on Windows (CRLF) lists the same plans.
        try "# cohort\r\n\(fixture("pelvis"))\r\na/copy\r\n".write(toFile: dir + "/crlf.txt", atomically: true, encoding: .utf8)
        XCTAssertEqual(try PlanDiscovery.discover([dir + "/crlf.txt"]).plans.map(\.id), d.plans.map(\.id))
    }

    func testTwoFoldersOfOnePlanWithDifferentDosesAreTwoPlansEachWithItsOwnDose() throws {
        // Fixtures/pelvis and Fixtures/gamma/pelvis_shifted hold the same RT Plan (one SOP
        // Instance UID) and structure set, each with its own dose referencing that plan.
        let d = try PlanDiscovery.discover([fixture("pelvis"), fixture("gamma/pelvis_shifted")])
        XCTAssertEqual(d.plans.count, 2, d.plans.map(\.id).joined(separator: "; "))
        XCTAssertEqual(Set(d.plans.map(\.planUID)).count, 1)
        for p in d.plans {
            XCTAssertNil(p.problem)
            let doses = p.files.filter { ($0 as NSString).lastPathComponent.hasPrefix("RD") }
            XCTAssertEqual(doses.count, 1, "\(p.folder): \(doses)")
            XCTAssertEqual(doses.map { ($0 as NSString).deletingLastPathComponent }, [p.folder], "the dose of its own folder")
            XCTAssertEqual(p.doseUIDs.count, 1)
        }
        XCTAssertNotEqual(d.plans[0].doseUIDs, d.plans[1].doseUIDs)
    }
}
