import GatewayCore
import S3Protocol
import SigV4
import Synchronization

/// Cross-origin requests (docs/ACCESS.md, "CORS"): the preflight `OPTIONS`, answered before any
/// authentication from the bucket's CORS rules, and the CORS headers of every other answer to a
/// request carrying `Origin`.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
extension S3Gateway {
    /// Answers a preflight. Browsers send it without credentials, also before a presigned
    /// request, so nothing here needs a signature: the answer only tells what the bucket's
    /// public CORS rules allow. S3's order of checks: Origin, the bucket, its configuration,
    /// the requested method, a matching rule.
    func preflight(_ head: RequestHead, hostBucket: String?, now: Double) throws -> S3Response {
        RequestTrace.current?.operation = "PreflightRequest"
        guard let origin = head.header("origin"), !origin.isEmpty else {
            throw S3Error(.badRequest, "Insufficient information. Origin request header needed.")
        }
        let method = head.header("access-control-request-method")
        let (name, key) = try Self.address(head.rawPath, hostBucket: hostBucket)
        RequestTrace.current?.bucket = name
        RequestTrace.current?.key = key
        // Refusals name the method asked about (OPTIONS when none was) and what was addressed;
        // a bucket that is missing or has no rules is the bucket's refusal even for a key.
        func refused(_ message: String? = nil, _ resourceType: String = "BUCKET") -> S3Error {
            S3Error(
                .accessForbidden, message, extra: [("Method", method ?? "OPTIONS"), ("ResourceType", resourceType)])
        }
        guard let name, let b = try preflightBucket(name, head, now: now) else {
            throw refused(S3ErrorCode.CORSText.bucketNotFound)
        }
        RequestTrace.current?.tenant = b.tenant
        guard let rules = corsConfiguration(of: b) else { throw refused(S3ErrorCode.CORSText.notEnabled) }
        guard let method, CORSConfiguration.methods.contains(method) else {
            throw S3Error(.badRequest, "Invalid Access-Control-Request-Method: \(method ?? "null")")
        }
        let requested = CORSConfiguration.requestHeaderNames(head.header("access-control-request-headers"))
        guard let match = rules.match(origin: origin, method: method, requestHeaders: requested) else {
            throw refused(nil, key == nil ? "BUCKET" : "OBJECT")
        }
        return S3Response(headers: match.headers(allowedHeaders: requested))
    }

    /// The bucket a preflight addresses, resolved as the request it precedes will be
    /// (`Handlers.addressedBucket`): `tenant:bucket`, else a bucket of the tenant of the access
    /// key the request claims (a presigned URL's, which the preflight repeats), else the default
    /// tenant's. A claimed key that does not resolve (unknown, inactive, an expired session)
    /// finds no bucket: the request it precedes would be refused, and answering from the default
    /// tenant's bucket of that name would tell its rules to whoever makes up a key. The key is
    /// not verified otherwise: it only chooses whose rules answer, and CORS rules are not secret.
    /// Store failures go up as every request's do.
    func preflightBucket(_ sent: String, _ head: RequestHead, now: Double) throws(StoreError) -> BucketRecord? {
        var tenant = TenantRecord.defaultID
        if let claimed = head.claimedAccessKey {
            guard let p = ctx.identities.resolve(claimed)?.principal, p.session.map({ now < $0.expiresAt }) ?? true
            else { return nil }
            tenant = p.tenant
        }
        return try Handlers.addressedBucket(sent, callerTenant: tenant, ctx)
    }

    /// The CORS headers of the answer to an actual (not preflight) S3 request: those of the
    /// first rule of `bucket` (the one the router or the handler loaded for it, as it was when
    /// the request arrived) matching the request's `Origin` and method, on success and error
    /// answers alike; none without `Origin`, without a loaded bucket (a request refused before
    /// its bucket is read: a failed authentication, an unknown key), without rules or without a
    /// match. Like S3, an `Access-Control-Request-Method` present names the method to match.
    func corsHeaders(_ head: RequestHead, bucket: BucketRecord?) -> [Header] {
        guard let bucket, let origin = head.header("origin"), !origin.isEmpty,
            let rules = corsConfiguration(of: bucket),
            let match = rules.match(origin: origin, method: head.header("access-control-request-method") ?? head.method)
        else { return [] }
        return match.headers()
    }

    /// The rules of a bucket's stored configuration; nil for none ('' in the bucket row).
    /// Parsed configurations are kept by bucket with the text they were parsed from: a page's
    /// every request carries `Origin`, and parsing each time would cost more than comparing
    /// the stored text (a changed configuration is a different text, parsed again).
    func corsConfiguration(of b: BucketRecord) -> CORSConfiguration? {
        guard !b.cors.isEmpty else { return nil }
        if let cached = Self.parsedCORS.withLock({ $0[b.name] }), cached.text == b.cors { return cached.rules }
        // Stored documents were validated on the way in; one that no longer parses allows nothing.
        let rules = try? CORSXML.parse(Array(b.cors.utf8))
        if rules == nil { ctx.logger.error("bucket \(b.name): stored CORS configuration does not parse") }
        Self.parsedCORS.withLock {
            if $0.count >= Self.parsedCORSLimit { $0.removeAll() }
            $0[b.name] = (b.cors, rules)
        }
        return rules
    }

    private static let parsedCORS = Mutex<[String: (text: String, rules: CORSConfiguration?)]>([:])
    private static let parsedCORSLimit = 1024
}
