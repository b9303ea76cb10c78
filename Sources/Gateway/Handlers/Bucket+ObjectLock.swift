import GatewayCore
import Logging

/// Put/GetObjectLockConfiguration.
extension Handlers {
    static func getObjectLockConfiguration(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        _ = try ownedBucket(r, ctx)
        throw S3Error(.objectLockConfigurationNotFound, extra: [("BucketName", r.bucketName ?? "")])
    }

    static func putObjectLockConfiguration(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws
        -> S3Response
    {
        _ = try ownedBucket(r, ctx)
        throw S3Error(.notImplemented, "PUT ?object-lock is not implemented by this gateway.")
    }
}
