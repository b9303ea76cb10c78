/// A tenant bucket as the metadata store keeps it.
public struct BucketRecord: Sendable, Equatable {
    public var name: String
    public var owner: String
    public var createdAt: Double
    /// The LocationConstraint exactly as the client sent it ("" when none).
    public var locationConstraint: String
    /// Placement: the zones holding this bucket, primary first. One zone until replication exists.
    public var zones: [String]
    /// The bucket's name inside each zone's storage, derived by `BackendBucketName`.
    public var backendBucket: String

    public init(
        name: String, owner: String, createdAt: Double, locationConstraint: String, zones: [String],
        backendBucket: String
    ) {
        self.name = name
        self.owner = owner
        self.createdAt = createdAt
        self.locationConstraint = locationConstraint
        self.zones = zones
        self.backendBucket = backendBucket
    }

    public var primaryZone: String { zones.first ?? "" }
}

/// One stored object version (only the current, unversioned one for now).
public struct ObjectRecord: Sendable, Equatable {
    public var bucket: String
    public var key: String
    public var size: Int64
    /// Hex MD5 without quotes.
    public var etag: String
    public var lastModified: Double
    public var contentType: String
    /// Headers stored with the object and returned on GET/HEAD: `x-amz-meta-*` and the standard
    /// content headers (cache-control, content-disposition, content-encoding, content-language,
    /// expires), lowercased names.
    public var headers: [Header]
    /// Checksums verified at upload, algorithm name (e.g. "crc32") → base64 value.
    public var checksums: [String: String]
    /// Where the bytes are: the zone and the blob id inside that zone.
    public var zone: String
    public var blob: String

    public init(
        bucket: String, key: String, size: Int64, etag: String, lastModified: Double, contentType: String,
        headers: [Header], checksums: [String: String], zone: String, blob: String
    ) {
        self.bucket = bucket
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.headers = headers
        self.checksums = checksums
        self.zone = zone
        self.blob = blob
    }
}

public struct Header: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A page request for listing keys in UTF-8 byte order.
public struct ListQuery: Sendable {
    public var prefix: String
    /// nil or "" means no delimiter.
    public var delimiter: String?
    /// Keys (and common prefixes) strictly greater than this are listed.
    public var after: String
    public var maxKeys: Int

    public init(prefix: String = "", delimiter: String? = nil, after: String = "", maxKeys: Int = 1000) {
        self.prefix = prefix
        self.delimiter = delimiter
        self.after = after
        self.maxKeys = maxKeys
    }
}

public struct ListPage: Sendable {
    public var objects: [ObjectRecord]
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    /// The last key or common prefix in this page: where the next page starts after.
    public var last: String?

    public init(objects: [ObjectRecord], commonPrefixes: [String], isTruncated: Bool, last: String?) {
        self.objects = objects
        self.commonPrefixes = commonPrefixes
        self.isTruncated = isTruncated
        self.last = last
    }
}
