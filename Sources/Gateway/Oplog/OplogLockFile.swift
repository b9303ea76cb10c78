import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `<path>.lock`, as one process holds it: the `flock` the log's writers share (a rotation takes
/// it exclusively), and in its first 8 bytes, mapped shared by every process that writes the
/// log, the rotation generation: a counter each rotation advances while it holds the lock
/// exclusively. A writer holding the lock shared learns with one load, no `stat`, whether a
/// rotation happened since it opened its file. The lock file must not be truncated by hand
/// (removing it is fine): a mapped page past the file's end faults (SIGBUS).
final class OplogLockFile {
    let path: String
    let fd: Int32
    /// The file as opened: one put in its place (removed by hand, made again by another process)
    /// is told from it.
    private let identity: (dev: UInt64, ino: UInt64)
    /// The generation in the shared mapping; nil where the filesystem maps no file shared.
    private let counter: UnsafeMutablePointer<Atomic<UInt64>>?

    static let counterBytes = MemoryLayout<Atomic<UInt64>>.size

    init(path: String) throws {
        self.path = path
        let fd = try systemCall("open \(path)") { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640) }
        self.fd = fd
        do {
            var st = stat()
            try systemCall("fstat \(path)") { fstat(fd, &st) }
            identity = (UInt64(st.st_dev), UInt64(st.st_ino))
            // A new (or legacy, empty) file grows to hold the counter, zeros: generation 0. Only
            // ever grown, and to the same size by everyone, so a counter already there is kept.
            if Int(st.st_size) < Self.counterBytes {
                try systemCall("ftruncate \(path)") { ftruncate(fd, off_t(Self.counterBytes)) }
            }
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
        let mapped = mmap(nil, Self.counterBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        // mmap's MAP_FAILED is ((void *) -1).
        if let mapped, mapped != UnsafeMutableRawPointer(bitPattern: -1) {
            // The 8 bytes already hold a valid UInt64 (zeros, or another process's count).
            counter = mapped.bindMemory(to: Atomic<UInt64>.self, capacity: 1)
        } else {
            counter = nil
        }
    }

    deinit {
        if let counter { _ = munmap(UnsafeMutableRawPointer(counter), Self.counterBytes) }
        _ = Glibc.close(fd)
    }

    /// Whether the mapping works, so rotations are counted in `generation`.
    var mapsGeneration: Bool { counter != nil }

    /// The rotations counted so far: read with the lock held (shared or exclusive), when none
    /// runs; nil without a mapping (then the writer looks at the path instead).
    var generation: UInt64? {
        // The lock orders this load after the last rotation's store (flock is a full barrier in
        // the kernel); the atomic keeps the shared memory free of a data race all the same.
        counter?.pointee.load(ordering: .acquiring)
    }

    /// Counts a rotation: only with the lock held exclusively, after the renames.
    func advanceGeneration() {
        counter?.pointee.wrappingAdd(1, ordering: .releasing)
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
