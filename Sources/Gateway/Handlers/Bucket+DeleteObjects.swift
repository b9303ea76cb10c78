import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// POST /bucket?delete — https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObjects.html
    /// The body is verified like any other (Content-MD5 or x-amz-checksum-*, whichever is sent).
    /// Each key needs s3:DeleteObject (with a VersionId s3:DeleteObjectVersion), decided per key
    /// by the bucket's policy and the caller's permissions; a denied key, or a version Object
    /// Lock holds, is an AccessDenied entry, as in S3. An entry's `<ETag>`,
    /// `<Size>` and `<LastModifiedTime>` make its delete conditional, as DeleteObject's headers
    /// do; a condition that fails is that entry's `<Error>` (PreconditionFailed, NoSuchKey).
    static func deleteObjects(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
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
            let versionId = node.child("VersionId")?.text.trimmingCharacters(in: .whitespaces)
            do {
                if let v = versionId, !VersionId.isWellFormed(v) {
                    throw S3Error(.invalidArgument, "Invalid version id specified")
                }
                // The one decision per key, as a DeleteObject of it would be decided (the
                // entry's version id is its s3:VersionId).
                var entry = r
                entry.query["versionId"] = versionId
                try Authorization.require(
                    entry,
                    versionId == nil || (versionId == VersionId.null && b.versioning == .unversioned)
                        ? "s3:DeleteObject" : "s3:DeleteObjectVersion", bucket: b, key: key)
                let conditions = try DeleteConditions.element(node)
                if !conditions.isEmpty {
                    try Authorization.require(
                        entry, "s3:GetObject", bucket: b, key: key,
                        object: try objectForDecision(b, key: key, versionId: versionId, action: "s3:GetObject", ctx))
                }
                let outcome = try conditionalDelete(
                    b, key: key, versionId: versionId, conditions, bypassGovernance: governanceBypass(r, key: key),
                    r, ctx)
                if let old = outcome.removed { removeBlob(of: old, bucket: b, ctx, logger) }
                if !quiet {
                    x.open("Deleted")
                    x.element("Key", key)
                    if let versionId { x.element("VersionId", versionId) }
                    // The marker this delete added, or the one it removed by its id.
                    if let marker = outcome.marker ?? outcome.removed.flatMap({ $0.isDeleteMarker ? $0 : nil }) {
                        x.element("DeleteMarker", true)
                        x.element("DeleteMarkerVersionId", marker.versionId)
                    }
                    x.close("Deleted")
                }
            } catch {
                let e = S3Gateway.s3Error(error, logger: logger)
                x.open("Error")
                x.element("Key", key)
                if let versionId { x.element("VersionId", versionId) }
                x.element("Code", e.code.code)
                x.element("Message", e.message)
                x.close("Error")
            }
        }
        x.close("DeleteResult")
        return .xml(x.document)
    }
}
