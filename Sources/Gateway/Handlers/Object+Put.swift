import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// PUT /bucket/key — https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
    /// Bytes stream to a temporary blob while every digest is checked in the same pass; the
    /// object becomes visible only when the blob is durable and the metadata row committed.
    static func putObject(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        if r.header("x-amz-copy-source") != nil { return try copyObject(r, ctx, logger) }
        let b = try ownedBucket(r, ctx)
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        try ObjectKey.validate(key)
        try UnsupportedFeatures.check(r, .putObject, objectLock: b.objectLock != nil)
        let access = try newObjectACL(r, b, ctx)
        let sse = try sseRequest(r, .putObject, ctx)
        let encryption = try sse.forWrite(into: b)
        let lock = try lockSettings(for: r, bucket: b, key: key, now: r.now)
        try requireLockDigest(r, when: lock != LockSettings())
        let condition = try writeCondition(r, bucket: b, key: key, ctx)
        // S3's single-PUT limit; larger objects go up as multipart uploads.
        if let length = expectedLength(r), length > maxCopySize {
            throw S3Error(
                .entityTooLarge, extra: [("ProposedSize", String(length)), ("MaxSizeAllowed", String(maxCopySize))])
        }
        let stored = try StoredHeaders.fromRequest(r)
        let tags = try Tagging.fromRequest(r)
        let copies = try Replication.count(tags: tags, bucket: b)
        let (zoneName, zone) = try ctx.writeZone(for: b)
        var sealing = try ObjectEncryption.forWrite(
            encryption.mode, bucketKeyEnabled: encryption.bucketKeyEnabled, request: sse, tenant: b.tenant, ctx.keys)
        defer { sealing?.wipe() }
        let (body, blob, tagDigest) = try storeVerifiedBody(
            r, in: zone, backendBucket: ctx.backendBucket(b, in: zoneName), encryption: sealing)
        var record = ObjectRecord(
            bucket: b.name, key: key, size: body.decodedLength, etag: body.md5Hex, lastModified: r.now,
            contentType: stored.contentType, headers: stored.headers,
            checksums: body.checksumsByName, zone: zoneName, blob: blob, tags: tags)
        (record.owner, record.acl) = access
        if let sealing, let tagDigest {
            var envelope = sealing.envelope
            envelope.tagDigest = tagDigest
            record.sse = envelope.encoded
            record.etag = sealing.etag(plainMD5: body.md5Hex, tagDigest: tagDigest)
        }
        record.lock(lock)
        let version = try commitObject(record, copies: copies, condition: condition, in: b, ctx, logger)
        var headers = [Header("ETag", "\"\(record.etag)\"")] + (sealing?.answer.headers ?? [])
        for (alg, value) in body.checksums { headers.append(Header(alg.headerName, value)) }
        headers += expirationHeaders(b, version)
        return S3Response(headers: headers + versionHeaders(b, version))
    }

    /// The write's condition, already checked against the current object so a write that cannot
    /// win fails before reading its body; the metadata commit checks it again, atomically. A key
    /// whose latest version is a delete marker has no current object (`object` does not see it).
    static func writeCondition(_ r: S3Request, bucket b: BucketRecord, key: String, _ ctx: GatewayContext) throws
        -> WriteCondition?
    {
        guard let condition = try writeCondition(r) else { return nil }
        let current = try ctx.metadata.object(bucket: b.name, key: key)
        if !condition.holds(for: current) { throw conditionError(condition, current) }
        return condition
    }

    /// `If-None-Match: *` and `If-Match: "etag"` on writes:
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
    static func writeCondition(_ r: S3Request) throws(S3Error) -> WriteCondition? {
        if let inm = r.header("if-none-match") {
            guard inm.trimmingCharacters(in: .whitespaces) == "*" else {
                throw S3Error(.notImplemented, "If-None-Match on writes supports only *.")
            }
            return .noneExists
        }
        if let im = r.header("if-match") {
            var t = im.trimmingCharacters(in: .whitespaces)
            if t.hasPrefix("\"") && t.hasSuffix("\"") && t.count >= 2 { t = String(t.dropFirst().dropLast()) }
            return .etagMatches(t)
        }
        return nil
    }

    /// S3 answers a failed If-Match on a missing key with NoSuchKey, otherwise 412.
    static func conditionError(_ c: WriteCondition, _ current: ObjectRecord?) -> S3Error {
        if case .etagMatches = c, current == nil { return S3Error(.noSuchKey) }
        return S3Error(.preconditionFailed, extra: [("Condition", c == .noneExists ? "If-None-Match" : "If-Match")])
    }

    /// The request body with every declared digest checked as it is read.
    static func verifiedBody(_ r: S3Request, checksum: ChecksumAlgorithm? = nil) throws -> VerifiedBody {
        try VerifiedBody(source: r.body, head: r.head, auth: r.auth, required: checksum)
    }

    /// The decoded body size the client announced: x-amz-decoded-content-length for aws-chunked
    /// bodies, Content-Length otherwise; nil when unknown (chunked transfer without either).
    static func expectedLength(_ r: S3Request) -> Int64? {
        let chunked =
            (r.header("content-encoding") ?? "").lowercased().contains("aws-chunked")
            || (r.header("x-amz-content-sha256") ?? "").hasPrefix("STREAMING-")
        if chunked { return r.header("x-amz-decoded-content-length").flatMap { Int64($0) } }
        return r.header("content-length").flatMap { Int64($0) }
    }

    /// Streams the request body into a new blob, verifying every declared digest in the same
    /// pass; the blob is committed only when the body ended cleanly, and removed otherwise.
    static func storeVerifiedBody(
        _ r: S3Request, in zone: any StorageZone, backendBucket: String, writer given: (any BlobWriter)? = nil,
        checksum: ChecksumAlgorithm? = nil
    ) throws -> (VerifiedBody, String) {
        let (body, blob, _) = try storeVerifiedBody(
            r, in: zone, backendBucket: backendBucket, writer: given, checksum: checksum, encryption: nil)
        return (body, blob)
    }

    /// The same, encrypting after the digests when `encryption` is given (the zone gets the
    /// stored length); the stream's tag digest (hex) is returned then.
    static func storeVerifiedBody(
        _ r: S3Request, in zone: any StorageZone, backendBucket: String, writer given: (any BlobWriter)? = nil,
        checksum: ChecksumAlgorithm? = nil, encryption: ObjectEncryption?
    ) throws -> (VerifiedBody, String, String?) {
        let body = try verifiedBody(r, checksum: checksum)
        let length = expectedLength(r).map { n in encryption == nil ? n : EncryptionLayout.storedSize(plain: n) }
        let writer = try given ?? zone.beginWrite(backendBucket: backendBucket, length: length)
        var tagDigest: String?
        // The zone's writes (and encryption) overlap with reading and hashing where the writer
        // allows, for bodies past the ring's size (smaller ones would pay a thread for nothing).
        let pipelined = writer.writesFromAnyThread && (length ?? .max) > Int64(pipelineBufferSize * pipelineBuffers)
        let copy: (any ByteSource, any ByteSink) throws -> Int64 =
            pipelined ? { try pipelinedPump($0, into: $1) } : { try pump($0, into: $1, wholeBuffers: true) }
        do {
            if let encryption {
                let sink = EncryptingSink(writer, dataKey: encryption.dataKey, part: encryption.part)
                _ = try copy(body, sink)
                try sink.finish()
                tagDigest = DataKey.combinedTagDigest([sink.tagDigest])
            } else {
                _ = try copy(body, writer)
            }
        } catch {
            writer.abort()
            throw error
        }
        return (body, try writer.commit(), tagDigest)
    }

    /// Makes a written object visible as the key's new latest version (`putVersion`, checking
    /// `condition` in the same transaction). On failure the new blob goes; on success the blobs
    /// of the version it removed do (unversioned and Suspended buckets replace the null version;
    /// Enabled ones keep every version). `copies` is the replica-count the write asked for,
    /// checked before its bytes were stored. Returns the version as stored (its id assigned).
    @discardableResult
    static func commitObject(
        _ record: ObjectRecord, copies: Int, condition: WriteCondition?, in b: BucketRecord, _ ctx: GatewayContext,
        _ logger: Logger
    ) throws -> ObjectRecord {
        let outcome: PutOutcome
        var record = record
        do {
            record.replicas = try Replication.replicas(for: b, count: copies, primary: record.zone, ctx)
            outcome = try ctx.metadata.putVersion(record, condition: condition)
        } catch {
            removeBlob(of: record, bucket: b, ctx, logger)
            throw error
        }
        if let old = outcome.removed { removeBlob(of: old, bucket: b, ctx, logger) }
        return outcome.stored
    }

    /// The body of CopyObject and UploadPartCopy answers.
    static func copyResult(_ root: String, lastModified: Double, etag: String) -> S3Response {
        var x = XMLWriter()
        x.open(root, namespace: XMLWriter.s3Namespace)
        x.element("LastModified", HTTPDate.iso8601(lastModified))
        x.element("ETag", "\"\(etag)\"")
        x.close(root)
        return .xml(x.document)
    }

    /// Deletes a blob no metadata row references any more. A failure leaves garbage for the
    /// sweeper, never a broken object, so it is logged and not reported to the client.
    static func removeBlob(of o: ObjectRecord, bucket: BucketRecord, _ ctx: GatewayContext, _ logger: Logger) {
        removeBlobs(o.blobs.map(\.blob), zone: o.zone, bucket: bucket, ctx, logger)
    }

    static func removeBlobs(
        _ blobs: [String], zone: String, bucket: BucketRecord, _ ctx: GatewayContext, _ logger: Logger
    ) {
        for blob in blobs {
            do {
                try ctx.zone(zone).deleteBlob(backendBucket: ctx.backendBucket(bucket, in: zone), blob: blob)
            } catch {
                logger.warning("could not remove unreferenced blob \(blob) in \(zone): \(error)")
            }
        }
    }
}

enum ObjectKey {
    static func validate(_ key: String) throws(S3Error) {
        if key.utf8.count > 1024 { throw S3Error(.keyTooLong, extra: [("Key", String(key.prefix(64)))]) }
        try refuseNUL(key)
    }

    /// No object's key holds NUL (PUT refuses it, and PostgreSQL text cannot): every object
    /// request naming one gets the same answer on every store.
    static func refuseNUL(_ key: String) throws(S3Error) {
        if key.utf8.contains(0) { throw S3Error(.invalidArgument, "Object keys may not contain NUL.") }
    }
}

/// The request headers an object keeps and returns on GET/HEAD.
struct StoredHeaders {
    static let standard = ["cache-control", "content-disposition", "content-language", "expires"]
    var contentType: String
    var headers: [Header]

    static func fromRequest(_ r: S3Request) throws(S3Error) -> StoredHeaders {
        try from(r.head.headers)
    }

    /// From lowercased (name, value) pairs in HeaderBytes form: a request's headers or a POST
    /// form's fields.
    static func from(_ pairs: [(name: String, value: String)]) throws(S3Error) -> StoredHeaders {
        func value(_ name: String) -> String? { pairs.first { $0.name == name }?.value }
        var headers: [Header] = []
        var metaSize = 0
        for (name, value) in pairs where name.hasPrefix("x-amz-meta-") {
            headers.append(Header(name, value))
            metaSize += name.utf8.count - 11 + HeaderBytes.byteCount(value)
        }
        // https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html: 2 KB of user metadata.
        if metaSize > 2048 { throw S3Error(.metadataTooLarge) }
        for name in standard {
            if let v = value(name) { headers.append(Header(name, v)) }
        }
        // aws-chunked is the transfer's encoding, not the object's.
        if let ce = value("content-encoding") {
            let kept = ce.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && $0.lowercased() != "aws-chunked" }
            if !kept.isEmpty { headers.append(Header("content-encoding", kept.joined(separator: ", "))) }
        }
        headers.sort { $0.name < $1.name }
        return StoredHeaders(contentType: value("content-type") ?? "binary/octet-stream", headers: headers)
    }
}

extension VerifiedBody {
    /// The verified checksums as stored in metadata: algorithm name → base64.
    var checksumsByName: [String: String] {
        Dictionary(uniqueKeysWithValues: checksums.map { ($0.key.rawValue, $0.value) })
    }
}
