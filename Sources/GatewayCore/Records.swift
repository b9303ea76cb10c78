/// A tenant bucket as the metadata store keeps it.
public struct BucketRecord: Sendable, Equatable {
    /// The metadata store's name: `TenantRecord.qualifiedBucket` of the tenant and the name the
    /// tenant's clients use (`displayName`).
    public var name: String
    /// The canonical id of the user who created it (Owner ID in listings and ACLs).
    public var owner: String
    /// The tenant whose namespace holds it.
    public var tenant: String
    /// What `BackendBucketName` derives its backend names under: the tenant id, or for buckets
    /// created before tenants existed the access key that created them (so their backend
    /// buckets keep their names).
    public var namingKey: String
    public var createdAt: Double
    /// The LocationConstraint exactly as the client sent it ("" when none).
    public var locationConstraint: String
    /// Placement: every zone the LocationConstraint allows, primary first, then replica targets
    /// in order (fixed at creation; failover reorders it).
    public var zones: [String]
    /// The bucket's name inside each zone's storage, derived by `BackendBucketName`.
    public var backendBucket: String
    public var tags: [Header]
    /// How many locations hold a copy of each object (the `replica-count` object tag overrides it).
    public var replicaCount: Int
    public var versioning: Versioning = .unversioned
    /// nil unless Object Lock is enabled (CreateBucket's `x-amz-bucket-object-lock-enabled`, or
    /// PutObjectLockConfiguration on a versioning-Enabled bucket); never removed once set.
    public var objectLock: ObjectLockConfig?
    /// The lifecycle configuration as validated and stored (canonical XML), "" when none.
    public var lifecycle: String = ""
    /// The bucket policy document as sent (validated), "" when none.
    public var policy: String = ""
    /// The bucket ACL (`AccessControlList.encoded`), "" for the owner's FULL_CONTROL alone.
    public var acl: String = ""
    /// Object Ownership ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"); ""
    /// for buckets from before it existed, which behave as BucketOwnerEnforced.
    public var ownership: String = ""
    /// The public access block (`PublicAccessBlock.encoded`), "" when none is configured.
    public var publicAccessBlock: String = ""
    /// The CORS configuration (canonical XML), "" when none.
    public var cors: String = ""
    /// Default encryption (`DefaultEncryption.encoded`), "" when none.
    public var encryption: String = ""

    public init(
        name: String, owner: String, createdAt: Double, locationConstraint: String, zones: [String],
        backendBucket: String, tags: [Header] = [], replicaCount: Int = 1, tenant: String = TenantRecord.defaultID,
        namingKey: String? = nil
    ) {
        self.tenant = tenant
        self.namingKey = namingKey ?? tenant
        self.replicaCount = replicaCount
        self.name = name
        self.owner = owner
        self.createdAt = createdAt
        self.locationConstraint = locationConstraint
        self.zones = zones
        self.backendBucket = backendBucket
        self.tags = tags
    }

    public var primaryZone: String { zones.first ?? "" }

    /// The name the tenant's clients use.
    public var displayName: String {
        guard let slash = name.lastIndex(of: "/") else { return name }
        return String(name[name.index(after: slash)...])
    }
}

/// One version of an object, or a delete marker (`isDeleteMarker`: no bytes, no tags).
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
    /// A completed multipart upload keeps its part blobs, in order, instead of one `blob`:
    /// completing never copies the bytes again.
    public var parts: [BlobPart]
    /// Object tags (key → value pairs in the order given), at most 10.
    public var tags: [Header]
    /// The multipart upload this object was completed from ("" for any other write), so a
    /// retried CompleteMultipartUpload of that upload gets the same answer again.
    public var uploadId: String
    /// Sizes of the parts a multipart object was completed from, in part order (empty for any
    /// other write): GET/HEAD `?partNumber=N` reads one of them. Kept apart from `parts`
    /// because a provider zone assembles the parts into one blob.
    public var partSizes: [Int64]
    /// The copies beyond the primary one, in placement order (empty with replica-count 1).
    public var replicas: [Replica]
    /// What clients see: `VersionId.null` for a null version, else `versionSeq`.
    public var versionId: String = VersionId.null
    /// Orders the key's versions, newest greatest (`VersionId`); "" for rows written before
    /// versioning existed. Assigned by the store when the version is written.
    public var versionSeq: String = ""
    /// A delete marker: no bytes (`blob` "", size 0), no tags, never retention.
    public var isDeleteMarker = false
    /// Object Lock retention of this version (nil: none).
    public var retention: Retention?
    public var legalHold = false
    /// When this version stopped being the latest (0 while it is the latest): lifecycle's
    /// NoncurrentDays count from here.
    public var noncurrentSince: Double = 0
    /// The object owner's canonical id; "" means the bucket owner.
    public var owner: String = ""
    /// The object ACL (`AccessControlList.encoded`), "" for the owner's FULL_CONTROL alone.
    public var acl: String = ""
    /// How the stored bytes are encrypted (`SSEEnvelope.encoded`), "" for plaintext.
    public var sse: String = ""

    public init(
        bucket: String, key: String, size: Int64, etag: String, lastModified: Double, contentType: String,
        headers: [Header], checksums: [String: String], zone: String, blob: String, parts: [BlobPart] = [],
        tags: [Header] = [], uploadId: String = "", partSizes: [Int64] = [], replicas: [Replica] = []
    ) {
        self.replicas = replicas
        self.uploadId = uploadId
        self.partSizes = partSizes
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
        self.parts = parts
        self.tags = tags
    }

    /// Every blob holding this object's bytes, in order, with the sizes the zone holds
    /// (`storedSize`: ciphertext for an encrypted object); none for a delete marker.
    public var blobs: [BlobPart] {
        if isDeleteMarker { return [] }
        return parts.isEmpty ? [BlobPart(blob: blob, size: storedSize)] : parts
    }

    /// A delete marker for `key` written at `time` (the store assigns its version).
    public static func deleteMarker(bucket: String, key: String, at time: Double) -> ObjectRecord {
        var m = ObjectRecord(
            bucket: bucket, key: key, size: 0, etag: "", lastModified: time, contentType: "", headers: [],
            checksums: [:], zone: "", blob: "")
        m.isDeleteMarker = true
        return m
    }
}

public struct BlobPart: Sendable, Equatable {
    public var blob: String
    public var size: Int64
    public init(blob: String, size: Int64) {
        self.blob = blob
        self.size = size
    }
}

/// A multipart upload in progress.
public struct UploadRecord: Sendable, Equatable {
    public var uploadId: String
    public var bucket: String
    public var key: String
    public var initiated: Double
    public var contentType: String
    public var headers: [Header]
    /// From `x-amz-checksum-algorithm` ("crc32"…), "" when none was asked for.
    public var checksumAlgorithm: String
    /// "COMPOSITE" or "FULL_OBJECT" (`x-amz-checksum-type`, or the algorithm's default); ""
    /// without an algorithm.
    public var checksumType: String
    public var zone: String
    /// From `x-amz-tagging`; the completed object gets them.
    public var tags: [Header]
    /// The zone's own multipart upload handle when the zone assembles the parts (a provider),
    /// "" when the gateway keeps each part as a blob. For such uploads a part's `blob` holds the
    /// zone's ETag of that part.
    public var zoneUpload: String
    /// Object Lock settings from CreateMultipartUpload's headers, applied at completion.
    public var lock = LockSettings()
    /// The completed object's owner, ACL and encryption envelope, fixed at
    /// CreateMultipartUpload (as `ObjectRecord`'s).
    public var owner: String = ""
    public var acl: String = ""
    public var sse: String = ""
    /// Who started the upload: a canonical id, `anonymous`, or '' (uploads from before it was
    /// kept: the bucket owner). With the bucket owner, the one who may abort it and list its
    /// parts without holding those permissions (S3's rule). Not `owner`, which is the completed
    /// object's ('' under BucketOwnerEnforced whoever writes it).
    public var initiator: String = ""

    public init(
        uploadId: String, bucket: String, key: String, initiated: Double, contentType: String, headers: [Header],
        checksumAlgorithm: String, zone: String, tags: [Header] = [], zoneUpload: String = "",
        checksumType: String = ""
    ) {
        self.checksumType = checksumType
        self.zoneUpload = zoneUpload
        self.uploadId = uploadId
        self.bucket = bucket
        self.key = key
        self.initiated = initiated
        self.contentType = contentType
        self.headers = headers
        self.checksumAlgorithm = checksumAlgorithm
        self.zone = zone
        self.tags = tags
    }
}

/// One uploaded part; its bytes are a blob in the upload's zone.
public struct PartRecord: Sendable, Equatable {
    public var uploadId: String
    public var partNumber: Int
    public var size: Int64
    /// Hex MD5 without quotes.
    public var etag: String
    public var lastModified: Double
    /// Algorithm name → base64 value, as verified at upload.
    public var checksums: [String: String]
    public var blob: String

    public init(
        uploadId: String, partNumber: Int, size: Int64, etag: String, lastModified: Double,
        checksums: [String: String], blob: String
    ) {
        self.uploadId = uploadId
        self.partNumber = partNumber
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.checksums = checksums
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
