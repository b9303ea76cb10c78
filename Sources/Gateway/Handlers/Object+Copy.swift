import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// S3 refuses to copy more than this in one CopyObject; clients then use UploadPartCopy.
    static let maxCopySize: Int64 = 5 * 1024 * 1024 * 1024

    /// PUT /bucket/key with x-amz-copy-source — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CopyObject.html
    static func copyObject(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        guard let key = r.key else { throw S3Error(.invalidRequest) }
        try ObjectKey.validate(key)
        try UnsupportedFeatures.check(r, .copyObject, objectLock: b.objectLock != nil)
        // The copy's ACL is what this request names, never the source's (S3).
        let access = try newObjectACL(r, b, ctx)
        let sse = try sseRequest(r, .copyObject, ctx)
        let encryption = try sse.forWrite(into: b)
        // The copy's lock is what this request names (or the bucket's default), never the source's.
        let lock = try lockSettings(for: r, bucket: b, key: key, now: r.now)
        let (sb, src, sourceVersion) = try copySource(r, ctx)
        // The source is decrypted with its own key (an SSE-C source's key in the copy-source
        // headers); the copy is encrypted as this request or the target bucket says.
        let sourceKey = try ObjectEncryption.forStored(
            src.sse, customerKey: sse.copySourceKey, tenant: sb.tenant, ctx.keys)

        let directive = (r.header("x-amz-metadata-directive") ?? "COPY").uppercased()
        guard directive == "COPY" || directive == "REPLACE" else {
            throw S3Error(.invalidArgument, "Unknown metadata directive.")
        }
        // Copying a version named by its id onto its own key restores it as the latest (S3's
        // way to undo an overwrite): that is a change.
        if sb.name == b.name && VersionLister.same(src.key, key) && directive == "COPY" && sourceVersion == nil
            && sse.requested == .none
        {
            throw S3Error(
                .invalidRequest,
                "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes."
            )
        }
        if src.size > maxCopySize {
            throw S3Error(
                .invalidRequest,
                "The specified copy source is larger than the maximum allowable size for a copy source: \(maxCopySize)")
        }
        let condition = try writeCondition(r, bucket: b, key: key, ctx)
        let tags: [Header]
        switch (r.header("x-amz-tagging-directive") ?? "COPY").uppercased() {
        case "COPY": tags = src.tags
        case "REPLACE": tags = try Tagging.fromRequest(r)
        default: throw S3Error(.invalidArgument, "Unknown tagging directive.")
        }

        let copies = try Replication.count(tags: tags, bucket: b)
        let (zoneName, zone) = try ctx.writeZone(for: b)
        var sealing = try ObjectEncryption.forWrite(
            encryption.mode, bucketKeyEnabled: encryption.bucketKeyEnabled, request: sse, tenant: b.tenant, ctx.keys)
        defer { sealing?.wipe() }
        let (blob, md5, tagDigest) = try copyBytes(
            of: src, in: sb, offset: 0, length: src.size, to: zone, backendBucket: ctx.backendBucket(b, in: zoneName),
            ctx, source: sourceKey, target: sealing)
        let etag = sealing.map { $0.etag(plainMD5: md5, tagDigest: tagDigest ?? "") } ?? md5
        let stored =
            directive == "REPLACE"
            ? try StoredHeaders.fromRequest(r) : StoredHeaders(contentType: src.contentType, headers: src.headers)
        // Whole-object checksums still describe the bytes; composite ones ("…-N") described parts.
        let checksums = src.checksums.filter { !$0.value.contains("-") }
        var record = ObjectRecord(
            bucket: b.name, key: key, size: src.size, etag: etag, lastModified: r.now,
            contentType: stored.contentType, headers: stored.headers, checksums: checksums, zone: zoneName, blob: blob,
            tags: tags)
        (record.owner, record.acl) = access
        if let sealing, let tagDigest {
            var envelope = sealing.envelope
            envelope.tagDigest = tagDigest
            record.sse = envelope.encoded
        }
        record.lock(lock)
        let version = try commitObject(record, copies: copies, condition: condition, in: b, ctx, logger)
        var response = copyResult("CopyObjectResult", lastModified: record.lastModified, etag: record.etag)
        response.headers += sealing?.answer.headers ?? []
        response.headers += versionHeaders(b, version) + copySourceVersionHeaders(sb, src)
        response.headers += expirationHeaders(b, version)
        return response
    }

    /// `x-amz-copy-source-version-id` of a copy from a versioned bucket: the version read.
    static func copySourceVersionHeaders(_ sb: BucketRecord, _ src: ObjectRecord) -> [Header] {
        sb.versioning == .unversioned && src.versionId == VersionId.null
            ? [] : [Header("x-amz-copy-source-version-id", src.versionId)]
    }
}

extension Handlers {
    /// The bucket and object version `x-amz-copy-source` names, owned by the caller, with the
    /// x-amz-copy-source-if-* conditions checked, and the version id it named (nil: the latest).
    /// A source whose latest is a delete marker does not exist (404 NoSuchKey); one naming a
    /// marker by id is a bad request, as S3 answers.
    static func copySource(_ r: S3Request, _ ctx: GatewayContext) throws -> (BucketRecord, ObjectRecord, String?) {
        let source = try CopySource.parse(r.headerText("x-amz-copy-source") ?? "")
        try ObjectKey.refuseNUL(source.key)
        // The source may be another tenant's bucket (`tenant:bucket/key`): S3's existence rules
        // and the one access decision apply to it as to any bucket the request names.
        try BucketAddress.validate(source.bucket)
        let (named, name) = BucketAddress.split(source.bucket)
        let tenant = named ?? r.tenant
        guard let sb = try ctx.metadata.bucket(named: TenantRecord.qualifiedBucket(tenant: tenant, name: name)),
            sb.tenant == tenant
        else {
            throw S3Error(.noSuchBucket, extra: [("BucketName", source.bucket)])
        }
        if let expected = r.header("x-amz-source-expected-bucket-owner"), expected != sb.tenant {
            throw S3Error(.accessDenied)
        }
        // Reading the source needs its own permission, whatever the destination allows.
        let action = source.versionId == nil ? "s3:GetObject" : "s3:GetObjectVersion"
        try Authorization.require(
            r, action, bucket: sb, key: source.key,
            object: try objectForDecision(sb, key: source.key, versionId: source.versionId, action: action, ctx))
        let src: ObjectRecord
        do {
            src = try ownedVersion(in: sb, key: source.key, versionId: source.versionId, r, ctx)
        } catch let e as S3Error where e.code == .noSuchKey {
            // As for a GET: that the key is missing is for callers who may list the bucket.
            var question = r.accessRequest("s3:ListBucket", bucket: sb, key: nil)
            question.context["s3:prefix"] = [source.key]
            guard Access.decide(question) == .allow else { throw S3Error(.accessDenied) }
            // The marker's headers describe the source, not what this request wrote; judged
            // here, not again against the destination.
            throw ForeignError(error: S3Error(.noSuchKey, extra: e.extra))
        } catch let e as S3Error where e.code == .methodNotAllowed {
            throw S3Error(
                .invalidRequest,
                "The source of a copy request may not specifically refer to a delete marker by version id.")
        }
        try CopySource.checkConditions(r, src)
        return (sb, src, source.versionId)
    }

    /// Copies `length` bytes from `offset` of `src` into a new committed blob; returns it and
    /// the hex MD5 of the copied bytes. Bytes are copied, not shared, so deleting either
    /// object never affects the other.
    static func copyBytes(
        of src: ObjectRecord, in sb: BucketRecord, offset: Int64, length: Int64, to zone: any StorageZone,
        backendBucket: String, _ ctx: GatewayContext, writer given: (any BlobWriter)? = nil,
        hasher: ChecksumHasher? = nil
    ) throws -> (blob: String, md5: String) {
        let (blob, md5, _) = try copyBytes(
            of: src, in: sb, offset: offset, length: length, to: zone, backendBucket: backendBucket, ctx,
            writer: given, hasher: hasher, source: nil, target: nil)
        return (blob, md5)
    }

    /// The same, decrypting an encrypted source with `source` (its data key) and encrypting the
    /// copy with `target`: the digests see plaintext, the zone ciphertext; the copy's tag
    /// digest (hex) is returned when it is encrypted. A (key, nonce) pair is never reused: the
    /// copy is a new stream with a fresh salt.
    static func copyBytes(
        of src: ObjectRecord, in sb: BucketRecord, offset: Int64, length: Int64, to zone: any StorageZone,
        backendBucket: String, _ ctx: GatewayContext, writer given: (any BlobWriter)? = nil,
        hasher: ChecksumHasher? = nil, source: ObjectEncryption?, target: ObjectEncryption?
    ) throws -> (blob: String, md5: String, tagDigest: String?) {
        let stored = target == nil ? length : EncryptionLayout.storedSize(plain: length)
        let writer = try given ?? zone.beginWrite(backendBucket: backendBucket, length: stored)
        let encrypting = target.map { EncryptingSink(writer, dataKey: $0.dataKey, part: $0.part) }
        let hashing = MD5Sink(encrypting ?? writer, also: hasher)
        do {
            // Any copy of the source will do: a lost zone does not stop a copy.
            let copies = ObjectCopies(src, in: sb, ctx)
            let reader: any ByteSource
            if let source {
                reader = try source.reader(src, offset: offset, length: length, copies: copies, ctx).reader
            } else {
                reader = try copies.open(offset: offset, length: length, ctx).reader
            }
            try pump(reader, into: hashing)
            try encrypting?.finish()
        } catch {
            writer.abort()
            throw error
        }
        let tagDigest = encrypting.map { DataKey.combinedTagDigest([$0.tagDigest]) }
        return (try writer.commit(), hashing.hex(), tagDigest)
    }
}

/// `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, the key percent-encoded.
struct CopySource {
    var bucket: String
    var key: String
    /// The source version, nil for the latest.
    var versionId: String?

    static func parse(_ header: String) throws(S3Error) -> CopySource {
        var raw = Substring(header)
        var versionId: String?
        if raw.hasPrefix("/") { raw = raw.dropFirst() }
        if let q = raw.firstIndex(of: "?") {
            let query = raw[raw.index(after: q)...]
            raw = raw[..<q]
            for item in query.split(separator: "&") where item.hasPrefix("versionId=") {
                let v = percentDecode(String(item.dropFirst("versionId=".count))) ?? ""
                guard VersionId.isWellFormed(v) else { throw S3Error(.invalidArgument, "Invalid version id specified") }
                versionId = v
            }
        }
        guard let slash = raw.firstIndex(of: "/"), let bucket = percentDecode(String(raw[..<slash])),
            let key = percentDecode(String(raw[raw.index(after: slash)...])), !bucket.isEmpty, !key.isEmpty
        else {
            throw S3Error(
                .invalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        }
        return CopySource(bucket: bucket, key: key, versionId: versionId)
    }

    /// `bytes=first-last`, both inclusive (the only form UploadPartCopy accepts).
    static func parseRange(_ header: String) -> ClosedRange<Int64>? {
        guard header.hasPrefix("bytes=") else { return nil }
        let parts = header.dropFirst(6).split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let first = Int64(parts[0]), let last = Int64(parts[1]), first >= 0, last >= first
        else { return nil }
        return first...last
    }

    /// x-amz-copy-source-if-* with the same precedence as GET's conditions, but every failure is 412.
    static func checkConditions(_ r: S3Request, _ src: ObjectRecord) throws(S3Error) {
        let modified = src.lastModified.rounded(.down)
        if let m = r.header("x-amz-copy-source-if-match") {
            if !Conditions.matches(m, src.etag) { throw S3Error(.preconditionFailed) }
        } else if let s = r.header("x-amz-copy-source-if-unmodified-since"),
            let t = HTTPDate.parseHTTP(s).map(Double.init), modified > t
        {
            throw S3Error(.preconditionFailed)
        }
        if let m = r.header("x-amz-copy-source-if-none-match") {
            if Conditions.matches(m, src.etag) { throw S3Error(.preconditionFailed) }
        } else if let s = r.header("x-amz-copy-source-if-modified-since"),
            let t = HTTPDate.parseHTTP(s).map(Double.init), modified <= t
        {
            throw S3Error(.preconditionFailed)
        }
    }
}

/// Passes bytes through while computing their MD5 (the ETag of copied data).
final class MD5Sink: ByteSink {
    private let inner: any ByteSink
    private var md5 = Digest(.md5)
    /// A checksum computed in the same pass (a copied part of an upload with an algorithm).
    private let also: ChecksumHasher?

    init(_ inner: any ByteSink, also: ChecksumHasher? = nil) {
        self.inner = inner
        self.also = also
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        md5.update(bytes)
        also?.update(bytes)
        try inner.write(bytes)
    }

    func hex() -> String { hexEncode(md5.finalize()) }
}
