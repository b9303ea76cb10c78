import GatewayCore
import SigV4
import Synchronization

/// A source account in memory for discovery and migration tests: buckets with regions,
/// features and objects; a bucket may refuse listing (`deniedBuckets`), a feature may be unknown.
/// `reads` counts GetObject calls so a test can assert nothing is copied twice.
public final class InMemorySourceAccount: SourceAccount {
    public struct Bucket: Sendable {
        public var region: String
        public var features: SourceBucketFeatures
        /// Key → object; listed in UTF-8 byte order.
        public var objects: [String: (SourceObject, [UInt8], SourceObjectHead)]

        public init(region: String = "us-east-1", features: SourceBucketFeatures = SourceBucketFeatures()) {
            self.region = region
            self.features = features
            objects = [:]
        }
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var denied: Set<String> = []
        var reads = 0
    }

    private let state = Mutex(State())
    /// Keys per ListObjectsV2 page (S3 uses 1000).
    public let pageSize: Int

    public init(pageSize: Int = 1000) { self.pageSize = pageSize }

    public func addBucket(_ name: String, _ bucket: Bucket = Bucket()) {
        state.withLock { $0.buckets[name] = bucket }
    }

    /// The credentials may see the bucket in ListBuckets but not list or read it.
    public func deny(_ bucket: String) { state.withLock { _ = $0.denied.insert(bucket) } }

    public func put(
        _ bucket: String, _ key: String, _ bytes: [UInt8], storageClass: String? = nil, lastModified: Double = 0,
        contentType: String? = nil, headers: [String: String] = [:]
    ) {
        let etag = hexEncode(Digest.hash(.md5, bytes))
        state.withLock {
            $0.buckets[bucket, default: Bucket()].objects[key] = (
                SourceObject(
                    key: key, size: Int64(bytes.count), etag: etag, lastModified: lastModified,
                    storageClass: storageClass),
                bytes,
                SourceObjectHead(
                    size: Int64(bytes.count), etag: etag, lastModified: lastModified, contentType: contentType,
                    headers: headers)
            )
        }
    }

    /// GetObject calls so far.
    public var reads: Int { state.withLock { $0.reads } }

    public func listBuckets() throws(SourceError) -> [SourceBucket] {
        state.withLock { $0.buckets.keys.sorted().map { SourceBucket(name: $0) } }
    }

    public func region(of bucket: String) throws(SourceError) -> String {
        guard let b = state.withLock({ $0.buckets[bucket] }) else { throw .noSuchBucket(bucket) }
        return b.region
    }

    public func features(of bucket: String, region: String) -> SourceBucketFeatures {
        state.withLock { $0.buckets[bucket]?.features } ?? SourceBucketFeatures()
    }

    public func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError)
        -> SourcePage
    {
        let (b, denied) = state.withLock { ($0.buckets[bucket], $0.denied.contains(bucket)) }
        guard let b else { throw .noSuchBucket(bucket) }
        if denied { throw .accessDenied(operation: "ListObjectsV2 \(bucket)") }
        let keys = b.objects.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let after = continuation ?? ""
        let rest = keys.filter { after.isEmpty || after.utf8.lexicographicallyPrecedes($0.utf8) }
        let page = rest.prefix(pageSize)
        return SourcePage(
            objects: page.map { b.objects[$0]!.0 }, next: rest.count > pageSize ? page.last : nil)
    }

    public func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader {
        let (b, denied) = state.withLock {
            $0.reads += 1
            return ($0.buckets[bucket], $0.denied.contains(bucket))
        }
        guard let b else { throw .noSuchBucket(bucket) }
        if denied { throw .accessDenied(operation: "GetObject \(bucket)") }
        guard let entry = b.objects[key] else { throw .noSuchKey(key) }
        return Reader(bytes: entry.1, head: entry.2)
    }

    final class Reader: SourceObjectReader {
        let head: SourceObjectHead
        private let source: MemorySource
        private var closed = false
        var size: Int64 { head.size }

        init(bytes: [UInt8], head: SourceObjectHead) {
            self.head = head
            source = MemorySource(bytes)
        }

        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            if closed { throw SourceError.unreachable("the transfer was closed") }
            return try source.read(into: buffer)
        }

        func close() { closed = true }
    }
}
