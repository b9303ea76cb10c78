import GatewayCore
import Logging
import S3Protocol
import SigV4

extension Handlers {
    /// Every part but the last must be at least this large (S3's rule).
    static let minimumPartSize: Int64 = 5 * 1024 * 1024

    /// POST /bucket/key?uploadId=ID — https://docs.aws.amazon.com/AmazonS3/latest/API/API_CompleteMultipartUpload.html
    /// The object is made of the part blobs themselves: nothing is copied.
    static func completeMultipartUpload(_ r: S3Request, _ ctx: GatewayContext, _ logger: Logger) throws -> S3Response {
        let b = try ownedBucket(r, ctx)
        let upload: UploadRecord
        do {
            upload = try namedUpload(r, b, ctx)
        } catch let e as S3Error where e.code == .noSuchUpload {
            guard let done = try completedBefore(r, b, ctx, parts: { try CompleteRequest.parse(r.body) }) else {
                throw e
            }
            return done
        }
        let condition = try writeCondition(r, bucket: b, key: upload.key, ctx)
        let requested = try CompleteRequest.parse(r.body)

        var byNumber: [Int: PartRecord] = [:]
        for p in try ctx.metadata.parts(uploadId: upload.uploadId, after: 0, limit: 10001) {
            byNumber[p.partNumber] = p
        }
        var used: [PartRecord] = []
        for (i, want) in requested.enumerated() {
            guard let p = byNumber[want.number], p.etag == want.etag else {
                throw S3Error(
                    .invalidPart, extra: [("UploadId", upload.uploadId), ("PartNumber", String(want.number))])
            }
            for (alg, value) in want.checksums where p.checksums[alg] != nil && p.checksums[alg] != value {
                throw S3Error(.invalidPart, "The \(alg) checksum of part \(want.number) does not match.")
            }
            if i < requested.count - 1 && p.size < minimumPartSize {
                throw S3Error(
                    .entityTooSmall,
                    extra: [
                        ("ProposedSize", String(p.size)), ("MinSizeAllowed", String(minimumPartSize)),
                        ("PartNumber", String(p.partNumber)),
                    ])
            }
            used.append(p)
        }

        let etag = multipartETag(used.map(\.etag))
        let size = used.reduce(0) { $0 + $1.size }
        let chosen = MultipartChecksum.of(upload)
        let checksum = chosen.flatMap { MultipartChecksum.object($0.algorithm, $0.type, used) }
        try MultipartChecksum.checkComplete(r, chosen, computed: checksum, size: size)
        var checksums: [String: String] = [:]
        if let chosen, let checksum { checksums[chosen.algorithm.rawValue] = checksum }
        var object = ObjectRecord(
            bucket: b.name, key: upload.key, size: size, etag: etag, lastModified: r.now,
            contentType: upload.contentType, headers: upload.headers, checksums: checksums, zone: upload.zone, blob: "",
            parts: used.map { BlobPart(blob: $0.blob, size: storedPartSize($0.size, upload)) }, tags: upload.tags,
            uploadId: upload.uploadId, partSizes: used.map(\.size))
        object.sse = try completedEnvelope(upload, parts: used)
        object.lock(LockHeaders.effective(upload.lock, bucket: b, now: r.now))
        (object.owner, object.acl) = (upload.owner, upload.acl)
        if !upload.zoneUpload.isEmpty {
            // The provider assembles the listed parts (by its ETags) into one object and drops
            // the rest; the gateway's object is that single blob.
            object.blob = try ctx.zone(upload.zone).completeMultipart(
                backendBucket: ctx.backendBucket(b, in: upload.zone), multipart: upload.zoneUpload,
                parts: used.map { ($0.partNumber, $0.blob) })
            object.parts = []
        }
        object.replicas = try Replication.replicas(
            for: b, count: try Replication.count(tags: object.tags, bucket: b), primary: object.zone, ctx)
        let outcome: PutOutcome
        let allParts: [PartRecord]
        do {
            (outcome, allParts) = try ctx.metadata.completeUploadVersion(
                upload.uploadId, object: object, condition: condition)
        } catch {
            // A retry that raced the original completion gets the same answer, and the
            // zone-assembled blob (named after the upload) is that object's: it stays.
            if error == .noSuchUpload,
                let done = try completedBefore(r, b, ctx, parts: { requested })
            {
                return done
            }
            if !upload.zoneUpload.isEmpty { discardAssembled(object, bucket: b, ctx, logger) }
            throw error
        }
        if upload.zoneUpload.isEmpty {
            let kept = Set(used.map(\.blob))
            removeBlobs(allParts.map(\.blob).filter { !kept.contains($0) }, zone: upload.zone, bucket: b, ctx, logger)
        }
        if let old = outcome.removed { removeBlob(of: old, bucket: b, ctx, logger) }
        return try completeResult(b, outcome.stored, ctx)
    }

    /// The provider-assembled blob of a Complete that did not commit. It is named after the
    /// upload, so a racing Complete of the same upload that did commit references the very same
    /// blob; the retry lookup above can miss that version (a different part list, or buried under
    /// newer versions), so the blob goes only when no recorded version of the key is that
    /// generation. Kept when the lookup itself fails: an orphan the sweep finds is harmless, a
    /// version without its bytes is not.
    static func discardAssembled(
        _ object: ObjectRecord, bucket b: BucketRecord, _ ctx: GatewayContext, _ logger: Logger
    ) {
        do {
            if try ctx.metadata.version(bucket: b.name, key: object.key, generation: object.generation) != nil {
                logger.info("assembled blob \(object.generation) of \(object.key) belongs to a committed version: kept")
                return
            }
        } catch {
            logger.warning("could not check assembled blob \(object.generation) of \(object.key), kept: \(error)")
            return
        }
        removeBlob(of: object, bucket: b, ctx, logger)
    }

    /// A retried Complete of an upload that already became a version of its key gets the same
    /// answer again, as S3 gives it (SDKs retry Complete after a timeout), even when a later
    /// write made that version noncurrent. The retry must name the same parts: their ETags give
    /// the object's ETag. nil when the version is gone (replaced in an unversioned bucket,
    /// deleted) or never existed: the upload is then simply gone.
    static func completedBefore(
        _ r: S3Request, _ b: BucketRecord, _ ctx: GatewayContext, parts: () throws -> [CompleteRequest.Part]
    ) throws -> S3Response? {
        guard let id = r.query["uploadId"], !id.isEmpty, let key = r.key,
            let object = try completedVersion(uploadId: id, bucket: b, key: key, ctx)
        else { return nil }
        guard multipartETag(try parts().map(\.etag)) == object.etag else { return nil }
        return try completeResult(b, object, ctx)
    }

    /// The version of `key` completed from upload `id`: the current object, or (versioned
    /// buckets) one of the key's `limit` newest versions (read in pages, newest first, until
    /// found). A retried Complete comes soon after the first, so its version is near the top;
    /// one buried under more writes than that is answered as gone, not searched for through
    /// every version of the key.
    static func completedVersion(
        uploadId id: String, bucket b: BucketRecord, key: String, _ ctx: GatewayContext, limit: Int = 1000
    ) throws -> ObjectRecord? {
        if let o = try ctx.metadata.object(bucket: b.name, key: key), o.uploadId == id { return o }
        guard b.versioning != .unversioned else { return nil }
        // The key's versions come first under the prefix `key` (it sorts before every longer key).
        var query = VersionListQuery(prefix: key, maxKeys: min(limit, 100))
        var seen = 0
        while seen < limit {
            let page = try ctx.metadata.listVersions(bucket: b.name, query: query)
            for e in page.entries {
                guard e.record.key == key, seen < limit else { return nil }
                seen += 1
                if !e.record.isDeleteMarker && e.record.uploadId == id { return e.record }
            }
            guard page.isTruncated, let k = page.nextKeyMarker, k == key, let v = page.nextVersionIdMarker else {
                return nil
            }
            query.keyMarker = k
            query.versionIdMarker = v
            query.maxKeys = min(limit - seen, 100)
        }
        return nil
    }

    /// ETag of a multipart object: MD5 of the concatenated binary part MD5s, then "-<count>".
    static func multipartETag(_ partETags: [String]) -> String {
        var md5 = Digest(.md5)
        for e in partETags { md5.update(hexDecode(e) ?? []) }
        return hexEncode(md5.finalize()) + "-\(partETags.count)"
    }

    /// The answer of a Complete, first or retried: the same body and headers (SSE ones too).
    static func completeResult(_ b: BucketRecord, _ object: ObjectRecord, _ ctx: GatewayContext) throws
        -> S3Response
    {
        var x = XMLWriter()
        x.open("CompleteMultipartUploadResult", namespace: XMLWriter.s3Namespace)
        x.element("Location", "/\(b.displayName)/\(uriEncode(object.key, encodeSlash: false))")
        x.element("Bucket", b.displayName)
        x.element("Key", object.key)
        x.element("ETag", "\"\(object.etag)\"")
        for (alg, value) in object.checksums.sorted(by: { $0.key < $1.key }) {
            if let a = ChecksumAlgorithm(rawValue: alg) { x.element("Checksum" + a.algorithmName, value) }
        }
        if let value = object.checksums.values.first {
            x.element("ChecksumType", ChecksumType(storedValue: value).rawValue)
        }
        x.close("CompleteMultipartUploadResult")
        var response = S3Response.xml(x.document)
        response.headers += versionHeaders(b, object)
        response.headers += expirationHeaders(b, object)
        if let envelope = try SSEEnvelope.decode(object.sse) {
            response.headers +=
                ObjectEncryption.answer(envelope, tenant: b.tenant, customerKeyMD5: nil, ctx.keys).headers
        }
        return response
    }

    /// A part blob's size in its zone: an encrypted upload's parts are each a stream.
    static func storedPartSize(_ plain: Int64, _ upload: UploadRecord) -> Int64 {
        upload.sse.isEmpty ? plain : EncryptionLayout.storedSize(plain: plain)
    }

    /// The completed object's envelope: the upload's, with the tag digest of its streams where
    /// the part ETags are their tag digests (SSE-KMS, SSE-C); SSE-S3 part ETags are plaintext
    /// MD5s, so none is recorded — its copies are authenticated with the key instead
    /// (`StoredCopyCheck`), and the keyless check refuses an envelope without one.
    static func completedEnvelope(_ upload: UploadRecord, parts: [PartRecord]) throws -> String {
        guard var e = try SSEEnvelope.decode(upload.sse) else { return "" }
        e.parts = parts.map(\.partNumber)
        if e.mode != .s3 {
            e.tagDigest = DataKey.combinedTagDigest(parts.map { hexDecode($0.etag) ?? [] })
        }
        return e.encoded
    }
}

/// The CompleteMultipartUpload body: parts in the order given, ETags normalised (quoted,
/// unquoted or XML-escaped quotes all name the same part).
struct CompleteRequest {
    struct Part {
        var number: Int
        var etag: String
        var checksums: [String: String]
    }

    static let maxBodySize = 4 * 1024 * 1024

    static func parse(_ body: any ByteSource) throws -> [Part] {
        guard let bytes = try body.readAll(limit: maxBodySize) else {
            throw S3Error(.malformedXML, "The XML you provided was too large.")
        }
        guard let root = XMLNode.parse(bytes), root.name == "CompleteMultipartUpload" else {
            throw S3Error(.malformedXML)
        }
        let nodes = root.children("Part")
        guard !nodes.isEmpty, nodes.count <= 10000 else { throw S3Error(.malformedXML) }
        var parts: [Part] = []
        for node in nodes {
            guard let n = node.child("PartNumber").flatMap({ Int($0.text.trimmingCharacters(in: .whitespaces)) }),
                let rawTag = node.child("ETag")?.text
            else { throw S3Error(.malformedXML) }
            var tag = rawTag.trimmingCharacters(in: .whitespacesAndNewlines)
            if tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 { tag = String(tag.dropFirst().dropLast()) }
            var checksums: [String: String] = [:]
            for alg in ChecksumAlgorithm.allCases {
                if let v = node.child("Checksum" + alg.algorithmName)?.text { checksums[alg.rawValue] = v }
            }
            if let last = parts.last, n <= last.number { throw S3Error(.invalidPartOrder) }
            parts.append(Part(number: n, etag: tag.lowercased(), checksums: checksums))
        }
        return parts
    }
}
