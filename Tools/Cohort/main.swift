// sbrt-cohort: a cohort of distinct plans for `sbrt batch` benchmarks and demonstrations,
// made from the fixture plans with fresh UIDs (Tools/CohortMaker). Not committed: generate it.
//
//   sbrt-cohort OUT --count N [--no-dose-scaling] FIXTURE_DIR...
//
// Example (the cohort of docs/performance.md):
//   .build/release/sbrt-cohort .build-bench-data/cohort --count 60 Fixtures/pelvis Fixtures/variants/hfp \
//       Fixtures/variants/ffs Fixtures/variants/oblique Fixtures/pelvis_mr

import CohortMaker
import Foundation

let usage = "usage: sbrt-cohort OUT --count N [--no-dose-scaling] FIXTURE_DIR...\n"
var args = Array(CommandLine.arguments.dropFirst())
var count: Int?
var scale = true
var rest: [String] = []
while !args.isEmpty {
    let a = args.removeFirst()
    if a == "--count", let v = args.first.flatMap(Int.init), v > 0, v <= 100_000 {
        count = v
        args.removeFirst()
    } else if a == "--no-dose-scaling" {
        scale = false
    } else if a.hasPrefix("-") {
        FileHandle.standardError.write(Data((usage).utf8)); exit(2)
    } else {
        rest.append(a)
    }
}
guard let count, rest.count >= 2 else { FileHandle.standardError.write(Data(usage.utf8)); exit(2) }
let out = rest.removeFirst()
do {
    let copies = try CohortMaker.make(fixtures: rest, count: count, into: out, scaleDose: scale)
    print("\(out): \(copies.count) plans (\(rest.count) fixture(s), fresh UIDs\(scale ? ", dose × 0.92–1.08" : ""))")
} catch {
    FileHandle.standardError.write(Data("sbrt-cohort: \(error)\n".utf8))
    exit(2)
}
