/// One blob as a zone itself holds it, read from the zone rather than from metadata: what the
/// residency audit, repair and orphan detection compare with what metadata believes.
public struct StoredBlob: Sendable, Hashable {
    /// The blob id (the key inside the backend bucket).
    public var id: String
    public var size: Int64
    /// The zone's ETag without quotes, when it knows one without reading the bytes: the MD5 hex
    /// of a blob stored in one PUT, S3's "<hex>-<parts>" for one a provider assembled from parts;
    /// nil otherwise (a filesystem zone keeps no digest).
    public var etag: String?
    /// When the zone last wrote it (seconds since 1970), if it says: an orphan's grace period
    /// counts from here, so a blob whose upload is still being recorded is not taken for one.
    public var lastModified: Double?

    public init(id: String, size: Int64, etag: String? = nil, lastModified: Double? = nil) {
        self.id = id
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}
