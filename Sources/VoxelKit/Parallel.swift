import Dispatch
import Foundation

/// Data-parallel loops over index ranges, split into contiguous chunks across cores.
public enum Parallel {
    /// Number of workers to use: the active processor count, or `workerLimit` when set
    /// (a batch running several plans at once gives each its share of the cores).
    public static var workers: Int {
        workerLimit.map { max(1, min($0, cores)) } ?? cores
    }

    /// The active processor count, read once: each reading parses the cgroup's CPU
    /// quota and set (two files, about 17 µs), and a margin asks about 20 times.
    public static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// At most this many workers per parallel loop (nil: one per core). Set once, before
    /// the loops run (e.g. by a batch that works plans in parallel).
    nonisolated(unsafe) public static var workerLimit: Int?

    /// Calls `body` on disjoint contiguous sub-ranges of `0..<count` that together cover it,
    /// concurrently. Each chunk's index is passed so per-chunk partial results can be
    /// reduced in a fixed order (determinism whatever the thread count).
    public static func forEachChunk(_ count: Int, minimumChunk: Int = 1,
                                    _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        guard count > 0 else { return }
        let chunks = max(1, min(workers * 4, count / max(1, minimumChunk)))
        if chunks == 1 { body(0, 0..<count); return }
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let lo = count * c / chunks
            let hi = count * (c + 1) / chunks
            if lo < hi { body(c, lo..<hi) }
        }
    }

    /// Calls `body` once for every index of `0..<count`, concurrently (indices taken in
    /// contiguous chunks, within `workers`). For loops whose iterations are independent.
    public static func forEach(_ count: Int, _ body: (_ index: Int) -> Void) {
        forEachChunk(count) { _, range in
            for index in range { body(index) }
        }
    }

    /// Calls `body` once for every index in `order`, concurrently, handing the indices out
    /// one at a time, in that order, to whichever worker is free. For items of uneven cost
    /// listed costliest first: they finish together, where contiguous chunks can leave one
    /// core alone with the last long chunk. `body` also gets its worker's number
    /// (0..<`workers`), for per-worker scratch. Results must not depend on which worker
    /// takes an index.
    public static func forEachDynamic(_ order: [Int], _ body: (_ worker: Int, _ index: Int) -> Void) {
        guard !order.isEmpty else { return }
        let count = min(workers, order.count)
        if count == 1 { for index in order { body(0, index) }; return }
        let lock = NSLock()
        var next = 0
        DispatchQueue.concurrentPerform(iterations: count) { worker in
            while true {
                lock.lock()
                let k = next
                next += 1
                lock.unlock()
                if k >= order.count { return }
                body(worker, order[k])
            }
        }
    }

    /// The number of chunks `forEachChunk` would use, to size per-chunk result arrays.
    public static func chunkCount(_ count: Int, minimumChunk: Int = 1) -> Int {
        guard count > 0 else { return 0 }
        return max(1, min(workers * 4, count / max(1, minimumChunk)))
    }
}
