import GatewayCore
import Logging
import S3Protocol
import SigV4

/// S3 operation handlers, one file per operation (`Bucket+Create.swift`, `Object+Put.swift`…).
enum Handlers {
    /// Loads the bucket of the caller's tenant the request names (its name is qualified by the
    /// tenant, so another tenant's bucket of the same name is simply not found).
    static func ownedBucket(_ r: S3Request, _ ctx: GatewayContext) throws -> BucketRecord {
        guard let name = r.bucket, let b = try ctx.metadata.bucket(named: name),
            b.tenant == r.tenant
        else {
            throw S3Error(.noSuchBucket, extra: [("BucketName", r.bucketName ?? "")])
        }
        return b
    }

    /// An Owner element: the user's canonical id and name (the id alone once the user is gone).
    static func owner(_ x: inout XMLWriter, _ id: String, _ ctx: GatewayContext) {
        x.open("Owner")
        x.element("ID", id)
        x.element("DisplayName", ctx.identities.displayName(ofUser: id))
        x.close("Owner")
    }

    /// For configurations this gateway does not keep: the "not configured" error clients expect.
    static func notConfigured(_ code: S3ErrorCode) -> S3Router.Handler {
        { r, ctx, _ in
            _ = try ownedBucket(r, ctx)
            throw S3Error(code, extra: [("BucketName", r.bucketName ?? "")])
        }
    }
}

extension Handlers {
    static func nothingToDelete(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        return S3Response(status: 204)
    }

    static func emptyConfiguration(_ root: String) -> S3Router.Handler {
        { r, ctx, _ in
            _ = try ownedBucket(r, ctx)
            var x = XMLWriter()
            x.open(root, namespace: XMLWriter.s3Namespace)
            x.close(root)
            return .xml(x.document)
        }
    }
}
