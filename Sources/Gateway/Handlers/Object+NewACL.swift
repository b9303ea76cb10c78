import GatewayCore
import S3Protocol

/// The owner and ACL of an object being written (PutObject, CopyObject,
/// CreateMultipartUpload, the POST form), decided before a byte is stored (docs/ACCESS.md).
extension Handlers {
    /// What the new object's `owner` and `acl` fields get ('' and '' when the bucket owner owns
    /// it privately), from the request's x-amz-acl / x-amz-grant-* headers.
    static func newObjectACL(_ r: S3Request, _ b: BucketRecord, _ ctx: GatewayContext) throws(S3Error) -> (
        owner: String, acl: String
    ) {
        try newObjectACL(r.header, caller: r, key: r.key ?? "", bucket: b, ctx)
    }

    /// The same for any source of headers (the POST form's fields; its `acl` is x-amz-acl).
    /// Under BucketOwnerEnforced the bucket owner owns the object and only no ACL,
    /// bucket-owner-full-control (or the same grants spelled out) or the writer's own `private`
    /// within the bucket's tenant are accepted: anything else is 400 AccessControlListNotSupported.
    /// With ACLs enabled the ACL is kept, and the owner is the writer (ObjectWriter) or, for
    /// bucket-owner-full-control under BucketOwnerPreferred, the bucket owner. A public ACL on
    /// a bucket whose public access block has BlockPublicAcls is 403 AccessDenied.
    /// An anonymous writer's object is the bucket owner's (it has no canonical id here).
    /// A request that carries an ACL at all also needs s3:PutObjectAcl on `key` (AWS's
    /// PutObject "Permissions"; asked before the ACL is judged, with the request's condition
    /// keys, so a policy may allow it for `s3:x-amz-acl` = bucket-owner-full-control only). No
    /// ACL grant gives it: the object does not exist yet.
    static func newObjectACL(
        _ header: @escaping (String) -> String?, caller: S3Request, key: String, bucket b: BucketRecord,
        _ ctx: GatewayContext
    ) throws(S3Error) -> (owner: String, acl: String) {
        let ownership = ObjectOwnership(stored: b.ownership)
        let writer = caller.principal
        let writerID = writer?.user.id ?? b.owner
        if header("x-amz-acl") != nil || AccessControlList.grantHeaders.contains(where: { header($0.0) != nil }) {
            try Authorization.require(caller, "s3:PutObjectAcl", bucket: b, key: key)
        }
        guard
            let acl = try AccessControlList.fromHeaders(
                cannedLowercased(header), owner: writerID, bucketOwner: b.owner,
                userExists: userExists(ctx, checked: ownership.aclsEnabled))
        else {
            return (
                ownership.objectOwner(writer: writerID, bucketOwner: b.owner, acl: nil) == b.owner ? "" : writerID, ""
            )
        }
        if !ownership.aclsEnabled {
            let accepted =
                acl.isBucketOwnerFullControl(bucketOwner: b.owner, objectOwner: writerID)
                || acl.isPrivate(owner: b.owner) || (writer?.tenant == b.tenant && acl.isPrivate(owner: writerID))
            guard accepted else { throw S3Error(.accessControlListNotSupported) }
            return ("", "")
        }
        if acl.isPublic, PublicAccessBlock(stored: b.publicAccessBlock).blockPublicAcls {
            throw S3Error(.accessDenied)
        }
        let owner = ownership.objectOwner(writer: writerID, bucketOwner: b.owner, acl: acl)
        return (owner == b.owner ? "" : owner, acl.isPrivate(owner: owner) ? "" : acl.encoded)
    }
}
