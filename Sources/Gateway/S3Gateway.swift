import Foundation
import GatewayCore
import Logging
import S3Protocol
import SigV4
import Synchronization

/// The entry point of a request inside a worker thread: CGI params in, one response out.
/// Every failure is converted to S3 error XML here and nowhere else.
public struct S3Gateway: Sendable {
    let ctx: GatewayContext

    public init(context: GatewayContext) { ctx = context }

    public func handle(params: [String: String], body: any ByteSource, response: any ResponseSink) {
        let started = ctx.clock.now()
        let requestId = Self.newRequestId()
        let head = Self.requestHead(params)
        // The Host header decides the addressing once: the admin API and STS own only
        // path-style requests, and S3 takes its bucket from it.
        let hostBucket = Self.virtualHostBucket(head.header("host"), baseDomains: ctx.baseDomains)
        let rawPath = head.rawPath
        if let probe = Probe(rawPath, virtualHosted: hostBucket != nil) {
            return answer(probe, head, params: params, body: body, requestId: requestId, to: response)
        }
        let origin: RequestTrace.Origin =
            AdminAPI.owns(rawPath, virtualHosted: hostBucket != nil)
            ? .admin
            : WebAPI.owns(rawPath, virtualHosted: hostBucket != nil)
                ? .web : STS.owns(head, virtualHosted: hostBucket != nil) ? .sts : .s3
        let trace = RequestTrace(requestId: requestId, origin: origin, started: started)
        trace.method = head.method
        trace.clientAddress = params["REMOTE_ADDR"] ?? ""
        trace.userAgent = head.header("user-agent") ?? ""
        let counted = TracedSource(body, trace)
        let tracked = HeadTrackingSink(response)
        for observer in ctx.observers { observer.requestStarted(trace) }
        trace.run {
            trace.status = serve(
                head, origin: origin, hostBucket: hostBucket, params: params, body: counted, requestId: requestId,
                started: started, to: tracked)
        }
        trace.finished = ctx.clock.now()
        trace.bytesOut = tracked.bytesSent
        for observer in ctx.observers { observer.requestFinished(trace) }
        // Only now the body's last byte: the client has its whole answer once it is recorded.
        tracked.finish()
    }

    /// Answers one request of whichever API owns it; returns the status sent.
    private func serve(
        _ head: RequestHead, origin: RequestTrace.Origin, hostBucket: String?, params: [String: String],
        body: any ByteSource, requestId: String, started: Double, to tracked: HeadTrackingSink
    ) -> Int {
        let logger = ctx.logger
        switch origin {
        case .admin, .web:
            let status =
                origin == .admin
                ? handleJSON(
                    AdminAPI.table, errorBody: \.json, acceptsSessions: false, head: head, body: body,
                    requestId: requestId, now: started, to: tracked, logger: logger)
                : handleJSON(
                    WebAPI.table, errorBody: WebAPI.errorBody, acceptsSessions: true, head: head, body: body,
                    requestId: requestId, now: started, to: tracked, logger: logger)
            logger.debug("\(head.method) \(head.rawPath) \(status)")
            return status
        case .sts:
            let status = handleSTS(
                head: head, body: body, requestId: requestId, now: started, to: tracked, logger: logger)
            logger.debug("\(head.method) \(head.rawPath) STS \(status)")
            return status
        case .s3, .agent, .cli:
            break
        }
        var status = 500
        // A preflight is answered before authentication (S3Gateway+CORS.swift); every other
        // answer to a request with `Origin` carries the headers of the CORS rule matching it in
        // the bucket as the request loaded it, when it arrived (a DeleteBucketCors answer too).
        let isPreflight = head.method == "OPTIONS"
        var answered: AnsweredBucket?
        do {
            let result: S3Response
            if isPreflight {
                result = try preflight(head, hostBucket: hostBucket, now: started)
            } else {
                let request = try prepare(
                    head: head, hostBucket: hostBucket, params: params, body: body, requestId: requestId, now: started)
                answered = request.answered
                result = try S3Router.route(request, ctx, logger)
            }
            status = result.status
            let cors = corsHeaders(head, bucket: answered?.bucket)
            _ = try send(result.adding(cors), head: head, requestId: requestId, to: tracked)
            // A preflight has no use for a body; one sent anyway is drained as after an error.
            if isPreflight { drain(body, limit: 1 << 20) }
        } catch  where tracked.headSent {
            // The status line is out: all we can do is cut the body short, which the client
            // sees as a truncated transfer (Content-Length not reached), never as success.
            logger.error("response to \(head.method) \(head.rawPath) failed after its headers: \(error)")
        } catch {
            let s3 = Self.s3Error(error, logger: logger)
            status = s3.code.status
            RequestTrace.current?.errorCode = s3.code.code
            let cors = corsHeaders(head, bucket: answered?.bucket)
            sendError(s3, head: head, requestId: requestId, to: tracked, extraHeaders: cors)
            // Whatever the client still sends after an early error is drained so nginx can
            // deliver our answer instead of a reset; bounded to keep hostile bodies cheap.
            drain(body, limit: 1 << 20)
        }
        let ms = Int((ctx.clock.now() - started) * 1000)
        // nginx keeps the access log; this line is for tracing a request id through the worker.
        logger.debug("\(head.method) \(head.rawPath) \(status) \(tracked.bytesSent)B \(ms)ms")
        return status
    }

    /// Unique, not secret: a per-process random prefix and a counter (no syscall per request).
    static func newRequestId() -> String {
        let n = requestCounter.add(1, ordering: .relaxed).newValue
        let s = String(requestIdPrefix &+ n, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 16 - s.count)) + s
    }

    private static let requestCounter = Atomic<UInt64>(0)
    private static let requestIdPrefix: UInt64 = {
        var g = SystemRandomNumberGenerator()
        return g.next() & 0xFFFF_FFFF_0000_0000
    }()

    /// CGI params → the request as the client sent it. Header names come back lowercased with
    /// dashes; REQUEST_URI is the raw URI nginx received (signatures are over it).
    static func requestHead(_ params: [String: String]) -> RequestHead {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(params.count)
        for (k, v) in params {
            if ByteSearch.hasPrefix(k, "HTTP_") {
                headers.append((headerName(fromCGI: k), v))
            } else if k == "CONTENT_TYPE" && !v.isEmpty && params["HTTP_CONTENT_TYPE"] == nil {
                // nginx sends these both as CGI variables and as HTTP_*; keep one of each.
                headers.append(("content-type", v))
            } else if k == "CONTENT_LENGTH" && !v.isEmpty && params["HTTP_CONTENT_LENGTH"] == nil {
                headers.append(("content-length", v))
            }
        }
        return RequestHead(
            method: params["REQUEST_METHOD"] ?? "GET", rawURI: params["REQUEST_URI"] ?? "/", headers: headers)
    }

    /// `HTTP_X_AMZ_DATE` → `x-amz-date`, byte by byte (this runs for every header of every request).
    static func headerName(fromCGI k: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(k.utf8.count - 5)
        for c in k.utf8.dropFirst(5) {
            switch c {
            case UInt8(ascii: "_"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): out.append(c + 32)
            default: out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func prepare(
        head: RequestHead, hostBucket: String?, params: [String: String], body: any ByteSource, requestId: String,
        now: Double
    ) throws -> S3Request {
        let auth: AuthContext
        do {
            auth = try ctx.verifier.authenticate(head, now: now, virtualHostedBucket: hostBucket)
        } catch {
            ctx.logger.debug(
                "auth failed: \(error.code) \(head.method) \(head.rawPath) signed-header names: \(head.headers.map(\.name))"
            )
            RequestTrace.current?.authFailure = error.code.code
            RequestTrace.current?.claimedAccessKey = head.claimedAccessKey
            throw error
        }
        let (bucket, key) = try Self.address(head.rawPath, hostBucket: hostBucket)
        // An unsigned request goes on as the anonymous caller: what it may do is the bucket's
        // policy and ACLs' business (S3Router.authorize). A browser POST form carries its own
        // signature (over the policy) in the body, which the handler verifies.
        let trace = RequestTrace.current
        trace?.bucket = bucket
        trace?.key = key
        let principal: Principal?
        do {
            principal = auth.method == .anonymous ? nil : try Self.principal(auth, head: head, ctx: ctx, now: now)
        } catch {
            trace?.authFailure = error.code.code
            trace?.claimedAccessKey = auth.accessKey
            throw error
        }
        trace?.tenant = principal?.tenant
        trace?.accessKey = principal?.accessKey
        if let bucket {
            // The bucket owner's view of the log (OplogQuery): its tenant and bare name, whoever asks.
            let (named, name) = BucketAddress.split(bucket)
            trace?.bucket = name
            trace?.bucketTenant = named ?? principal?.tenant ?? TenantRecord.defaultID
        }
        // A name given twice keeps its first value: assigned last to last, one hash each.
        var query: [String: String] = [:]
        query.reserveCapacity(head.queryItems.count)
        for item in head.queryItems.reversed() { query[item.name] = item.value }
        let counted = CountingSource(inner: body, expected: head.header("content-length").flatMap { Int64($0) })
        var request = S3Request(
            head: head, requestId: requestId, auth: auth, principal: principal, bucketName: bucket, key: key,
            query: query, body: counted, now: now)
        request.scheme = Self.isSecure(params) ? "https" : "http"
        request.virtualHosted = hostBucket != nil
        // nginx's own peer address; X-Forwarded-For is the client's claim and never trusted.
        request.remoteAddress = params["REMOTE_ADDR"] ?? ""
        request.tlsProtocol = params["SSL_PROTOCOL"] ?? ""
        request.accelAllowed =
            params[AccelRedirect.acceptParam] == "1" && params[AccelRedirect.noAccelParam] == nil
        return request
    }

    /// Whether nginx received the request over TLS: its `HTTPS` param ("on", sent only then) or
    /// `REQUEST_SCHEME` (nginx/s3gw.conf passes both).
    static func isSecure(_ params: [String: String]) -> Bool {
        params["HTTPS"].map { $0.lowercased() == "on" } == true || params["REQUEST_SCHEME"]?.lowercased() == "https"
    }

    /// The user behind a verified signature, and for temporary credentials the token check:
    /// the token must be the one issued with the key (else InvalidToken) and not expired (else
    /// ExpiredToken); a permanent key must not carry one.
    static func principal(_ auth: AuthContext, head: RequestHead, ctx: GatewayContext, now: Double) throws(S3Error)
        -> Principal
    {
        try ctx.identities.principal(auth.accessKey, token: sessionToken(head), now: now)
    }

    /// The session token a request carries: in a header, or in a query as
    /// X-Amz-Security-Token (SigV4) or x-amz-security-token (SigV2, botocore).
    static func sessionToken(_ head: RequestHead) -> String? {
        head.header("x-amz-security-token")
            ?? head.queryItems.first {
                // The length first: lowercasing every parameter's name allocates.
                $0.name.utf8.count == 20 && $0.name.lowercased() == "x-amz-security-token"
            }?.value
    }

    /// The bucket named by a `bucket.<base domain>[:port]` Host header, if any.
    static func virtualHostBucket(_ host: String?, baseDomains: [String]) -> String? {
        guard let host, !baseDomains.isEmpty else { return nil }
        // On bytes: Character scans and Unicode case mapping cost every request more than the
        // rest of addressing. Host names are ASCII; one that is not is lower-cased as text first.
        var u = Array((HeaderBytes.isASCII(host) ? host : host.lowercased()).utf8)
        for i in u.indices where u[i] >= UInt8(ascii: "A") && u[i] <= UInt8(ascii: "Z") { u[i] += 32 }
        // Only a port follows the last `:` (a `tenant:bucket` label is the bucket's, refused later).
        if let colon = u.lastIndex(of: UInt8(ascii: ":")), u.last != UInt8(ascii: "]"),
            u[(colon + 1)...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            u.removeSubrange(colon...)
        }
        for d in baseDomains {
            let suffix = Array(("." + d).utf8)
            if u.count > suffix.count, u[(u.count - suffix.count)...].elementsEqual(suffix) {
                return String(decoding: u[..<(u.count - suffix.count)], as: UTF8.self)
            }
        }
        return nil
    }

    /// Virtual-host style (`bucket.<domain>` + `/key…`) or path style: `/`, `/bucket`,
    /// `/bucket/`, `/bucket/key…`, where the bucket may be `tenant:bucket`.
    static func address(_ rawPath: String, hostBucket: String? = nil) throws(S3Error) -> (String?, String?) {
        guard rawPath.hasPrefix("/") else { throw S3Error(.invalidURI) }
        if let hostBucket {
            // `tenant:bucket` is path style's alone: a host label never names another tenant.
            if hostBucket.contains(":") { throw S3Error(.invalidBucketName, extra: [("BucketName", hostBucket)]) }
            let rawKey = rawPath.dropFirst()
            if rawKey.isEmpty { return (hostBucket, nil) }
            guard let key = percentDecode(String(rawKey)) else { throw S3Error(.invalidURI) }
            return (hostBucket, key)
        }
        let rest = rawPath.dropFirst()
        if rest.isEmpty { return (nil, nil) }
        let slash = rest.utf8.firstIndex(of: UInt8(ascii: "/"))
        let rawBucket = slash.map { rest[..<$0] } ?? rest
        guard let bucket = percentDecode(String(rawBucket)), !bucket.isEmpty else { throw S3Error(.invalidURI) }
        // Path style may name another tenant's bucket as `tenant:bucket` (S3Request.bucketTenant).
        try BucketAddress.validate(bucket)
        guard let slash else { return (bucket, nil) }
        let rawKey = rest[rest.utf8.index(after: slash)...]
        if rawKey.isEmpty { return (bucket, nil) }
        guard let key = percentDecode(String(rawKey)) else { throw S3Error(.invalidURI) }
        return (bucket, key)
    }

    func send(_ r: S3Response, head: RequestHead, requestId: String, to sink: any ResponseSink) throws -> Int64 {
        try Self.send(r, head: head, requestId: requestId, to: sink)
    }

    /// The response's head and body (none for HEAD); the global router answers through it too.
    static func send(_ r: S3Response, head: RequestHead, requestId: String, to sink: any ResponseSink) throws -> Int64 {
        var headers = r.headers
        headers.append(Header("x-amz-request-id", requestId))
        headers.append(Header("x-amz-id-2", requestId))
        headers.append(Header("Server", "s3gw"))
        let isHead = head.method == "HEAD"
        if let uri = r.accelRedirect, !isHead {
            try sink.sendHead(status: r.status, headers: AccelRedirect.head(uri, status: r.status, headers))
            return 0
        }
        switch r.body {
        case .empty:
            // A 304's Content-Length would have to be the representation's size (RFC 9110 §8.6).
            if r.status != 304 && !headers.contains(where: { $0.name == "Content-Length" }) {
                headers.append(Header("Content-Length", "0"))
            }
            try sink.sendHead(status: r.status, headers: headers)
            return 0
        case .bytes(let bytes):
            headers.append(Header("Content-Length", String(bytes.count)))
            try sink.sendHead(status: r.status, headers: headers)
            if !isHead { try bytes.withUnsafeBytes { try sink.write($0) } }
            return isHead ? 0 : Int64(bytes.count)
        case .stream(let source):
            try sink.sendHead(status: r.status, headers: headers)
            if isHead { return 0 }
            // A small answer gets a buffer its size, not the 256 KiB a large one streams through.
            let length = headers.first { $0.name == "Content-Length" }.flatMap { Int($0.value) }
            return try pump(
                source, into: sink, bufferSize: length.map { min(max($0, 1), pipelineBufferSize) } ?? pipelineBufferSize
            )
        }
    }

    private func sendError(
        _ e: S3Error, head: RequestHead, requestId: String, to sink: any ResponseSink, extraHeaders: [Header] = []
    ) {
        let response = Self.errorResponse(e, head: head, requestId: requestId, extraHeaders: extraHeaders)
        // A failure here means the client is gone; nothing left to tell it.
        _ = try? send(response, head: head, requestId: requestId, to: sink)
    }

    /// The one rendering of an S3 error: its XML document, its status and its headers (`send`
    /// leaves the body out of HEAD answers).
    static func errorResponse(
        _ e: S3Error, head: RequestHead, requestId: String, extraHeaders: [Header] = []
    ) -> S3Response {
        var headers = [Header("Content-Type", "application/xml")]
        if let seconds = e.retryAfter { headers.append(Header("Retry-After", String(seconds))) }
        headers += e.headers + extraHeaders
        return S3Response(
            status: e.code.status, headers: headers,
            body: .bytes(Array(e.xml(resource: head.rawPath, requestId: requestId).utf8)))
    }

    func drain(_ body: any ByteSource, limit: Int) { Self.drain(body, limit: limit) }

    static func drain(_ body: any ByteSource, limit: Int) {
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        var total = 0
        while total < limit {
            guard let n = try? buf.withUnsafeMutableBytes({ try body.read(into: $0) }), n > 0 else { return }
            total += n
        }
    }

    /// Maps anything thrown below to the S3 error the client sees; unknown errors are logged
    /// 500s, and store failures never leak their text.
    static func s3Error(_ error: any Error, logger: Logger) -> S3Error {
        switch error {
        case let e as S3Error:
            // SlowDown is the gateway shedding load on purpose, not a failure to log.
            if e.code.status >= 500 && e.code.status != 501 && e.code != .slowDown {
                logger.error("\(e.code.code): \(e.message)")
            }
            return e
        case let e as SSEError:
            // Damaged ciphertext or envelopes are logged (where, never key material).
            if case .corrupt(let why) = e { logger.error("encrypted object: \(why)") }
            return e.s3Error
        case let e as StoreError:
            switch e {
            case .noSuchBucket: return S3Error(.noSuchBucket)
            case .noSuchKey: return S3Error(.noSuchKey)
            case .noSuchUpload: return S3Error(.noSuchUpload)
            case .noSuchVersion: return S3Error(.noSuchVersion)
            case .objectLocked(let why): return S3Error(.accessDenied, why)
            case .invalidBucketState(let why): return S3Error(.invalidBucketState, why)
            case .invalidRequest(let why): return S3Error(.invalidRequest, why)
            case .conflict: return S3Error(.operationAborted)
            case .preconditionFailed: return S3Error(.preconditionFailed)
            case .bucketNotEmpty: return S3Error(.bucketNotEmpty)
            case .bucketAlreadyExists: return S3Error(.bucketAlreadyExists)
            case .noSuchZone(let z):
                logger.error("zone \(z) missing")
                return S3Error(.internalError)
            case .zoneUnavailable(let msg):
                logger.error("zone unavailable: \(msg)")
                return S3Error(.serviceUnavailable, "A storage zone of this bucket is unavailable. Please try again.")
            case .internalFailure(let msg):
                logger.error("store failure: \(msg)")
                return S3Error(.internalError)
            case .noSuchEntity(let what), .entityExists(let what), .entityInUse(let what):
                // Identity entities are the admin API's business; an S3 request meeting one lost a race.
                logger.error("identity store: \(what)")
                return S3Error(.internalError)
            }
        default:
            logger.error("unexpected error: \(error)")
            return S3Error(.internalError)
        }
    }
}
