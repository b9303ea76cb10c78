import GatewayCore
import Logging
import S3Protocol
import SigV4

/// A migration's writes, as requests of `principal` through the S3 router: the same permission
/// check, residency, replica-count, replication queue and stored headers as a client's
/// CreateBucket, PutObject or multipart upload. Only the signature check is skipped — the run
/// acts as a principal it was given on the gateway host, not as one a request proved.
struct GatewayWrites {
    let ctx: GatewayContext
    let principal: Principal
    /// Whose the writes are in the audit chain (`web`: a run started through the API; `cli`).
    var origin: RequestTrace.Origin = .cli
    let logger: Logger

    func send(
        _ method: String, bucket: String, key: String? = nil, query: [String: String] = [:],
        headers: [(name: String, value: String)] = [], body: any ByteSource = MemorySource([])
    ) throws -> S3Response {
        var uri = "/" + uriEncode(bucket, encodeSlash: true)
        if let key { uri += "/" + uriEncode(key, encodeSlash: false) }
        if !query.isEmpty {
            uri +=
                "?"
                + query.sorted { $0.key < $1.key }.map { $0.value.isEmpty ? $0.key : "\($0.key)=\($0.value)" }.joined(
                    separator: "&")
        }
        let head = RequestHead(
            method: method, rawURI: uri, headers: headers.map { (name: $0.name.lowercased(), value: $0.value) })
        var request = S3Request(
            head: head, requestId: S3Gateway.newRequestId(),
            auth: AuthContext(accessKey: principal.accessKey, method: .v4Header, payload: .unsigned),
            principal: principal, bucketName: bucket, key: key, query: query, body: body, now: ctx.clock.now())
        // Streamed bytes whose digest is known only at their end: S3's digest rule for locked
        // writes (Handlers.requireLockDigest) does not apply to them.
        request.inProcess = true
        // Policies see the gateway's own writes as from the loopback address (docs/ACCESS.md).
        request.remoteAddress = "127.0.0.1"
        // Each write is a request of its own in the audit chain (and the copy threads' traces
        // are theirs alone: a trace is mutable): the router names its operation.
        let trace = RequestTrace(requestId: request.requestId, origin: origin, started: request.now)
        trace.tenant = principal.tenant
        trace.accessKey = principal.accessKey
        trace.method = method
        trace.bucket = request.bucketDisplayName
        trace.bucketTenant = request.bucketTenant
        trace.key = key
        do {
            return try trace.run { () throws -> S3Response in try S3Router.route(request, ctx, logger) }
        } catch let e as StoreError {
            // As a client would see it (a failed write condition is 412, a zone away is 503).
            throw S3Gateway.s3Error(e, logger: logger)
        }
    }

    /// CreateBucket with the constraint; an existing bucket of this principal with the same
    /// constraint is fine (copies are added to it), anything else is the reason it cannot be used.
    func ensureBucket(_ name: String, constraint: String) throws -> BucketRecord {
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>\(XMLWriter.escape(constraint))</LocationConstraint></CreateBucketConfiguration>"
                .utf8)
        do {
            _ = try send("PUT", bucket: name, body: MemorySource(body))
        } catch let e as S3Error where e.code == .bucketAlreadyOwnedByYou {
            // Answered for any bucket of the tenant; whose it is decides.
        }
        let qualified = TenantRecord.qualifiedBucket(tenant: principal.tenant, name: name)
        guard let b = try ctx.metadata.bucket(named: qualified) else {
            throw MigrationError(.conflict, "the bucket \(name) vanished right after it was created")
        }
        guard b.owner == principal.user.id else {
            throw MigrationError(.conflict, "the bucket \(name) exists and belongs to another user")
        }
        guard MigrationPlanner.normalized(b.locationConstraint) == MigrationPlanner.normalized(constraint) else {
            throw MigrationError(
                .conflict,
                "the bucket \(name) exists with LocationConstraint '\(b.locationConstraint)', not '\(constraint)'")
        }
        return b
    }

    /// Raises the bucket's replica-count to `count`, as the admin API sets it — by a gateway
    /// administrator only (copies cost the operator). Never lowers it: a count someone chose
    /// above the plan's stays (the copies it keeps are not the migration's to drop).
    func ensureReplicaCount(_ b: BucketRecord, _ count: Int) throws {
        if b.replicaCount >= count { return }
        guard principal.maySetReplicaCount(ofTenant: b.tenant) else {
            throw MigrationError(
                .accessDenied,
                "the plan wants \(count) copies of each object in \(b.displayName), which has \(b.replicaCount); "
                    + "a bucket's replica-count is set by the gateway's administrators")
        }
        _ = try ReplicaCount.set(bucket: b.name, count: count, ctx)
    }

    /// PutObject of `body`, `size` bytes, with the headers the source stored.
    func putObject(
        bucket: String, key: String, size: Int64, headers: [(name: String, value: String)], body: any ByteSource
    )
        throws -> String
    {
        let r = try send(
            "PUT", bucket: bucket, key: key, headers: headers + [("content-length", String(size))], body: body)
        return Self.etag(r)
    }

    /// A multipart upload of `body` in parts of `partSize`: for objects above the single-PUT
    /// limit. `headers` go with the Create, `completeHeaders` (a write condition, a checksum to
    /// verify) with the Complete, which commits; `beforeComplete` gets the object's ETag to be,
    /// computed from the parts' ETags. An upload that fails part way is aborted (its parts are
    /// removed).
    func multipartUpload(
        bucket: String, key: String, size: Int64, partSize: Int64, headers: [(name: String, value: String)],
        completeHeaders: [(name: String, value: String)] = [], body: any ByteSource,
        beforeComplete: (String) throws -> Void
    ) throws -> String {
        let created = try send("POST", bucket: bucket, key: key, query: ["uploads": ""], headers: headers)
        guard case .bytes(let xml) = created.body, let root = XMLNode.parse(xml),
            let uploadId = root.child("UploadId")?.text
        else { throw MigrationError(.conflict, "CreateMultipartUpload answered without an UploadId") }
        do {
            var etags: [String] = []
            var offset: Int64 = 0
            while offset < size {
                let length = min(partSize, size - offset)
                let part = try send(
                    "PUT", bucket: bucket, key: key,
                    query: ["partNumber": String(etags.count + 1), "uploadId": uploadId],
                    headers: [("content-length", String(length))], body: LimitedSource(body, length: length))
                etags.append(Self.etag(part))
                offset += length
            }
            // The source's last read (0) runs its checks: nothing is completed before they pass.
            var probe = [UInt8](repeating: 0, count: 1)
            guard try probe.withUnsafeMutableBytes({ try body.read(into: $0) }) == 0 else {
                throw CopyFailure.mismatch("the source sent more than its \(size) bytes")
            }
            try beforeComplete(Handlers.multipartETag(etags))
            var x = XMLWriter()
            x.open("CompleteMultipartUpload")
            for (i, e) in etags.enumerated() {
                x.open("Part")
                x.element("PartNumber", String(i + 1))
                x.element("ETag", "\"\(e)\"")
                x.close("Part")
            }
            x.close("CompleteMultipartUpload")
            let done = try send(
                "POST", bucket: bucket, key: key, query: ["uploadId": uploadId], headers: completeHeaders,
                body: MemorySource(x.document))
            guard case .bytes(let answer) = done.body, let r = XMLNode.parse(answer), let etag = r.child("ETag")?.text
            else { throw MigrationError(.conflict, "CompleteMultipartUpload answered without an ETag") }
            return etag.trimmingCharacters(in: ["\""])
        } catch {
            _ = try? send("DELETE", bucket: bucket, key: key, query: ["uploadId": uploadId])
            throw error
        }
    }

    static func etag(_ r: S3Response) -> String {
        (r.headers.first { $0.name.lowercased() == "etag" }?.value ?? "").trimmingCharacters(in: ["\""])
    }
}
