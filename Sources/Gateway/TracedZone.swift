import GatewayCore

/// A storage zone as the gateway's requests see it: every call names the zone in the calling
/// thread's request trace (the operations log's "zones touched"). The one place zone calls pass
/// through, so per-zone measurements belong here too.
struct TracedZone: StorageZone {
    let inner: any StorageZone
    var name: String { inner.name }

    init(_ inner: any StorageZone) { self.inner = inner }

    private func touch() { RequestTrace.current?.touched(zone: inner.name) }

    func createBucket(_ backendBucket: String) throws(StoreError) {
        touch()
        try inner.createBucket(backendBucket)
    }
    func deleteBucket(_ backendBucket: String) throws(StoreError) {
        touch()
        try inner.deleteBucket(backendBucket)
    }
    func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        touch()
        return try inner.beginWrite(backendBucket: backendBucket, length: length)
    }
    func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        touch()
        return try inner.open(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
    }
    func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        touch()
        try inner.deleteBlob(backendBucket: backendBucket, blob: blob)
    }
    func probe() throws(StoreError) -> Double {
        touch()
        return try inner.probe()
    }
    func listBlobs(backendBucket: String, after: String, limit: Int) throws(StoreError) -> [StoredBlob] {
        touch()
        return try inner.listBlobs(backendBucket: backendBucket, after: after, limit: limit)
    }
    func blobInfo(backendBucket: String, blob: String) throws(StoreError) -> StoredBlob? {
        touch()
        return try inner.blobInfo(backendBucket: backendBucket, blob: blob)
    }
    func listBackendBuckets() throws(StoreError) -> [String] {
        touch()
        return try inner.listBackendBuckets()
    }
    func beginMultipart(backendBucket: String) throws(StoreError) -> String? {
        touch()
        return try inner.beginMultipart(backendBucket: backendBucket)
    }
    func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?) throws(StoreError)
        -> any BlobWriter
    {
        touch()
        return try inner.beginPartWrite(
            backendBucket: backendBucket, multipart: multipart, partNumber: partNumber, length: length)
    }
    func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)]) throws(StoreError)
        -> String
    {
        touch()
        return try inner.completeMultipart(backendBucket: backendBucket, multipart: multipart, parts: parts)
    }
    func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {
        touch()
        try inner.abortMultipart(backendBucket: backendBucket, multipart: multipart)
    }
    func listZoneUploads(backendBucket: String) throws(StoreError) -> [ZoneUpload] {
        touch()
        return try inner.listZoneUploads(backendBucket: backendBucket)
    }
}
