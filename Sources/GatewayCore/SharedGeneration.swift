import CLinux
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A counter every process of one host sees: eight bytes of a small file mapped shared. A writer
/// advances it after a change commits; a reader that cached something at one value knows it is
/// still good while the value has not moved. One atomic load per check, no system call.
public final class SharedGeneration: @unchecked Sendable {
    private let counter: UnsafeMutablePointer<UInt64>

    /// Maps `path` (created, eight zero bytes, if missing, with the owner and mode of `like`
    /// when given, as SQLite makes its own files beside a database); nil where it cannot be (a
    /// read-only directory): the caller then caches nothing.
    public init?(path: String, like: String? = nil) {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if st.st_size < 8, let like {
            var model = stat()
            if stat(like, &model) == 0 {
                _ = fchown(fd, model.st_uid, model.st_gid)  // possible as root only; else it is ours
                _ = fchmod(fd, model.st_mode & 0o666)
            }
        }
        guard st.st_size >= 8 || ftruncate(fd, 8) == 0,
            let base = mmap(nil, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED
        else { return nil }
        counter = base.assumingMemoryBound(to: UInt64.self)
    }

    deinit { munmap(counter, 8) }

    public var current: UInt64 { s3gw_shared_load(counter) }
    /// `current` again, after everything read since an earlier `current` (a seqlock's recheck).
    public var recheck: UInt64 { s3gw_shared_recheck(counter) }
    public func advance() { s3gw_shared_increment(counter) }

    private static let opened = Mutex<[String: SharedGeneration]>([:])

    /// This process's mapping of `path`, shared by every caller (never unmapped).
    public static func at(_ path: String, like: String? = nil) -> SharedGeneration? {
        opened.withLock { table in
            if let known = table[path] { return known }
            let made = SharedGeneration(path: path, like: like)
            if let made { table[path] = made }
            return made
        }
    }
}
