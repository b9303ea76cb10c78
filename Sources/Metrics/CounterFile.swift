import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One process's counters: a memory-mapped file (MAP_SHARED) of fixed-size entries, each a
/// series key and a 64-bit value that the process adds to with one relaxed atomic add. The page
/// cache holds a value the moment it is added, so a process killed at any point leaves every
/// count it made; a scrape in any process reads the file as it is. The owner holds `flock(LOCK_EX)`
/// on it for its whole life: the kernel drops that on any death, which is how others tell a
/// finished process's file from a running one's.
///
/// Layout: a 64-byte header (magic `S3GWMET1`, version, entry size, capacity, pid, start time,
/// and at offset 40 the number of entries, stored with release ordering once an entry's key is
/// complete), then `capacity` entries of 128 bytes: key length (UInt16), key (UTF-8, at most
/// 118 bytes), value (UInt64 at offset 120).
public final class CounterFile: @unchecked Sendable {
    static let magic = Array("S3GWMET1".utf8)
    /// 2: a histogram bucket's key names its bound (1 named its index).
    static let version: UInt32 = 2
    static let headerSize = 64
    static let entrySize = 128
    static let countOffset = 40
    static let keyOffset = 2
    static let valueOffset = 120
    static let maxKey = valueOffset - keyOffset
    /// 2 MiB of disk (allocated up front, see init): a worker uses a few thousand entries
    /// (operations × statuses, histogram buckets), and only the pages they are on are read into
    /// memory.
    public static let defaultCapacity = 16384

    public let path: String
    let capacity: Int
    private let fd: Int32
    private let base: UnsafeMutableRawPointer
    private let size: Int
    /// Names this file in the threads' caches (never reused within the process).
    private let id: UInt64
    /// Key → entry, for appending a series once; the request path reads the thread's cache.
    private let index = Mutex<[String: Int]>([:])
    private static let nextId = Atomic<UInt64>(1)

    /// Creates `<directory>/<kind>-<pid>-<start ns>-<random>.m`, locked, mapped and with its
    /// header written before it gets that name (a scrape or a fold never sees it half made). Its
    /// blocks are allocated first: a page of a sparse file that the filesystem cannot back when
    /// it is first written raises SIGBUS, which would kill the process mid-request.
    init(directory: String, kind: String, capacity: Int = CounterFile.defaultCapacity) throws(SystemCallError) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let startNs = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        let name = "\(kind)-\(getpid())-\(startNs)-\(String(UInt32.random(in: .min ... .max), radix: 16)).m"
        let temporary = "\(directory)/.\(name).new"
        path = "\(directory)/\(name)"
        self.capacity = capacity
        let size = Self.headerSize + capacity * Self.entrySize
        self.size = size
        let fd = try systemCall("open \(temporary)") { open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        let mapped: UnsafeMutableRawPointer
        do throws(SystemCallError) {
            try systemCall("flock \(temporary)") { flock(fd, LOCK_EX | LOCK_NB) }
            // posix_fallocate returns its error rather than setting errno.
            try systemCall("posix_fallocate \(temporary)") { () -> Int32 in
                let e = posix_fallocate(fd, 0, off_t(size))
                errno = e
                return e == 0 ? 0 : -1
            }
            let m = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
            guard let m, m != MAP_FAILED else { throw SystemCallError(call: "mmap \(temporary)", errno: errno) }
            mapped = m
        } catch {
            unlink(temporary)
            close(fd)
            throw error
        }
        self.fd = fd
        base = mapped
        id = Self.nextId.wrappingAdd(1, ordering: .relaxed).oldValue
        Self.magic.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: 8) }
        base.storeBytes(of: Self.version, toByteOffset: 8, as: UInt32.self)
        base.storeBytes(of: UInt32(Self.entrySize), toByteOffset: 12, as: UInt32.self)
        base.storeBytes(of: UInt32(capacity), toByteOffset: 16, as: UInt32.self)
        base.storeBytes(of: Int64(getpid()), toByteOffset: 24, as: Int64.self)
        base.storeBytes(of: startNs, toByteOffset: 32, as: UInt64.self)
        // link, not rename: a name already taken is an error, never a file silently replaced.
        do throws(SystemCallError) {
            try systemCall("link \(temporary)") { link(temporary, path) }
        } catch {
            munmap(base, size)
            unlink(temporary)
            close(fd)
            throw error
        }
        unlink(temporary)
        // Entry 0: what could not be counted, so counting it never needs a free entry.
        _ = slot(SeriesKey.make(.seriesDropped, []))
    }

    deinit {
        munmap(base, size)
        close(fd)  // releases the lock: the file now reads as a finished process's
    }

    /// Adds `delta` to a series (wrapping: a gauge subtracts by adding its two's complement).
    /// `part`: a histogram's bucket index, or `sumPart`; nil for counters and gauges.
    func add(_ family: MetricFamily, _ labels: [String], part: Int?, _ delta: UInt64) {
        // The thread's cache is keyed by the series' parts, so a hit builds no key string.
        let series = SeriesID(file: id, family: family.name, labels: labels, part: part ?? -1)
        let cache = ThreadCache.current
        let cell: UnsafeMutablePointer<Atomic<UInt64>>
        if let p = cache.slots[series] {
            cell = p
        } else {
            let key = SeriesKey.make(family, labels, part: part.map { SeriesKey.part(family, $0) })
            guard let p = slot(key) else {
                slot(SeriesKey.make(.seriesDropped, []))?.pointee.wrappingAdd(1, ordering: .relaxed)
                return
            }
            cache.slots[series] = p
            cell = p
        }
        cell.pointee.wrappingAdd(delta, ordering: .relaxed)
    }

    static let sumPart = -2

    /// A series as the threads' caches know it.
    struct SeriesID: Hashable {
        let file: UInt64
        let family: String
        let labels: [String]
        let part: Int
    }

    /// The entry's value cell, found or appended under the lock.
    private func slot(_ key: String) -> UnsafeMutablePointer<Atomic<UInt64>>? {
        let utf8 = Array(key.utf8)
        guard utf8.count <= Self.maxKey else { return nil }
        let found: Int? = index.withLock { index in
            if let n = index[key] { return n }
            let n = index.count
            guard n < capacity else { return nil }
            let entry = base + Self.headerSize + n * Self.entrySize
            entry.storeBytes(of: UInt16(utf8.count), as: UInt16.self)
            utf8.withUnsafeBytes { (entry + Self.keyOffset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            (base + Self.countOffset).assumingMemoryBound(to: Atomic<UInt64>.self).pointee.store(
                UInt64(n + 1), ordering: .releasing)
            index[key] = n
            return n
        }
        guard let n = found else { return nil }
        return (base + Self.headerSize + n * Self.entrySize + Self.valueOffset).assumingMemoryBound(
            to: Atomic<UInt64>.self)
    }

    /// The entries of a counter file open as `fd` (any process's), or nil when it is not one
    /// (never will be: its header is written before it gets its name); throws when it could not
    /// be read.
    static func entries(fd: Int32, name: String) throws(SystemCallError) -> [(key: String, value: UInt64)]? {
        var st = stat()
        try systemCall("fstat \(name)") { fstat(fd, &st) }
        guard st.st_size >= headerSize else { return nil }
        let size = Int(st.st_size)
        let m = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0)
        guard let mapped = m, mapped != MAP_FAILED else { throw SystemCallError(call: "mmap \(name)", errno: errno) }
        defer { munmap(mapped, size) }
        let base = UnsafeRawPointer(mapped)
        guard Array(UnsafeRawBufferPointer(start: base, count: 8)) == magic,
            base.load(fromByteOffset: 8, as: UInt32.self) == version,
            base.load(fromByteOffset: 12, as: UInt32.self) == UInt32(entrySize)
        else { return nil }
        let capacity = Int(base.load(fromByteOffset: 16, as: UInt32.self))
        let count = Int(
            UnsafeMutableRawPointer(mutating: base + countOffset).assumingMemoryBound(to: Atomic<UInt64>.self)
                .pointee.load(ordering: .acquiring))
        let n = min(count, capacity, (size - headerSize) / entrySize)
        var out: [(key: String, value: UInt64)] = []
        out.reserveCapacity(n)
        for i in 0..<n {
            let entry = base + headerSize + i * entrySize
            let length = min(Int(entry.load(as: UInt16.self)), maxKey)
            let key = String(
                decoding: UnsafeRawBufferPointer(start: entry + keyOffset, count: length), as: UTF8.self)
            let value = UnsafeMutableRawPointer(mutating: entry + valueOffset).assumingMemoryBound(
                to: Atomic<UInt64>.self
            ).pointee.load(ordering: .relaxed)
            out.append((key, value))
        }
        return out
    }
}

/// Each thread's entry pointers (of every file): the request path finds its counters without a lock.
private final class ThreadCache {
    var slots: [CounterFile.SeriesID: UnsafeMutablePointer<Atomic<UInt64>>] = [:]

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in p.map { Unmanaged<ThreadCache>.fromOpaque($0).release() } }
        return k
    }()

    static var current: ThreadCache {
        if let p = pthread_getspecific(key) { return Unmanaged<ThreadCache>.fromOpaque(p).takeUnretainedValue() }
        let cache = ThreadCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }
}
