import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// PUT /bucket/key?partNumber=N&uploadId=ID — https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPart.html
    /// Streams the part to its own blob with every digest checked in the same pass, as PutObject.
    static func uploadPart(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let n = r.query["partNumber"].flatMap({ Int($0) }), (1...10000).contains(n) else {
            throw S3Error(.invalidArgument, "Part number must be an integer between 1 and 10000, inclusive")
        }
        let upload = try namedUpload(r, b, ctx)
        if r.header("x-amz-copy-source") != nil {
            throw S3Error(.notImplemented, "UploadPartCopy is not implemented yet.")
        }
        let (body, blob) = try storeVerifiedBody(r, in: try ctx.zone(upload.zone), backendBucket: b.backendBucket)
        let part = PartRecord(
            uploadId: upload.uploadId, partNumber: n, size: body.decodedLength, etag: body.md5Hex, lastModified: r.now,
            checksums: body.checksumsByName, blob: blob)
        let replaced: PartRecord?
        do {
            replaced = try ctx.metadata.putPart(part)
        } catch {
            removeBlobs([blob], zone: upload.zone, bucket: b, ctx, logger)
            throw error
        }
        if let old = replaced { removeBlobs([old.blob], zone: upload.zone, bucket: b, ctx, logger) }
        var headers = [Header("ETag", "\"\(part.etag)\"")]
        for (alg, value) in body.checksums { headers.append(Header(alg.headerName, value)) }
        return S3Response(headers: headers)
    }
}
