import Foundation
import GatewayCore
import Logging
import S3Protocol
import SigV4

/// The global router (docs/ROUTER.md): it answers every S3 request with `307 Temporary
/// Redirect` to the regional gateway serving the request's tenant, path and query unchanged, and
/// S3's `TemporaryRedirect` body. It holds routing data only, so it cannot verify a customer's
/// signature: it routes on the access key id the request *claims* (the Authorization header, a
/// presigned URL's credential), else on the bucket; the regional gateway verifies.
public struct GlobalRouter: Sendable {
    let store: any RoutingStore
    let settings: RouterSettings
    /// Verifies admin calls against the router's own operator credential, nothing else.
    let operatorVerifier: Verifier
    let operatorAccessKey: String
    let baseDomains: [String]
    let clock: any Clock
    let logger: Logger

    /// `GET` this path with `?access-key-id=` or `?bucket=`: the endpoint serving it, as JSON.
    public static let lookupPath = "/.well-known/s3gw-route"

    public init(
        store: any RoutingStore, settings: RouterSettings, operatorAccessKey: String, operatorSecretKey: String,
        baseDomains: [String] = [], maxClockSkew: Double = 900, clock: any Clock, logger: Logger
    ) {
        self.store = store
        self.settings = settings
        self.operatorAccessKey = operatorAccessKey
        operatorVerifier = Verifier(
            credentials: OperatorCredential(accessKey: operatorAccessKey, secretKey: operatorSecretKey),
            maxClockSkew: maxClockSkew)
        self.baseDomains = baseDomains.map { $0.lowercased() }
        self.clock = clock
        self.logger = logger
    }

    struct OperatorCredential: CredentialLookup {
        let accessKey: String
        let secretKey: String
        func secretKey(forAccessKey key: String) -> String? { key == accessKey ? secretKey : nil }
    }

    public func handle(params: [String: String], body: any ByteSource, response: any ResponseSink) {
        let requestId = S3Gateway.newRequestId()
        let head = S3Gateway.requestHead(params)
        let hostBucket = S3Gateway.virtualHostBucket(head.header("host"), baseDomains: baseDomains)
        let pathStyle = hostBucket == nil
        let answer: S3Response
        if pathStyle && head.rawPath == S3Gateway.Probe.healthz.rawValue {
            answer = health(head)
        } else if pathStyle && head.rawPath == Self.lookupPath {
            answer = lookup(head)
        } else if AdminAPI.owns(head.rawPath, virtualHosted: !pathStyle) {
            answer = admin(head, body)
        } else {
            do {
                answer = try redirect(head, hostBucket: hostBucket, requestId: requestId)
            } catch {
                answer = S3Gateway.errorResponse(error, head: head, requestId: requestId)
            }
        }
        // Sent before the body is read: whatever the client still sends is drained (bounded),
        // so nginx delivers the answer instead of a reset.
        _ = try? S3Gateway.send(answer, head: head, requestId: requestId, to: response)
        S3Gateway.drain(body, limit: 1 << 20)
        logger.debug("\(head.method) \(head.rawPath) \(answer.status) request-id=\(requestId)")
    }

    // MARK: - S3 requests

    /// Where `head` goes, and the bucket as the region must be sent it.
    struct Destination {
        var region: RouteRegion
        /// The bucket the request names, as sent.
        var bucket: String?
        /// An anonymous request's bucket as the region addresses it: `tenant:bucket` for a
        /// tenant other than the default one (an anonymous request there addresses the default
        /// tenant's bucket of a bare name). Nil for a signed request: its path stays as signed.
        var anonymousBucket: String?
    }

    /// Where `head` goes: its claimed access key's region, else its bucket's. A bucket is routed
    /// only by its entry: `tenant:bucket` by a qualified entry (or the bare entry of that same
    /// tenant), a bare name by a bare entry — never by the tenant alone, which would tell
    /// anyone which tenant ids exist.
    /// The route of a bucket as a request or the lookup names it (`tenant:bucket` or bare).
    func bucketRoute(_ bucket: String) throws(S3Error) -> ResolvedRoute? {
        let (tenant, name) = BucketAddress.split(bucket)
        guard let tenant else { return try lookup(.bucket, name) }
        guard TenantRecord.isValidID(tenant) && BucketName.isValid(name) else { return nil }
        if let route = try lookup(.bucket, bucket) { return route }
        if let bare = try lookup(.bucket, name), bare.tenant == tenant { return bare }
        return nil
    }

    func destination(_ head: RequestHead, hostBucket: String?) throws(S3Error) -> Destination {
        let (bucket, _) = try S3Gateway.address(head.rawPath, hostBucket: hostBucket)
        if let key = head.claimedAccessKey, !key.isEmpty {
            guard let route = try lookup(.accessKey, key) else {
                throw S3Error(
                    .invalidAccessKeyId,
                    "The AWS access key ID you provided is not routed by this endpoint: ask your administrator for your regional endpoint.",
                    extra: RouterAdminAPI.isValidEntry(.accessKey, key) ? [("AWSAccessKeyId", key)] : [])
            }
            return Destination(region: route.region, bucket: bucket)
        }
        guard let bucket else {
            throw S3Error(.accessDenied, "Anonymous requests to this endpoint must name a bucket or an access key.")
        }
        let name = BucketAddress.split(bucket).name
        guard let route = try bucketRoute(bucket) else {
            throw S3Error(
                .noSuchBucket, "The specified bucket is not routed by this endpoint.", extra: [("BucketName", bucket)])
        }
        let addressed =
            route.tenant == TenantRecord.defaultID ? name : route.tenant + ":" + name
        return Destination(region: route.region, bucket: bucket, anonymousBucket: addressed)
    }

    func redirect(_ head: RequestHead, hostBucket: String?, requestId: String) throws(S3Error) -> S3Response {
        // Browsers never follow a redirect of a CORS preflight: a clear refusal instead of a 307
        // the page would only see as a network error (docs/ROUTER.md: the regional endpoint).
        if head.method == "OPTIONS" {
            throw S3Error(
                .accessDenied,
                "CORS preflights are not answered by the global router: send cross-origin requests to the regional endpoint (\(Self.lookupPath))."
            )
        }
        let d = try destination(head, hostBucket: hostBucket)
        if let hostBucket, !BucketName.isValid(hostBucket) {
            // The label may go into Location's host: a valid bucket name only.
            throw S3Error(.invalidBucketName, extra: [("BucketName", hostBucket)])
        }
        let region = d.region
        var target = region.endpoint
        let uri: String
        if let addressed = d.anonymousBucket {
            // Anonymous: no signature covers the path, so the bucket goes in it as the region
            // addresses it (a tenant cannot ride in a host label): path-style, always.
            uri = "/" + addressed + (hostBucket == nil ? Self.afterFirstSegment(head.rawURI) : head.rawURI)
        } else if let hostBucket, !region.hostIsIPAddress, let r = target.range(of: "://") {
            // Signed virtual-hosted: the path is signed as sent, the label goes in front of the
            // region's host.
            target.replaceSubrange(r, with: "://" + hostBucket + ".")
            uri = head.rawURI
        } else if let hostBucket {
            // An IP endpoint takes no label: path-style (a signed request will not verify there;
            // docs/ROUTER.md asks for a DNS-named endpoint for virtual-hosted clients).
            uri = "/" + hostBucket + head.rawURI
        } else {
            // Path and query exactly as received (a presigned URL's signature is over them).
            uri = head.rawURI
        }
        let location = target + uri
        var extra = [("Endpoint", RouteRegion(name: region.name, endpoint: target).host)]
        if let bucket = d.bucket { extra.append(("Bucket", bucket)) }
        let e = S3Error(.temporaryRedirect, extra: extra)
        return S3Response(
            status: 307,
            // botocore answers a 307 by asking the bucket's region (HeadBucket, to the same
            // endpoint, again and again) unless the answer names it: with the header it retries
            // once and reports the redirect instead of recursing.
            headers: [
                Header("Location", location), Header("Content-Type", "application/xml"),
                Header("x-amz-bucket-region", region.name),
            ],
            body: .bytes(Array(e.xml(resource: head.rawPath, requestId: requestId).utf8)))
    }

    /// `/bucket/rest?query` → `/rest?query` (the raw text after the first path segment).
    static func afterFirstSegment(_ rawURI: String) -> String {
        let rest = rawURI.dropFirst()
        guard let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "" }
        return String(rest[end...])
    }

    func lookup(_ kind: RouteKind, _ name: String) throws(S3Error) -> ResolvedRoute? {
        try storeCall { () throws(StoreError) in try store.resolve(kind, name: name) }
    }

    func storeCall<T>(_ body: () throws(StoreError) -> T) throws(S3Error) -> T {
        do {
            return try body()
        } catch {
            logger.error("routing store: \(error)")
            throw S3Error(.internalError)
        }
    }

    // MARK: - Lookup and health

    /// The endpoint of the one access key id or bucket the caller names, and nothing else: no
    /// region name, no tenant. Unauthenticated (a client that cannot follow a 307 has no other
    /// way in); it tells only what a redirect of that caller's own request would.
    func lookup(_ head: RequestHead) -> S3Response {
        guard settings.lookup else {
            return Self.jsonError(.notFound("the route lookup is switched off here ([router] lookup)"))
        }
        guard head.method == "GET" || head.method == "HEAD" else {
            var r = Self.jsonError(.methodNotAllowed)
            r.headers.append(Header("Allow", "GET, HEAD"))
            return r
        }
        let query = head.queryItems
        let keys = query.filter { $0.name == "access-key-id" }.map(\.value)
        let buckets = query.filter { $0.name == "bucket" }.map(\.value)
        guard keys.count + buckets.count == 1 else {
            return Self.jsonError(.invalid("name exactly one access-key-id or one bucket"))
        }
        let kind: RouteKind = keys.isEmpty ? .bucket : .accessKey
        let region: RouteRegion?
        do {
            // A bucket as the 307 routes it (`tenant:bucket` by its bare entry too).
            if let key = keys.first {
                region = try lookup(.accessKey, key)?.region
            } else {
                region = try bucketRoute(buckets[0])?.region
            }
        } catch {
            return Self.jsonError(.internalError)
        }
        guard let region else {
            return Self.jsonError(
                .notFound(kind == .bucket ? "no route for that bucket" : "no route for that access key id"))
        }
        var r = S3Gateway.json(200, Array((try? AdminJSON.encoder.encode(["endpoint": region.endpoint])) ?? Data()))
        r.headers.append(Header("Cache-Control", "no-store"))
        return r
    }

    func health(_ head: RequestHead) -> S3Response {
        // The store answering is the router's whole readiness.
        let ok = (try? store.regions()) != nil
        var r = S3Gateway.json(
            ok ? 200 : 503, Array((ok ? #"{"status":"ok"}"# : #"{"status":"store unavailable"}"#).utf8))
        r.headers.append(Header("Cache-Control", "no-store"))
        return r
    }

    static func jsonError(_ e: AdminError) -> S3Response {
        var r = S3Gateway.json(e.status, e.json)
        r.headers.append(Header("Cache-Control", "no-store"))
        return r
    }

    // MARK: - Admin API

    /// `/admin/routing/…`: signed (Authorization header only) by the operator credential.
    func admin(_ head: RequestHead, _ body: any ByteSource) -> S3Response {
        guard let bytes = try? body.readAll(limit: AdminAPI.maxBody) else {
            return Self.jsonError(.bodyTooLarge)
        }
        let now = clock.now()
        let path: [String]
        do {
            // The gateway's admin API's checks: SigV4 in the Authorization header, over this body.
            _ = try S3Gateway.verifySignedBody(
                head, bytes: bytes, verifier: operatorVerifier, now: now, presignedAllowed: false,
                doubleEncodedPath: true, anonymous: S3Error(.accessDenied),
                invalid: { S3Error(.invalidRequest, $0) })
            path = try S3Gateway.jsonPath(head, root: "admin")
        } catch let e as AdminError {
            return Self.jsonError(e)
        } catch let e as S3Error {
            return Self.jsonError(AdminError(e))
        } catch {
            return Self.jsonError(.internalError)
        }
        let answer = RouterAdminAPI.dispatch(
            AdminRequest(
                method: head.method, path: path, query: S3Gateway.jsonQuery(head), body: bytes,
                principal: Self.operatorPrincipal(operatorAccessKey), now: now),
            store: store)
        return S3Gateway.jsonResponse(answer)
    }

    /// Who an admin call is: the router's operator (it has no other users).
    public static func operatorPrincipal(_ accessKey: String) -> Principal {
        Principal(
            tenant: TenantRecord.defaultID,
            user: UserRecord(
                tenant: TenantRecord.defaultID, name: "operator", id: "",
                permissions: PermissionSet(["admin:*": ["*"]]),
                createdAt: 0),
            accessKey: accessKey)
    }
}
