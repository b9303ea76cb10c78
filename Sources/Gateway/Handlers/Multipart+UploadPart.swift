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
        let isCopy = r.header("x-amz-copy-source") != nil
        try UnsupportedFeatures.check(r, isCopy ? .uploadPartCopy : .uploadPart)
        // A part is encrypted as its upload is: an SSE-C upload's parts repeat its key.
        let sse = try sseRequest(r, isCopy ? .uploadPartCopy : .uploadPart, ctx)
        var sealed = try ObjectEncryption.forStored(
            upload.sse, customerKey: sse.customerKey, tenant: b.tenant, ctx.keys)
        // Each part's stream is bound to its number (a part read in another's place fails).
        sealed?.part = n
        if isCopy { return try uploadPartCopy(r, ctx, logger, b, upload, n, target: sealed, sse: sse) }
        // Parts of an upload whose object will be locked carry a digest, as a locked PUT does.
        try requireLockDigest(r, when: LockHeaders.effective(upload.lock, bucket: b, now: r.now) != LockSettings())
        let (_, zone) = try ctx.writeZone(named: upload.zone, for: b)
        // Every part of an upload created with a checksum algorithm gets that checksum, sent or
        // not: Complete makes the object's checksum from them.
        // An encrypted part is its own stream: the zone holds (and a provider is told) its stored length.
        let length = expectedLength(r).map { sealed == nil ? $0 : EncryptionLayout.storedSize(plain: $0) }
        let (body, blob, tagDigest) = try storeVerifiedBody(
            r, in: zone, backendBucket: ctx.backendBucket(b, in: upload.zone),
            writer: try partWriter(upload, n, length: length, zone, b, ctx),
            checksum: ChecksumAlgorithm(rawValue: upload.checksumAlgorithm), encryption: sealed)
        // Stamped when its bytes are stored (in a provider zone: when the provider has them), so
        // of two uploads of this number the one that finished last is kept (MetadataStore.putPart).
        let etag = sealed.map { $0.etag(plainMD5: body.md5Hex, tagDigest: tagDigest ?? "") } ?? body.md5Hex
        let part = PartRecord(
            uploadId: upload.uploadId, partNumber: n, size: body.decodedLength, etag: etag,
            lastModified: ctx.clock.now(), checksums: body.checksumsByName, blob: blob)
        try recordPart(part, upload, b, ctx, logger)
        var headers = [Header("ETag", "\"\(part.etag)\"")] + (sealed?.answer.headers ?? [])
        for (alg, value) in body.checksums { headers.append(Header(alg.headerName, value)) }
        return S3Response(headers: headers)
    }
}

extension Handlers {
    /// UploadPart with x-amz-copy-source — https://docs.aws.amazon.com/AmazonS3/latest/API/API_UploadPartCopy.html
    /// Copies a byte range of an existing object into the part, server-side.
    static func uploadPartCopy(
        _ r: S3Request, _ ctx: GatewayContext, _ logger: Logger, _ b: BucketRecord, _ upload: UploadRecord, _ n: Int,
        target: ObjectEncryption?, sse: SSERequest
    ) throws -> S3Response {
        let (sb, src, _) = try copySource(r, ctx)
        // Decrypted with the source's key, encrypted as a new stream under the upload's.
        let source = try ObjectEncryption.forStored(
            src.sse, customerKey: sse.copySourceKey, tenant: sb.tenant, ctx.keys)
        var offset: Int64 = 0
        var length = src.size
        if let range = r.header("x-amz-copy-source-range") {
            guard let bounds = CopySource.parseRange(range) else {
                throw S3Error(
                    .invalidArgument,
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
                )
            }
            guard bounds.upperBound < src.size else {
                throw S3Error(.invalidRange, "The requested range is not satisfiable")
            }
            offset = bounds.lowerBound
            length = bounds.upperBound - bounds.lowerBound + 1
        }
        if length > maxCopySize {
            throw S3Error(
                .invalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: \(maxCopySize)")
        }
        let (_, zone) = try ctx.writeZone(named: upload.zone, for: b)
        let hasher = ChecksumAlgorithm(rawValue: upload.checksumAlgorithm)?.makeHasher()
        let stored = target == nil ? length : EncryptionLayout.storedSize(plain: length)
        let (blob, md5, tagDigest) = try copyBytes(
            of: src, in: sb, offset: offset, length: length, to: zone,
            backendBucket: ctx.backendBucket(b, in: upload.zone), ctx,
            writer: try partWriter(upload, n, length: stored, zone, b, ctx), hasher: hasher, source: source,
            target: target)
        let etag = target.map { $0.etag(plainMD5: md5, tagDigest: tagDigest ?? "") } ?? md5
        let part = PartRecord(
            uploadId: upload.uploadId, partNumber: n, size: length, etag: etag, lastModified: ctx.clock.now(),
            checksums: hasher.map { [$0.algorithm.rawValue: base64Encode($0.finalize())] } ?? [:], blob: blob)
        try recordPart(part, upload, b, ctx, logger)
        var response = copyResult("CopyPartResult", lastModified: part.lastModified, etag: part.etag)
        response.headers += copySourceVersionHeaders(sb, src) + (target?.answer.headers ?? [])
        return response
    }
}

extension Handlers {
    /// Records a part whose blob is written; on failure the blob goes, and of it and the part
    /// recorded under its number, the one that finished first gives its blob up.
    static func recordPart(
        _ part: PartRecord, _ upload: UploadRecord, _ b: BucketRecord, _ ctx: GatewayContext, _ logger: Logger
    ) throws {
        // Parts the zone assembles are the zone's (their `blob` is its ETag): nothing to delete.
        let ownBlobs = upload.zoneUpload.isEmpty
        let replaced: PartRecord?
        do {
            replaced = try ctx.metadata.putPart(part)
        } catch {
            if ownBlobs { removeBlobs([part.blob], zone: upload.zone, bucket: b, ctx, logger) }
            throw error
        }
        if ownBlobs, let garbage = replaced { removeBlobs([garbage.blob], zone: upload.zone, bucket: b, ctx, logger) }
    }

    /// For a zone-assembled upload, the zone's writer for part `n` (which needs the length, as
    /// S3 does: MissingContentLength otherwise); nil when the part is a blob of its own.
    static func partWriter(
        _ upload: UploadRecord, _ n: Int, length: Int64?, _ zone: any StorageZone, _ b: BucketRecord,
        _ ctx: GatewayContext
    ) throws -> (any BlobWriter)? {
        guard !upload.zoneUpload.isEmpty else { return nil }
        guard let length else { throw S3Error(.missingContentLength) }
        return try zone.beginPartWrite(
            backendBucket: ctx.backendBucket(b, in: upload.zone), multipart: upload.zoneUpload, partNumber: n,
            length: length)
    }
}
