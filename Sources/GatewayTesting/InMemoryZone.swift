import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A StorageZone in memory. Uncommitted writes are never visible; `blobCount` lets tests
/// assert that a failed upload left nothing behind.
public final class InMemoryZone: StorageZone {
    public let name: String
    private struct Blob {
        var backendBucket: String
        var bytes: [UInt8]
        var storedAt: Double
    }
    private let blobs = Mutex<[String: Blob]>([:])
    private let buckets = Mutex<Set<String>>([])
    /// Dates stored blobs (their `lastModified`).
    private let clock: any Clock

    private let failure = Mutex(false)

    public init(name: String, clock: any Clock = SystemClock()) {
        self.name = name
        self.clock = clock
    }

    /// While true, every operation fails as an unreachable remote zone would (a read or write
    /// already open too, at its next bytes or its commit).
    public var failing: Bool {
        get { failure.withLock { $0 } }
        set { failure.withLock { $0 = newValue } }
    }

    private let probeTime = Mutex(0.0)

    /// Seconds each probe takes before it answers: a zone whose probe hangs.
    public var probeDelay: Double {
        get { probeTime.withLock { $0 } }
        set { probeTime.withLock { $0 = newValue } }
    }

    fileprivate func checkUp() throws(StoreError) {
        if failing { throw .zoneUnavailable("in-memory zone \(name) set to fail") }
    }

    public var blobCount: Int { blobs.withLock { $0.count } }

    public func createBucket(_ backendBucket: String) throws(StoreError) {
        _ = buckets.withLock { $0.insert(backendBucket) }
    }

    public func deleteBucket(_ backendBucket: String) throws(StoreError) {
        _ = buckets.withLock { $0.remove(backendBucket) }
    }

    public func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        try checkUp()
        guard buckets.withLock({ $0.contains(backendBucket) }) else { throw .noSuchBucket }
        return Writer(zone: self, backendBucket: backendBucket)
    }

    public func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        try checkUp()
        guard let bytes = blobs.withLock({ $0[blob]?.bytes }) else { throw .noSuchKey }
        let start = Int(min(offset, Int64(bytes.count)))
        let end = length.map { min(bytes.count, start + Int($0)) } ?? bytes.count
        return Reader(zone: self, bytes: Array(bytes[start..<end]))
    }

    public func probe() throws(StoreError) -> Double {
        let delay = probeDelay
        if delay > 0 { usleep(useconds_t(delay * 1_000_000)) }
        try checkUp()
        return 0.001
    }

    public func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        _ = blobs.withLock { $0.removeValue(forKey: blob) }
    }

    public func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        try checkUp()
        let all = blobs.withLock { $0.filter { $0.value.backendBucket == backendBucket } }
        return all.keys.filter { after.utf8.lexicographicallyPrecedes($0.utf8) }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            .prefix(max(0, limit))
            .map { StoredBlob(id: $0, size: Int64(all[$0]!.bytes.count), lastModified: all[$0]!.storedAt) }
    }

    public func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        try checkUp()
        guard let b = blobs.withLock({ $0[blob] }), b.backendBucket == backendBucket else { return nil }
        return StoredBlob(id: blob, size: Int64(b.bytes.count), lastModified: b.storedAt)
    }

    public func listBackendBuckets() throws(StoreError) -> [String] {
        try checkUp()
        return buckets.withLock { $0.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
    }

    /// Puts bytes into the zone behind metadata's back (an orphan, or a copy a test plants),
    /// stored `at` a given time (an old orphan) or now.
    @discardableResult
    public func plant(_ bytes: [UInt8], backendBucket: String, id: String = RandomID.make(), at time: Double? = nil)
        -> String
    {
        blobs.withLock { $0[id] = Blob(backendBucket: backendBucket, bytes: bytes, storedAt: time ?? clock.now()) }
        return id
    }

    final class Writer: BlobWriter {
        /// Plain memory: the pipelined path (a helper thread writing) runs in handler tests too.
        var writesFromAnyThread: Bool { true }
        let zone: InMemoryZone
        let backendBucket: String
        var bytes: [UInt8] = []
        init(zone: InMemoryZone, backendBucket: String) {
            self.zone = zone
            self.backendBucket = backendBucket
        }
        func write(_ b: UnsafeRawBufferPointer) throws {
            try zone.checkUp()
            bytes.append(contentsOf: b)
        }
        func commit() throws(StoreError) -> String {
            try zone.checkUp()
            return zone.plant(bytes, backendBucket: backendBucket)
        }
        func abort() { bytes = [] }
    }

    final class Reader: BlobReader {
        let zone: InMemoryZone
        let source: MemorySource
        let size: Int64
        init(zone: InMemoryZone, bytes: [UInt8]) {
            self.zone = zone
            source = MemorySource(bytes)
            size = Int64(bytes.count)
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            try zone.checkUp()
            return try source.read(into: buffer)
        }
    }
}

/// A clock that says what the test tells it.
public struct FixedClock: Clock {
    public let time: Double
    public init(_ time: Double) { self.time = time }
    public func now() -> Double { time }
}
