import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// GET / — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
    static func listBuckets(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        guard let p = r.principal else { throw S3Error(.accessDenied) }
        // The tenant's buckets that the caller's s3:ListAllMyBuckets patterns match.
        let buckets = try ctx.metadata.listBuckets(tenant: p.tenant).filter {
            p.allows("s3:ListAllMyBuckets", on: .bucket($0.displayName))
        }
        var x = XMLWriter()
        x.open("ListAllMyBucketsResult", namespace: XMLWriter.s3Namespace)
        owner(&x, p.user.id, ctx)
        x.open("Buckets")
        for b in buckets {
            x.open("Bucket")
            x.element("Name", b.displayName)
            x.element("CreationDate", HTTPDate.iso8601(b.createdAt))
            x.close("Bucket")
        }
        x.close("Buckets")
        x.close("ListAllMyBucketsResult")
        return .xml(x.document)
    }
}
