import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// PUT /bucket — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html
    static func createBucket(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        guard let p = r.principal, let name = r.bucketName, let qualified = r.bucket, BucketName.isValid(name) else {
            throw S3Error(.invalidBucketName, extra: [("BucketName", r.bucketName ?? "")])
        }
        if ReservedBucketNames.contains(name) {
            throw S3Error(
                .invalidBucketName, "The bucket name \(name) is reserved for the gateway's own API.",
                extra: [("BucketName", name)])
        }
        try UnsupportedFeatures.check(r, .createBucket)
        // S3: a bucket created with Object Lock also needs the rights to configure the lock and
        // versioning it turns on, checked before anything is created.
        let withLock =
            r.header("x-amz-bucket-object-lock-enabled")?.trimmingCharacters(in: .whitespaces).lowercased() == "true"
        if withLock {
            try Authorization.require(p, "s3:PutBucketObjectLockConfiguration", .bucket(name))
            try Authorization.require(p, "s3:PutBucketVersioning", .bucket(name))
        }
        let access = try newBucketAccess(r, p, ctx)
        let constraint = try locationConstraint(r.body)
        let placement = try ctx.resolvePlacement(constraint)
        let zones = placement.zones
        // Names are per tenant: the only conflict is with the tenant's own bucket.
        if try ctx.metadata.bucket(named: qualified) != nil {
            throw S3Error(.bucketAlreadyOwnedByYou, extra: [("BucketName", name)])
        }
        // Placement order is fixed at creation (healthy zones first then); failover reorders it.
        let backend = BackendBucketName.derive(
            secret: ctx.installationSecret, tenant: p.tenant, bucket: qualified, zone: zones[0])
        // Storage first: a bucket in metadata must always have a place for its bytes.
        try ctx.zone(zones[0]).createBucket(backend)
        var record = BucketRecord(
            name: qualified, owner: p.user.id, createdAt: r.now, locationConstraint: constraint, zones: zones,
            backendBucket: backend, replicaCount: ctx.defaultReplicaCount(for: placement),
            tenant: p.tenant)
        (record.ownership, record.publicAccessBlock, record.acl) = access
        // Object Lock needs versioning: both are on from the start, in the same row (S3: such a
        // bucket's versioning can never be suspended).
        if withLock {
            record.versioning = .enabled
            record.objectLock = ObjectLockConfig()
        }
        // A concurrent create of the same name returns the winner's record.
        let stored = try ctx.metadata.createBucket(record)
        guard stored.createdAt == record.createdAt, stored.owner == record.owner else {
            throw S3Error(.bucketAlreadyOwnedByYou, extra: [("BucketName", name)])
        }
        logger.info("created bucket \(name) in \(zones.joined(separator: ","))")
        return S3Response(headers: [Header("Location", "/" + name)])
    }

    /// The new bucket's Object Ownership (x-amz-object-ownership, else `[s3]
    /// default_object_ownership`), public access block (`[s3] default_public_access_block`) and
    /// ACL (x-amz-acl / x-amz-grant-*), as stored, checked before anything is created: an ACL
    /// granting anyone but the owner under BucketOwnerEnforced is
    /// InvalidBucketAclWithObjectOwnership, a public one under BlockPublicAcls
    /// InvalidBucketAclWithBlockPublicAccessError (both 400, as S3 answers).
    /// Setting either needs its own permission too (s3:PutBucketOwnershipControls,
    /// s3:PutBucketAcl), as in S3.
    static func newBucketAccess(_ r: S3Request, _ p: Principal, _ ctx: GatewayContext) throws -> (
        ownership: String, publicAccessBlock: String, acl: String
    ) {
        let name = r.bucketName ?? ""
        var ownership = ObjectOwnership(rawValue: ctx.accessDefaults.objectOwnership) ?? .bucketOwnerEnforced
        if let asked = r.header("x-amz-object-ownership")?.trimmingCharacters(in: .whitespaces) {
            guard let o = ObjectOwnership(rawValue: asked) else {
                throw S3Error(.invalidArgument, "Invalid x-amz-object-ownership header: \(asked)")
            }
            try Authorization.require(p, "s3:PutBucketOwnershipControls", .bucket(name))
            ownership = o
        }
        // All four on, or none configured.
        let pab = ctx.accessDefaults.blockPublicAccess ? PublicAccessBlock.all.encoded : ""
        let acl = try AccessControlList.fromHeaders(
            cannedLowercased(r.header, bucket: true), owner: p.user.id, bucketOwner: p.user.id,
            userExists: userExists(ctx, checked: true))
        guard let acl, !acl.isPrivate(owner: p.user.id) else { return (ownership.rawValue, pab, "") }
        if !ownership.aclsEnabled { throw S3Error(.invalidBucketAclWithObjectOwnership) }
        if acl.isPublic && PublicAccessBlock(stored: pab).blockPublicAcls {
            throw S3Error(.invalidBucketAclWithBlockPublicAccess)
        }
        try Authorization.require(p, "s3:PutBucketAcl", .bucket(name))
        return (ownership.rawValue, pab, acl.encoded)
    }

    /// The optional CreateBucketConfiguration body; "" when absent or empty.
    static func locationConstraint(_ body: any ByteSource) throws -> String {
        guard let bytes = try body.readAll(limit: 64 * 1024) else {
            throw S3Error(.malformedXML, "The CreateBucketConfiguration is too large.")
        }
        if bytes.allSatisfy(isXMLSpace) { return "" }
        guard let root = XMLNode.parse(bytes), root.name == "CreateBucketConfiguration" else {
            throw S3Error(.malformedXML)
        }
        return root.child("LocationConstraint")?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }
}

/// S3 bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
enum BucketName {
    static func isValid(_ name: String) -> Bool {
        let b = Array(name.utf8)
        guard b.count >= 3, b.count <= 63 else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 48 && c <= 57) }
        guard alnum(b.first!), alnum(b.last!) else { return false }
        guard b.allSatisfy({ alnum($0) || $0 == 45 || $0 == 46 }) else { return false }
        if name.contains("..") || name.contains(".-") || name.contains("-.") { return false }
        // Not formatted like an IPv4 address.
        let parts = name.split(separator: ".")
        if parts.count == 4 && parts.allSatisfy({ Int($0) != nil }) { return false }
        return true
    }
}

/// Backend bucket names: deterministic per (tenant, bucket, zone), keyed by the installation
/// secret so the tenant's name never shows at the provider, and a valid S3 name everywhere.
public enum BackendBucketName {
    public static func derive(secret: [UInt8], tenant: String, bucket: String, zone: String) -> String {
        let mac = HMAC.sha256(key: secret, data: Array("\(tenant)\u{0}\(bucket)\u{0}\(zone)".utf8))
        return "s3gw-" + String(hexEncode(mac).prefix(40))
    }
}
