import Foundation
import GatewayCore
import S3Protocol
import SigV4
import Synchronization

/// An existing S3 account read over libcurl, for discovery and migration: AWS S3 or any
/// S3-compatible endpoint (MinIO, Ceph RGW, Hetzner, moto…). It only ever reads.
///
/// On AWS (`*.amazonaws.com`) account-wide calls go to the given endpoint and each bucket's
/// calls to its region's endpoint (`s3.<region>.amazonaws.com`, virtual-hosted unless the name
/// is no DNS label; the given endpoint itself for buckets of the region it serves), signed for
/// that region; elsewhere everything is path-style on the given endpoint. An answer naming
/// another region (a 301, AuthorizationHeaderMalformed) is followed once. The endpoint must
/// already be allowed (`EndpointAllowList`), and every regional endpoint this client derives
/// passes the same check (`allow`) before a request goes there: an operator who lists one
/// regional endpoint gets that one only. No redirect to another host is followed.
///
/// Errors are `SourceError`s that never hold the secret, the session token, a signature or a
/// URL's query: their messages reach logs, a job's progress row and the browser.
public final class S3SourceClient: SourceAccount, CustomStringConvertible, CustomReflectable {
    /// Generous (a far region over a slow link) but finite: a hung source fails a job instead
    /// of holding it forever.
    public static let defaultTimeouts = ZoneTimeouts(connect: 10, response: 30, stall: 30, assembly: 30)
    /// A ListObjectsV2 page of 1000 keys of 1024 bytes, URL-encoded, stays well below it.
    static let listingLimit = S3Zone.listingLimit
    static let bucketListingLimit = S3Zone.bucketListingLimit
    /// A bucket's configuration documents (a policy is at most 20 KiB).
    static let documentLimit = 1 << 20
    /// Keys asked for per ListObjectsV2 page.
    static let pageSize = 1000

    /// An allow-list's check: the endpoint normalized, or `.endpointNotAllowed`.
    public typealias Check = @Sendable (String) throws(SourceError) -> String

    let scheme: String
    /// The endpoint's host[:port], lowercased, the scheme's default port left out.
    let host: String
    /// AWS S3: buckets are reached at their own region's endpoint.
    let isAWS: Bool
    /// The region an AWS regional endpoint (`s3.<r>.amazonaws.com`, `s3-<r>.amazonaws.com`)
    /// serves; nil for the global endpoint and elsewhere.
    let endpointRegion: String?
    /// The signing region of account-wide calls (ListBuckets, GetBucketLocation).
    let accountRegion: String
    /// A bucket's signing region where the endpoint names none (not AWS).
    let defaultRegion: String
    private let signer: S3RequestSigner
    /// Kept only to scrub error texts that might quote them.
    private let credentials: SourceCredentials
    /// Whether a regional endpoint derived for a bucket may be asked.
    let allow: Check
    let transport: any HTTPTransport
    let timeouts: ZoneTimeouts
    /// Seconds before the one retry of a request that failed fast.
    let retryPause: Double
    /// Where each bucket's listing stands, so the next page is checked against the last
    /// (keys in order, no endless empty pages) although the caller holds only the token.
    let cursors = Mutex<[String: ListingCursor]>([:])

    struct ListingCursor {
        var token: String
        var lastKey: String
        var emptyPages: Int
    }

    /// A client for `spec`, over libcurl. Throws `.endpointNotAllowed` for an endpoint that is
    /// not `http(s)://host[:port]`. `allow` checks the regional endpoints it derives (by default
    /// any: give an allow-list's check).
    public convenience init(
        _ spec: SourceSpec, timeouts: ZoneTimeouts = S3SourceClient.defaultTimeouts, verifyTLS: Bool = true,
        caBundle: String? = nil, allow: @escaping Check = { (e: String) throws(SourceError) in e }
    ) throws(SourceError) {
        CurlGlobal.initializeOnce()
        try self.init(
            spec, transport: CurlTransport(options: .init(verifyTLS: verifyTLS, caBundle: caBundle)),
            clock: SystemClock(), timeouts: timeouts, allow: allow)
    }

    /// Opens source accounts for the discovery API and `s3gw migrate run`: `check` (an
    /// `EndpointAllowList`'s) refuses an endpoint, or normalizes it, before any client for it
    /// exists, and refuses the regional endpoints a client derives the same way, so no request
    /// ever leaves for an endpoint that is not allowed. `caBundles`: the CA bundle to trust per
    /// normalized endpoint (a provider zone's `ca_bundle`), else `caBundle`.
    public static func connector(
        check: @escaping Check, timeouts: ZoneTimeouts = S3SourceClient.defaultTimeouts, caBundle: String? = nil,
        caBundles: [String: String] = [:]
    ) -> SourceConnector {
        { (spec: SourceSpec) throws(SourceError) -> any SourceAccount in
            var spec = spec
            spec.endpoint = try check(spec.endpoint)
            return try S3SourceClient(
                spec, timeouts: timeouts, caBundle: caBundles[spec.endpoint] ?? caBundle, allow: check)
        }
    }

    init(
        _ spec: SourceSpec, transport: any HTTPTransport, clock: any Clock,
        timeouts: ZoneTimeouts = S3SourceClient.defaultTimeouts, retryPause: Double = 0.5,
        allow: @escaping Check = { (e: String) throws(SourceError) in e }
    ) throws(SourceError) {
        // Not echoed: a text that is no endpoint may hold a secret (user info, a query).
        guard let url = try? EndpointURL.parse(spec.endpoint) else { throw .endpointNotAllowed("") }
        guard Self.isRegionName(spec.region) else {
            throw .unreachable("\"\(spec.region.prefix(64))\" is not a region name")
        }
        scheme = url.scheme
        host = url.hostPort
        isAWS = !url.isAddress && url.host.hasSuffix(".amazonaws.com")
        endpointRegion = isAWS ? Self.regionServed(by: url.host) : nil
        // A regional endpoint signs for its region, the global one for us-east-1, whatever
        // region the person typed.
        accountRegion = isAWS ? endpointRegion ?? (Self.isGlobal(url.host) ? "us-east-1" : spec.region) : spec.region
        defaultRegion = spec.region
        credentials = spec.credentials
        signer = S3RequestSigner(
            accessKey: spec.credentials.accessKey, secretKey: spec.credentials.secretKey,
            sessionToken: spec.credentials.sessionToken, clock: clock)
        self.allow = allow
        self.transport = transport
        self.timeouts = timeouts
        self.retryPause = retryPause
    }

    /// The endpoint only: printing or dumping a client never shows its credentials.
    public var description: String { "S3SourceClient(\(scheme)://\(host))" }
    public var customMirror: Mirror { Mirror(self, children: ["endpoint": "\(scheme)://\(host)"]) }

    // MARK: endpoints and names

    /// AWS's global endpoint (and its us-east-1 alias): buckets of every region answer there.
    static func isGlobal(_ hostname: String) -> Bool {
        hostname == "s3.amazonaws.com" || hostname == "s3-external-1.amazonaws.com"
    }

    /// The region of an AWS regional endpoint: `s3.<r>.amazonaws.com`, `s3-<r>.amazonaws.com`,
    /// `s3.dualstack.<r>.amazonaws.com`; nil for the global endpoint and any other name.
    static func regionServed(by hostname: String) -> String? {
        guard hostname.hasSuffix(".amazonaws.com"), !isGlobal(hostname) else { return nil }
        let labels = hostname.dropLast(".amazonaws.com".count).split(
            separator: ".", omittingEmptySubsequences: false
        ).map(String.init)
        let region: String
        switch labels.count {
        case 1 where labels[0].hasPrefix("s3-"): region = String(labels[0].dropFirst(3))
        case 2 where labels[0] == "s3": region = labels[1]
        case 3 where labels[0] == "s3" && labels[1] == "dualstack": region = labels[2]
        default: return nil
        }
        return isDNSLabel(region) ? region : nil
    }

    /// What may stand in a credential scope: AWS's "eu-west-1", Ceph's "default", Hetzner's
    /// "fsn1". Anything else (a "/" or a line break) would change the request it is signed in.
    static func isRegionName(_ region: String) -> Bool {
        (1...64).contains(region.utf8.count)
            && region.utf8.allSatisfy { isLowerDNS($0) || $0 == UInt8(ascii: "_") || (65...90).contains($0) }
    }

    /// A name usable as one DNS label: lowercase letters, digits and inner hyphens.
    static func isDNSLabel(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count) && name.utf8.allSatisfy(isLowerDNS) && !name.hasPrefix("-")
            && !name.hasSuffix("-")
    }

    private static func isLowerDNS(_ c: UInt8) -> Bool {
        (97...122).contains(c) || (48...57).contains(c) || c == UInt8(ascii: "-")
    }

    /// S3's bucket names, with the uppercase and underscores of old us-east-1 buckets: nothing
    /// that could change a request's path or host.
    static func isBucketName(_ name: String) -> Bool {
        (1...255).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                isLowerDNS($0) || (65...90).contains($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".")
            } && name != "." && name != ".."
    }

    // MARK: requests

    /// One request, before it is addressed and signed for a region.
    struct Call {
        var method = "GET"
        var bucket: String?
        var key: String?
        var query = ""
        var headers: [(String, String)] = []
        /// Sent to the given endpoint even on AWS (ListBuckets, GetBucketLocation).
        var atEndpoint = false
    }

    /// Where `call` goes when signed for `region`: host and path.
    func address(_ call: Call, region: String) throws(SourceError) -> (host: String, path: String) {
        guard let bucket = call.bucket else { return (host, "/") }
        guard Self.isBucketName(bucket) else { throw .noSuchBucket(String(bucket.prefix(255))) }
        guard isAWS else { return S3RequestSigner.address(host: host, bucket: bucket, key: call.key, pathStyle: true) }
        let target = call.atEndpoint || region == endpointRegion ? host : try regionalHost(region)
        // A name with dots would not match the endpoint's wildcard certificate.
        return S3RequestSigner.address(
            host: target, bucket: bucket, key: call.key, pathStyle: !Self.isDNSLabel(bucket))
    }

    /// AWS's endpoint of `region` (host only), once the allow-list allows it. Virtual-hosted
    /// bucket names below it are AWS's own and go with it.
    func regionalHost(_ region: String) throws(SourceError) -> String {
        guard Self.isDNSLabel(region) else { throw .invalidAnswer("\"\(region.prefix(64))\" is not an AWS region") }
        let allowed = try allow("\(scheme)://s3.\(region).amazonaws.com")
        return String(allowed.dropFirst(scheme.count + 3))
    }

    func request(_ call: Call, region: String) throws(SourceError) -> HTTPRequest {
        guard Self.isRegionName(region) else {
            throw .invalidAnswer("\"\(region.prefix(64))\" is not a region name")
        }
        let (host, path) = try address(call, region: region)
        return signer.sign(
            call.method, scheme: scheme, host: host, rawURI: call.query.isEmpty ? path : path + "?" + call.query,
            region: region, headers: call.headers, timeouts: timeouts
        ).request
    }

    /// A source's answer with its status and headers in: a 2xx body not read yet (the caller
    /// reads or streams it), an error's body read (at most 64 KiB).
    struct Answer {
        let status: Int
        let exchange: any HTTPExchange
        let errorBody: [UInt8]

        var ok: Bool { (200..<300).contains(status) }
        func header(_ name: String) -> String? { exchange.header(name) }

        /// The error document's S3 code if it looks like one ("NoSuchKey": a capital, then
        /// letters and digits): an endpoint must not be able to put arbitrary text (an echoed
        /// header or signature) into an error message.
        var code: String? {
            guard let code = XMLNode.parse(errorBody)?.child("Code")?.text, (1...64).contains(code.utf8.count),
                code.first!.isASCII && code.first!.isUppercase,
                code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
            else { return nil }
            return code
        }

        /// The bucket's region as the answer names it (a header AWS sends on redirects and
        /// even on refusals, or the error document's Region).
        var regionHint: String? {
            let hint = header("x-amz-bucket-region") ?? XMLNode.parse(errorBody)?.child("Region")?.text
            return hint.flatMap { S3SourceClient.isRegionName($0) ? $0 : nil }
        }

        /// The bucket's region as AWS names it in a header, on redirects and refusals alike.
        var bucketRegion: String? {
            header("x-amz-bucket-region").flatMap { S3SourceClient.isRegionName($0) ? $0 : nil }
        }

        /// The region to ask again in, when the answer says the bucket lives in another.
        var redirectRegion: String? {
            switch (status, code) {
            case (301, _), (307, _), (400, "AuthorizationHeaderMalformed"?), (400, "PermanentRedirect"?):
                return regionHint
            default: return nil
            }
        }

        /// Failed fast in a way that may pass: the endpoint is busy or throttling.
        var isTransient: Bool { [500, 502, 503, 504, 429].contains(status) || code == "SlowDown" }
    }

    /// Sends `call` signed for `region`; once more after a pause when the source failed fast
    /// (no connection, 5xx, throttled; a timeout has been waited for once already), and once
    /// more in the region the answer names when it says the bucket lives elsewhere.
    func send(_ call: Call, region: String, followRegion: Bool = true) throws(SourceError) -> Answer {
        let answer = try sendRetrying(call, region: region)
        if followRegion, let other = answer.redirectRegion, other != region {
            return try sendRetrying(call, region: other)
        }
        return answer
    }

    private func sendRetrying(_ call: Call, region: String) throws(SourceError) -> Answer {
        let request = try self.request(call, region: region)
        do {
            let answer = try attempt(request)
            guard answer.isTransient else { return answer }
        } catch StoreError.zoneUnavailable(_) {
            // No connection: worth one more try.
        } catch {
            throw transportError(error)
        }
        usleep(useconds_t(retryPause * 1_000_000))
        do {
            return try attempt(request)
        } catch {
            throw transportError(error)
        }
    }

    private func attempt(_ request: HTTPRequest) throws -> Answer {
        let exchange = try transport.start(request)
        do {
            try exchange.closeUpload()
            let status = try exchange.waitForResponse()
            if (200..<300).contains(status) { return Answer(status: status, exchange: exchange, errorBody: []) }
            return Answer(status: status, exchange: exchange, errorBody: try exchange.finish())
        } catch {
            exchange.abort()
            throw error
        }
    }

    /// Sends `call` and reads a 2xx answer whole, refusing one longer than `limit` (a document
    /// cut short must never be parsed).
    func fetch(_ operation: String, _ call: Call, region: String, limit: Int, followRegion: Bool = true)
        throws(SourceError) -> (answer: Answer, body: [UInt8])
    {
        let answer = try send(call, region: region, followRegion: followRegion)
        guard answer.ok else { return (answer, []) }
        let body: [UInt8]?
        do {
            body = try answer.exchange.readWhole(limit: limit)
        } catch {
            answer.exchange.abort()
            throw transportError(error)
        }
        guard let body else {
            answer.exchange.abort()
            throw .invalidAnswer("\(operation) answered with more than \(limit) bytes")
        }
        return (answer, body)
    }

    // MARK: errors

    static let credentialCodes: Set = [
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
    ]

    /// An S3 error answer as the person who pasted the credentials may see it.
    func error(_ operation: String, _ answer: Answer, bucket: String? = nil, key: String? = nil) -> SourceError {
        let code = answer.code
        switch code {
        case "AccessDenied", "AllAccessDisabled": return .accessDenied(operation: operation)
        case let code? where Self.credentialCodes.contains(code): return .invalidCredentials(code: code)
        case "NoSuchBucket": return .noSuchBucket(bucket ?? "")
        case "NoSuchKey" where key != nil: return .noSuchKey(key!)
        case nil where answer.status == 403: return .accessDenied(operation: operation)
        case nil where answer.status == 404 && key != nil: return .noSuchKey(key!)
        case nil where answer.status == 404 && bucket != nil: return .noSuchBucket(bucket!)
        default: return .failed(operation: operation, status: answer.status, code: code ?? "(no error code)")
        }
    }

    /// A failure before an answer (no connection, TLS, a bound that ran out) as `.unreachable`.
    func transportError(_ error: any Error) -> SourceError {
        let text: String
        switch error {
        case let e as SourceError: return e
        case let timeout as ProviderTimeout: text = timeout.description
        case StoreError.zoneUnavailable(let m), StoreError.internalFailure(let m): text = m
        default: text = "\(error)"
        }
        return .unreachable(credentials.scrub(text))
    }
}
