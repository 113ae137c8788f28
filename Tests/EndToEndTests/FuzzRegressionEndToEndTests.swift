import Foundation
import FuzzKit
import XCTest

/// Every input the command-line fuzzer (`sbrt-fuzz`, docs/fuzzing.md) once broke sbrt
/// with, kept in Tools/Fuzz/regressions/cli/NAME/ as case.json + mutant.dcm: the commands
/// it broke must now end cleanly (exit 0, 1 or 2 within 20 s and 4 GiB, a message in
/// words, no nan).
final class FuzzRegressionEndToEndTests: XCTestCase {
    func testEveryFuzzFindingNowEndsCleanly() throws {
        let root = packageRoot.appendingPathComponent("Tools/Fuzz/regressions/cli").path
        let names = try FileManager.default.contentsOfDirectory(atPath: root).filter { !$0.hasPrefix(".") }.sorted()
        XCTAssertFalse(names.isEmpty, "no fuzz regression cases in \(root)")
        for name in names {
            let dir = (root as NSString).appendingPathComponent(name)
            let c = try JSONDecoder().decode(FuzzCase.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/case.json")))
            let mutant = try Data(contentsOf: URL(fileURLWithPath: dir + "/mutant.dcm"))
            XCTAssertFalse(c.commands.isEmpty, name)
            let runs = try c.run(mutant: mutant, fixturesRoot: packageRoot.appendingPathComponent("Fixtures").path, sbrt: sbrtExecutable())
            for r in runs {
                XCTAssertTrue(r.problems.isEmpty, "\(name): \(r.arguments.first ?? ""): \(r.problems) — \(r.summary)\n\(r.err)")
            }
        }
    }
}
