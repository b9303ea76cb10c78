import Foundation
import GatewayCore
import Logging
import S3Protocol
import SigV4

/// The parameters every bucket listing shares (ListObjects V1/V2, ListObjectVersions).
struct ListParameters {
    var prefix: String
    /// nil when absent or empty (rclone sends `delimiter=`).
    var delimiter: String?
    var maxKeys: Int
    /// "url" or nil.
    var encodingType: String?

    init(_ r: S3Request) throws(S3Error) {
        prefix = r.query["prefix"] ?? ""
        delimiter = r.query["delimiter"].flatMap { $0.isEmpty ? nil : $0 }
        maxKeys = 1000
        if let mk = r.query["max-keys"] {
            guard let v = Int(mk), v >= 0 else {
                throw S3Error(.invalidArgument, "Provided max-keys not an integer or within integer range")
            }
            maxKeys = min(v, 1000)
        }
        encodingType = r.query["encoding-type"]
        if let e = encodingType, e != "url" {
            throw S3Error(.invalidArgument, "Invalid Encoding Method specified in Request")
        }
    }

    /// Keys, prefixes, markers and delimiters as the client asked: URL-encoded with
    /// `encoding-type=url`, raw otherwise.
    func enc(_ s: String) -> String { encodingType == "url" ? uriEncode(s, encodeSlash: false) : s }

    func query(after: String) -> ListQuery {
        ListQuery(prefix: prefix, delimiter: delimiter, after: after, maxKeys: maxKeys)
    }
}

extension Handlers {
    /// GET /bucket — ListObjectsV2 (`list-type=2`) and V1.
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
    static func listObjects(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let v2 = r.query["list-type"] == "2"
        let p = try ListParameters(r)

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

        let page = try ctx.metadata.listObjects(bucket: b.name, query: p.query(after: after))

        var x = XMLWriter()
        x.open("ListBucketResult", namespace: XMLWriter.s3Namespace)
        x.element("Name", b.displayName)
        x.element("Prefix", p.enc(p.prefix))
        if v2 {
            if let token { x.element("ContinuationToken", token) }
            if let sa = r.query["start-after"] { x.element("StartAfter", p.enc(sa)) }
            x.element("KeyCount", page.objects.count + page.commonPrefixes.count)
        } else {
            x.element("Marker", p.enc(r.query["marker"] ?? ""))
        }
        x.element("MaxKeys", p.maxKeys)
        if let delimiter = p.delimiter { x.element("Delimiter", p.enc(delimiter)) }
        if let e = p.encodingType { x.element("EncodingType", e) }
        x.element("IsTruncated", page.isTruncated)
        if page.isTruncated, let last = page.last {
            if v2 {
                x.element("NextContinuationToken", Data(last.utf8).base64EncodedString())
            } else if p.delimiter != nil {
                // V1 returns NextMarker only with a delimiter; otherwise clients use the last key.
                x.element("NextMarker", p.enc(last))
            }
        }
        let fetchOwner = !v2 || r.query["fetch-owner"] == "true"
        for o in page.objects {
            x.open("Contents")
            x.element("Key", p.enc(o.key))
            x.element("LastModified", HTTPDate.iso8601(o.lastModified))
            x.element("ETag", "\"\(o.etag)\"")
            x.element("Size", o.size)
            if fetchOwner { owner(&x, objectOwner(o, in: b), ctx) }
            x.element("StorageClass", "STANDARD")
            x.close("Contents")
        }
        commonPrefixes(&x, page, p)
        x.close("ListBucketResult")
        return .xml(x.document)
    }

    static func commonPrefixes(_ x: inout XMLWriter, _ page: ListPage, _ p: ListParameters) {
        for prefix in page.commonPrefixes {
            x.open("CommonPrefixes")
            x.element("Prefix", p.enc(prefix))
            x.close("CommonPrefixes")
        }
    }
}
