/// Bytes being written to a zone: invisible until `commit`, removed by `abort`.
public protocol BlobWriter: ByteSink {
    /// Makes the bytes durable (fsync) and returns the blob id to record in metadata.
    func commit() throws(StoreError) -> String
    func abort()
    /// Whether `write` may be called from a thread other than the one that began the write
    /// (never concurrently): large bodies are then written by a helper thread while the request
    /// thread reads and hashes the next bytes (`pipelinedPump`).
    var writesFromAnyThread: Bool { get }
}

extension BlobWriter {
    /// Writers with thread-bound state (a provider's transfer handles) say no by default.
    public var writesFromAnyThread: Bool { false }
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

    // What the zone itself holds, whatever metadata says (residency audit, repair, orphans).

    /// Up to `limit` blobs of the backend bucket whose ids sort after `after` (byte order), in
    /// that order; pass the last id of a page to get the next. A missing backend bucket holds
    /// nothing: an empty page.
    func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob]
    /// One blob as the zone holds it; nil when it (or its backend bucket) is missing.
    func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob?
    /// The names of the gateway's backend buckets in this zone, sorted.
    func listBackendBuckets() throws(StoreError) -> [String]

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
    /// Every zone-side multipart upload open in the backend bucket, whoever started it (the
    /// gateway may have lost track of one: a create that outlived the client's timeout, a
    /// replication or unknown-length write cut off). A missing backend bucket holds none.
    func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload]
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
    public func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload] { [] }
}
