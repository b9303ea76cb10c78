import GatewayCore
import Synchronization

/// An in-memory zone that also holds provider-side multipart uploads (by backend bucket), and
/// records what is aborted: the stray zone upload sweep's tests.
public final class InMemoryUploadsZone: StorageZone {
    public let inner: InMemoryZone
    public let uploads: Mutex<[String: [ZoneUpload]]>
    public let aborted = Mutex<[String]>([])
    public let listable: Bool
    public var name: String { inner.name }

    public init(name: String, uploads: [String: [ZoneUpload]], listable: Bool = true) {
        inner = InMemoryZone(name: name)
        self.uploads = Mutex(uploads)
        self.listable = listable
    }

    public func createBucket(_ b: String) throws(StoreError) { try inner.createBucket(b) }
    public func deleteBucket(_ b: String) throws(StoreError) { try inner.deleteBucket(b) }
    public func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        try inner.beginWrite(backendBucket: backendBucket, length: length)
    }
    public func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
    }
    public func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
    }
    public func probe() throws(StoreError) -> Double { 0 }
    public func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] { [] }
    public func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? { nil }
    public func listBackendBuckets() throws(StoreError) -> [String] {
        guard listable else { throw .zoneUnavailable("zone \(name) hangs") }
        return uploads.withLock { $0.keys.sorted() }
    }
    public func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload] {
        uploads.withLock { $0[backendBucket] ?? [] }
    }
    public func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {
        aborted.withLock { $0.append(backendBucket + " " + multipart) }
        uploads.withLock { $0[backendBucket]?.removeAll { $0.handle == multipart } }
    }
}
