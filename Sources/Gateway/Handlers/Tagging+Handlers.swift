import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// GET /bucket/key?tagging
    /// With `versionId`, of that version (a delete marker has no tags: 405).
    static func getObjectTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (b, o) = try ownedObject(r, ctx)
        var response = S3Response.xml(Tagging.xml(o.tags))
        response.headers += versionHeaders(b, o)
        return response
    }

    /// PUT /bucket/key?tagging
    static func putObjectTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (b, o) = try ownedObject(r, ctx)
        let tags: [Header]
        do {
            tags = try Tagging.parse(body: try verifiedBody(r), limit: Tagging.maxObjectTags)
        } catch {
            // A caller the policy denies learns nothing from the body's errors.
            try decideAfterBody(r, b, o, tags: nil)
            throw error
        }
        try decideAfterBody(r, b, o, tags: tags)
        let count = try Replication.count(tags: tags, bucket: b)
        try setTags(tags, of: o, r, b, ctx)
        try adjustReplicas(o, count: count, b, r, ctx)
        return S3Response(headers: versionHeaders(b, o))
    }

    /// The router's decision on PutObjectTagging where it waited for the tags
    /// (`S3Router.decidesAfterBody`): with them as s3:RequestObjectTag.
    static func decideAfterBody(_ r: S3Request, _ b: BucketRecord, _ o: ObjectRecord, tags: [Header]?) throws {
        let action =
            r.query["versionId"].map { $0 == VersionId.null ? "s3:PutObjectTagging" : "s3:PutObjectVersionTagging" }
            ?? "s3:PutObjectTagging"
        guard S3Router.decidesAfterBody(action, b), let key = r.key else { return }
        var tagged = r
        tagged.taggingBody = tags
        try Authorization.require(tagged, action, bucket: b, key: key, object: o)
    }

    /// The tags of the version the request named (its id, or the latest when it named none).
    static func setTags(_ tags: [Header], of o: ObjectRecord, _ r: S3Request, _ b: BucketRecord, _ ctx: GatewayContext)
        throws
    {
        if r.query["versionId"] == nil {
            try ctx.metadata.setObjectTags(bucket: b.name, key: o.key, tags: tags)
        } else {
            try ctx.metadata.setVersionTags(bucket: b.name, key: o.key, versionId: o.versionId, tags: tags)
        }
    }

    /// A `replica-count` change: raising it queues copies, lowering it queues removal of the
    /// surplus (the store turns the new list into jobs).
    static func adjustReplicas(_ o: ObjectRecord, count: Int, _ b: BucketRecord, _ r: S3Request, _ ctx: GatewayContext)
        throws
    {
        // Tags other than replica-count leave the copies as they are.
        if count == (try? Replication.count(tags: o.tags, bucket: b)) { return }
        let wanted = try Replication.replicas(for: b, count: count, primary: o.zone, keeping: o.replicas, ctx)
        if wanted != o.replicas {
            try ctx.metadata.setReplicas(
                bucket: b.name, key: o.key, generation: o.generation, replicas: wanted, now: r.now)
        }
    }

    /// DELETE /bucket/key?tagging
    static func deleteObjectTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (b, o) = try ownedObject(r, ctx)
        try setTags([], of: o, r, b, ctx)
        try adjustReplicas(o, count: try Replication.count(tags: [], bucket: b), b, r, ctx)
        return S3Response(status: 204, headers: versionHeaders(b, o))
    }

    /// GET /bucket?tagging — NoSuchTagSet when there are none, as S3 answers.
    static func getBucketTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if b.tags.isEmpty {
            throw S3Error(
                .noSuchTagSet,
                extra: [("BucketName", b.displayName)])
        }
        return .xml(Tagging.xml(b.tags))
    }

    /// PUT /bucket?tagging
    static func putBucketTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let tags = try Tagging.parse(body: try verifiedBody(r), limit: Tagging.maxBucketTags)
        try ctx.metadata.setBucketTags(bucket: b.name, tags: tags)
        return S3Response(status: 204)
    }

    /// DELETE /bucket?tagging
    static func deleteBucketTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        try ctx.metadata.setBucketTags(bucket: b.name, tags: [])
        return S3Response(status: 204)
    }

    /// The bucket and the version the request names: `versionId`, else the latest
    /// (`ownedVersion`: NoSuchKey, NoSuchVersion, MethodNotAllowed on a delete marker).
    static func ownedObject(_ r: S3Request, _ ctx: GatewayContext) throws -> (BucketRecord, ObjectRecord) {
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        let b = try ownedBucket(r, ctx)
        return (b, try ownedVersion(in: b, key: key, versionId: try requestedVersion(r), r, ctx))
    }
}
