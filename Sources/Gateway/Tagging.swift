import GatewayCore
import S3Protocol
import SigV4

/// Tag sets: parsed from a `<Tagging>` body or an `x-amz-tagging` header, validated with S3's
/// limits, rendered back. https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
enum Tagging {
    static let maxObjectTags = 10
    static let maxBucketTags = 50

    static func parse(body: any ByteSource, limit: Int) throws -> [Header] {
        guard let bytes = try body.readAll(limit: 64 * 1024) else { throw S3Error(.malformedXML) }
        guard let root = XMLNode.parse(bytes), root.name == "Tagging", let set = root.child("TagSet") else {
            throw S3Error(.malformedXML)
        }
        var tags: [Header] = []
        for tag in set.children("Tag") {
            guard let k = tag.child("Key")?.text else { throw S3Error(.malformedXML) }
            tags.append(Header(k, tag.child("Value")?.text ?? ""))
        }
        try validate(tags, limit: limit)
        return tags
    }

    /// `x-amz-tagging: k1=v1&k2=v2`, URL-encoded.
    static func parse(header: String) throws -> [Header] {
        var tags: [Header] = []
        for pair in header.split(separator: "&", omittingEmptySubsequences: true) {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let k = percentDecode(String(kv[0]).replacingOccurrences(of: "+", with: "%20")),
                let v = percentDecode((kv.count > 1 ? String(kv[1]) : "").replacingOccurrences(of: "+", with: "%20"))
            else {
                throw S3Error(
                    .invalidArgument,
                    "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates."
                )
            }
            tags.append(Header(k, v))
        }
        try validate(tags, limit: maxObjectTags)
        return tags
    }

    static func validate(_ tags: [Header], limit: Int) throws(S3Error) {
        if tags.count > limit {
            throw S3Error(limit == maxObjectTags ? .badRequest : .invalidTag, "Tags cannot be greater than \(limit)")
        }
        var seen = Set<String>()
        for t in tags {
            if t.name.isEmpty || t.name.count > 128 {
                throw S3Error(.invalidTag, "The TagKey you have provided is invalid (1 to 128 characters)")
            }
            if t.value.count > 256 { throw S3Error(.invalidTag, "The TagValue you have provided is too long, max 256") }
            if t.name.hasPrefix("aws:") { throw S3Error(.invalidTag, "Your TagKey cannot be prefixed with aws:") }
            if !seen.insert(t.name).inserted {
                throw S3Error(.invalidTag, "Cannot provide multiple Tags with the same key")
            }
        }
    }

    static func xml(_ tags: [Header]) -> String {
        var x = XMLWriter()
        x.open("Tagging", namespace: XMLWriter.s3Namespace)
        x.open("TagSet")
        for t in tags {
            x.open("Tag")
            x.element("Key", t.name)
            x.element("Value", t.value)
            x.close("Tag")
        }
        x.close("TagSet")
        x.close("Tagging")
        return x.document
    }

    /// The tags a write carries in `x-amz-tagging` (empty when absent).
    static func fromRequest(_ r: S3Request) throws -> [Header] {
        try r.headerText("x-amz-tagging").map { try parse(header: $0) } ?? []
    }
}
