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
        /// How long the provider may keep any request waiting.
        public var timeouts: ZoneTimeouts

        public init(
            name: String, endpoint: String, region: String, accessKey: String, secretKey: String,
            pathStyle: Bool = true, verifyTLS: Bool = true, caBundle: String? = nil, storageClass: String? = nil,
            payloadSigning: Bool = false, timeouts: ZoneTimeouts = ZoneTimeouts()
        ) {
            self.payloadSigning = payloadSigning
            self.timeouts = timeouts
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
    let transport: any HTTPTransport
    /// Dates every signature.
    let clock: any Clock
    private let signer: S3RequestSigner
    /// Seconds to wait before the one retry of a request that failed transiently.
    let retryPause: Double

    public init(_ config: Config) throws(StoreError) {
        try self.init(
            config, transport: CurlTransport(options: .init(verifyTLS: config.verifyTLS, caBundle: config.caBundle)),
            clock: SystemClock())
    }

    init(_ config: Config, transport: any HTTPTransport, clock: any Clock, retryPause: Double = 0.2)
        throws(StoreError)
    {
        self.config = config
        self.transport = transport
        self.clock = clock
        self.retryPause = retryPause
        signer = S3RequestSigner(
            accessKey: config.accessKey, secretKey: config.secretKey, sessionToken: nil, clock: clock)
        guard let schemeEnd = config.endpoint.range(of: "://") else {
            throw .internalFailure("zone \(config.name): endpoint \(config.endpoint) has no scheme")
        }
        scheme = String(config.endpoint[..<schemeEnd.lowerBound])
        host = String(config.endpoint[schemeEnd.upperBound...]).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
    }

    // MARK: requests

    /// Builds and signs a request. The payload is UNSIGNED-PAYLOAD unless `payload` says
    /// otherwise: TLS protects it in transit and the gateway has already verified the client's
    /// digests. Returns the request, its signature (the seed of signed chunks) and its date.
    func sign(
        _ method: String, bucket: String?, key: String? = nil, query: String = "",
        headers extra: [(String, String)] = [], length: Int64? = nil, payload: String = "UNSIGNED-PAYLOAD",
        assembles: Bool = false
    ) -> (request: HTTPRequest, signature: String, amzDate: String) {
        let (hostHeader, path) = S3RequestSigner.address(
            host: host, bucket: bucket, key: key, pathStyle: config.pathStyle)
        return signer.sign(
            method, scheme: scheme, host: hostHeader, rawURI: query.isEmpty ? path : path + "?" + query,
            region: config.region, headers: extra, payload: payload, length: length,
            timeouts: assembles ? config.timeouts.forAssembly : config.timeouts.forRequest(bodyLength: length ?? 0))
    }

    /// Starts a signed request with an UNSIGNED-PAYLOAD body of `length` bytes (or none).
    /// `assembles`: the provider builds an object from parts before it answers.
    func start(
        _ method: String, bucket: String?, key: String? = nil, query: String = "",
        headers: [(String, String)] = [], length: Int64? = nil, assembles: Bool = false
    ) throws(StoreError) -> any HTTPExchange {
        try transport.start(
            sign(method, bucket: bucket, key: key, query: query, headers: headers, length: length, assembles: assembles)
                .request)
    }

    /// Runs a request with a small (or no) body to completion. With `answerLimit` the whole
    /// answer is returned or the request fails (a listing must not be parsed cut short);
    /// without, the answer is kept up to 64 KiB (an error document).
    func run(
        _ method: String, bucket: String?, key: String? = nil, query: String = "", headers: [(String, String)] = [],
        body: [UInt8] = [], answerLimit: Int? = nil, assembles: Bool = false
    ) throws(StoreError) -> (Int, [UInt8]) {
        // Requests that change nothing twice (all of these: the bodies are small and complete)
        // are retried once when the zone fails transiently.
        try retryingOnce {
            try runOnce(
                method, bucket: bucket, key: key, query: query, headers: headers, body: body, answerLimit: answerLimit,
                assembles: assembles)
        }
    }

    /// Runs `attempt`, and once more after a pause when the zone failed fast (unreachable,
    /// 5xx). A timeout is not repeated: the client has already waited one bound for it.
    func retryingOnce<T>(_ attempt: () throws -> T) throws(StoreError) -> T {
        do {
            return try attempt()
        } catch {
            let failure = zoneError(error)
            guard case .zoneUnavailable = failure, !(error is ProviderTimeout) else { throw failure }
            usleep(useconds_t(retryPause * 1_000_000))
            do {
                return try attempt()
            } catch {
                throw zoneError(error)
            }
        }
    }

    /// Anything a transport or exchange threw, as the StoreError handlers see: a timeout or an
    /// unreachable provider becomes `.zoneUnavailable` naming this zone.
    func zoneError(_ error: any Error) -> StoreError {
        switch error {
        case let timeout as ProviderTimeout:
            return .zoneUnavailable("zone \(name): \(timeout.description)")
        case StoreError.zoneUnavailable(let text) where !text.hasPrefix("zone "):
            return .zoneUnavailable("zone \(name): \(text)")
        case let e as StoreError:
            return e
        default:
            return .internalFailure("zone \(name): \(error)")
        }
    }

    private func runOnce(
        _ method: String, bucket: String?, key: String?, query: String, headers: [(String, String)], body: [UInt8],
        answerLimit: Int?, assembles: Bool
    ) throws -> (Int, [UInt8]) {
        let t = try start(
            method, bucket: bucket, key: key, query: query, headers: headers, length: Int64(body.count),
            assembles: assembles)
        do {
            if !body.isEmpty { try body.withUnsafeBytes { try t.write($0) } }
            try t.closeUpload()
            let status = try t.waitForResponse()
            guard let answerLimit, status == 200 else { return (status, try t.finish()) }
            guard let answer = try t.readWhole(limit: answerLimit) else {
                t.abort()
                throw StoreError.internalFailure(
                    "zone \(name): the answer to \(method) \(bucket ?? "/")?\(query) is larger than \(answerLimit) bytes"
                )
            }
            return (status, answer)
        } catch {
            t.abort()
            throw error
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
                try? abortUpload(backendBucket, key, uploadId: upload)
            }
        }
        // Leftovers (parts of uploads that went with the tenant bucket) are garbage: remove them.
        while true {
            let leftovers = try listBlobs(backendBucket: backendBucket, after: "", limit: 1000)
            if leftovers.isEmpty { break }
            for blob in leftovers { try deleteBlob(backendBucket: backendBucket, blob: blob.id) }
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

    func forget(_ backendBucket: String) { knownBuckets.remove(backendBucket) }

    public func open(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws(StoreError)
        -> any BlobReader
    {
        // Nothing has reached the client yet, so a transient failure is retried once.
        try retryingOnce {
            try openOnce(backendBucket: backendBucket, blob: blob, offset: offset, length: length)
        }
    }

    private func openOnce(backendBucket: String, blob: String, offset: Int64, length: Int64?) throws -> any BlobReader {
        var headers: [(String, String)] = []
        if offset > 0 || length != nil {
            let last = length.map { String(offset + $0 - 1) } ?? ""
            headers.append(("Range", "bytes=\(offset)-\(last)"))
        }
        if length == 0 { return EmptyBlobReader() }
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
            return S3BlobReader(transfer: t, size: size, zone: self)
        } catch {
            t.abort()
            throw error
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
        let t0 = clock.now()
        let (status, body) = try run("GET", bucket: nil)
        guard status == 200 else { throw failure("ListBuckets", status, body) }
        return clock.now() - t0
    }
}
