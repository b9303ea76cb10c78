import GatewayCore
import Logging

/// Put/Get/DeleteBucketLifecycleConfiguration.
extension Handlers {
    static func getBucketLifecycle(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        throw S3Error(.noSuchLifecycleConfiguration, extra: [("BucketName", r.bucketName ?? "")])
    }

    static func putBucketLifecycle(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        throw S3Error(.notImplemented, "PUT ?lifecycle is not implemented by this gateway.")
    }

    static func deleteBucketLifecycle(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        return S3Response(status: 204)
    }
}
