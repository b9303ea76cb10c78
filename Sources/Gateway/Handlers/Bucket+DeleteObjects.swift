import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// POST /bucket?delete — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
    /// The body is verified like any other (Content-MD5 or x-amz-checksum-*, whichever is sent).
    /// Each key needs s3:DeleteObject; a denied key is an AccessDenied entry, as in S3.
    static func deleteObjects(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        guard let p = r.principal else { throw S3Error(.accessDenied) }
        let b = try ownedBucket(r, ctx)
        guard let bytes = try verifiedBody(r).readAll(limit: 2 * 1024 * 1024) else {
            throw S3Error(.malformedXML, "The XML you provided was too large.")
        }
        guard let root = XMLNode.parse(bytes), root.name == "Delete" else { throw S3Error(.malformedXML) }
        let objects = root.children("Object")
        guard !objects.isEmpty, objects.count <= 1000 else { throw S3Error(.malformedXML) }
        let quiet = root.child("Quiet")?.text.trimmingCharacters(in: .whitespaces).lowercased() == "true"

        var x = XMLWriter()
        x.open("DeleteResult", namespace: XMLWriter.s3Namespace)
        for node in objects {
            guard let key = node.child("Key")?.text, !key.isEmpty else { throw S3Error(.malformedXML) }
            let versionId = node.child("VersionId")?.text
            if let v = versionId, v != "null" {
                x.open("Error")
                x.element("Key", key)
                x.element("VersionId", v)
                x.element("Code", "NoSuchVersion")
                x.element("Message", "The specified version does not exist.")
                x.close("Error")
                continue
            }
            do {
                try Authorization.require(p, "s3:DeleteObject", .object(bucket: b.displayName, key: key))
                if let old = try ctx.metadata.deleteObject(bucket: b.name, key: key, now: r.now) {
                    removeBlob(of: old, bucket: b, ctx, logger)
                }
                if !quiet {
                    x.open("Deleted")
                    x.element("Key", key)
                    // The "null" version named by a ListObjectVersions-driven delete is echoed back.
                    if let versionId { x.element("VersionId", versionId) }
                    x.close("Deleted")
                }
            } catch {
                let e = S3Gateway.s3Error(error, logger: logger)
                x.open("Error")
                x.element("Key", key)
                x.element("Code", e.code.code)
                x.element("Message", e.message)
                x.close("Error")
            }
        }
        x.close("DeleteResult")
        return .xml(x.document)
    }
}
