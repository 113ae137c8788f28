// sbrt-store-probe: writes synthetic plans into a plan store from its own process, so
// that StoreTests can kill a writer mid-transaction and run writers concurrently.
//
//   sbrt-store-probe write DB FIRST COUNT [--rescan] [--structures N] [--bins N]
//                    [--metrics N] [--variant V] [--start-at UNIX_MS]
//
// --start-at waits until that wall-clock instant (milliseconds since 1970) before
// opening the store, so several probes open one new file at the same moment.
// For each plan index in FIRST..<FIRST+COUNT: skips it when stored (unless --rescan),
// else prints "writing I", writes it in one transaction and prints "wrote I MS" (the
// milliseconds the write took). Prints "done" at the end. Exit 2 on an error.
import Foundation
import Store
import StoreTestSupport

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

func say(_ line: String) {
    print(line)
    fflush(stdout)
}

var args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String, _ fallback: Int) -> Int {
    guard let i = args.firstIndex(of: name) else { return fallback }
    guard i + 1 < args.count, let v = Int(args[i + 1]) else { fail("\(name) needs a number") }
    args.removeSubrange(i...(i + 1))
    return v
}
let structures = option("--structures", 4)
let bins = option("--bins", 1500)
let metrics = option("--metrics", 5)
let variant = option("--variant", 0)
let startAt = option("--start-at", 0)
let rescan = args.contains("--rescan")
args.removeAll { $0 == "--rescan" }
guard args.count == 4, args[0] == "write", let first = Int(args[2]), let count = Int(args[3]) else {
    fail("usage: sbrt-store-probe write DB FIRST COUNT [--rescan] [--structures N] [--bins N] [--metrics N] [--variant V] [--start-at UNIX_MS]")
}

let wait = Double(startAt) / 1000 - Date().timeIntervalSince1970
if wait > 0 { Thread.sleep(forTimeInterval: min(wait, 10)) }

do {
    let store = try PlanStore.open(try StoreLocation(parsing: args[1]))
    for i in first..<(first + count) {
        if !rescan, try store.contains(planKey: SyntheticPlans.key(i)) { continue }
        let plan = SyntheticPlans.plan(i, structures: structures, bins: bins, metrics: metrics, variant: variant)
        say("writing \(i)")
        let start = DispatchTime.now().uptimeNanoseconds
        try store.write(plan)
        say("wrote \(i) \((DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)")
    }
    store.close()
    say("done")
} catch {
    fail("\(error)")
}
