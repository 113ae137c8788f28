// sbrt-bench: generates a large synthetic SBRT case with sbrt's own DICOM writer and
// times the loading paths of the library and the CLI on it (release builds only).
//
//   sbrt-bench generate DIR          write the case once (skipped when DIR/.complete exists),
//                                    and the irregular-target margin case DIR-irregular
//   sbrt-bench run DIR [--runs N]    time each stage N times (default 5), print medians;
//                                    includes `sbrt gamma` on the case's dose against a copy
//                                    shifted 1.5 mm and scaled 1.02 (DIR-gamma/RD.dcm, made once)
//                                    and the margin jobs on DIR-irregular
//   sbrt-bench load DIR              scan + image volumes + dose volume + structures in one
//                                    process; prints a summary and the peak RSS (the
//                                    "load everything" path `run` times as a process)
//   sbrt-bench composite DIR [--runs N]  EQD2 composite kernel bandwidth and the whole
//                                    `sbrt composite` process (two courses, one resampled)
//   sbrt-bench dvh DIR [--runs N]    the DVH kernel against its scalar reference, per
//                                    structure, in process; several maps in one pass
//   sbrt-bench gamma DIR [--runs N]  the two `sbrt gamma` processes of `run` alone
//   sbrt-bench batch DIR [--plans N] [--runs N] [--postgres URL]  `sbrt batch` on a cohort
//                                    of N distinct plans (made once in DIR) against `sbrt dvh`
//                                    plan by plan; --jobs 1 and 2; database size per plan
//   sbrt-bench margin-kernels DIR [--runs N]  the margin engine's far-field kernels and
//                                    stages on the irregular target (DIR-irregular)
//
// See docs/performance.md.

import Foundation

let usage = """
    usage: sbrt-bench generate DIR
           sbrt-bench run DIR [--runs N]
           sbrt-bench load DIR [--checksum]
           sbrt-bench composite DIR [--runs N]
           sbrt-bench dvh DIR [--runs N]
           sbrt-bench gamma DIR [--runs N]
           sbrt-bench batch DIR [--plans N] [--runs N] [--postgres URL]
           sbrt-bench margin-kernels DIR [--runs N]

    """

func die(_ message: String, code: Int32 = 2) -> Never {
    FileHandle.standardError.write(Data(("sbrt-bench: " + message + "\n").utf8))
    exit(code)
}

var args = Array(CommandLine.arguments.dropFirst())
guard let command = args.first else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(2)
}
args.removeFirst()

do {
    switch command {
    case "generate":
        guard args.count == 1 else { die("generate takes one folder\n" + usage) }
        try CaseGenerator.generate(into: args[0])
        try IrregularCase.generate(into: IrregularCase.folder(besides: args[0]))
    case "run":
        var runs = 5
        var dir: String?
        var i = 0
        while i < args.count {
            if args[i] == "--runs", i + 1 < args.count, let n = Int(args[i + 1]), n > 0 {
                runs = n
                i += 2
            } else if dir == nil && !args[i].hasPrefix("-") {
                dir = args[i]
                i += 1
            } else {
                die("unexpected argument \(args[i])\n" + usage)
            }
        }
        guard let dir else { die("run needs a folder\n" + usage) }
        try Runner(dir: dir, runs: runs).run()
    case "load":
        let checksum = args.contains("--checksum")
        let rest = args.filter { $0 != "--checksum" }
        guard rest.count == 1 else { die("load takes one folder\n" + usage) }
        try LoadAll.run(rest[0], checksum: checksum)
    case "composite", "dvh", "gamma", "margin-kernels":
        var runs = 5
        var rest = args
        if let i = rest.firstIndex(of: "--runs"), i + 1 < rest.count, let n = Int(rest[i + 1]), n > 0 {
            runs = n
            rest.removeSubrange(i...(i + 1))
        }
        guard rest.count == 1 else { die("\(command) takes one folder\n" + usage) }
        switch command {
        case "dvh": try DVHBench(dir: rest[0], runs: runs).run()
        case "gamma": try GammaBench(dir: rest[0], runs: runs).run()
        case "margin-kernels": try MarginKernelBench(dir: rest[0], runs: runs).run()
        default: try CompositeBench(dir: rest[0], runs: runs).run()
        }
    case "course2":
        // Internal: makes DIR-course2/RD.dcm (the runner calls it in a child process).
        guard args.count == 1 else { die("course2 takes one folder") }
        _ = try CompositeBench(dir: args[0], runs: 1).courses()
    case "batch":
        var options = ["--plans": "60", "--runs": "3"]
        var rest: [String] = []
        var i = 0
        while i < args.count {
            if ["--plans", "--runs", "--postgres"].contains(args[i]), i + 1 < args.count {
                options[args[i]] = args[i + 1]
                i += 2
            } else {
                rest.append(args[i])
                i += 1
            }
        }
        guard rest.count == 1, let plans = Int(options["--plans"]!), plans >= 2, let runs = Int(options["--runs"]!), runs >= 1 else {
            die("batch takes one folder, --plans N ≥ 2, --runs N ≥ 1\n" + usage)
        }
        try BatchBench(dir: rest[0], plans: plans, runs: runs, postgres: options["--postgres"]).run()
    case "-h", "--help", "help":
        print(usage, terminator: "")
    default:
        die("unknown command \(command)\n" + usage)
    }
} catch {
    die("\(error)")
}
