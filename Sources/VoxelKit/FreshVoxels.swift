/// Fresh voxel arrays, written once and concurrently.
///
/// `Array(repeating:count:)` of a 10 MB grid writes it, and takes the page faults of its
/// first touch, on one core. These builders advise huge pages (`HugePages.advise`) and
/// write the chunks of `Parallel.forEachChunk` concurrently.
public enum FreshVoxels {
    /// `count` copies of `value`.
    @inlinable
    public static func filled<T: BitwiseCopyable & Sendable>(_ value: T, count: Int) -> [T] {
        make(count: count) { range, out in UnsafeMutableBufferPointer(rebasing: out[range]).initialize(repeating: value) }
    }

    /// An array of `count` elements written by `body` concurrently, one chunk at a time:
    /// `body(range, out)` must initialise every element of `out[range]` (and no other).
    @inlinable
    public static func make<T: BitwiseCopyable & Sendable>(count: Int, minimumChunk: Int = 1 << 16,
                                                           _ body: (_ range: Range<Int>, _ out: UnsafeMutableBufferPointer<T>) -> Void) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            HugePages.advise(buffer)
            let whole = buffer
            Parallel.forEachChunk(count, minimumChunk: minimumChunk) { _, range in
                body(range, whole)
            }
            initialized = count
        }
    }
}
