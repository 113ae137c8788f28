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
    }
}
