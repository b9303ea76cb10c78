import GatewayCore
import Logging

/// Put/GetObjectRetention and Put/GetObjectLegalHold.
extension Handlers {
    static func getObjectRetention(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        try missingObjectLock(r, ctx, logger)
    }

    static func putObjectRetention(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        try missingObjectLock(r, ctx, logger)
    }

    static func getObjectLegalHold(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        try missingObjectLock(r, ctx, logger)
    }

    static func putObjectLegalHold(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        try missingObjectLock(r, ctx, logger)
    }
}
