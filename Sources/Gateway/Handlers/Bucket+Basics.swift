import GatewayCore
import Logging
import S3Protocol

extension Handlers {
    /// HEAD /bucket
    static func headBucket(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        return S3Response(headers: [
            Header("x-amz-bucket-region", b.locationConstraint.isEmpty ? "us-east-1" : b.locationConstraint)
        ])
    }

    /// DELETE /bucket — BucketNotEmpty while objects remain.
    static func deleteBucket(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        try ctx.metadata.deleteBucket(named: b.name)
        for z in b.zones {
            do {
                try ctx.zone(z).deleteBucket(b.backendBucket)
            } catch {
                // Metadata no longer names it; a leftover empty directory is harmless.
                logger.warning("removing backend bucket of \(b.name) in \(z): \(error)")
            }
        }
        return S3Response(status: 204)
    }

    /// GET /bucket?location
    static func getBucketLocation(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        var x = XMLWriter()
        x.open("LocationConstraint", namespace: XMLWriter.s3Namespace)
        x.text(b.locationConstraint)
        x.close("LocationConstraint")
        return .xml(x.document)
    }

    /// GET ?acl — the owner has FULL_CONTROL; that is the only grant this gateway keeps.
    static func getACL(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if let key = r.key, try ctx.metadata.object(bucket: b.name, key: key) == nil {
            throw S3Error(.noSuchKey, extra: [("Key", key)])
        }
        var x = XMLWriter()
        x.open("AccessControlPolicy", namespace: XMLWriter.s3Namespace)
        owner(&x, b.owner)
        x.open("AccessControlList")
        x.openRaw("<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">")
        x.element("ID", b.owner)
        x.element("DisplayName", b.owner)
        x.openRaw("</Grantee>")
        x.element("Permission", "FULL_CONTROL")
        x.close("Grant")
        x.close("AccessControlList")
        x.close("AccessControlPolicy")
        return .xml(x.document)
    }

    /// PUT ?acl — canned ACLs and bodies are accepted; only owner access is enforced.
    static func putACL(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        if let key = r.key, try ctx.metadata.object(bucket: b.name, key: key) == nil {
            throw S3Error(.noSuchKey, extra: [("Key", key)])
        }
        guard let body = try r.body.readAll(limit: 64 * 1024) else { throw S3Error(.malformedXML) }
        if !body.isEmpty && XMLNode.parse(body) == nil { throw S3Error(.malformedXML) }
        return S3Response()
    }

    /// GET ?versioning — never enabled yet: an empty configuration.
    static func getBucketVersioning(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        var x = XMLWriter()
        x.open("VersioningConfiguration", namespace: XMLWriter.s3Namespace)
        x.close("VersioningConfiguration")
        return .xml(x.document)
    }

    /// GET ?requestPayment — the owner always pays (s3cmd `info` asks).
    static func getRequestPayment(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        _ = try ownedBucket(r, ctx)
        var x = XMLWriter()
        x.open("RequestPaymentConfiguration", namespace: XMLWriter.s3Namespace)
        x.element("Payer", "BucketOwner")
        x.close("RequestPaymentConfiguration")
        return .xml(x.document)
    }
}
