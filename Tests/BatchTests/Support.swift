import Base
import Batch
import CohortMaker
import Dosimetry
import Foundation
import Store
import TestSupport
import XCTest

/// A fixture folder of the repository.
func fixture(_ relative: String) -> String { BuiltTools.repository.appendingPathComponent("Fixtures/" + relative).path }

/// The small fixture plans the cohorts are made of (12 CT slices each: fast in debug builds).
let miniFixtures = ["variants/hfp", "variants/ffs", "variants/oblique", "variants/absolute_gfov"].map(fixture)

/// A new empty folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase, _ name: String = "batch") -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sbrt-batch-tests-\(getpid())-\(name)-\(UUID().uuidString)").path
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
    return dir
}

/// Copies of fixtures at relative places under `root`, each a distinct plan.
@discardableResult
func makeTree(_ root: String, _ layout: [(relative: String, fixture: String)], salt: String = "tree") throws -> [String] {
    try layout.enumerated().map { n, entry in
        let folder = (root as NSString).appendingPathComponent(entry.relative)
        try CohortMaker.copyPlan(from: entry.fixture, to: folder, salt: "\(salt)|\(n)", patientID: String(format: "TREE-%02d", n + 1),
                                 doseScale: 1 + 0.01 * Double(n))
        return folder
    }
}

/// A batch request as `sbrt batch` makes it by default, with the given metrics.
func request(_ roots: [String], metrics: String = "D95%,Dmean", jobs: Int = 1) throws -> BatchRequest {
    var r = BatchRequest(roots: roots, metrics: try Metric.parseList(metrics), sbrtVersion: "0.1.0")
    r.jobs = jobs
    return r
}

/// The files of `folder` (recursively) whose name starts with `prefix`.
func files(in folder: String, prefix: String) -> [String] {
    (FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] ?? [])
        .filter { ($0 as NSString).lastPathComponent.hasPrefix(prefix) }.map { (folder as NSString).appendingPathComponent($0) }
}

/// Every stored plan, by key, with the creation time cleared (it differs between runs).
func storedPlans(_ store: PlanStore) throws -> [String: PlanRecord] {
    var out: [String: PlanRecord] = [:]
    for key in try store.storedPlanKeys() {
        var p = try XCTUnwrap(try store.plan(planKey: key))
        p.createdAt = Date(timeIntervalSince1970: 0)
        out[key] = p
    }
    return out
}

/// `sbrt` as a process.
func runSBRT(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    try BuiltTools.run("sbrt", args)
}
