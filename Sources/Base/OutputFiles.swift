import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The identity of a file on disk: device and inode, so that two paths naming one file
/// (symlinks, hard links, `..`) compare equal.
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    /// The identity of the file `path` names (following symlinks), or nil if it does not exist.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}

/// Outputs of one command, written together or not at all.
///
/// Rules (docs/safety.md):
/// - an output that is an input of the run, a folder, or the same file as another
///   output of the run is refused before anything is written;
/// - a regular file (or a new path) is written to a unique temporary file in the same
///   folder (`.NAME.sbrt-tmp-PID-RANDOM`), flushed to disk (fsync), then renamed into
///   place, so no partial file ever carries the final name; a file being replaced keeps
///   its permission bits; a symlink is written through to its target; a file with
///   several hard links is rewritten in place (after the new content is complete) so
///   the links stay joined;
/// - character devices, pipes and sockets (`/dev/null`, `/dev/stdout`, a FIFO) are
///   written directly, and write errors (ENOSPC on `/dev/full`, EIO) are reported;
/// - every temporary file is written before any is renamed: a failure in any output
///   leaves every final path untouched. Temporary files are removed on failure, and by
///   `removeTemporaries()` (which the CLI calls on SIGINT/SIGTERM); stale ones left by a
///   killed run (their process no longer alive) are swept when the same output is
///   written again.
public struct OutputFiles {
    private var entries: [(path: String, segments: [Data])] = []

    public init() {}

    /// Checks that `paths` can be outputs of one run (see the type's rules), without
    /// writing anything. Commands call this before their work, so that a bad output
    /// path fails at once.
    /// - Throws: `SBRTError` of kind `.outputPath`.
    public static func validate(_ paths: [String]) throws {
        var seen: [String: String] = [:]
        for p in paths {
            let target = try Target(p)
            if let other = seen[target.key] {
                throw SBRTError(.outputPath, "the same file is given for two outputs (also \(other)); one would be lost", file: p)
            }
            seen[target.key] = p
        }
    }

    /// Adds an output. Nothing is written until `commit()`.
    public mutating func add(_ data: Data, to path: String) {
        entries.append((path, [data]))
    }

    /// Adds an output given as consecutive segments (written in order, never joined in
    /// memory: a large value is not copied).
    public mutating func add(segments: [Data], to path: String) {
        entries.append((path, segments))
    }

    /// Adds a text output (UTF-8).
    public mutating func add(_ text: String, to path: String) {
        add(Data(text.utf8), to: path)
    }

    /// Writes every output, or none.
    /// - Throws: `SBRTError` of kind `.outputPath` or `.io`, naming the path.
    public func commit() throws {
        try Self.validate(entries.map(\.path))
        var staged: [Staged] = []
        do {
            for e in entries { staged.append(try Staged(e.path, e.segments)) }
        } catch {
            staged.forEach { $0.discard() }
            throw error
        }
        var failure: Error?
        for s in staged {
            if failure != nil { s.discard(); continue }
            do { try s.publish() } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes one output (see the type's rules).
    public static func write(_ data: Data, to path: String) throws {
        var o = OutputFiles()
        o.add(data, to: path)
        try o.commit()
    }

    /// Writes one text output (UTF-8).
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Removes the temporary files of writes in progress. Async-signal-safe (only
    /// `unlink`), for the CLI's SIGINT/SIGTERM handler.
    public static func removeTemporaries() {
        TemporaryRegistry.unlinkAll()
    }
}

// MARK: - Targets

extension OutputFiles {
    /// How an output path will be written.
    struct Target {
        enum Mode { case replace, direct, inPlace }
        var path: String
        /// The path actually written (symlinks resolved).
        var resolved: String
        var mode: Mode
        /// Permission bits of the file being replaced, if any.
        var permissions: mode_t?
        /// Identity for duplicate detection: inode of an existing file, else the resolved path.
        var key: String

        init(_ path: String) throws {
            guard !path.isEmpty else { throw SBRTError(.outputPath, "an output path is empty") }
            self.path = path
            resolved = Self.resolveLinks(path)
            var st = stat()
            if stat(resolved, &st) != 0 {
                mode = .replace
                permissions = nil
                key = (resolved as NSString).standardizingPath
                let dir = (resolved as NSString).deletingLastPathComponent
                var d = stat()
                if stat(dir.isEmpty ? "." : dir, &d) != 0 || (d.st_mode & S_IFMT) != S_IFDIR {
                    throw SBRTError(.io, "cannot write: the folder \(dir.isEmpty ? "." : dir) does not exist", file: path)
                }
                return
            }
            key = "\(st.st_dev):\(st.st_ino)"
            if let input = InputFiles.input(matching: resolved) {
                throw SBRTError(.outputPath, "this file is an input of the run (\(input)); writing would destroy it", file: path)
            }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                throw SBRTError(.outputPath, "is a folder; give a file name", file: path)
            case S_IFREG:
                mode = st.st_nlink > 1 ? .inPlace : .replace
                permissions = st.st_mode & 0o7777
            default:
                mode = .direct
                permissions = nil
            }
        }

        /// Follows symlinks (up to 40) to the path they name, even when the final target
        /// does not exist yet.
        static func resolveLinks(_ path: String) -> String {
            var p = path
            for _ in 0..<40 {
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(p, &buf, buf.count - 1)
                guard n > 0 else { return p }
                let dest = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                p = dest.hasPrefix("/") ? dest : ((p as NSString).deletingLastPathComponent as NSString).appendingPathComponent(dest)
            }
            return p
        }
    }

    /// One output staged for publishing: a complete temporary file, or (devices) the data.
    struct Staged {
        var target: Target
        var segments: [Data]
        var temporary: String?

        init(_ path: String, _ segments: [Data]) throws {
            target = try Target(path)
            self.segments = segments
            guard target.mode != .direct else { return }
            temporary = try Self.writeTemporary(segments, for: target)
        }

        static func writeTemporary(_ segments: [Data], for target: Target) throws -> String {
            let url = URL(fileURLWithPath: target.resolved)
            let dir = url.deletingLastPathComponent().path
            let name = url.lastPathComponent
            sweepStale(dir: dir, name: name)
            let tmp = (dir as NSString).appendingPathComponent(".\(name).sbrt-tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
            guard fd >= 0 else { throw SBRTError(.io, "cannot create a file in \(dir): \(errnoText())", file: target.path) }
            TemporaryRegistry.add(tmp)
            do {
                if let perms = target.permissions { _ = fchmod(fd, perms) }
                try writeAll(fd, segments, path: target.path)
                guard fsync(fd) == 0 else { throw SBRTError(.io, "cannot write: \(errnoText())", file: target.path) }
                guard close(fd) == 0 else { throw SBRTError(.io, "cannot write: \(errnoText())", file: target.path) }
            } catch {
                _ = close(fd)
                unlink(tmp)
                TemporaryRegistry.remove(tmp)
                throw error
            }
            return tmp
        }

        /// Moves the output into place (rename, in-place rewrite or direct write).
        func publish() throws {
            switch target.mode {
            case .direct:
                let fd = open(target.resolved, O_WRONLY | O_CLOEXEC)
                guard fd >= 0 else { throw SBRTError(.io, "cannot open for writing: \(errnoText())", file: target.path) }
                defer { _ = close(fd) }
                try writeAll(fd, segments, path: target.path)
            case .inPlace:
                defer { discard() }
                let fd = open(target.resolved, O_WRONLY | O_TRUNC | O_CLOEXEC)
                guard fd >= 0 else { throw SBRTError(.io, "cannot open for writing: \(errnoText())", file: target.path) }
                defer { _ = close(fd) }
                try writeAll(fd, segments, path: target.path)
                guard fsync(fd) == 0 else { throw SBRTError(.io, "cannot write: \(errnoText())", file: target.path) }
            case .replace:
                guard let tmp = temporary else { return }
                if rename(tmp, target.resolved) != 0 {
                    let why = errnoText()
                    discard()
                    throw SBRTError(.io, "cannot move the written file into place: \(why)", file: target.path)
                }
                TemporaryRegistry.remove(tmp)
                let dir = (target.resolved as NSString).deletingLastPathComponent
                let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_CLOEXEC)
                if dfd >= 0 { _ = fsync(dfd); _ = close(dfd) }
            }
        }

        func discard() {
            guard let tmp = temporary else { return }
            unlink(tmp)
            TemporaryRegistry.remove(tmp)
        }

        /// Removes `.NAME.sbrt-tmp-PID-*` files in `dir` whose process is gone.
        static func sweepStale(dir: String, name: String) {
            let prefix = ".\(name).sbrt-tmp-"
            guard let items = try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir) else { return }
            for item in items where item.hasPrefix(prefix) {
                let rest = item.dropFirst(prefix.count)
                guard let pid = rest.split(separator: "-").first.flatMap({ Int32($0) }), pid > 0 else { continue }
                if kill(pid, 0) != 0 && errno == ESRCH {
                    unlink((dir as NSString).appendingPathComponent(item))
                }
            }
        }
    }
}

/// Writes all of `segments` to `fd`, in order.
func writeAll(_ fd: Int32, _ segments: [Data], path: String) throws {
    for s in segments { try writeAll(fd, s, path: path) }
}

/// Writes all of `data` to `fd`, retrying short writes and EINTR.
func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
    try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        var offset = 0
        while offset < raw.count {
            let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SBRTError(.io, "cannot write: \(errnoText())", file: path)
            }
            if n == 0 { throw SBRTError(.io, "cannot write: the device accepts no more data", file: path) }
            offset += n
        }
    }
}

/// `strerror(errno)` as text.
/// The reason for the last failed system call, in words (`strerror(errno)`).
public func errnoText() -> String { String(cString: strerror(errno)) }

/// Paths of temporary files being written, in fixed storage a signal handler can read.
enum TemporaryRegistry {
    static let capacity = 64
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    static let lock = NSLock()

    static func add(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        for k in 0..<capacity where slots[k] == nil {
            slots[k] = strdup(path)
            return
        }
    }

    static func remove(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        for k in 0..<capacity {
            if let s = slots[k], String(cString: s) == path {
                slots[k] = nil
                free(s)
            }
        }
    }

    /// Unlinks every registered path (signal handler; no locking, no allocation).
    static func unlinkAll() {
        for k in 0..<capacity {
            if let s = slots[k] { unlink(s) }
        }
    }
}
