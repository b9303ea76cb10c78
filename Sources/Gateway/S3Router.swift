import GatewayCore
import Logging
import S3Protocol

/// Maps (level, method, sub-resource) to a handler. One table, read top to bottom: the first
/// row whose sub-resource is present (or that has none) wins.
enum S3Router {
    typealias Handler = @Sendable (S3Request, GatewayContext, Logger) throws -> S3Response

    enum Level { case service, bucket, object }

    struct Route: Sendable {
        let level: Level
        let method: String
        let subresource: String?
        /// AWS's name of the operation's permission (`s3:GetObject`), checked before the handler
        /// runs; nil where the handler checks it itself (DeleteObjects per key, the POST form
        /// against its own signer).
        let action: String?
        /// AWS's name of the operation (`UploadPart`), for the operations log and the metrics.
        let operation: String
        let handler: Handler

        init(
            _ level: Level, _ method: String, _ subresource: String?, _ action: String?, _ operation: String,
            _ handler: @escaping Handler
        ) {
            self.level = level
            self.method = method
            self.subresource = subresource
            self.action = action
            self.operation = operation
            self.handler = handler
        }
    }

    /// Bucket configurations this gateway does not keep: GET answers S3's "not configured"
    /// error (what s3cmd `info`, rclone and SDKs expect), DELETE succeeds with nothing to do.
    /// With the permissions GET and DELETE need (AWS's names).
    /// With the operations' AWS names (`getOperation`, `deleteOperation`).
    static let unconfigured:
        [(
            subresource: String, code: S3ErrorCode, get: String, delete: String, getOperation: String,
            deleteOperation: String
        )] = [
            (
                "website", .noSuchWebsiteConfiguration, "s3:GetBucketWebsite", "s3:DeleteBucketWebsite",
                "GetBucketWebsite", "DeleteBucketWebsite"
            ),
            (
                "replication", .replicationConfigurationNotFound, "s3:GetReplicationConfiguration",
                "s3:PutReplicationConfiguration", "GetBucketReplication", "DeleteBucketReplication"
            ),
        ]

    /// Configurations whose "nothing set" answer is an empty document, not an error.
    static let emptyConfigurations: [(subresource: String, root: String, action: String, operation: String)] = [
        ("logging", "BucketLoggingStatus", "s3:GetBucketLogging", "GetBucketLogging"),
        ("notification", "NotificationConfiguration", "s3:GetBucketNotification", "GetBucketNotificationConfiguration"),
        ("accelerate", "AccelerateConfiguration", "s3:GetAccelerateConfiguration", "GetBucketAccelerateConfiguration"),
    ]

    static let routes: [Route] =
        unconfigured.flatMap { c in
            [
                Route(.bucket, "GET", c.subresource, c.get, c.getOperation, Handlers.notConfigured(c.code)),
                Route(.bucket, "DELETE", c.subresource, c.delete, c.deleteOperation, Handlers.nothingToDelete),
            ]
        }
        + emptyConfigurations.map { c in
            Route(.bucket, "GET", c.subresource, c.action, c.operation, Handlers.emptyConfiguration(c.root))
        } + [
            Route(.service, "GET", nil, "s3:ListAllMyBuckets", "ListBuckets", Handlers.listBuckets),

            Route(.bucket, "GET", "location", "s3:GetBucketLocation", "GetBucketLocation", Handlers.getBucketLocation),
            Route(.bucket, "PUT", "policy", "s3:PutBucketPolicy", "PutBucketPolicy", Handlers.putBucketPolicy),
            Route(.bucket, "GET", "policy", "s3:GetBucketPolicy", "GetBucketPolicy", Handlers.getBucketPolicy),
            Route(
                .bucket, "DELETE", "policy", "s3:DeleteBucketPolicy", "DeleteBucketPolicy", Handlers.deleteBucketPolicy),
            Route(
                .bucket, "GET", "policyStatus", "s3:GetBucketPolicyStatus", "GetBucketPolicyStatus",
                Handlers.getBucketPolicyStatus),
            Route(.bucket, "GET", "acl", "s3:GetBucketAcl", "GetBucketAcl", Handlers.getACL),
            Route(.bucket, "PUT", "acl", "s3:PutBucketAcl", "PutBucketAcl", Handlers.putACL),
            // AWS names no separate permissions for removing these two configurations.
            Route(
                .bucket, "GET", "ownershipControls", "s3:GetBucketOwnershipControls", "GetBucketOwnershipControls",
                Handlers.getBucketOwnershipControls),
            Route(
                .bucket, "PUT", "ownershipControls", "s3:PutBucketOwnershipControls", "PutBucketOwnershipControls",
                Handlers.putBucketOwnershipControls),
            Route(
                .bucket, "DELETE", "ownershipControls", "s3:PutBucketOwnershipControls",
                "DeleteBucketOwnershipControls", Handlers.deleteBucketOwnershipControls),
            Route(
                .bucket, "GET", "publicAccessBlock", "s3:GetBucketPublicAccessBlock", "GetPublicAccessBlock",
                Handlers.getPublicAccessBlock),
            Route(
                .bucket, "PUT", "publicAccessBlock", "s3:PutBucketPublicAccessBlock", "PutPublicAccessBlock",
                Handlers.putPublicAccessBlock),
            Route(
                .bucket, "DELETE", "publicAccessBlock", "s3:PutBucketPublicAccessBlock", "DeletePublicAccessBlock",
                Handlers.deletePublicAccessBlock),
            Route(
                .bucket, "GET", "versioning", "s3:GetBucketVersioning", "GetBucketVersioning",
                Handlers.getBucketVersioning),
            Route(
                .bucket, "PUT", "versioning", "s3:PutBucketVersioning", "PutBucketVersioning",
                Handlers.putBucketVersioning),
            Route(
                .bucket, "GET", "lifecycle", "s3:GetLifecycleConfiguration", "GetBucketLifecycleConfiguration",
                Handlers.getBucketLifecycle),
            Route(
                .bucket, "PUT", "lifecycle", "s3:PutLifecycleConfiguration", "PutBucketLifecycleConfiguration",
                Handlers.putBucketLifecycle),
            // AWS names no separate permission for removing the lifecycle configuration.
            Route(
                .bucket, "DELETE", "lifecycle", "s3:PutLifecycleConfiguration", "DeleteBucketLifecycle",
                Handlers.deleteBucketLifecycle),
            Route(
                .bucket, "GET", "object-lock", "s3:GetBucketObjectLockConfiguration", "GetObjectLockConfiguration",
                Handlers.getObjectLockConfiguration),
            Route(
                .bucket, "PUT", "object-lock", "s3:PutBucketObjectLockConfiguration", "PutObjectLockConfiguration",
                Handlers.putObjectLockConfiguration),
            Route(.bucket, "GET", "cors", "s3:GetBucketCORS", "GetBucketCors", Handlers.getBucketCors),
            Route(.bucket, "PUT", "cors", "s3:PutBucketCORS", "PutBucketCors", Handlers.putBucketCors),
            // AWS names no separate permission for removing the CORS configuration.
            Route(.bucket, "DELETE", "cors", "s3:PutBucketCORS", "DeleteBucketCors", Handlers.deleteBucketCors),
            Route(
                .bucket, "GET", "encryption", "s3:GetEncryptionConfiguration", "GetBucketEncryption",
                Handlers.getBucketEncryption),
            Route(
                .bucket, "PUT", "encryption", "s3:PutEncryptionConfiguration", "PutBucketEncryption",
                Handlers.putBucketEncryption),
            // AWS names no separate permission for removing the default encryption.
            Route(
                .bucket, "DELETE", "encryption", "s3:PutEncryptionConfiguration", "DeleteBucketEncryption",
                Handlers.deleteBucketEncryption),
            Route(.bucket, "GET", "tagging", "s3:GetBucketTagging", "GetBucketTagging", Handlers.getBucketTagging),
            Route(.bucket, "PUT", "tagging", "s3:PutBucketTagging", "PutBucketTagging", Handlers.putBucketTagging),
            // AWS names no separate permission for removing bucket tags.
            Route(
                .bucket, "DELETE", "tagging", "s3:PutBucketTagging", "DeleteBucketTagging", Handlers.deleteBucketTagging
            ),
            Route(
                .bucket, "GET", "uploads", "s3:ListBucketMultipartUploads", "ListMultipartUploads",
                Handlers.listMultipartUploads),
            Route(
                .bucket, "GET", "versions", "s3:ListBucketVersions", "ListObjectVersions", Handlers.listObjectVersions),
            Route(
                .bucket, "GET", "requestPayment", "s3:GetBucketRequestPayment", "GetBucketRequestPayment",
                Handlers.getRequestPayment),
            Route(.bucket, "POST", "delete", nil, "DeleteObjects", Handlers.deleteObjects),
            Route(.bucket, "POST", nil, nil, "PostObject", Handlers.postObject),
            Route(.bucket, "GET", nil, "s3:ListBucket", "ListObjects", Handlers.listObjects),
            Route(.bucket, "HEAD", nil, "s3:ListBucket", "HeadBucket", Handlers.headBucket),
            Route(.bucket, "PUT", nil, "s3:CreateBucket", "CreateBucket", Handlers.createBucket),
            Route(.bucket, "DELETE", nil, "s3:DeleteBucket", "DeleteBucket", Handlers.deleteBucket),

            Route(.object, "POST", "uploads", "s3:PutObject", "CreateMultipartUpload", Handlers.createMultipartUpload),
            Route(
                .object, "POST", "uploadId", "s3:PutObject", "CompleteMultipartUpload", Handlers.completeMultipartUpload
            ),
            Route(.object, "PUT", "uploadId", "s3:PutObject", "UploadPart", Handlers.uploadPart),
            Route(.object, "GET", "uploadId", "s3:ListMultipartUploadParts", "ListParts", Handlers.listParts),
            Route(
                .object, "DELETE", "uploadId", "s3:AbortMultipartUpload", "AbortMultipartUpload",
                Handlers.abortMultipartUpload),
            Route(.object, "GET", "tagging", "s3:GetObjectTagging", "GetObjectTagging", Handlers.getObjectTagging),
            Route(.object, "PUT", "tagging", "s3:PutObjectTagging", "PutObjectTagging", Handlers.putObjectTagging),
            Route(
                .object, "DELETE", "tagging", "s3:DeleteObjectTagging", "DeleteObjectTagging",
                Handlers.deleteObjectTagging),
            Route(.object, "GET", "acl", "s3:GetObjectAcl", "GetObjectAcl", Handlers.getACL),
            Route(.object, "PUT", "acl", "s3:PutObjectAcl", "PutObjectAcl", Handlers.putACL),
            Route(
                .object, "GET", "retention", "s3:GetObjectRetention", "GetObjectRetention", Handlers.getObjectRetention),
            Route(
                .object, "PUT", "retention", "s3:PutObjectRetention", "PutObjectRetention", Handlers.putObjectRetention),
            Route(
                .object, "GET", "legal-hold", "s3:GetObjectLegalHold", "GetObjectLegalHold", Handlers.getObjectLegalHold
            ),
            Route(
                .object, "PUT", "legal-hold", "s3:PutObjectLegalHold", "PutObjectLegalHold", Handlers.putObjectLegalHold
            ),
            Route(.object, "GET", nil, "s3:GetObject", "GetObject", Handlers.getObject),
            Route(.object, "HEAD", nil, "s3:GetObject", "HeadObject", Handlers.getObject),
            Route(.object, "PUT", nil, "s3:PutObject", "PutObject", Handlers.putObject),
            Route(.object, "DELETE", nil, "s3:DeleteObject", "DeleteObject", Handlers.deleteObject),
        ]

    /// Every permission name a user may be granted: the S3 operations routed here, those the
    /// handlers check themselves, and the STS and admin actions.
    public static let knownActions: Set<String> = Set(routes.compactMap(\.action)).union([
        "s3:DeleteObject", "s3:PutObject", "s3:GetObject",
        // Versions and Object Lock: what a request naming a version id, or bypassing a
        // GOVERNANCE retention, needs besides (AWS's names).
        "s3:GetObjectVersion", "s3:DeleteObjectVersion", "s3:GetObjectVersionTagging",
        "s3:PutObjectVersionTagging", "s3:DeleteObjectVersionTagging", "s3:GetObjectVersionAcl",
        "s3:PutObjectVersionAcl", "s3:BypassGovernanceRetention",
    ])

    /// Every S3 sub-resource name, routed or not: one that has no route for the request's level and
    /// method is refused, never served as a plain request on the bucket or object (a PUT ?policy
    /// must not create a bucket, a DELETE ?acl must not delete the object).
    static let subresources: Set<String> =
        Set([
            "acl", "analytics", "attributes", "cors", "delete", "encryption", "intelligent-tiering", "inventory",
            "legal-hold",
            "lifecycle",
            "location", "object-lock", "ownershipControls", "publicAccessBlock",
            "metadataConfiguration", "metadataTable", "metrics", "policy", "policyStatus", "renameObject",
            "requestPayment",
            "restore", "retention", "select", "session", "tagging", "torrent", "uploadId", "uploads", "versioning",
            "versions",
        ])
        .union(unconfigured.map(\.subresource)).union(emptyConfigurations.map(\.subresource))

    struct RouteKey: Hashable {
        let level: Level
        let method: String
    }

    /// Every query parameter that names a subresource, routed or not: a request naming none
    /// (most GETs and PUTs, presigned ones with their seven X-Amz-* parameters) skips the scans
    /// of both lists, one dictionary lookup per name.
    static let subresourceNames: Set<String> = subresources.union(routes.compactMap(\.subresource))

    /// The table grouped once, in table order, so a request looks up its few candidates instead
    /// of filtering every route.
    static let byLevelAndMethod: [RouteKey: [Route]] = Dictionary(
        grouping: routes, by: { RouteKey(level: $0.level, method: $0.method) })

    /// Whether the router loads the addressed bucket before the route's permission is decided:
    /// every bucket- and object-level route but CreateBucket (no bucket yet) and the POST form
    /// (whose caller, and so whose tenant, is known only from its fields).
    static func loadsBucket(_ route: Route) -> Bool {
        guard route.level != .service else { return false }
        return
            !(route.level == .bucket && route.subresource == nil && (route.method == "PUT" || route.method == "POST"))
    }

    /// The addressed bucket, read once: NoSuchBucket for whoever asks (as S3 answers even
    /// anonymous callers), before any permission is decided. A GET/HEAD of an object's latest
    /// version reads the object in the same store read (`bucketAndObject`, the hot path).
    static func load(_ r: inout S3Request, _ route: Route, _ ctx: GatewayContext) throws {
        guard let name = r.bucket else { return }
        if route.level == .object, route.subresource == nil, r.method == "GET" || r.method == "HEAD",
            r.query["versionId"] == nil, let key = r.key
        {
            guard let (b, o) = try ctx.metadata.bucketAndObject(bucket: name, key: key), b.tenant == r.bucketTenant
            else {
                throw S3Error(.noSuchBucket, extra: [("BucketName", r.bucketName ?? "")])
            }
            r.bucketRecord = b
            r.latestObject = .some(o)
        } else {
            r.bucketRecord = try Handlers.loadBucket(r, ctx)
        }
    }

    /// The route's permission, before the handler reads a byte of the body: a denied request
    /// learns nothing but whether the bucket exists, and stores nothing. On a bucket the one
    /// decision is `Access.decide` (Authorization); ListBuckets and CreateBucket, which concern
    /// no existing bucket, ask the caller's own permissions, and refuse anonymous callers.
    static func authorize(_ r: inout S3Request, _ route: Route, _ ctx: GatewayContext) throws {
        // The bucket owner's account is its tenant; a mismatch is AccessDenied, as in S3.
        if let b = r.bucketRecord, let expected = r.header("x-amz-expected-bucket-owner"), expected != b.tenant {
            throw S3Error(.accessDenied)
        }
        guard let action = action(route, r) else { return }
        guard let b = r.bucketRecord else {
            guard let p = r.principal else { throw S3Error(.accessDenied) }
            if route.level == .service {
                // Which buckets it lists is the handler's business (those the patterns match).
                if !p.mayAttempt(action) { throw S3Error(.accessDenied) }
                return
            }
            // CreateBucket: only ever in the caller's own tenant.
            guard r.bucketTenant == p.tenant else { throw S3Error(.accessDenied) }
            try Authorization.require(p, action, .bucket(r.bucketDisplayName ?? ""))
            return
        }
        // PutObjectTagging's tags (s3:RequestObjectTag) are in its body: decided once it is read.
        if decidesAfterBody(action, b) { return }
        let object = try objectForDecision(action, &r, b, ctx)
        let decision = Access.decide(r.accessRequest(action, bucket: b, key: r.key, object: object))
        // S3: an upload's initiator may abort it and list its parts (Handlers.initiatorMay).
        if decision != .allow {
            guard decision == .implicitDeny, try Handlers.initiatorMay(r, action, b, ctx) else {
                throw S3Error(.accessDenied)
            }
        }
        // A write that carries tags needs s3:PutObjectTagging as well (S3's rule; the POST
        // form's tags are its handler's to judge, against the form's caller).
        if let key = r.key, writesTags(route, r) {
            try Authorization.require(r, "s3:PutObjectTagging", bucket: b, key: key)
        }
    }

    /// Whether the decision on `action` waits for the request body: PutObjectTagging on a bucket
    /// with a policy, which may test the tags it writes (`Handlers.putObjectTagging` decides).
    static func decidesAfterBody(_ action: String, _ b: BucketRecord) -> Bool {
        !b.policy.isEmpty && (action == "s3:PutObjectTagging" || action == "s3:PutObjectVersionTagging")
    }

    /// PutObject, CreateMultipartUpload and a copy replacing the tags, with a non-empty
    /// `x-amz-tagging`.
    static func writesTags(_ route: Route, _ r: S3Request) -> Bool {
        guard let tagging = r.header("x-amz-tagging"), !tagging.isEmpty else { return false }
        switch operation(route, r) {
        case "PutObject", "CreateMultipartUpload": return true
        case "CopyObject": return r.header("x-amz-tagging-directive")?.uppercased() == "REPLACE"
        default: return false
        }
    }

    /// The existing object whose ACL (or tags) the decision on `action` may read: only for the
    /// actions they govern, and read from the store only when the bucket has a policy or ACLs
    /// apply (the common case stays at one bucket read); a GET's object is already loaded.
    /// What it reads is kept in the request for the handler (`latestObject`, `namedVersion`),
    /// which then reads the object no second time.
    static func objectForDecision(_ action: String, _ r: inout S3Request, _ b: BucketRecord, _ ctx: GatewayContext)
        throws -> ObjectRecord?
    {
        if case .some(let o) = r.latestObject { return o }
        guard let key = r.key, Handlers.objectGoverned.contains(action), Handlers.decisionReadsObjects(b) else {
            return nil
        }
        let versionId = r.query["versionId"]
        let o = try Handlers.objectForDecision(b, key: key, versionId: versionId, action: action, ctx)
        if let versionId { r.namedVersion = (versionId, o) } else { r.latestObject = .some(o) }
        return o
    }

    /// A missing key (or version) is NoSuchKey (NoSuchVersion) only to a caller who may list the
    /// bucket (and so learn it anyway); anyone else gets AccessDenied, as S3 answers (GetObject,
    /// "Permissions"). A version id naming a delete marker stays 405: the caller may read it.
    static func hidingMissingKey(_ e: S3Error, _ r: S3Request) -> S3Error {
        guard let b = r.bucketRecord, let key = r.key else { return e }
        var question = r.accessRequest("s3:ListBucket", bucket: b, key: nil)
        question.context["s3:prefix"] = [key]
        return Access.decide(question) == .allow ? e : S3Error(.accessDenied)
    }

    /// The permission a request of `route` needs: a request naming a version (`versionId`)
    /// needs the version permission instead (AWS's names: GET/HEAD `s3:GetObjectVersion`, DELETE
    /// `s3:DeleteObjectVersion`, ?tagging and ?acl their `…Version…` forms).
    /// `versionId=null` is checked with the plain permission here: in an unversioned bucket it
    /// names the object itself (rclone HEADs every upload so, CLIENTS.md), and the handler asks
    /// for the version permission once it sees the bucket is versioned
    /// (`Handlers.requireVersionPermission`).
    static func action(_ route: Route, _ r: S3Request) -> String? {
        guard let action = route.action else { return nil }
        guard route.level == .object, let v = r.query["versionId"], v != VersionId.null else { return action }
        return versionActions[action] ?? action
    }

    /// The version permission of the route `r` takes (nil when it has none).
    static func versionAction(_ r: S3Request) -> String? {
        let level: Level = r.bucket == nil ? .service : (r.key == nil ? .bucket : .object)
        guard level == .object, let candidates = byLevelAndMethod[RouteKey(level: level, method: r.method)] else {
            return nil
        }
        let route =
            candidates.first { $0.subresource.map(r.has) ?? false } ?? candidates.first { $0.subresource == nil }
        return route?.action.flatMap { versionActions[$0] }
    }

    static let versionActions: [String: String] = [
        "s3:GetObject": "s3:GetObjectVersion",
        "s3:DeleteObject": "s3:DeleteObjectVersion",
        "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
        "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
        "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
        "s3:GetObjectAcl": "s3:GetObjectVersionAcl",
        "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
    ]

    /// The AWS operation a request of `route` is: one route serves both list versions, and a
    /// PUT with a copy source is a copy.
    static func operation(_ route: Route, _ r: S3Request) -> String {
        switch route.operation {
        case "ListObjects" where r.query["list-type"] == "2": "ListObjectsV2"
        case "PutObject" where r.header("x-amz-copy-source") != nil: "CopyObject"
        case "UploadPart" where r.header("x-amz-copy-source") != nil: "UploadPartCopy"
        default: route.operation
        }
    }

    static func route(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let level: Level = r.bucket == nil ? .service : (r.key == nil ? .bucket : .object)
        let candidates = byLevelAndMethod[RouteKey(level: level, method: r.method)] ?? []
        if r.query.keys.contains(where: subresourceNames.contains) {
            if let route = candidates.first(where: { $0.subresource.map(r.has) ?? false }) {
                return try serve(route, r, ctx, logger)
            }
            if let sub = subresources.first(where: r.has) {
                // The bucket's own errors (NoSuchBucket) come first, as for routed requests.
                if r.bucket != nil { r.answered.bucket = try Handlers.loadBucket(r, ctx) }
                throw S3Error(.notImplemented, "\(r.method) ?\(sub) is not implemented by this gateway.")
            }
        }
        if let route = candidates.first(where: { $0.subresource == nil }) {
            return try serve(route, r, ctx, logger)
        }
        throw S3Error(.methodNotAllowed)
    }

    /// Loads the bucket, decides the route's permission, runs the handler.
    static func serve(_ route: Route, _ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        RequestTrace.current?.operation = operation(route, r)
        var r = r
        if loadsBucket(route) { try load(&r, route, ctx) }
        try authorize(&r, route, ctx)
        if route.level == .object, let key = r.key { try ObjectKey.refuseNUL(key) }
        do {
            return try route.handler(r, ctx, logger)
        } catch let e as S3Error where (e.code == .noSuchKey || e.code == .noSuchVersion) && route.level == .object {
            throw hidingMissingKey(e, r)
        } catch let e as ForeignError {
            throw e.error
        }
    }
}

/// An error about another object than the request's own (a copy's source), already judged
/// against what the caller may see there: passed on as is, never re-judged against the
/// request's own bucket and key.
struct ForeignError: Error {
    let error: S3Error
}
