import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// POST /bucket with multipart/form-data — browser uploads:
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
    /// Fields come first (bounded), then the file, which streams straight into a blob.
    static func postObject(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        guard let bucketName = r.bucketName,
            let boundary = FormDataReader.boundary(contentType: r.header("content-type") ?? "")
        else { throw FormDataReader.malformed }
        let form = FormDataReader(source: r.body, boundary: boundary)
        defer { form.drain() }

        var fields: [String: String] = [:]
        var file: FormDataReader.PartHead?
        while let part = try form.nextPart() {
            let name = part.name.lowercased()
            if name == "file" {
                file = part
                break
            }
            guard fields.count < 200 else { throw FormDataReader.malformed }
            fields[name] = String(decoding: try form.readField(limit: 64 * 1024), as: UTF8.self)
        }
        guard let file else {
            throw S3Error(.incorrectNumberOfFilesInPostRequest)
        }

        // A signed form's signer is its caller (its tenant names the bucket, a session key needs
        // its token among the fields); a form without any signature field is the anonymous
        // caller's, which only a bucket policy or ACL letting everyone write admits.
        let policy: PostPolicy?
        var caller = r
        caller.formFields = fields
        if Verifier.isUnsignedPostForm(fields) {
            policy = nil
            caller.principal = nil
        } else {
            let verified = try ctx.verifier.verifyPostForm(fields, now: r.now)
            policy = verified
            caller.principal = try ctx.identities.principal(
                verified.accessKey, token: fields["x-amz-security-token"], now: r.now)
        }
        RequestTrace.current?.tenant = caller.principal?.tenant
        RequestTrace.current?.accessKey = caller.principal?.accessKey
        RequestTrace.current?.bucketTenant = caller.bucketTenant
        guard let rawKey = fields["key"], !rawKey.isEmpty else {
            throw S3Error(.invalidArgument, "Bucket POST must contain a field named 'key'.")
        }
        let b = try loadBucket(caller, ctx)
        caller.bucketRecord = b
        if let policy {
            var checked = fields
            checked["bucket"] = bucketName
            try policy.check(fields: checked)
        }
        let key = rawKey.replacingOccurrences(of: "${filename}", with: file.filename ?? "")
        try ObjectKey.validate(key)
        // Authorized before the fields are judged: their answers tell whether the bucket has
        // Object Lock, which is not a stranger's to learn. The form's fields are what the
        // policy's conditions on request headers see (`acl` is s3:x-amz-acl).
        try Authorization.require(caller, "s3:PutObject", bucket: b, key: key)
        if let tagging = fields["tagging"], !tagging.isEmpty {
            try Authorization.require(caller, "s3:PutObjectTagging", bucket: b, key: key)
        }
        // The form's ACL is its `acl` field (or `x-amz-acl`), what s3:x-amz-acl conditions see:
        // never two that could differ.
        if fields["acl"] != nil, fields["x-amz-acl"] != nil {
            throw S3Error(.invalidArgument, "A POST form names its ACL once: acl or x-amz-acl.")
        }
        try UnsupportedFeatures.check(
            fields.sorted { $0.key < $1.key }.map { (name: $0.key == "acl" ? "x-amz-acl" : $0.key, value: $0.value) },
            .postObject, objectLock: b.objectLock != nil)
        let access = try newObjectACL(
            { fields[$0] ?? ($0 == "x-amz-acl" ? fields["acl"] : nil) }, caller: caller, key: key, bucket: b, ctx)
        // The form's SSE fields are the headers of a PUT (SSE-C over TLS only).
        let sse = try SSERequest(
            headers: fields.map { (name: $0.key, value: $0.value) }, .postObject,
            secure: r.scheme == "https" || ctx.allowSSECOverHTTP)
        let encryption = try sse.forWrite(into: b)
        let lock = try lockSettings(
            fields: fields.map { (name: $0.key, value: $0.value) }, bucket: b, key: key,
            caller: caller, now: r.now)
        // Field values are text; stored headers are the bytes that go back out (HeaderBytes).
        let stored = try StoredHeaders.from(fields.map { (name: $0.key, value: HeaderBytes.fromText($0.value)) })
        let tags =
            try fields["tagging"].map { try Tagging.parse(body: MemorySource($0), limit: Tagging.maxObjectTags) } ?? []

        let copies = try Replication.count(tags: tags, bucket: b)
        let (zoneName, zone) = try ctx.writeZone(for: b)
        var sealing = try ObjectEncryption.forWrite(
            encryption.mode, bucketKeyEnabled: encryption.bucketKeyEnabled, request: sse, tenant: b.tenant, ctx.keys)
        defer { sealing?.wipe() }
        let writer = try zone.beginWrite(backendBucket: ctx.backendBucket(b, in: zoneName), length: nil)
        // Digests see plaintext; the zone, when asked for, ciphertext.
        let encrypting = sealing.map { EncryptingSink(writer, dataKey: $0.dataKey, part: $0.part) }
        let sink = SizeLimitedSink(
            MD5Sink(encrypting ?? writer), max: policy?.contentLengthRange?.upperBound ?? maxCopySize)
        let size: Int64
        do {
            size = try pump(form.body(), into: sink)
            if let range = policy?.contentLengthRange, size < range.lowerBound {
                throw S3Error(
                    .entityTooSmall,
                    extra: [("ProposedSize", String(size)), ("MinSizeAllowed", String(range.lowerBound))])
            }
            try encrypting?.finish()
        } catch {
            writer.abort()
            throw error
        }
        let blob = try writer.commit()
        var record = ObjectRecord(
            bucket: b.name, key: key, size: size, etag: sink.md5.hex(), lastModified: r.now,
            contentType: stored.contentType, headers: stored.headers, checksums: [:],
            zone: zoneName, blob: blob, tags: tags)
        (record.owner, record.acl) = access
        if let sealing, let encrypting {
            var envelope = sealing.envelope
            envelope.tagDigest = DataKey.combinedTagDigest([encrypting.tagDigest])
            record.sse = envelope.encoded
            record.etag = sealing.etag(plainMD5: record.etag, tagDigest: envelope.tagDigest)
        }
        record.lock(lock)
        let version = try commitObject(record, copies: copies, condition: nil, in: b, ctx, logger)
        var response = postResponse(
            fields, location: r.objectURL(bucket: bucketName, key: key), bucket: bucketName, key: key, etag: record.etag
        )
        response.headers += versionHeaders(b, version) + (sealing?.answer.headers ?? [])
        return response
    }

    /// success_action_redirect (303 to it), or success_action_status 200/201 (201 has a body)/204.
    static func postResponse(_ fields: [String: String], location: String, bucket: String, key: String, etag: String)
        -> S3Response
    {
        let quoted = "\"\(etag)\""
        if let redirect = fields["success_action_redirect"] ?? fields["redirect"], !redirect.isEmpty,
            redirect.hasPrefix("http://") || redirect.hasPrefix("https://")
        {
            let query =
                "bucket=\(uriEncode(bucket, encodeSlash: true))&key=\(uriEncode(key, encodeSlash: true))&etag=\(uriEncode(quoted, encodeSlash: true))"
            let target = redirect + (redirect.contains("?") ? "&" : "?") + query
            return S3Response(
                status: 303, headers: [Header("Location", HeaderBytes.fromText(target)), Header("ETag", quoted)])
        }
        switch fields["success_action_status"] {
        case "200":
            return S3Response(status: 200, headers: [Header("ETag", quoted), Header("Location", location)])
        case "201":
            var x = XMLWriter()
            x.open("PostResponse")
            x.element("Location", location)
            x.element("Bucket", bucket)
            x.element("Key", key)
            x.element("ETag", quoted)
            x.close("PostResponse")
            var response = S3Response.xml(x.document, status: 201)
            response.headers += [Header("ETag", quoted), Header("Location", location)]
            return response
        default:
            return S3Response(status: 204, headers: [Header("ETag", quoted), Header("Location", location)])
        }
    }
}

/// Counts bytes into another sink and refuses more than `max` (content-length-range).
final class SizeLimitedSink: ByteSink {
    let md5: MD5Sink
    let max: Int64
    private(set) var count: Int64 = 0

    init(_ md5: MD5Sink, max: Int64) {
        self.md5 = md5
        self.max = max
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        count += Int64(bytes.count)
        if count > max {
            throw S3Error(.entityTooLarge, extra: [("MaxSizeAllowed", String(max))])
        }
        try md5.write(bytes)
    }
}
