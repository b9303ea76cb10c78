import GatewayCore
import Logging
import S3Protocol

/// Put/Get/DeleteBucketCors. The rules answer preflights and add CORS headers to answers
/// (S3Gateway+CORS.swift).
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketCors.html
extension Handlers {
    static func getBucketCors(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard !b.cors.isEmpty else {
            throw S3Error(.noSuchCORSConfiguration, extra: [("BucketName", r.bucketName ?? "")])
        }
        return .xml(b.cors)
    }

    /// Replaces the whole configuration; stored as the canonical XML GET answers.
    static func putBucketCors(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        try requireBodyChecksum(r)
        // S3 limits the document to 64 KB.
        guard let bytes = try verifiedBody(r).readAll(limit: 64 * 1024) else {
            throw S3Error(.malformedXML, "The XML you provided was too large.")
        }
        guard !bytes.isEmpty else { throw S3Error(.missingRequestBodyError) }
        let configuration = try CORSXML.parse(bytes)
        try ctx.metadata.setBucketSetting(
            bucket: b.name, .cors, CORSXML.render(configuration),
            audit: .bucketCORS(bucket: b.name, rules: configuration.rules.count))
        return S3Response()
    }

    static func deleteBucketCors(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if !b.cors.isEmpty {
            try ctx.metadata.setBucketSetting(bucket: b.name, .cors, "", audit: .bucketCORS(bucket: b.name, rules: nil))
        }
        return S3Response(status: 204)
    }
}
