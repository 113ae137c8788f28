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
}
