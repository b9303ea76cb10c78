import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// GET /bucket/key?uploadId=ID — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListParts.html
    static func listParts(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let upload = try namedUpload(r, b, ctx)
        let maxParts = try boundedInt(r.query["max-parts"], name: "max-parts", default: 1000, max: 1000)
        let marker = try boundedInt(r.query["part-number-marker"], name: "part-number-marker", default: 0, max: 10000)
        let page = try ctx.metadata.parts(uploadId: upload.uploadId, after: marker, limit: maxParts + 1)
        let shown = page.prefix(maxParts)
        var x = XMLWriter()
        x.open("ListPartsResult", namespace: XMLWriter.s3Namespace)
        x.element("Bucket", b.displayName)
        x.element("Key", upload.key)
        x.element("UploadId", upload.uploadId)
        initiatorAndOwner(&x, upload, b, ctx)
        x.element("StorageClass", "STANDARD")
        x.element("PartNumberMarker", marker)
        x.element("NextPartNumberMarker", shown.last?.partNumber ?? marker)
        x.element("MaxParts", maxParts)
        x.element("IsTruncated", page.count > maxParts)
        if let checksum = MultipartChecksum.of(upload) {
            x.element("ChecksumAlgorithm", checksum.algorithm.algorithmName)
            x.element("ChecksumType", checksum.type.rawValue)
        }
        for p in shown {
            x.open("Part")
            x.element("PartNumber", p.partNumber)
            x.element("LastModified", HTTPDate.iso8601(p.lastModified))
            x.element("ETag", "\"\(p.etag)\"")
            x.element("Size", p.size)
            for (alg, value) in p.checksums.sorted(by: { $0.key < $1.key }) {
                if let a = ChecksumAlgorithm(rawValue: alg) { x.element("Checksum" + a.algorithmName, value) }
            }
            x.close("Part")
        }
        x.close("ListPartsResult")
        return S3Response.xml(x.document).adding(abortHeaders(b, upload))
    }

    /// GET /bucket?uploads — https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListMultipartUploads.html
    static func listMultipartUploads(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let maxUploads = try boundedInt(r.query["max-uploads"], name: "max-uploads", default: 1000, max: 1000)
        let prefix = r.query["prefix"] ?? ""
        let keyMarker = r.query["key-marker"] ?? ""
        let idMarker = keyMarker.isEmpty ? "" : (r.query["upload-id-marker"] ?? "")
        let url = r.query["encoding-type"] == "url"
        func enc(_ s: String) -> String { url ? uriEncode(s, encodeSlash: false) : s }
        let page = try ctx.metadata.uploads(
            bucket: b.name, prefix: prefix, keyMarker: keyMarker, uploadIdMarker: idMarker, limit: maxUploads + 1)
        let shown = page.prefix(maxUploads)
        var x = XMLWriter()
        x.open("ListMultipartUploadsResult", namespace: XMLWriter.s3Namespace)
        x.element("Bucket", b.displayName)
        x.element("KeyMarker", enc(keyMarker))
        x.element("UploadIdMarker", idMarker)
        if page.count > maxUploads, let last = shown.last {
            x.element("NextKeyMarker", enc(last.key))
            x.element("NextUploadIdMarker", last.uploadId)
        }
        x.element("Prefix", enc(prefix))
        if url { x.element("EncodingType", "url") }
        x.element("MaxUploads", maxUploads)
        x.element("IsTruncated", page.count > maxUploads)
        for u in shown {
            x.open("Upload")
            x.element("Key", enc(u.key))
            x.element("UploadId", u.uploadId)
            initiatorAndOwner(&x, u, b, ctx)
            x.element("StorageClass", "STANDARD")
            x.element("Initiated", HTTPDate.iso8601(u.initiated))
            x.close("Upload")
        }
        x.close("ListMultipartUploadsResult")
        return .xml(x.document)
    }

    /// DELETE /bucket/key?uploadId=ID — the parts' blobs go with it.
    static func abortMultipartUpload(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let upload = try namedUpload(r, b, ctx)
        let parts = try ctx.metadata.abortUpload(upload.uploadId)
        releaseParts(of: upload, parts, bucket: b, ctx, logger)
        return S3Response(status: 204)
    }

    /// Frees what an aborted or expired upload held: its part blobs, or the zone's own upload.
    static func releaseParts(
        of upload: UploadRecord, _ parts: [PartRecord], bucket: BucketRecord, _ ctx: GatewayContext, _ logger: Logger
    ) {
        if upload.zoneUpload.isEmpty {
            removeBlobs(parts.map(\.blob), zone: upload.zone, bucket: bucket, ctx, logger)
            return
        }
        do {
            try ctx.zone(upload.zone).abortMultipart(
                backendBucket: ctx.backendBucket(bucket, in: upload.zone), multipart: upload.zoneUpload)
        } catch {
            logger.warning("could not abort the zone's multipart upload of \(upload.key): \(error)")
        }
    }

    static func boundedInt(_ value: String?, name: String, default d: Int, max: Int) throws(S3Error) -> Int {
        guard let value else { return d }
        guard let v = Int(value), v >= 0 else {
            throw S3Error(.invalidArgument, "Provided \(name) not an integer or within integer range")
        }
        return min(v, max)
    }
}
