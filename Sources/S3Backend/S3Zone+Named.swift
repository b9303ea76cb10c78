import GatewayCore

/// Named objects are plain keys of the backend bucket.
extension S3Zone: NamedObjectZone {
    public func beginNamedWrite(backendBucket: String, name: String, length: Int64?) throws(StoreError)
        -> any BlobWriter
    {
        guard ObjectName.isValid(name) else { throw .internalFailure("invalid object name \(name)") }
        try ensureBucket(backendBucket)
        return try S3BlobWriter(zone: self, backendBucket: backendBucket, length: length, key: name)
    }

    public func openNamed(backendBucket: String, name: String) throws(StoreError) -> any BlobReader {
        try open(backendBucket: backendBucket, blob: name, offset: 0, length: nil)
    }

    public func listNamed(backendBucket: String, prefix: String, after: String, limit: Int) throws(StoreError)
        -> [StoredBlob]
    {
        try listKeys(backendBucket: backendBucket, prefix: prefix, after: after, limit: limit)
    }

    public func deleteNamed(backendBucket: String, name: String) throws(StoreError) {
        try deleteBlob(backendBucket: backendBucket, blob: name)
    }
}
