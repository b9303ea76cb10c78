/// A multipart upload a zone itself holds open (a provider's own multipart API), as the zone
/// lists it: what the stray-upload sweep compares with the gateway's open uploads.
public struct ZoneUpload: Sendable, Hashable {
    /// The key inside the backend bucket (the blob id the upload would assemble).
    public var key: String
    /// The zone's own upload id.
    public var uploadId: String
    /// When the zone started it (seconds since 1970); nil when it does not say, and such an
    /// upload is never taken for an old one.
    public var initiated: Double?
    /// What `abortMultipart` takes and `UploadRecord.zoneUpload` holds for this upload.
    public var handle: String

    public init(key: String, uploadId: String, initiated: Double?, handle: String) {
        self.key = key
        self.uploadId = uploadId
        self.initiated = initiated
        self.handle = handle
    }
}
