import Foundation

/// Transparent huge pages for large fresh buffers.
public enum HugePages {
    /// Asks the kernel for transparent huge pages under a fresh buffer before its first write
    /// (Linux, where they are enabled for `madvise`): 2 MiB pages fault a buffer of tens of
    /// megabytes in with 1/512 of the traps (each trap costs about a microsecond beside the
    /// zeroing). Only the whole 4 KiB pages inside the buffer are advised; elsewhere a no-op.
    public static func advise<T>(_ buffer: UnsafeMutableBufferPointer<T>) {
        advise(UnsafeMutableRawBufferPointer(buffer))
    }

    /// As `advise(_:)`, for raw bytes.
    public static func advise(_ bytes: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard let base = bytes.baseAddress else { return }
        let page = 4096
        let start = (Int(bitPattern: base) + page - 1) / page * page, end = (Int(bitPattern: base) + bytes.count) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
        #endif
    }

    /// Faults in the whole 4 KiB pages inside `bytes` with one system call
    /// (`MADV_POPULATE_WRITE`, Linux 5.14 and later; elsewhere, or when the kernel refuses,
    /// a no-op: the pages then fault in on first write as usual). For memory about to be
    /// written on 4 KiB pages (parts of a buffer too sparse for huge pages): the kernel
    /// zeroes the same pages either way, but takes one trap instead of one per page, which
    /// on a virtual machine can exit to the hypervisor (docs/performance.md, *Fresh memory
    /// on this machine*). Contents are unchanged (fresh pages read as zero).
    public static func populate(_ bytes: UnsafeMutableRawBufferPointer) {
        #if os(Linux)
        guard let base = bytes.baseAddress else { return }
        let page = 4096, populateWrite: Int32 = 23   // MADV_POPULATE_WRITE, <linux/mman.h>
        let start = (Int(bitPattern: base) + page - 1) / page * page, end = (Int(bitPattern: base) + bytes.count) / page * page
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, populateWrite) }
        #endif
    }

    /// `count` bytes that `fill` writes (every byte), on a 2 MiB boundary and advised as
    /// above, owned by the returned `Data` (freed with it): a large value built once,
    /// without a second copy into a `Data` and with 1/512 of the page faults.
    public static func data(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Data {
        let bytes = max(1, count)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 2 << 20, bytes) == 0, let base = raw else {
            fatalError("cannot allocate \(bytes) bytes")
        }
        let buffer = UnsafeMutableRawBufferPointer(start: base, count: count)
        advise(buffer)
        fill(buffer)
        return Data(bytesNoCopy: base, count: count, deallocator: .free)
    }
}
