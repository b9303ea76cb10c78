import GatewayCore
import Logging
import S3Protocol

/// Object Ownership (docs/ACCESS.md): who owns uploaded objects and whether ACLs apply.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketOwnershipControls.html
extension Handlers {
    /// PUT ?ownershipControls — one rule. BucketOwnerEnforced is refused while the bucket ACL
    /// grants anyone but the owner (InvalidBucketAclWithObjectOwnership, as S3): those grants
    /// would silently stop applying. Object ACLs are kept but no longer applied.
    static func putBucketOwnershipControls(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        let b = try ownedBucket(r, ctx)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024) else { throw S3Error(.malformedXML) }
        let ownership = try AccessControlXML.parseOwnershipControls(body)
        if ownership == .bucketOwnerEnforced,
            AccessControlList.decode(b.acl, owner: b.owner)?.isPrivate(owner: b.owner) != true
        {
            throw S3Error(.invalidBucketAclWithObjectOwnership)
        }
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .ownership, ownership.rawValue,
            audit: .bucketOwnership(bucket: b.name, ownership.rawValue))
        return S3Response()
    }

    /// GET ?ownershipControls — 404 OwnershipControlsNotFoundError when none is set.
    static func getBucketOwnershipControls(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        let b = try ownedBucket(r, ctx)
        guard let ownership = ObjectOwnership(rawValue: b.ownership) else {
            throw S3Error(.ownershipControlsNotFound, extra: [("BucketName", r.bucketName ?? "")])
        }
        return .xml(AccessControlXML.ownershipControls(ownership))
    }

    /// DELETE ?ownershipControls — none set; the bucket then behaves as ObjectWriter, as S3
    /// buckets without ownership controls do (stored as `ObjectOwnership.deleted`: '' would mean
    /// BucketOwnerEnforced, turning ACLs off without PUT's InvalidBucketAclWithObjectOwnership
    /// check).
    static func deleteBucketOwnershipControls(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        let b = try ownedBucket(r, ctx)
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .ownership, ObjectOwnership.deleted, audit: .bucketOwnership(bucket: b.name, ""))
        return S3Response(status: 204)
    }
}
