import GatewayCore
import Logging
import S3Protocol

/// The bucket's public access block (docs/ACCESS.md): BlockPublicAcls is applied where ACLs
/// are written (putACL, newObjectACL, createBucket), IgnorePublicAcls and
/// RestrictPublicBuckets by `Access.decide`, BlockPublicPolicy by PutBucketPolicy.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutPublicAccessBlock.html
extension Handlers {
    /// PUT ?publicAccessBlock — the four switches; a missing one is false.
    static func putPublicAccessBlock(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024) else { throw S3Error(.malformedXML) }
        let pab = try AccessControlXML.parsePublicAccessBlock(body)
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .publicAccessBlock, pab.encoded,
            audit: .bucketPublicAccessBlock(bucket: b.name, pab.elements))
        return S3Response()
    }

    /// GET ?publicAccessBlock — 404 NoSuchPublicAccessBlockConfiguration when none is set.
    static func getPublicAccessBlock(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard !b.publicAccessBlock.isEmpty else {
            throw S3Error(.noSuchPublicAccessBlockConfiguration, extra: [("BucketName", r.bucketName ?? "")])
        }
        return .xml(AccessControlXML.publicAccessBlock(PublicAccessBlock(stored: b.publicAccessBlock)))
    }

    /// DELETE ?publicAccessBlock — none configured: nothing is blocked.
    static func deletePublicAccessBlock(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .publicAccessBlock, "", audit: .bucketPublicAccessBlock(bucket: b.name, nil))
        return S3Response(status: 204)
    }
}
