import GatewayCore
import Logging
import S3Protocol

/// Bucket and object ACLs (docs/ACCESS.md, "ACLs, ownership and public access block —
/// requests"). The ACL is stored as given; `Access.decide` applies it unless the bucket's
/// Object Ownership is BucketOwnerEnforced, where ACLs are neither applied nor accepted and
/// GET ?acl shows the bucket owner's FULL_CONTROL alone, as S3 does.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketAcl.html
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectAcl.html
extension Handlers {
    /// GET ?acl on a bucket or an object version (`versionId`; a delete marker has none).
    static func getACL(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (b, object) = try aclTarget(r, ctx)
        let (owner, acl) = currentACL(of: object, in: b)
        return .xml(AccessControlXML.policy(acl, owner: owner, displayName: ctx.identities.displayName(ofUser:)))
    }

    /// PUT ?acl on a bucket or an object version: the ACL in the body (AccessControlPolicy) or
    /// in headers (x-amz-acl, or x-amz-grant-*), never both (UnexpectedContent) nor neither
    /// (MissingSecurityHeader). Under BucketOwnerEnforced only the owner's FULL_CONTROL is
    /// accepted (what GET ?acl shows, which s3cmd `cp` sends back), and changes nothing; a
    /// public ACL on a bucket whose public access block has BlockPublicAcls is AccessDenied.
    static func putACL(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (b, object) = try aclTarget(r, ctx)
        let ownership = ObjectOwnership(stored: b.ownership)
        let (owner, _) = currentACL(of: object, in: b)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024) else { throw S3Error(.malformedACLError) }
        let exists = userExists(ctx, checked: ownership.aclsEnabled)
        let fromHeaders = try AccessControlList.fromHeaders(
            cannedLowercased(r.header, bucket: object == nil), owner: owner, bucketOwner: b.owner, userExists: exists)
        let acl: AccessControlList
        if body.allSatisfy(isXMLSpace) {
            guard let fromHeaders else {
                throw S3Error(.missingSecurityHeader, extra: [("MissingHeaderName", "x-amz-acl")])
            }
            acl = fromHeaders
        } else {
            guard fromHeaders == nil else { throw S3Error(.unexpectedContent) }
            let policy = try AccessControlXML.parsePolicy(body, userExists: exists)
            // The owner is the resource's; an ACL cannot hand the resource over.
            if let named = policy.owner, named != owner { throw S3Error(.accessDenied) }
            acl = policy.acl
        }
        if !ownership.aclsEnabled {
            guard acl.isPrivate(owner: owner) else { throw S3Error(.accessControlListNotSupported) }
            // What GET shows sent back (s3cmd `cp`): accepted, and grants kept from when ACLs
            // applied stay for when they apply again.
            return S3Response()
        }
        if acl.isPublic, PublicAccessBlock(stored: b.publicAccessBlock).blockPublicAcls {
            throw S3Error(.accessDenied)
        }
        let stored = acl.isPrivate(owner: owner) ? "" : acl.encoded
        if let object {
            // The version the ACL was computed for (its owner's), even when the request named
            // none and another version has become the latest since.
            try ctx.metadata.setObjectACL(
                bucket: b.name, key: object.key, versionId: object.versionId, owner: nil, acl: stored,
                audit: .objectACL(bucket: b.name, key: object.key, versionId: object.versionId, grants: stored))
        } else {
            try ctx.metadata.setBucketSetting(
                bucket: b.name, .acl, stored, audit: .bucketACL(bucket: b.name, grants: stored))
        }
        return S3Response()
    }

    static func isXMLSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 }

    /// The bucket, and the object version when the request names a key.
    private static func aclTarget(_ r: S3Request, _ ctx: GatewayContext) throws -> (BucketRecord, ObjectRecord?) {
        guard r.key != nil else { return (try ownedBucket(r, ctx), nil) }
        return try ownedObject(r, ctx)
    }

    /// The owner and ACL in effect: under BucketOwnerEnforced the bucket owner's FULL_CONTROL
    /// whatever is stored (kept from before ACLs were disabled); else the stored grants ('':
    /// the owner's FULL_CONTROL).
    static func currentACL(of object: ObjectRecord?, in b: BucketRecord) -> (owner: String, acl: AccessControlList) {
        let owner = object.map { objectOwner($0, in: b) } ?? b.owner
        guard ObjectOwnership(stored: b.ownership).aclsEnabled else { return (owner, .owner(owner)) }
        let stored = object?.acl ?? b.acl
        return (owner, AccessControlList.decode(stored, owner: owner) ?? .owner(owner))
    }

    /// Who owns `o`: its writer where the bucket lets writers own objects (ACLs enabled), the
    /// bucket owner otherwise and for objects stored without one ('').
    static func objectOwner(_ o: ObjectRecord, in b: BucketRecord) -> String {
        ObjectOwnership(stored: b.ownership).aclsEnabled && !o.owner.isEmpty ? o.owner : b.owner
    }

    /// Canonical ids a grant may name: users of any tenant. With ACLs disabled every id passes
    /// here, as such a request fails as AccessControlListNotSupported whatever it names.
    static func userExists(_ ctx: GatewayContext, checked: Bool) -> (String) -> Bool {
        guard checked else { return { _ in true } }
        return { id in ((try? ctx.identities.store.user(id: id)) ?? nil) != nil }
    }

    /// Request headers with the canned ACL's name lowercased (clients send `Private` too). On a
    /// `bucket` the bucket-owner canned ACLs are `private`: S3 ignores them there.
    static func cannedLowercased(_ header: @escaping (String) -> String?, bucket: Bool = false) -> (String) -> String? {
        { name in
            guard name == "x-amz-acl", let v = header(name) else { return header(name) }
            let canned = v.trimmingCharacters(in: .whitespaces).lowercased()
            return bucket && canned.hasPrefix("bucket-owner-") ? "private" : canned
        }
    }
}
