/// Errors every store and backend translates its native failures into, so handlers only ever
/// see these (and map them to S3 errors in one place).
public enum StoreError: Error, Sendable, Equatable {
    case noSuchBucket
    case bucketNotEmpty
    /// The name is taken by another owner.
    case bucketAlreadyExists
    case noSuchKey
    case noSuchZone(String)
    /// The store itself failed (I/O, database); the message is for the log, never the client.
    case internalFailure(String)
}

/// The source of truth for buckets and objects. Shared by every worker thread and process.
public protocol MetadataStore: Sendable {
    /// Creates the bucket, or returns the existing record when `owner` already owns it.
    func createBucket(_ bucket: BucketRecord) throws(StoreError) -> BucketRecord
    func bucket(named name: String) throws(StoreError) -> BucketRecord?
    func listBuckets(owner: String) throws(StoreError) -> [BucketRecord]
    /// Fails with `.bucketNotEmpty` when objects remain.
    func deleteBucket(named name: String) throws(StoreError)

    func object(bucket: String, key: String) throws(StoreError) -> ObjectRecord?
    /// The bucket and, when present, the object, in one read (the GET/HEAD hot path);
    /// nil when the bucket does not exist.
    func bucketAndObject(bucket: String, key: String) throws(StoreError) -> (BucketRecord, ObjectRecord?)?
    /// Commits the object's metadata; returns the record it replaced, whose blob is now garbage.
    func putObject(_ object: ObjectRecord) throws(StoreError) -> ObjectRecord?
    /// Returns the removed record, nil when there was none.
    func deleteObject(bucket: String, key: String) throws(StoreError) -> ObjectRecord?
    func listObjects(bucket: String, query: ListQuery) throws(StoreError) -> ListPage
}

/// Bytes being written to a zone: invisible until `commit`, removed by `abort`.
public protocol BlobWriter: ByteSink {
    /// Makes the bytes durable (fsync) and returns the blob id to record in metadata.
    func commit() throws(StoreError) -> String
    func abort()
}

/// A readable stored blob.
public protocol BlobReader: ByteSource {
    var size: Int64 { get }
}

/// One storage zone: a local directory or a remote S3-compatible provider.
public protocol StorageZone: Sendable {
    var name: String { get }
    func createBucket(_ backendBucket: String) throws(StoreError)
    /// Removes the backend bucket; it holds no live blobs any more.
    func deleteBucket(_ backendBucket: String) throws(StoreError)
    func beginWrite(backendBucket: String) throws(StoreError) -> any BlobWriter
    /// Opens `length` bytes from `offset` (the whole blob when nil).
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError)
}

/// Time as a parameter, so tests pin it.
public protocol Clock: Sendable {
    /// Seconds since 1970.
    func now() -> Double
}
