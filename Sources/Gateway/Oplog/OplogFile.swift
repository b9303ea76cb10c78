import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// The operations log file as one process appends to it, shared with the other processes of the
/// gateway that append to the same path: each holds its own `O_APPEND` descriptor (the kernel
/// puts every `write(2)` at the end, whoever else writes). Every batch is written under a shared
/// `flock` on `<path>.lock`; a rotation renames the files under the exclusive lock and advances
/// the rotation generation kept in the lock file (`OplogLockFile`). A writer compares it with the
/// generation it opened its file at and reopens the path when it moved, so every batch lands in
/// the current file, never in one rotated away a moment before — three system calls a batch
/// (`flock`, `write`, unlock), no `stat`. What no rotation counts — the log file moved or removed
/// by hand, the lock file replaced by hand — is looked for (two `stat`s) once every `lookInterval`
/// seconds at most: until then this process's batches may still go to the file moved away (or,
/// locked on the old lock file, to one the others rotated away under the new one).
/// Whichever process first sees the file reach `maxBytes` rotates it, re-checking the size once it
/// holds the lock (another may have rotated it meanwhile). Used by one thread at a time (the
/// writer's, or a request thread writing its own line: the holder of `OplogWriter`'s file lock).
final class OplogFile {
    let settings: OplogSettings
    /// The state directory the log's directory is created in (given to its owner, as every
    /// directory under it is); nil: the directory is created as the process's own.
    let stateDir: String?
    private var fd: Int32 = -1
    private var identity: (dev: UInt64, ino: UInt64) = (0, 0)
    private var lockFile: OplogLockFile?
    /// The rotation generation `fd` was opened at (internal for tests): while the lock file's is
    /// the same, `fd` is the path's file.
    private(set) var generation: UInt64?
    /// When (`clock`) the path and the lock file were last looked at for changes by hand.
    private var lookedAt = -Double.infinity
    /// Tests: how many appends looked for changes by hand.
    private(set) var looks = 0
    /// A write ended part-way: the file may end inside a line, which the next batch ends first
    /// (with a newline), or its first record would be glued to the torn one.
    private var torn = false
    /// Bytes this process appended since it last looked at the file's size.
    private var sinceSizeCheck = 0
    /// Tests: runs just before each `write(2)`, as a disk that stalls would.
    var beforeWrite: (() -> Void)?
    /// Seconds between two looks for changes by hand (tests: a clock they move): after one, at
    /// most this long of this process's batches go astray. Cheap (a vDSO clock read a batch).
    var lookInterval = 1.0
    var clock: () -> Double = monotonicSeconds

    /// The file's size is looked at (for a rotation) after this many bytes written by this
    /// process, not after every batch: a few hundred KiB, less for a small `max_bytes`.
    var sizeCheckBytes: Int { max(1, min(256 << 10, settings.maxBytes / 16)) }

    /// A write the kernel took only part of (a full disk): the rest is not written after it,
    /// since another process's batch may already follow the part.
    struct ShortWrite: Error, CustomStringConvertible {
        let path: String
        let written: Int
        let count: Int
        var description: String { "write \(path): \(written) of \(count) bytes written" }
    }

    /// What `append` wrote of its batch before it failed: whole records up to the last `\n`.
    struct Failure: Error, CustomStringConvertible {
        let written: Int
        let cause: any Error
        var description: String { "\(cause)" }
    }

    init(settings: OplogSettings, stateDir: String?) {
        self.settings = settings
        self.stateDir = stateDir
    }

    deinit { close() }

    func close() {
        closeLog()
        lockFile = nil
    }

    private func closeLog() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
        generation = nil
    }

    /// Appends `bytes` (whole lines) with one `write(2)`, in the file the path names while it
    /// runs. A failure tells how many of the bytes were written.
    func append(_ bytes: [UInt8]) throws(Failure) {
        _ = try append(bytes, waitingForLock: true)
    }

    /// `append`, or with `waitingForLock` false nothing at all (false) while another holds the
    /// lock exclusively (a rotation, or a stalled one): a request thread never waits on it.
    func append(_ bytes: [UInt8], waitingForLock: Bool) throws(Failure) -> Bool {
        var written = 0
        do {
            return try append(bytes, lockOperation: waitingForLock ? LOCK_SH : LOCK_SH | LOCK_NB, written: &written)
        } catch {
            throw Failure(written: written, cause: error)
        }
    }

    private func append(_ bytes: [UInt8], lockOperation: Int32, written: inout Int) throws -> Bool {
        let now = clock()
        let look = now - lookedAt >= lookInterval
        guard let lock = try lock(lockOperation, looking: look) else { return false }
        defer { lock.unlock() }
        if look {
            lookedAt = now
            looks += 1
        }
        // No rotation runs while the lock is held: the path's file stays the current one. Without
        // a readable generation the path is looked at every time.
        let current = lock.generation
        if fd >= 0 && (current != generation || ((look || current == nil) && !pathIsOurs())) {
            closeLog()
        }
        if fd < 0 {
            try open()
            generation = current
        }
        let newline = torn ? 1 : 0
        // Copied only after a torn write, which is rare.
        let out = torn ? [0x0A] + bytes : bytes
        beforeWrite?()
        var n: Int
        repeat {
            n = out.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) }
        } while n < 0 && errno == EINTR
        if n < 0 { throw SystemCallError(call: "write \(settings.path)", errno: errno) }
        sinceSizeCheck += n
        written = max(0, n - newline)
        if n > 0 { torn = out[n - 1] != 0x0A }
        if n < out.count { throw ShortWrite(path: settings.path, written: n, count: out.count) }
        return true
    }

    /// Rotates the file once it has reached its size (after an append: a failure here loses no
    /// record, the next append goes on in the file as it is).
    func rotateIfFull() throws {
        if isFull() { try rotate() }
    }

    /// Whether the file has reached its size, so that a rotation is due. Looks (one `fstat`)
    /// only every `sizeCheckBytes`; never waits on the lock.
    func isFull() -> Bool {
        guard fd >= 0, sinceSizeCheck >= sizeCheckBytes else { return false }
        sinceSizeCheck = 0
        var st = stat()
        return fstat(fd, &st) == 0 && Int(st.st_size) >= settings.maxBytes
    }

    private func open() throws {
        torn = false
        let path = settings.path
        // O_NONBLOCK: a FIFO put in the log's place fails here instead of hanging the writer.
        fd = try systemCall("open \(path)") {
            Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0o640)
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            closeLog()
            throw SystemCallError(call: "open \(path) (not a regular file)", errno: EINVAL)
        }
        identity = (UInt64(st.st_dev), UInt64(st.st_ino))
        sinceSizeCheck = sizeCheckBytes
    }

    private func makeDirectory() throws {
        let dir = (settings.path as NSString).deletingLastPathComponent
        guard !dir.isEmpty && access(dir, F_OK) != 0 else { return }
        if let stateDir {
            try StateDirectory.makeDirectory(dir, in: stateDir)
        } else {
            try FileManager.default.createDirectory(
                atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
    }

    /// Whether the path still names the file this process appends to.
    private func pathIsOurs() -> Bool {
        var st = stat()
        guard stat(settings.path, &st) == 0 else { return false }
        return (UInt64(st.st_dev), UInt64(st.st_ino)) == identity
    }

    /// `path.<files-1>` → `path.<files>` … `path` → `path.1` under the lock, unless another
    /// process did it first; the next append (of every process) opens the path's new file.
    func rotate() throws {
        // Rare: the lock file is looked at every time, so no rotation goes uncounted by the others.
        guard let lock = try lock(LOCK_EX, looking: true) else { return }
        defer { lock.unlock() }
        var st = stat()
        let path = settings.path
        if stat(path, &st) == 0, Int(st.st_size) >= settings.maxBytes {
            for n in stride(from: settings.files - 1, through: 1, by: -1) {
                try systemCall("rename \(path).\(n)", tolerating: [ENOENT]) {
                    rename("\(path).\(n)", "\(path).\(n + 1)")
                }
            }
            try systemCall("rename \(path)", tolerating: [ENOENT]) { rename(path, "\(path).1") }
            lock.advanceGeneration()
        }
        closeLog()
    }

    /// `<path>.lock` locked with `operation`, or nil when it has `LOCK_NB` and another holds the
    /// lock. `looking`: a lock file replaced meanwhile (removed by hand and made again by another
    /// process) is reopened — a lock on the old one excludes nobody — and so is the log, whose
    /// generation was the old lock file's.
    private func lock(_ operation: Int32, looking: Bool) throws -> OplogLockFile? {
        for _ in 0..<3 {
            let lock: OplogLockFile
            if let lockFile {
                lock = lockFile
            } else {
                try makeDirectory()
                lock = try OplogLockFile(path: settings.path + ".lock")
                lockFile = lock
                closeLog()
            }
            guard try lock.lock(operation) else { return nil }
            if !looking || !lock.isReplaced() { return lock }
            lock.unlock()
            lockFile = nil
        }
        throw SystemCallError(call: "flock \(settings.path).lock (the file keeps being replaced)", errno: EAGAIN)
    }
}
