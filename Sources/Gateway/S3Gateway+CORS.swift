import GatewayCore
import S3Protocol
import SigV4
import Synchronization

/// Cross-origin requests (docs/ACCESS.md, "CORS"): the preflight `OPTIONS`, answered before any
/// authentication from the bucket's CORS rules, and the CORS headers of every other answer to a
/// request carrying `Origin`.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/RESTOPTIONSobject.html
extension S3Gateway {
    static let corsNotAllowed =
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

    /// Answers a preflight. Browsers send it without credentials, also before a presigned
    /// request, so nothing here needs a signature: the answer only tells what the bucket's
    /// public CORS rules allow.
    func preflight(_ head: RequestHead, hostBucket: String?) throws(S3Error) -> S3Response {
        RequestTrace.current?.operation = "PreflightRequest"
        guard let origin = head.header("origin"), !origin.isEmpty else {
            throw S3Error(.badRequest, "Insufficient information. Origin request header needed.")
        }
        let method = head.header("access-control-request-method")
        guard let method, CORSConfiguration.methods.contains(method) else {
            throw S3Error(.badRequest, "Invalid Access-Control-Request-Method: \(method ?? "null")")
        }
        let (name, key) = try Self.address(head.rawPath, hostBucket: hostBucket)
        RequestTrace.current?.bucket = name
        RequestTrace.current?.key = key
        let extra = [("Method", method), ("ResourceType", key == nil ? "BUCKET" : "OBJECT")]
        guard let name, let b = corsBucket(name, head) else {
            throw S3Error(.accessForbidden, "CORSResponse: Bucket not found", extra: extra)
        }
        RequestTrace.current?.tenant = b.tenant
        guard let rules = Self.corsConfiguration(b.cors) else {
            throw S3Error(.accessForbidden, "CORSResponse: CORS is not enabled for this bucket.", extra: extra)
        }
        let requested = CORSConfiguration.requestHeaderNames(head.header("access-control-request-headers"))
        guard let match = rules.match(origin: origin, method: method, requestHeaders: requested) else {
            throw S3Error(.accessForbidden, Self.corsNotAllowed, extra: extra)
        }
        return S3Response(headers: match.headers(allowedHeaders: requested))
    }

    /// The CORS headers of the answer to an actual (not preflight) S3 request: those of the
    /// first rule of the bucket matching the request's `Origin` and method, on success and error
    /// answers alike; none without `Origin` (no lookup at all), without rules or without a
    /// match. Like S3, an `Access-Control-Request-Method` present names the method to match.
    func corsHeaders(_ head: RequestHead, hostBucket: String?) -> [Header] {
        guard let origin = head.header("origin"), !origin.isEmpty,
            let (name, _) = try? Self.address(head.rawPath, hostBucket: hostBucket), let name,
            let b = corsBucket(name, head), let rules = Self.corsConfiguration(b.cors),
            let match = rules.match(origin: origin, method: head.header("access-control-request-method") ?? head.method)
        else { return [] }
        return match.headers()
    }

    /// The bucket a cross-origin request addresses: `tenant:bucket`, else the bucket of the
    /// tenant of the access key the request names (a signed request, or the presigned URL a
    /// preflight repeats), else the default tenant's. The key is not verified here: it only
    /// chooses whose rules answer, and CORS rules are not secret.
    func corsBucket(_ name: String, _ head: RequestHead) -> BucketRecord? {
        var tenant = TenantRecord.defaultID
        var bare = name
        if let colon = name.firstIndex(of: ":") {
            tenant = String(name[..<colon])
            bare = String(name[name.index(after: colon)...])
        } else if let key = AuditFailureObserver.claimedAccessKey(head),
            let p = ctx.identities.resolve(key)?.principal
        {
            tenant = p.tenant
        }
        guard !tenant.isEmpty, !bare.isEmpty,
            let b = try? ctx.metadata.bucket(named: TenantRecord.qualifiedBucket(tenant: tenant, name: bare)),
            b.tenant == tenant
        else { return nil }
        return b
    }

    /// Parsed configurations by their stored XML: a page's every request carries `Origin`, and
    /// parsing the same document each time would cost more than the lookup.
    private static let parsedCORS = Mutex<[String: CORSConfiguration]>([:])

    /// The rules of a stored configuration; nil for none ('' in the bucket row).
    static func corsConfiguration(_ xml: String) -> CORSConfiguration? {
        guard !xml.isEmpty else { return nil }
        if let c = parsedCORS.withLock({ $0[xml] }) { return c }
        // Stored documents were validated on the way in; one that no longer parses allows nothing.
        guard let c = try? CORSXML.parse(Array(xml.utf8)) else { return nil }
        parsedCORS.withLock {
            if $0.count >= 256 { $0.removeAll() }
            $0[xml] = c
        }
        return c
    }
}
