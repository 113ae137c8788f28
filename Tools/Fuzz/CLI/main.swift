// sbrt-fuzz: a bounded, structure-aware mutation fuzzer of the sbrt command line.
//
//   sbrt-fuzz [--seconds N | --minutes N] [--seed S] [--workers W] [--sbrt PATH]
//             [--findings DIR] [--fixtures a,b,…]
//
// Mutates the committed fixtures (Mutator: DS/IS numbers, Rows/Columns/Bits, value
// counts, sequences, contour data, VRs, element lengths…), runs the commands that read
// the mutated file, and fails (exit 1) on any run that ends by a signal, a timeout, an
// exit status other than 0/1/2, or a message with a framework error code or a printed
// nan. Each finding is written to --findings as case.json + mutant.dcm, ready to copy
// into Tools/Fuzz/regressions/cli/. See docs/fuzzing.md.
import Foundation
import FuzzKit

setvbuf(stdout, nil, _IOLBF, 0)
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
var options = Campaign.Options(
    sbrt: (root as NSString).appendingPathComponent(".build/release/sbrt"),
    fixturesRoot: (root as NSString).appendingPathComponent("Fixtures"),
    fixtures: ["pelvis", "pelvis_mr", "registered_mr", "reirradiation/prior", "reirradiation/moved"] + [
        "absolute_gfov", "bigendian", "decreasing_gfov", "deflated", "dose16", "ffs", "hfdl", "hfp",
        "implicit", "latin1", "nested", "oblique",
    ].map { "variants/" + $0 })
options.findings = (root as NSString).appendingPathComponent(".build-fuzz/findings")

var args = Array(CommandLine.arguments.dropFirst())
func value(_ flag: String) -> String {
    guard let v = args.first else {
        FileHandle.standardError.write(Data("sbrt-fuzz: \(flag) needs a value\n".utf8))
        exit(2)
    }
    args.removeFirst()
    return v
}
while let flag = args.first {
    args.removeFirst()
    switch flag {
    case "--seconds": options.seconds = Double(value(flag)) ?? 60
    case "--minutes": options.seconds = 60 * (Double(value(flag)) ?? 1)
    case "--seed": options.seed = UInt64(value(flag)) ?? 14
    case "--workers": options.workers = Int(value(flag)) ?? 2
    case "--sbrt": options.sbrt = value(flag)
    case "--findings": options.findings = value(flag)
    case "--fixtures": options.fixtures = value(flag).split(separator: ",").map(String.init)
    case "--timeout": options.timeout = Double(value(flag)) ?? 20
    default:
        FileHandle.standardError.write(Data("sbrt-fuzz: unknown option \(flag)\n".utf8))
        exit(2)
    }
}
guard FileManager.default.isExecutableFile(atPath: options.sbrt) else {
    FileHandle.standardError.write(Data("sbrt-fuzz: no sbrt binary at \(options.sbrt) (swift build -c release --static-swift-stdlib)\n".utf8))
    exit(2)
}
options.log = { print($0) }
print("sbrt-fuzz: seed \(options.seed), \(Int(options.seconds)) s, \(options.workers) workers, \(options.fixtures.count) fixture folders, \(options.sbrt)")
do {
    let s = try Campaign(options).run()
    let exits = s.exits.sorted { $0.key < $1.key }.map { "\($0.key >= 0 ? "exit \($0.key)" : "signal \(-$0.key)"): \($0.value)" }
    print(String(format: "sbrt-fuzz: %d mutants, %d command runs in %.0f s (%@); %d finding(s)",
                 s.mutants, s.commandRuns, s.seconds, exits.joined(separator: ", "), s.findings.count))
    if !s.findings.isEmpty, let dir = options.findings { print("sbrt-fuzz: findings written to \(dir)") }
    exit(s.findings.isEmpty ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("sbrt-fuzz: \(error)\n".utf8))
    exit(2)
}
