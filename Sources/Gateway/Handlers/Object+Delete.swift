import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// DELETE /bucket/key — 204 whether or not the key existed, as S3 does.
    static func deleteObject(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        if let v = r.query["versionId"], v != "null" {
            throw S3Error(.invalidArgument, "Invalid version id specified")
        }
        if let old = try ctx.metadata.deleteObject(bucket: b.name, key: key, now: r.now) {
            removeBlob(of: old, bucket: b, ctx, logger)
        }
        return S3Response(status: 204)
    }
}
