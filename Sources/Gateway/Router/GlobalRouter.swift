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
                answer = Self.errorResponse(error, head: head, requestId: requestId)
            }
        }
        // Sent before the body is read: whatever the client still sends is drained (bounded),
        // so nginx delivers the answer instead of a reset.
        _ = try? S3Gateway.send(answer, head: head, requestId: requestId, to: response)
        S3Gateway.drain(body, limit: 1 << 20)
        logger.debug("\(head.method) \(head.rawPath) \(answer.status) request-id=\(requestId)")
    }

    // MARK: - S3 requests

    /// Where `head` goes: its claimed access key's region, else its bucket's.
    func destination(_ head: RequestHead, hostBucket: String?) throws(S3Error) -> (RouteRegion, bucket: String?) {
        let (bucket, _) = try S3Gateway.address(head.rawPath, hostBucket: hostBucket)
        if let key = AuditFailureObserver.claimedAccessKey(head), !key.isEmpty {
            guard let region = try lookup(.accessKey, key) else {
                throw S3Error(
                    .invalidAccessKeyId,
                    "The AWS access key ID you provided is not routed by this endpoint: ask your administrator for your regional endpoint.",
                    extra: [("AWSAccessKeyId", AuditFailureObserver.clean(key))])
            }
            return (region, bucket)
        }
        guard let bucket else {
            throw S3Error(.accessDenied, "Anonymous requests to this endpoint must name a bucket or an access key.")
        }
        // `tenant:bucket` names its tenant outright.
        let (tenant, name) = BucketAddress.split(bucket)
        let region: RouteRegion?
        if let tenant {
            region = try storeCall { () throws(StoreError) in
                try store.tenant(tenant).flatMap { t throws(StoreError) in try store.region(t.region) }
            }
        } else {
            region = try lookup(.bucket, name)
        }
        guard let region else {
            throw S3Error(
                .noSuchBucket, "The specified bucket is not routed by this endpoint.", extra: [("BucketName", bucket)])
        }
        return (region, bucket)
    }

    func redirect(_ head: RequestHead, hostBucket: String?, requestId: String) throws(S3Error) -> S3Response {
        let (region, bucket) = try destination(head, hostBucket: hostBucket)
        // Path and query exactly as received (a presigned URL's signature is over them); a
        // virtual-hosted request keeps its bucket label in front of the region's host.
        var target = region.endpoint
        if let hostBucket, let r = target.range(of: "://") {
            // The label goes into Location's host: a valid bucket name only.
            guard BucketName.isValid(hostBucket) else {
                throw S3Error(.invalidBucketName, extra: [("BucketName", hostBucket)])
            }
            target.replaceSubrange(r, with: "://" + hostBucket + ".")
        }
        let location = target + head.rawURI
        var extra = [("Endpoint", RouteRegion(name: region.name, endpoint: target).host)]
        if let bucket { extra.append(("Bucket", bucket)) }
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

    func lookup(_ kind: RouteKind, _ name: String) throws(S3Error) -> RouteRegion? {
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

    static func errorResponse(_ e: S3Error, head: RequestHead, requestId: String) -> S3Response {
        S3Response(
            status: e.code.status, headers: [Header("Content-Type", "application/xml")],
            body: .bytes(Array(e.xml(resource: head.rawPath, requestId: requestId).utf8)))
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
            region = try lookup(kind, keys.first ?? buckets[0])
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
            return Self.jsonError(
                AdminError(status: 413, code: "EntityTooLarge", message: "request bodies are at most 1 MiB"))
        }
        guard head.header("authorization") != nil else { return Self.jsonError(.accessDenied) }
        do {
            _ = try operatorVerifier.authenticate(
                head, now: clock.now(), bodyHash: sha256Hex(bytes), doubleEncodedPath: true)
        } catch {
            return Self.jsonError(AdminError(status: error.code.status, code: error.code.code, message: error.message))
        }
        var path: [String] = []
        for segment in head.rawPath.dropFirst("/admin/".count).split(separator: "/") {
            guard let s = percentDecode(String(segment)) else {
                return Self.jsonError(.invalid("the path is not valid"))
            }
            path.append(s)
        }
        var query: [String: String] = [:]
        for item in head.queryItems where query[item.name] == nil { query[item.name] = item.value }
        let answer = RouterAdminAPI.dispatch(
            AdminRequest(
                method: head.method, path: path, query: query, body: bytes,
                principal: Self.operatorPrincipal(operatorAccessKey), now: clock.now()),
            store: store)
        return S3Response(
            status: answer.status,
            headers: (answer.body.isEmpty ? [] : [Header("Content-Type", "application/json")])
                + answer.headers.map { Header($0.name, $0.value) },
            body: answer.body.isEmpty ? .empty : .bytes(answer.body))
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
