import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// GET /bucket?versions — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
    /// Buckets are unversioned: each object is its one version, VersionId "null", the latest.
    /// Tools that empty a bucket (boto3 `object_versions.delete()`, Terraform `force_destroy`)
    /// list versions whatever the bucket's versioning state.
    static func listObjectVersions(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let p = try ListParameters(r)
        let keyMarker = r.query["key-marker"] ?? ""
        let versionIdMarker = r.query["version-id-marker"] ?? ""
        if !versionIdMarker.isEmpty {
            guard !keyMarker.isEmpty else {
                throw S3Error(.invalidArgument, "A version-id marker cannot be specified without a key marker.")
            }
            guard versionIdMarker == "null" else { throw S3Error(.invalidArgument, "Invalid version id specified") }
        }
        // The only version of key-marker is "null", so the page starts after that key either way.
        let page = try ctx.metadata.listObjects(bucket: b.name, query: p.query(after: keyMarker))

        var x = XMLWriter()
        x.open("ListVersionsResult", namespace: XMLWriter.s3Namespace)
        x.element("Name", b.displayName)
        x.element("Prefix", p.enc(p.prefix))
        x.element("KeyMarker", p.enc(keyMarker))
        x.element("VersionIdMarker", versionIdMarker)
        if page.isTruncated, let last = page.last {
            x.element("NextKeyMarker", p.enc(last))
            // A common prefix has no version to continue from.
            if page.objects.last?.key == last { x.element("NextVersionIdMarker", "null") }
        }
        x.element("MaxKeys", p.maxKeys)
        if let delimiter = p.delimiter { x.element("Delimiter", p.enc(delimiter)) }
        if let e = p.encodingType { x.element("EncodingType", e) }
        x.element("IsTruncated", page.isTruncated)
        for o in page.objects {
            x.open("Version")
            x.element("Key", p.enc(o.key))
            x.element("VersionId", "null")
            x.element("IsLatest", true)
            x.element("LastModified", HTTPDate.iso8601(o.lastModified))
            x.element("ETag", "\"\(o.etag)\"")
            x.element("Size", o.size)
            owner(&x, b.owner, ctx)
            x.element("StorageClass", "STANDARD")
            x.close("Version")
        }
        commonPrefixes(&x, page, p)
        x.close("ListVersionsResult")
        return .xml(x.document)
    }
}
