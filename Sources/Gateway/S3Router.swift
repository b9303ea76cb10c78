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
        let handler: Handler
    }

    /// Bucket configurations this gateway does not keep: GET answers S3's "not configured"
    /// error (what s3cmd `info`, rclone and SDKs expect), DELETE succeeds with nothing to do.
    static let unconfigured: [(subresource: String, code: S3ErrorCode)] = [
        ("policy", .noSuchBucketPolicy), ("cors", .noSuchCORSConfiguration),
        ("lifecycle", .noSuchLifecycleConfiguration), ("encryption", .serverSideEncryptionConfigurationNotFound),
        ("website", .noSuchWebsiteConfiguration), ("object-lock", .objectLockConfigurationNotFound),
        ("replication", .replicationConfigurationNotFound), ("ownershipControls", .ownershipControlsNotFound),
        ("publicAccessBlock", .noSuchPublicAccessBlockConfiguration),
    ]

    /// Configurations whose "nothing set" answer is an empty document, not an error.
    static let emptyConfigurations: [(subresource: String, root: String)] = [
        ("logging", "BucketLoggingStatus"), ("notification", "NotificationConfiguration"),
        ("accelerate", "AccelerateConfiguration"),
    ]

    static let routes: [Route] =
        unconfigured.flatMap { c in
            [
                Route(
                    level: .bucket, method: "GET", subresource: c.subresource,
                    handler: Handlers.notConfigured(c.code)),
                Route(level: .bucket, method: "DELETE", subresource: c.subresource, handler: Handlers.nothingToDelete),
            ]
        }
        + emptyConfigurations.map { c in
            Route(
                level: .bucket, method: "GET", subresource: c.subresource, handler: Handlers.emptyConfiguration(c.root))
        } + [
            Route(level: .service, method: "GET", subresource: nil, handler: Handlers.listBuckets),

            Route(level: .bucket, method: "GET", subresource: "location", handler: Handlers.getBucketLocation),
            Route(level: .bucket, method: "GET", subresource: "acl", handler: Handlers.getACL),
            Route(level: .bucket, method: "PUT", subresource: "acl", handler: Handlers.putACL),
            Route(level: .bucket, method: "GET", subresource: "versioning", handler: Handlers.getBucketVersioning),
            Route(level: .bucket, method: "PUT", subresource: "versioning", handler: Handlers.putBucketVersioning),
            Route(level: .bucket, method: "GET", subresource: "tagging", handler: Handlers.getBucketTagging),
            Route(level: .bucket, method: "PUT", subresource: "tagging", handler: Handlers.putBucketTagging),
            Route(level: .bucket, method: "DELETE", subresource: "tagging", handler: Handlers.deleteBucketTagging),
            Route(level: .bucket, method: "GET", subresource: "uploads", handler: Handlers.listMultipartUploads),
            Route(level: .bucket, method: "GET", subresource: "versions", handler: Handlers.listObjectVersions),
            Route(level: .bucket, method: "GET", subresource: "requestPayment", handler: Handlers.getRequestPayment),
            Route(level: .bucket, method: "POST", subresource: "delete", handler: Handlers.deleteObjects),
            Route(level: .bucket, method: "POST", subresource: nil, handler: Handlers.postObject),
            Route(level: .bucket, method: "GET", subresource: nil, handler: Handlers.listObjects),
            Route(level: .bucket, method: "HEAD", subresource: nil, handler: Handlers.headBucket),
            Route(level: .bucket, method: "PUT", subresource: nil, handler: Handlers.createBucket),
            Route(level: .bucket, method: "DELETE", subresource: nil, handler: Handlers.deleteBucket),

            Route(level: .object, method: "POST", subresource: "uploads", handler: Handlers.createMultipartUpload),
            Route(level: .object, method: "POST", subresource: "uploadId", handler: Handlers.completeMultipartUpload),
            Route(level: .object, method: "PUT", subresource: "uploadId", handler: Handlers.uploadPart),
            Route(level: .object, method: "GET", subresource: "uploadId", handler: Handlers.listParts),
            Route(level: .object, method: "DELETE", subresource: "uploadId", handler: Handlers.abortMultipartUpload),
            Route(level: .object, method: "GET", subresource: "tagging", handler: Handlers.getObjectTagging),
            Route(level: .object, method: "PUT", subresource: "tagging", handler: Handlers.putObjectTagging),
            Route(level: .object, method: "DELETE", subresource: "tagging", handler: Handlers.deleteObjectTagging),
            Route(level: .object, method: "GET", subresource: "acl", handler: Handlers.getACL),
            Route(level: .object, method: "PUT", subresource: "acl", handler: Handlers.putACL),
            Route(level: .object, method: "GET", subresource: "retention", handler: Handlers.missingObjectLock),
            Route(level: .object, method: "PUT", subresource: "retention", handler: Handlers.missingObjectLock),
            Route(level: .object, method: "GET", subresource: "legal-hold", handler: Handlers.missingObjectLock),
            Route(level: .object, method: "PUT", subresource: "legal-hold", handler: Handlers.missingObjectLock),
            Route(level: .object, method: "GET", subresource: nil, handler: Handlers.getObject),
            Route(level: .object, method: "HEAD", subresource: nil, handler: Handlers.getObject),
            Route(level: .object, method: "PUT", subresource: nil, handler: Handlers.putObject),
            Route(level: .object, method: "DELETE", subresource: nil, handler: Handlers.deleteObject),
        ]

    /// Every S3 sub-resource name, routed or not: one that has no route for the request's level and
    /// method is refused, never served as a plain request on the bucket or object (a PUT ?policy
    /// must not create a bucket, a DELETE ?acl must not delete the object).
    static let subresources: Set<String> =
        Set([
            "acl", "analytics", "attributes", "delete", "intelligent-tiering", "inventory", "legal-hold", "location",
            "metadataConfiguration", "metadataTable", "metrics", "policyStatus", "renameObject", "requestPayment",
            "restore", "retention", "select", "session", "tagging", "torrent", "uploadId", "uploads", "versioning",
            "versions",
        ])
        .union(unconfigured.map(\.subresource)).union(emptyConfigurations.map(\.subresource))

    struct RouteKey: Hashable {
        let level: Level
        let method: String
    }

    /// The table grouped once, in table order, so a request looks up its few candidates instead
    /// of filtering every route.
    static let byLevelAndMethod: [RouteKey: [Route]] = Dictionary(
        grouping: routes, by: { RouteKey(level: $0.level, method: $0.method) })

    static func route(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let level: Level = r.bucket == nil ? .service : (r.key == nil ? .bucket : .object)
        let candidates = byLevelAndMethod[RouteKey(level: level, method: r.method)] ?? []
        if let route = candidates.first(where: { $0.subresource.map(r.has) ?? false }) {
            return try route.handler(r, ctx, logger)
        }
        if let sub = subresources.first(where: r.has) {
            // The bucket's own errors (NoSuchBucket, AccessDenied) come first, as for routed requests.
            if r.bucket != nil { _ = try Handlers.ownedBucket(r, ctx) }
            throw S3Error(.notImplemented, "\(r.method) ?\(sub) is not implemented by this gateway.")
        }
        if let route = candidates.first(where: { $0.subresource == nil }) {
            return try route.handler(r, ctx, logger)
        }
        throw S3Error(.methodNotAllowed)
    }
}
