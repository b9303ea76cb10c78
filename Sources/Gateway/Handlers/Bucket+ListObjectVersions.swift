import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// GET /bucket?versions — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
    /// Every version and delete marker, in key order and newest first within a key, each
    /// marked IsLatest when it is its key's latest. An unversioned bucket's objects are their
    /// one "null" version each. Tools that empty a bucket (boto3 `object_versions.delete()`,
    /// Terraform `force_destroy`) list versions whatever the bucket's versioning state.
    static func listObjectVersions(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let p = try ListParameters(r)
        let keyMarker = r.query["key-marker"] ?? ""
        let versionIdMarker = r.query["version-id-marker"] ?? ""
        if !versionIdMarker.isEmpty {
            guard !keyMarker.isEmpty else {
                throw S3Error(.invalidArgument, "A version-id marker cannot be specified without a key marker.")
            }
            guard VersionId.isWellFormed(versionIdMarker) else {
                throw S3Error(.invalidArgument, "Invalid version id specified")
            }
        }
        let query = VersionListQuery(
            prefix: p.prefix, delimiter: p.delimiter, keyMarker: keyMarker, versionIdMarker: versionIdMarker,
            maxKeys: p.maxKeys)
        let page: VersionPage
        do {
            page = try ctx.metadata.listVersions(bucket: b.name, query: query)
        } catch {
            // A version-id marker the key does not have (S3 answers 400, not 404).
            if error == .noSuchVersion { throw S3Error(.invalidArgument, "Invalid version id specified") }
            throw error
        }

        var x = XMLWriter()
        x.open("ListVersionsResult", namespace: XMLWriter.s3Namespace)
        x.element("Name", b.displayName)
        x.element("Prefix", p.enc(p.prefix))
        x.element("KeyMarker", p.enc(keyMarker))
        x.element("VersionIdMarker", versionIdMarker)
        if page.isTruncated, let next = page.nextKeyMarker {
            x.element("NextKeyMarker", p.enc(next))
            // A page ending on a common prefix has no version to continue from.
            if let v = page.nextVersionIdMarker { x.element("NextVersionIdMarker", v) }
        }
        x.element("MaxKeys", p.maxKeys)
        if let delimiter = p.delimiter { x.element("Delimiter", p.enc(delimiter)) }
        if let e = p.encodingType { x.element("EncodingType", e) }
        x.element("IsTruncated", page.isTruncated)
        for e in page.entries {
            let o = e.record
            x.open(o.isDeleteMarker ? "DeleteMarker" : "Version")
            x.element("Key", p.enc(o.key))
            x.element("VersionId", o.versionId)
            x.element("IsLatest", e.isLatest)
            x.element("LastModified", HTTPDate.iso8601(o.lastModified))
            if !o.isDeleteMarker {
                x.element("ETag", "\"\(o.etag)\"")
                x.element("Size", o.size)
            }
            owner(&x, objectOwner(o, in: b), ctx)
            if !o.isDeleteMarker { x.element("StorageClass", "STANDARD") }
            x.close(o.isDeleteMarker ? "DeleteMarker" : "Version")
        }
        for prefix in page.commonPrefixes {
            x.open("CommonPrefixes")
            x.element("Prefix", p.enc(prefix))
            x.close("CommonPrefixes")
        }
        x.close("ListVersionsResult")
        return .xml(x.document)
    }
}
