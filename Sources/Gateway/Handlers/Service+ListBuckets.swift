import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// GET / — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListBuckets.html
    static func listBuckets(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let buckets = try ctx.metadata.listBuckets(owner: r.auth.accessKey)
        var x = XMLWriter()
        x.open("ListAllMyBucketsResult", namespace: XMLWriter.s3Namespace)
        owner(&x, r.auth.accessKey)
        x.open("Buckets")
        for b in buckets {
            x.open("Bucket")
            x.element("Name", b.name)
            x.element("CreationDate", HTTPDate.iso8601(b.createdAt))
            x.close("Bucket")
        }
        x.close("Buckets")
        x.close("ListAllMyBucketsResult")
        return .xml(x.document)
    }
}
