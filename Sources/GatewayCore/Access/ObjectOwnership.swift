/// A bucket's Object Ownership setting (PutBucketOwnershipControls): who owns uploaded
/// objects, and whether ACLs apply at all.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/about-object-ownership.html
public enum ObjectOwnership: String, Sendable, CaseIterable {
    /// ACLs disabled: the bucket owner owns every object, ACLs are neither applied nor
    /// accepted (only none or bucket-owner-full-control). The default.
    case bucketOwnerEnforced = "BucketOwnerEnforced"
    /// The bucket owner owns objects uploaded with bucket-owner-full-control; ACLs apply.
    case bucketOwnerPreferred = "BucketOwnerPreferred"
    /// The uploader owns the object; ACLs apply.
    case objectWriter = "ObjectWriter"

    /// The stored column: '' (rows from before ownership was stored) is BucketOwnerEnforced,
    /// what the gateway always did; `deleted` (DeleteBucketOwnershipControls) is ObjectWriter,
    /// S3's behaviour without ownership controls; anything unknown is BucketOwnerEnforced (fail
    /// closed: ACLs off).
    public init(stored: String) {
        self = stored == Self.deleted ? .objectWriter : ObjectOwnership(rawValue: stored) ?? .bucketOwnerEnforced
    }

    /// The stored column of a bucket whose ownership controls were deleted: none configured
    /// (GetBucketOwnershipControls answers 404), behaving as ObjectWriter. Not '', which keeps
    /// meaning "from before ownership was stored" (BucketOwnerEnforced).
    public static let deleted = "none"

    public var aclsEnabled: Bool { self != .bucketOwnerEnforced }

    /// Who owns an object `writer` uploads with `acl` (nil: none sent) into a bucket owned by
    /// `bucketOwner`.
    public func objectOwner(writer: String, bucketOwner: String, acl: AccessControlList?) -> String {
        switch self {
        case .bucketOwnerEnforced: bucketOwner
        case .objectWriter: writer
        case .bucketOwnerPreferred:
            acl?.isBucketOwnerFullControl(bucketOwner: bucketOwner, objectOwner: writer) == true ? bucketOwner : writer
        }
    }

    /// Whether a write may carry `acl` (already resolved for the object's or bucket's owner):
    /// with ACLs enabled any; under BucketOwnerEnforced only one that grants the bucket owner
    /// FULL_CONTROL and nobody anything (`private`, bucket-owner-full-control, or the same as
    /// XML) — anything else is 400 AccessControlListNotSupported, as in S3.
    public func permits(_ acl: AccessControlList, bucketOwner: String) -> Bool {
        aclsEnabled || acl.isPrivate(owner: bucketOwner)
    }
}
