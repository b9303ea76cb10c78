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
                try ctx.zone(z).deleteBucket(ctx.backendBucket(b, in: z))
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

    /// PUT ?versioning — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketVersioning.html
    /// Enabled or Suspended (never back to unversioned; a bucket with Object Lock cannot be
    /// suspended: 409 InvalidBucketState). MFA delete is refused: it needs `x-amz-mfa`, which this
    /// gateway does not check. A body that asks for nothing changes nothing and succeeds.
    static func putBucketVersioning(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let body = try verifiedBody(r).readAll(limit: 64 * 1024), let root = XMLNode.parse(body),
            root.name == "VersioningConfiguration"
        else { throw S3Error(.malformedXML) }
        let status = root.child("Status").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        let mfaDelete = root.child("MfaDelete").map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard [nil, "Enabled", "Suspended"].contains(status), [nil, "Enabled", "Disabled"].contains(mfaDelete) else {
            throw S3Error(.malformedXML)
        }
        if mfaDelete == "Enabled" {
            throw S3Error(
                .notImplemented, "MFA delete is not implemented by this gateway: MfaDelete Enabled was refused.")
        }
        if let status, let versioning = Versioning(rawValue: status) {
            try ctx.metadata.setVersioning(bucket: b.name, versioning)
        }
        return S3Response()
    }

    /// GET ?versioning — an empty configuration until versioning was first set, then its Status.
    static func getBucketVersioning(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        var x = XMLWriter()
        x.open("VersioningConfiguration", namespace: XMLWriter.s3Namespace)
        if b.versioning != .unversioned { x.element("Status", b.versioning.rawValue) }
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
