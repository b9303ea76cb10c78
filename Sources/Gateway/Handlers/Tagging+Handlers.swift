import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// GET /bucket/key?tagging
    static func getObjectTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (_, o) = try ownedObject(r, ctx)
        return .xml(Tagging.xml(o.tags))
    }

    /// PUT /bucket/key?tagging
    static func putObjectTagging(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let (b, o) = try ownedObject(r, ctx)
        let tags = try Tagging.parse(body: try verifiedBody(r), limit: Tagging.maxObjectTags)
        let count = try Replication.count(tags: tags, bucket: b)
        try ctx.metadata.setObjectTags(bucket: b.name, key: o.key, tags: tags)
        try adjustReplicas(o, count: count, b, r, ctx)
        return S3Response()
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
        try ctx.metadata.setObjectTags(bucket: b.name, key: o.key, tags: [])
        try adjustReplicas(o, count: try Replication.count(tags: [], bucket: b), b, r, ctx)
        return S3Response(status: 204)
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

    /// The bucket and the object the request names (NoSuchKey when absent).
    static func ownedObject(_ r: S3Request, _ ctx: GatewayContext) throws -> (BucketRecord, ObjectRecord) {
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        if let v = r.query["versionId"], v != "null" { throw S3Error(.invalidArgument, "Invalid version id specified") }
        return try ownedObject(bucket: r.bucketName ?? "", key: key, r, ctx)
    }

    /// A bucket of the caller's tenant (by the name its clients use) and an object in it, in
    /// one metadata read (NoSuchBucket, NoSuchKey otherwise).
    static func ownedObject(bucket: String, key: String, _ r: S3Request, _ ctx: GatewayContext) throws -> (
        BucketRecord, ObjectRecord
    ) {
        let tenant = r.tenant
        guard
            let (b, found) = try ctx.metadata.bucketAndObject(
                bucket: TenantRecord.qualifiedBucket(tenant: tenant, name: bucket), key: key), b.tenant == tenant
        else {
            throw S3Error(.noSuchBucket, extra: [("BucketName", bucket)])
        }
        guard let o = found else { throw S3Error(.noSuchKey, extra: [("Key", key)]) }
        return (b, o)
    }
}
