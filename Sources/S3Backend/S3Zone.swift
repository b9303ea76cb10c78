import Foundation
import GatewayCore
import S3Protocol
import SigV4

/// A zone on any S3-compatible provider (AWS, Ceph RGW, MinIO, Hetzner, UpCloud…). Every
/// request is SigV4-signed with the provider's credentials; bodies stream both ways; provider
/// answers are translated here into StoreErrors, so handlers never see a provider's error.
public struct S3Zone: StorageZone {
    public struct Config: Sendable {
        public var name: String
        /// "https://s3.example.com" or "http://127.0.0.1:9000" (no path).
        public var endpoint: String
        /// The signing region.
        public var region: String
        public var accessKey: String
        public var secretKey: String
        public var pathStyle: Bool
        public var verifyTLS: Bool
        public var caBundle: String?
        public var storageClass: String?
        /// Sign upload payloads (aws-chunked, STREAMING-AWS4-HMAC-SHA256-PAYLOAD) for providers
        /// that refuse UNSIGNED-PAYLOAD.
        public var payloadSigning: Bool

        public init(
            name: String, endpoint: String, region: String, accessKey: String, secretKey: String,
            pathStyle: Bool = true, verifyTLS: Bool = true, caBundle: String? = nil, storageClass: String? = nil,
            payloadSigning: Bool = false
        ) {
            self.payloadSigning = payloadSigning
            self.name = name
            self.endpoint = endpoint
            self.region = region
            self.accessKey = accessKey
            self.secretKey = secretKey
            self.pathStyle = pathStyle
            self.verifyTLS = verifyTLS
            self.caBundle = caBundle
            self.storageClass = storageClass
        }
    }

    public let config: Config
    public var name: String { config.name }
    /// Backend buckets this process has seen exist, so a write checks (or creates) its bucket
    /// only once; a provider answering NoSuchBucket makes the zone forget it (created again on
    /// the next write: provider-side loss heals on demand).
    private let knownBuckets = KnownBuckets()
    private let scheme: String
    private let host: String

    public init(_ config: Config) throws(StoreError) {
        self.config = config
        guard let schemeEnd = config.endpoint.range(of: "://") else {
            throw .internalFailure("zone \(config.name): endpoint \(config.endpoint) has no scheme")
        }
        scheme = String(config.endpoint[..<schemeEnd.lowerBound])
        host = String(config.endpoint[schemeEnd.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    var options: CurlTransfer.Options {
        CurlTransfer.Options(verifyTLS: config.verifyTLS, caBundle: config.caBundle)
    }

    // MARK: requests

    /// Starts a signed request. The payload is UNSIGNED-PAYLOAD: TLS protects it in transit and
    /// the gateway has already verified the client's digests.
    func start(
        _ method: String, bucket: String?, key: String? = nil, query: String = "",
        headers extra: [(String, String)] = [],
        length: Int64? = nil, payload: String = "UNSIGNED-PAYLOAD", signed: ((ChunkSigner) -> Void)? = nil
    ) throws(StoreError) -> CurlTransfer {
        var path = "/"
        var hostHeader = host
        if let bucket {
            if config.pathStyle {
                path += bucket
                if let key { path += "/" + uriEncode(key, encodeSlash: false) }
            } else {
                hostHeader = bucket + "." + host
                if let key { path += uriEncode(key, encodeSlash: false) }
            }
        }
        let rawURI = query.isEmpty ? path : path + "?" + query
        let amzDate = Self.amzDate(Date().timeIntervalSince1970)
        var headers: [(name: String, value: String)] = [
            ("host", hostHeader), ("x-amz-date", amzDate), ("x-amz-content-sha256", payload),
        ]
        headers += extra.map { (name: $0.0.lowercased(), value: $0.1) }
        let (authorization, seed) = Signer.sign(
            method: method, rawURI: rawURI, headers: headers, payloadHash: payload,
            accessKey: config.accessKey, secretKey: config.secretKey, region: config.region, service: "s3",
            amzDate: amzDate)
        if let signed {
            let key = Signer.signingKey(
                secret: config.secretKey, date: String(amzDate.prefix(8)), region: config.region, service: "s3")
            signed(
                ChunkSigner(
                    signingKey: key, amzDate: amzDate,
                    scope: Signer.scope(amzDate: amzDate, region: config.region, service: "s3"), previous: seed))
        }
        let all = headers.filter { $0.name != "host" }.map { ($0.name, $0.value) } + [("Authorization", authorization)]
        do {
            return try CurlTransfer(
                method: method, url: "\(scheme)://\(hostHeader)\(rawURI)", headers: all + [("Host", hostHeader)],
                uploadLength: length, options: options)
        } catch {
            throw error as? StoreError ?? .internalFailure("\(error)")
        }
    }

    /// Runs a request with a small (or no) body to completion.
    func run(
        _ method: String, bucket: String?, key: String? = nil, query: String = "", headers: [(String, String)] = [],
        body: [UInt8] = []
    ) throws(StoreError) -> (Int, [UInt8]) {
        // Requests that change nothing twice (all of these: the bodies are small and complete)
        // are retried once when the zone fails transiently.
        do {
            return try runOnce(method, bucket: bucket, key: key, query: query, headers: headers, body: body)
        } catch {
            guard case .zoneUnavailable = error else { throw error }
            usleep(200_000)
            return try runOnce(method, bucket: bucket, key: key, query: query, headers: headers, body: body)
        }
    }

    private func runOnce(
        _ method: String, bucket: String?, key: String?, query: String, headers: [(String, String)], body: [UInt8]
    ) throws(StoreError) -> (Int, [UInt8]) {
        let t = try start(method, bucket: bucket, key: key, query: query, headers: headers, length: Int64(body.count))
        do {
            if !body.isEmpty { try body.withUnsafeBytes { try t.write($0) } }
            try t.closeUpload()
            let status = try t.waitForResponse()
            return (status, try t.finish())
        } catch {
            t.abort()
            throw error as? StoreError ?? .internalFailure("\(error)")
        }
    }

    /// A provider's answer as a StoreError: 5xx and throttling are the zone being unavailable,
    /// anything else is a failure to log (the client sees InternalError, never the provider's).
    func failure(_ what: String, _ status: Int, _ body: [UInt8]) -> StoreError {
        let code =
            XMLNode.parse(body)?.child("Code")?.text
            ?? "HTTP \(status) \(String(decoding: body.prefix(200), as: UTF8.self))"
        let text = "zone \(name): \(what) answered \(status) \(code)"
        if status >= 500 || status == 429 || code == "SlowDown" { return .zoneUnavailable(text) }
        // The backend bucket vanished at the provider: retryable, it is re-created on demand.
        if code == "NoSuchBucket" { return .zoneUnavailable(text) }
        return .internalFailure(text)
    }

    static func amzDate(_ t: Double) -> String {
        // "2024-01-02T03:04:05.000Z" → "20240102T030405Z"
        let iso = HTTPDate.iso8601(t.rounded(.down))
        return iso.replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
            .replacingOccurrences(of: ".000", with: "")
    }

    // MARK: StorageZone

    public func createBucket(_ backendBucket: String) throws(StoreError) {
        var body: [UInt8] = []
        if config.region != "us-east-1" {
            body = Array(
                "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>\(config.region)</LocationConstraint></CreateBucketConfiguration>"
                    .utf8)
        }
        let (status, response) = try run("PUT", bucket: backendBucket, body: body)
        if status == 200 { return }
        // Ours already (a repeated create, or a create that timed out after succeeding).
        if status == 409, XMLNode.parse(response)?.child("Code")?.text == "BucketAlreadyOwnedByYou" { return }
        throw failure("CreateBucket \(backendBucket)", status, response)
    }

    public func deleteBucket(_ backendBucket: String) throws(StoreError) {
        // Unfinished provider multipart uploads went with the tenant bucket: abort them.
        let (ustatus, ubody) = try run("GET", bucket: backendBucket, query: "uploads")
        if ustatus == 200, let root = XMLNode.parse(ubody) {
            for u in root.children("Upload") {
                guard let key = u.child("Key")?.text, let upload = u.child("UploadId")?.text else { continue }
                _ = try? run(
                    "DELETE", bucket: backendBucket, key: key, query: "uploadId=" + uriEncode(upload, encodeSlash: true)
                )
            }
        }
        // Leftovers (parts of uploads that went with the tenant bucket) are garbage: remove them.
        while true {
            let (status, body) = try run("GET", bucket: backendBucket, query: "list-type=2&max-keys=1000")
            if status == 404 { return }
            guard status == 200, let root = XMLNode.parse(body) else {
                throw failure("ListObjectsV2 \(backendBucket)", status, body)
            }
            let keys = root.children("Contents").compactMap { $0.child("Key")?.text }
            if keys.isEmpty { break }
            for k in keys { try deleteBlob(backendBucket: backendBucket, blob: k) }
        }
        let (status, body) = try run("DELETE", bucket: backendBucket)
        guard status == 204 || status == 200 || status == 404 else {
            throw failure("DeleteBucket \(backendBucket)", status, body)
        }
    }

    public func beginWrite(backendBucket: String, length: Int64?) throws(StoreError) -> any BlobWriter {
        try ensureBucket(backendBucket)
        return try S3BlobWriter(zone: self, backendBucket: backendBucket, length: length)
    }

    /// Checks (once per process) that the backend bucket exists at the provider, creating it if not.
    func ensureBucket(_ backendBucket: String) throws(StoreError) {
        if !knownBuckets.contains(backendBucket) {
            let (status, body) = try run("HEAD", bucket: backendBucket)
            if status == 404 {
                try createBucket(backendBucket)
            } else if status != 200 {
                throw failure("HeadBucket \(backendBucket)", status, body)
            }
            knownBuckets.insert(backendBucket)
        }
    }

    // MARK: multipart uploads assembled by the provider

    /// Handle: "<blob id> <provider upload id>" (neither contains a space).
    public func beginMultipart(backendBucket: String) throws(StoreError) -> String? {
        try ensureBucket(backendBucket)
        let id = S3BlobWriter.newId()
        var headers: [(String, String)] = [("Content-Type", "application/octet-stream")]
        if let sc = config.storageClass { headers.append(("x-amz-storage-class", sc)) }
        let (status, body) = try run("POST", bucket: backendBucket, key: id, query: "uploads", headers: headers)
        guard status == 200, let upload = XMLNode.parse(body)?.child("UploadId")?.text, !upload.isEmpty else {
            throw failure("CreateMultipartUpload \(id)", status, body)
        }
        return id + " " + upload
    }

    static func split(_ handle: String) throws(StoreError) -> (id: String, upload: String) {
        let parts = handle.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw .internalFailure("bad multipart handle") }
        return (parts[0], parts[1])
    }

    public func beginPartWrite(backendBucket: String, multipart: String, partNumber: Int, length: Int64?)
        throws(StoreError) -> any BlobWriter
    {
        guard let length else { throw .internalFailure("provider parts need their length up front") }
        let (id, upload) = try Self.split(multipart)
        let query = "partNumber=\(partNumber)&uploadId=" + uriEncode(upload, encodeSlash: true)
        return S3PartWriter(
            upload: try S3BlobWriter.start(self, backendBucket, id, length: length, query: query), zone: self,
            what: "UploadPart \(partNumber) of \(id)")
    }

    public func completeMultipart(backendBucket: String, multipart: String, parts: [(Int, String)])
        throws(StoreError) -> String
    {
        let (id, upload) = try Self.split(multipart)
        try S3BlobWriter.complete(self, backendBucket, id, uploadId: upload, etags: parts)
        return id
    }

    public func abortMultipart(backendBucket: String, multipart: String) throws(StoreError) {
        let (id, upload) = try Self.split(multipart)
        let (status, body) = try run(
            "DELETE", bucket: backendBucket, key: id, query: "uploadId=" + uriEncode(upload, encodeSlash: true))
        guard status == 204 || status == 200 || status == 404 else {
            throw failure("AbortMultipartUpload \(id)", status, body)
        }
    }

    func forget(_ backendBucket: String) { knownBuckets.remove(backendBucket) }

    public func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        // Nothing has reached the client yet, so a transient failure is retried once.
        do {
            return try openOnce(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
        } catch {
            guard case .zoneUnavailable = error else { throw error }
            usleep(200_000)
            return try openOnce(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
        }
    }

    private func openOnce(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        var headers: [(String, String)] = []
        if offset > 0 || length != nil {
            let last = length.map { String(offset + $0 - 1) } ?? ""
            headers.append(("Range", "bytes=\(offset)-\(last)"))
        }
        if length == 0 { return EmptyReader() }
        let t = try start("GET", bucket: backendBucket, key: blob, headers: headers)
        do {
            try t.closeUpload()
            let status = try t.waitForResponse()
            guard status == 200 || status == 206 else {
                let body = try t.finish()
                if status == 404 { throw StoreError.noSuchKey }
                throw failure("GetObject \(blob)", status, body)
            }
            let size = length ?? (t.header("content-length").flatMap { Int64($0) } ?? 0)
            return S3BlobReader(transfer: t, size: size)
        } catch {
            t.abort()
            throw error as? StoreError ?? .internalFailure("\(error)")
        }
    }

    public func deleteBlob(backendBucket: String, blob: String) throws(StoreError) {
        let (status, body) = try run("DELETE", bucket: backendBucket, key: blob)
        guard status == 204 || status == 200 || status == 404 else {
            throw failure("DeleteObject \(blob)", status, body)
        }
    }

    /// Checks reachability and credentials (ListBuckets); returns the round-trip time.
    public func probe() throws(StoreError) -> Double {
        let t0 = Date().timeIntervalSince1970
        let (status, body) = try run("GET", bucket: nil)
        guard status == 200 else { throw failure("ListBuckets", status, body) }
        return Date().timeIntervalSince1970 - t0
    }
}

private final class EmptyReader: BlobReader {
    let size: Int64 = 0
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { 0 }
}

final class S3BlobReader: BlobReader {
    private let transfer: CurlTransfer
    let size: Int64
    private var remaining: Int64

    init(transfer: CurlTransfer, size: Int64) {
        self.transfer = transfer
        self.size = size
        remaining = size
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try transfer.read(into: buffer)
        remaining -= Int64(n)
        // A provider that ends the body early must not pass for a complete object.
        if n == 0 && remaining > 0 { throw StoreError.zoneUnavailable("object body ended \(remaining) bytes early") }
        return n
    }
}

/// Uploads a blob under a random id. With a known length the bytes stream straight through in
/// one PUT. With an unknown length they go in 8 MiB parts of a provider multipart upload (a body
/// that ends before the first part is full still goes as one PUT): memory stays bounded and
/// nothing is staged whole.
final class S3BlobWriter: BlobWriter {
    static let partSize = 8 * 1024 * 1024

    /// One streaming upload request (a PUT, or an UploadPart).
    struct Upload {
        let transfer: CurlTransfer
        let signer: ChunkSigner?

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            if let signer { try signer.write(bytes, to: transfer) } else { try transfer.write(bytes) }
        }

        /// Ends the body and returns the status, the (small) answer body and the ETag.
        func finish() throws -> (Int, [UInt8], String?) {
            try signer?.finish(to: transfer)
            try transfer.closeUpload()
            let status = try transfer.waitForResponse()
            let etag = transfer.header("etag")
            return (status, try transfer.finish(), etag)
        }
    }

    private let zone: S3Zone
    private let backendBucket: String
    private let id: String
    private var current: Upload?
    private var buffer: [UInt8] = []
    private var uploadId: String?
    private var partETags: [String] = []
    private var closed = false

    init(zone: S3Zone, backendBucket: String, length: Int64?) throws(StoreError) {
        self.zone = zone
        self.backendBucket = backendBucket
        id = Self.newId()
        if let length {
            current = try Self.start(zone, backendBucket, id, length: length)
        } else {
            buffer.reserveCapacity(Self.partSize)
        }
    }

    static func newId() -> String {
        var g = SystemRandomNumberGenerator()
        return String(format: "%016llx%016llx", g.next() as UInt64, g.next() as UInt64)
    }

    /// CompleteMultipartUpload with the parts' (number, provider ETag).
    static func complete(_ zone: S3Zone, _ bucket: String, _ id: String, uploadId: String, etags: [(Int, String)])
        throws(StoreError)
    {
        let parts = etags.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\(XMLWriter.escape($0.1))</ETag></Part>" }
            .joined()
        let (status, body) = try zone.run(
            "POST", bucket: bucket, key: id, query: "uploadId=" + uriEncode(uploadId, encodeSlash: true),
            headers: [("Content-Type", "application/xml")],
            body: Array("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8))
        // S3 may answer 200 and still carry an <Error> document (providers differ in the
        // success root's name, so only the error is recognised).
        guard status == 200, let root = XMLNode.parse(body), root.name != "Error" else {
            throw zone.failure("CompleteMultipartUpload \(id)", status == 200 ? 500 : status, body)
        }
    }

    /// Starts a PUT (or UploadPart when `query` names one) of exactly `length` bytes, framed into
    /// signed aws-chunks when the zone signs payloads.
    static func start(_ zone: S3Zone, _ bucket: String, _ id: String, length: Int64, query: String = "")
        throws(StoreError) -> Upload
    {
        var headers: [(String, String)] = []
        if query.isEmpty {
            headers.append(("Content-Type", "application/octet-stream"))
            if let sc = zone.config.storageClass { headers.append(("x-amz-storage-class", sc)) }
        }
        guard zone.config.payloadSigning else {
            let t = try zone.start("PUT", bucket: bucket, key: id, query: query, headers: headers, length: length)
            return Upload(transfer: t, signer: nil)
        }
        let encoded = ChunkSigner.encodedLength(length)
        headers += [
            ("Content-Encoding", "aws-chunked"), ("x-amz-decoded-content-length", String(length)),
            ("Content-Length", String(encoded)),
        ]
        var signer: ChunkSigner?
        let t = try zone.start(
            "PUT", bucket: bucket, key: id, query: query, headers: headers, length: encoded,
            payload: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", signed: { signer = $0 })
        return Upload(transfer: t, signer: signer)
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let current {
            try current.write(bytes)
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = min(Self.partSize - buffer.count, bytes.count - offset)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if buffer.count == Self.partSize { try flushPart() }
        }
    }

    private var partQuery: String { "uploadId=" + uriEncode(uploadId ?? "", encodeSlash: true) }

    /// Sends the buffer as the next part of the provider multipart upload (started on demand).
    private func flushPart() throws {
        if uploadId == nil {
            var headers: [(String, String)] = [("Content-Type", "application/octet-stream")]
            if let sc = zone.config.storageClass { headers.append(("x-amz-storage-class", sc)) }
            let (status, body) = try zone.run(
                "POST", bucket: backendBucket, key: id, query: "uploads", headers: headers)
            guard status == 200, let upload = XMLNode.parse(body)?.child("UploadId")?.text, !upload.isEmpty else {
                throw zone.failure("CreateMultipartUpload \(id)", status, body)
            }
            uploadId = upload
        }
        let n = partETags.count + 1
        let part = try Self.start(
            zone, backendBucket, id, length: Int64(buffer.count), query: "partNumber=\(n)&" + partQuery)
        try buffer.withUnsafeBytes { try part.write($0) }
        let (status, body, etag) = try part.finish()
        guard status == 200, let etag else { throw zone.failure("UploadPart \(n) of \(id)", status, body) }
        partETags.append(etag)
        buffer.removeAll(keepingCapacity: true)
    }

    func commit() throws(StoreError) -> String {
        do {
            if current == nil && uploadId == nil {
                // Unknown length, but it all fit in one part: a plain PUT.
                let put = try Self.start(zone, backendBucket, id, length: Int64(buffer.count))
                try buffer.withUnsafeBytes { try put.write($0) }
                current = put
            }
            if let current {
                let (status, body, _) = try current.finish()
                closed = true
                guard status == 200 else {
                    if status == 404 { zone.forget(backendBucket) }
                    throw zone.failure("PutObject \(id)", status, body)
                }
                return id
            }
            if !buffer.isEmpty { try flushPart() }
            try Self.complete(
                zone, backendBucket, id, uploadId: uploadId ?? "",
                etags: partETags.enumerated().map { ($0.offset + 1, $0.element) })
            closed = true
            return id
        } catch {
            abort()
            throw error as? StoreError ?? .internalFailure("\(error)")
        }
    }

    func abort() {
        guard !closed else { return }
        closed = true
        current?.transfer.abort()
        if uploadId != nil {
            _ = try? zone.run("DELETE", bucket: backendBucket, key: id, query: partQuery)
        }
    }
}

/// A small shared set, safe across worker threads.
final class KnownBuckets: @unchecked Sendable {
    private var names = Set<String>()
    private let lock = NSLock()

    func contains(_ n: String) -> Bool { lock.withLock { names.contains(n) } }
    func insert(_ n: String) { _ = lock.withLock { names.insert(n) } }
    func remove(_ n: String) { _ = lock.withLock { names.remove(n) } }
}

/// Frames an upload into signed aws-chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): fixed-size
/// chunks, each signed over the previous signature and its own SHA-256, then a signed empty chunk.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
final class ChunkSigner {
    static let chunkSize = 64 * 1024
    let signingKey: [UInt8]
    let amzDate: String
    let scope: String
    private var previous: String
    private var pending: [UInt8] = []

    init(signingKey: [UInt8], amzDate: String, scope: String, previous: String) {
        self.signingKey = signingKey
        self.amzDate = amzDate
        self.scope = scope
        self.previous = previous
        pending.reserveCapacity(Self.chunkSize)
    }

    /// The Content-Length of `length` payload bytes once framed.
    static func encodedLength(_ length: Int64) -> Int64 {
        func frame(_ size: Int64) -> Int64 {
            Int64(String(size, radix: 16).utf8.count) + 17 + 64 + 2 + size + 2
        }
        let full = length / Int64(chunkSize)
        let rest = length % Int64(chunkSize)
        return full * frame(Int64(chunkSize)) + (rest > 0 ? frame(rest) : 0) + frame(0)
    }

    func write(_ bytes: UnsafeRawBufferPointer, to t: CurlTransfer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = min(Self.chunkSize - pending.count, bytes.count - offset)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]))
            offset += n
            if pending.count == Self.chunkSize { try emit(to: t) }
        }
    }

    /// Sends the last partial chunk and the final empty one.
    func finish(to t: CurlTransfer) throws {
        if !pending.isEmpty { try emit(to: t) }
        try emit(to: t)
    }

    private func emit(to t: CurlTransfer) throws {
        let signature = Signer.chunkSignature(
            signingKey: signingKey, amzDate: amzDate, scope: scope, previousSignature: previous, chunk: pending)
        previous = signature
        let head = Array("\(String(pending.count, radix: 16));chunk-signature=\(signature)\r\n".utf8)
        try head.withUnsafeBytes { try t.write($0) }
        try pending.withUnsafeBytes { try t.write($0) }
        try [UInt8](arrayLiteral: 13, 10).withUnsafeBytes { try t.write($0) }
        pending.removeAll(keepingCapacity: true)
    }
}

/// One part of a provider-assembled multipart upload; `commit` returns the provider's ETag.
final class S3PartWriter: BlobWriter {
    private let upload: S3BlobWriter.Upload
    private let zone: S3Zone
    private let what: String
    private var closed = false

    init(upload: S3BlobWriter.Upload, zone: S3Zone, what: String) {
        self.upload = upload
        self.zone = zone
        self.what = what
    }

    deinit { abort() }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try upload.write(bytes) }

    func commit() throws(StoreError) -> String {
        do {
            let (status, body, etag) = try upload.finish()
            closed = true
            guard status == 200, let etag else { throw zone.failure(what, status, body) }
            return etag
        } catch {
            abort()
            throw error as? StoreError ?? .internalFailure("\(error)")
        }
    }

    func abort() {
        if !closed {
            closed = true
            upload.transfer.abort()
        }
    }
}
