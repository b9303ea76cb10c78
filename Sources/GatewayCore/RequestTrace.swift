#if canImport(Glibc)
    import Glibc
#endif

/// What one request (or one agent or CLI action) did, filled in while it runs and read once it
/// ends. The operations log, the metrics and the audit chain all take their facts from here, so
/// they never disagree about a request. A trace belongs to the thread serving the request:
/// `RequestTrace.current` finds it from code that has no request at hand (a zone's calls, the
/// metadata store committing a change), which is how the audit record lands in the change's
/// own transaction without every store method growing a parameter.
public final class RequestTrace: @unchecked Sendable {
    /// Who started the work: a client of one of the gateway's APIs, or the gateway itself.
    public enum Origin: String, Sendable {
        case s3, admin, web, sts, agent, cli
    }

    public let requestId: String
    public let origin: Origin
    /// Seconds since the epoch (the context clock).
    public let started: Double
    /// The AWS operation name (`PutObject`, `CompleteMultipartUpload`); for the admin and web
    /// APIs the route's permission (`admin:CreateUser`); for the agent what it does (`Failover`).
    public var operation = ""
    public var method = ""
    public var clientAddress = ""
    public var userAgent = ""
    /// Set once the signature checked out; nil for anonymous requests and auth failures.
    public var tenant: String?
    public var accessKey: String?
    /// The access key id a refused request named (audit's `auth.failure`); never a secret,
    /// signature or token.
    public var claimedAccessKey: String?
    /// As the client named them (not the store's qualified bucket name); an S3 request's bucket
    /// is its bare name once the caller is known (`photos` of `acme:photos`), its tenant
    /// `bucketTenant`.
    public var bucket: String?
    /// The tenant whose bucket the request addressed (the bucket owner's account), whoever the
    /// caller is: anonymous and other tenants' requests on acme's buckets carry `acme` here and
    /// their own tenant (or none) in `tenant`.
    public var bucketTenant: String?
    public var key: String?
    public var status = 0
    /// The S3 (or JSON API) error code of a failed request.
    public var errorCode: String?
    /// Why the signature or the credentials were refused (`SignatureDoesNotMatch`,
    /// `InvalidAccessKeyId`, `ExpiredToken`…); nil when authentication passed or never ran.
    public var authFailure: String?
    public var bytesIn: Int64 = 0
    public var bytesOut: Int64 = 0
    /// Storage zones the request called, in first-call order, each once.
    public private(set) var zones: [String] = []
    /// Seconds since the epoch; set when the response is out.
    public var finished: Double?

    public init(requestId: String, origin: Origin, started: Double) {
        self.requestId = requestId
        self.origin = origin
        self.started = started
    }

    public func touched(zone: String) {
        if !zones.contains(zone) { zones.append(zone) }
    }

    /// Seconds from start to finish (0 while running).
    public var latency: Double { finished.map { max(0, $0 - started) } ?? 0 }

    // MARK: the calling thread's trace

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in p.map { Unmanaged<RequestTrace>.fromOpaque($0).release() } }
        return k
    }()

    /// The trace of the work the calling thread is doing; nil outside `run`.
    public static var current: RequestTrace? {
        pthread_getspecific(key).map { Unmanaged<RequestTrace>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Runs `body` with `self` as the thread's current trace, restoring the previous one after
    /// (an agent step inside a maintenance run nests).
    public func run<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let previous = pthread_getspecific(Self.key)
        pthread_setspecific(Self.key, Unmanaged.passRetained(self).toOpaque())
        defer {
            Unmanaged<RequestTrace>.fromOpaque(pthread_getspecific(Self.key)!).release()
            pthread_setspecific(Self.key, previous)
        }
        return try body()
    }
}
