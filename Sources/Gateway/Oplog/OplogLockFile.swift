import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// `<path>.lock`, as one process holds it: the `flock` the log's writers share (a rotation takes
/// it exclusively), and in its first 8 bytes the rotation generation: a counter each rotation
/// advances while it holds the lock exclusively. A writer holding the lock shared learns with
/// one 8-byte `pread`, no `stat`, whether a rotation happened since it opened its file. Read,
/// not mapped: a lock file truncated by hand (a `copytruncate` of `oplog*`) then reads as
/// generation 0, a change the writers answer by reopening, where a mapping would fault (SIGBUS).
final class OplogLockFile {
    let path: String
    let fd: Int32
    /// The file as opened: one put in its place (removed by hand, made again by another process)
    /// is told from it.
    private let identity: (dev: UInt64, ino: UInt64)

    static let counterBytes = MemoryLayout<UInt64>.size

    init(path: String) throws {
        self.path = path
        let fd = try systemCall("open \(path)") { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640) }
        self.fd = fd
        do {
            var st = stat()
            try systemCall("fstat \(path)") { fstat(fd, &st) }
            identity = (UInt64(st.st_dev), UInt64(st.st_ino))
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    deinit { _ = Glibc.close(fd) }

    /// The rotations counted so far (little-endian in the first 8 bytes; a shorter file, as
    /// older versions left it empty, counts 0): read with the lock held (shared or exclusive),
    /// when none runs; nil when the file cannot be read (then the writer looks at the path).
    var generation: UInt64? {
        var value: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &value) { pread(fd, $0.baseAddress, Self.counterBytes, 0) }
        guard n >= 0 else { return nil }
        return n == Self.counterBytes ? UInt64(littleEndian: value) : 0
    }

    /// Counts a rotation: only with the lock held exclusively, after the renames.
    func advanceGeneration() {
        guard let current = generation else { return }
        var next = (current &+ 1).littleEndian
        _ = withUnsafeBytes(of: &next) { pwrite(fd, $0.baseAddress, Self.counterBytes, 0) }
    }

    /// Takes the lock (`operation`: `LOCK_SH` or `LOCK_EX`, maybe with `LOCK_NB`); false when
    /// `LOCK_NB` and another holds it.
    func lock(_ operation: Int32) throws -> Bool {
        try systemCall("flock \(path)", tolerating: [EWOULDBLOCK]) { flock(fd, operation) } == 0
    }

    func unlock() { _ = flock(fd, LOCK_UN) }

    /// Whether the path names another file now (or none): a lock on this one excludes nobody,
    /// and its generation counts none of the other's rotations.
    func isReplaced() -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return true }
        return (UInt64(st.st_dev), UInt64(st.st_ino)) != identity
    }
}
