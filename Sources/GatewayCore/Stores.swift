/// Errors every store and backend translates its native failures into, so handlers only ever
/// see these (and map them to S3 errors in one place).
public enum StoreError: Error, Sendable, Equatable {
    case noSuchBucket
    case bucketNotEmpty
    /// The name is taken by another owner.
    case bucketAlreadyExists
    case noSuchKey
    case noSuchUpload
    /// A conditional write's precondition did not hold.
    case preconditionFailed
    /// A concurrent change won (a part replaced while its upload was being completed).
    case conflict
    case noSuchZone(String)
    /// A remote zone did not answer or failed (network, TLS, provider 5xx); the text is for
    /// the log. Clients see 503 and may retry.
    case zoneUnavailable(String)
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
    /// `condition` is checked in the same transaction, so concurrent conditional writers
    /// serialize: exactly one `If-None-Match: *` writer wins.
    func putObject(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> ObjectRecord?
    /// Returns the removed record, nil when there was none.
    func deleteObject(bucket: String, key: String) throws(StoreError) -> ObjectRecord?
    func listObjects(bucket: String, query: ListQuery) throws(StoreError) -> ListPage
    /// Replaces the object's tags (`.noSuchKey` when it is gone).
    func setObjectTags(bucket: String, key: String, tags: [Header]) throws(StoreError)
    /// Replaces the bucket's tags (`.noSuchBucket` when it is gone).
    func setBucketTags(bucket: String, tags: [Header]) throws(StoreError)

    // MARK: zone health

    func recordZoneHealth(_ health: ZoneHealth) throws(StoreError)
    func zoneHealth() throws(StoreError) -> [ZoneHealth]

    // MARK: multipart uploads

    func createUpload(_ upload: UploadRecord) throws(StoreError)
    func upload(id: String) throws(StoreError) -> UploadRecord?
    /// Records a part; returns the part it replaced (same number), whose blob is now garbage.
    /// Fails with `.noSuchUpload` when the upload was completed or aborted meanwhile.
    func putPart(_ part: PartRecord) throws(StoreError) -> PartRecord?
    /// Parts in number order, numbers greater than `after`, at most `limit`.
    func parts(uploadId: String, after: Int, limit: Int) throws(StoreError) -> [PartRecord]
    /// Uploads of a bucket ordered by key then initiation, after (key, uploadId) markers.
    func uploads(bucket: String, prefix: String, keyMarker: String, uploadIdMarker: String, limit: Int)
        throws(StoreError) -> [UploadRecord]
    /// Uploads (of any bucket) initiated before `time`, oldest first: the agent's expiry work.
    func uploads(initiatedBefore time: Double, limit: Int) throws(StoreError) -> [UploadRecord]
    /// Atomically turns the upload into `object`: the upload and its part rows go, the object
    /// row is written. Returns the replaced object (if any) and every part row removed.
    func completeUpload(_ uploadId: String, object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> (
        replaced: ObjectRecord?, parts: [PartRecord]
    )
    /// Removes the upload and returns its parts (their blobs are the caller's to delete).
    func abortUpload(_ uploadId: String) throws(StoreError) -> [PartRecord]
}

/// Conditional writes (`If-None-Match: *`, `If-Match: "etag"`).
public enum WriteCondition: Sendable, Equatable {
    case noneExists
    case etagMatches(String)

    /// Whether the condition holds against the current object (nil: none).
    public func holds(for current: ObjectRecord?) -> Bool {
        switch self {
        case .noneExists: current == nil
        case .etagMatches(let etag): current?.etag == etag
        }
    }
}

extension MetadataStore {
    public func putObject(_ object: ObjectRecord) throws(StoreError) -> ObjectRecord? {
        try putObject(object, condition: nil)
    }
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
    /// `length` is the exact size when known (remote zones need it up front), nil otherwise.
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter
    /// Opens `length` bytes from `offset` (the whole blob when nil).
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError)
    /// Checks the zone answers and accepts our credentials; returns the round trip in seconds.
    func probe() throws(StoreError) -> Double

    // Multipart uploads the zone assembles itself (a provider's own multipart API). Zones that
    // cannot return nil from `beginMultipart`, and the gateway keeps each part as a blob.

    /// Starts a zone-side multipart upload; returns its handle, or nil when not supported.
    func beginMultipart(backendBucket: String) throws(StoreError) -> String?
    /// A writer for one part; its `commit` returns the zone's ETag for the part.
    func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?) throws(StoreError)
        -> any BlobWriter
    /// Assembles the listed parts (number, zone ETag) into one blob and returns its id.
    func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)]) throws(StoreError)
        -> String
    func abortMultipart(backendBucket: String, multipart: String) throws(StoreError)
}

extension StorageZone {
    public func beginMultipart(backendBucket: String) throws(StoreError) -> String? { nil }
    public func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?)
        throws(StoreError) -> any BlobWriter
    {
        throw .internalFailure("zone \(name) has no zone-side multipart uploads")
    }
    public func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)])
        throws(StoreError) -> String
    {
        throw .internalFailure("zone \(name) has no zone-side multipart uploads")
    }
    public func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {}
}

/// Time as a parameter, so tests pin it.
public protocol Clock: Sendable {
    /// Seconds since 1970.
    func now() -> Double
}

/// What the health checker last saw of a zone.
public struct ZoneHealth: Sendable, Equatable {
    public enum State: String, Sendable { case healthy, degraded, down }
    public var zone: String
    public var state: State
    public var lastError: String
    /// Seconds; 0 when the last probe failed.
    public var latency: Double
    public var checkedAt: Double
    public var consecutiveFailures: Int

    public init(
        zone: String, state: State, lastError: String, latency: Double, checkedAt: Double, consecutiveFailures: Int
    ) {
        self.zone = zone
        self.state = state
        self.lastError = lastError
        self.latency = latency
        self.checkedAt = checkedAt
        self.consecutiveFailures = consecutiveFailures
    }

    /// Folds one probe result into the previous state: one failure degrades, three in a row
    /// mark the zone down; a slow answer (over 2 s) is degraded.
    public static func next(
        after previous: ZoneHealth?, zone: String, result: Result<Double, StoreError>, at time: Double
    ) -> ZoneHealth {
        switch result {
        case .success(let latency):
            return ZoneHealth(
                zone: zone, state: latency > 2 ? .degraded : .healthy, lastError: previous?.lastError ?? "",
                latency: latency, checkedAt: time, consecutiveFailures: 0)
        case .failure(let error):
            let failures = (previous?.consecutiveFailures ?? 0) + 1
            let text: String
            switch error {
            case .zoneUnavailable(let m), .internalFailure(let m): text = m
            default: text = "\(error)"
            }
            return ZoneHealth(
                zone: zone, state: failures >= 3 ? .down : .degraded, lastError: text, latency: 0, checkedAt: time,
                consecutiveFailures: failures)
        }
    }
}
