import GatewayCore
import Logging
import S3Protocol
import SigV4

/// S3 operation handlers, one file per operation (`Bucket+Create.swift`, `Object+Put.swift`…).
enum Handlers {
    /// The bucket the request addresses, as the router loaded it and decided the request's
    /// permission on it (`S3Request.bucketRecord`); read here only for requests the router
    /// does not load a bucket for. Handlers that must see the row as of their own transaction
    /// read it there.
    static func ownedBucket(_ r: S3Request, _ ctx: GatewayContext) throws -> BucketRecord {
        if let b = r.bucketRecord { return b }
        return try loadBucket(r, ctx)
    }

    /// Reads the addressed bucket: the caller's tenant's, or the one `tenant:bucket` names
    /// (names are qualified by tenant, so another tenant's bucket of the same name is simply
    /// another row). NoSuchBucket, echoing the name as the client sent it.
    static func loadBucket(_ r: S3Request, _ ctx: GatewayContext) throws -> BucketRecord {
        guard let sent = r.bucketName, let b = try addressedBucket(sent, callerTenant: r.tenant, ctx) else {
            throw S3Error(.noSuchBucket, extra: [("BucketName", r.bucketName ?? "")])
        }
        return b
    }

    /// The bucket `sent` (`photos` or `acme:photos`) names for a caller of `callerTenant`
    /// (`BucketAddress.resolve`); nil when there is none.
    static func addressedBucket(_ sent: String, callerTenant: String, _ ctx: GatewayContext) throws(StoreError)
        -> BucketRecord?
    {
        let a = BucketAddress.resolve(sent, callerTenant: callerTenant)
        guard let b = try ctx.metadata.bucket(named: a.stored), b.tenant == a.tenant else { return nil }
        return b
    }

    /// The existing version whose ACL, owner and tags the decision on `action` reads: only for
    /// the actions they govern (reads of the object and its ACL or tags, writes of those), and
    /// only when the bucket has a policy or ACLs apply — otherwise nothing in the decision
    /// looks at the object, and the common request stays at one bucket read.
    static func objectForDecision(
        _ b: BucketRecord, key: String, versionId: String?, action: String, _ ctx: GatewayContext
    ) throws -> ObjectRecord? {
        guard objectGoverned.contains(action), decisionReadsObjects(b) else { return nil }
        if let versionId { return try ctx.metadata.version(bucket: b.name, key: key, versionId: versionId) }
        return try ctx.metadata.object(bucket: b.name, key: key)
    }

    /// Whether a decision on `b` can depend on an object's record.
    /// (A policy may test s3:ExistingObjectTag; ACLs apply unless ownership is
    /// BucketOwnerEnforced, which '' stands for.)
    static func decisionReadsObjects(_ b: BucketRecord) -> Bool {
        !b.policy.isEmpty || ObjectOwnership(stored: b.ownership).aclsEnabled
    }

    /// The actions whose decision an object's ACL or tags (s3:ExistingObjectTag) take part in.
    static let objectGoverned: Set<String> = [
        "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAcl", "s3:GetObjectVersionAcl", "s3:PutObjectAcl",
        "s3:PutObjectVersionAcl", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging",
    ]

    /// An Owner element: the user's canonical id and name (the id alone once the user is gone).
    static func owner(_ x: inout XMLWriter, _ id: String, _ ctx: GatewayContext) {
        x.open("Owner")
        x.element("ID", id)
        x.element("DisplayName", ctx.identities.displayName(ofUser: id))
        x.close("Owner")
    }

    /// For configurations this gateway does not keep: the "not configured" error clients expect.
    static func notConfigured(_ code: S3ErrorCode) -> S3Router.Handler {
        { r, ctx, _ in
            _ = try ownedBucket(r, ctx)
            throw S3Error(code, extra: [("BucketName", r.bucketName ?? "")])
        }
    }
}

extension Handlers {
    static func nothingToDelete(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        return S3Response(status: 204)
    }

    static func emptyConfiguration(_ root: String) -> S3Router.Handler {
        { r, ctx, _ in
            _ = try ownedBucket(r, ctx)
            var x = XMLWriter()
            x.open(root, namespace: XMLWriter.s3Namespace)
            x.close(root)
            return .xml(x.document)
        }
    }
}
