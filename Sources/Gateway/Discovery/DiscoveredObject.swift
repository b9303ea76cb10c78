import Foundation

/// One object as a source listing (or a HEAD) returned it. Owner, tags and user metadata are
/// accepted so a caller can hand over whatever it read; SnapshotWriter is the one place that
/// drops them, and nothing in a snapshot has room for them.
public struct DiscoveredObject: Sendable {
    public var key: String
    public var size: Int64
    /// Nil when the listing left it out (S3 then means STANDARD).
    public var storageClass: String?
    public var lastModified: Date
    public var etag: String
    public var ownerID: String?
    public var tags: [String: String]
    public var userMetadata: [String: String]

    public init(
        key: String, size: Int64, storageClass: String? = nil, lastModified: Date, etag: String,
        ownerID: String? = nil, tags: [String: String] = [:], userMetadata: [String: String] = [:]
    ) {
        self.key = key
        self.size = size
        self.storageClass = storageClass
        self.lastModified = lastModified
        self.etag = etag
        self.ownerID = ownerID
        self.tags = tags
        self.userMetadata = userMetadata
    }
}
