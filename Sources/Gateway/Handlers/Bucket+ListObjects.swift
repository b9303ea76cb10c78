import Foundation
import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// GET /bucket — ListObjectsV2 (`list-type=2`) and V1.
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    static func listObjects(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let v2 = r.query["list-type"] == "2"
        let prefix = r.query["prefix"] ?? ""
        let delimiter = r.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        var maxKeys = 1000
        if let mk = r.query["max-keys"] {
            guard let v = Int(mk), v >= 0 else {
                throw S3Error(.invalidArgument, "Provided max-keys not an integer or within integer range")
            }
            maxKeys = min(v, 1000)
        }
        let encodingType = r.query["encoding-type"]
        if let e = encodingType, e != "url" {
            throw S3Error(.invalidArgument, "Invalid Encoding Method specified in Request")
        }
        let url = encodingType == "url"
        func enc(_ s: String) -> String { url ? uriEncode(s, encodeSlash: false) : s }

        var after = ""
        let token = r.query["continuation-token"]
        if v2 {
            if let token {
                guard let data = Data(base64Encoded: token), let k = String(data: data, encoding: .utf8) else {
                    throw S3Error(.invalidArgument, "The continuation token provided is incorrect")
                }
                after = k
            } else if let sa = r.query["start-after"] {
                after = sa
            }
        } else {
            after = r.query["marker"] ?? ""
        }

        let page = try ctx.metadata.listObjects(
            bucket: b.name, query: ListQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys))

        var x = XMLWriter()
        x.open("ListBucketResult", namespace: XMLWriter.s3Namespace)
        x.element("Name", b.name)
        x.element("Prefix", enc(prefix))
        if v2 {
            if let token { x.element("ContinuationToken", token) }
            if let sa = r.query["start-after"] { x.element("StartAfter", enc(sa)) }
            x.element("KeyCount", page.objects.count + page.commonPrefixes.count)
        } else {
            x.element("Marker", enc(r.query["marker"] ?? ""))
        }
        x.element("MaxKeys", maxKeys)
        if let delimiter { x.element("Delimiter", enc(delimiter)) }
        if let e = encodingType { x.element("EncodingType", e) }
        x.element("IsTruncated", page.isTruncated)
        if page.isTruncated, let last = page.last {
            if v2 {
                x.element("NextContinuationToken", Data(last.utf8).base64EncodedString())
            } else if delimiter != nil {
                // V1 returns NextMarker only with a delimiter; otherwise clients use the last key.
                x.element("NextMarker", enc(last))
            }
        }
        let fetchOwner = !v2 || r.query["fetch-owner"] == "true"
        for o in page.objects {
            x.open("Contents")
            x.element("Key", enc(o.key))
            x.element("LastModified", HTTPDate.iso8601(o.lastModified))
            x.element("ETag", "\"\(o.etag)\"")
            x.element("Size", o.size)
            if fetchOwner { owner(&x, b.owner) }
            x.element("StorageClass", "STANDARD")
            x.close("Contents")
        }
        for p in page.commonPrefixes {
            x.open("CommonPrefixes")
            x.element("Prefix", enc(p))
            x.close("CommonPrefixes")
        }
        x.close("ListBucketResult")
        return .xml(x.document)
    }
}
