import GatewayCore
import Logging
import S3Protocol

/// Put/Get/DeleteBucketEncryption: the bucket's default encryption, applied to writes that name
/// none (`SSERequest.effective`).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketEncryption.html
extension Handlers {
    static func getBucketEncryption(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let d = b.defaultEncryption else {
            throw S3Error(.serverSideEncryptionConfigurationNotFound, extra: [("BucketName", r.bucketName ?? "")])
        }
        return .xml(
            DefaultEncryptionXML.render(d, keyARN: d.kmsKeyId.map { ctx.keys.arn(keyId: $0, tenant: b.tenant) }))
    }

    /// Replaces the default; a KMS key must be one of the bucket tenant's customer keys (kept by
    /// id, so renaming its alias changes nothing).
    static func putBucketEncryption(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let bytes = try verifiedBody(r).readAll(limit: 64 * 1024) else {
            throw S3Error(.malformedXML, "The XML you provided was too large.")
        }
        let request = try DefaultEncryptionXML.parse(bytes)
        var keyId: String?
        if let name = request.kmsKey {
            keyId = try ctx.keys.resolve(name, tenant: b.tenant).id
        }
        let d = DefaultEncryption(
            algorithm: request.algorithm, kmsKeyId: keyId, bucketKeyEnabled: request.bucketKeyEnabled)
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .encryption, d.encoded, audit: .bucketEncryption(bucket: b.name, d))
        return S3Response()
    }

    static func deleteBucketEncryption(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if !b.encryption.isEmpty {
            try ctx.metadata.setBucketSetting(
                bucket: b.name, .encryption, "", audit: .bucketEncryptionDelete(bucket: b.name))
        }
        return S3Response(status: 204)
    }
}
