/// An existing S3 account that discovery inventories and a migration copies from. The gateway
/// only ever reads it. Implemented over libcurl by S3Backend's `S3SourceClient`; in memory by
/// GatewayTesting's `InMemorySourceAccount`.
///
/// Errors never carry the credentials, a signature or a signed URL: their messages may reach a
/// log, a job's progress row and the browser.
public protocol SourceAccount: Sendable {
    /// ListBuckets.
    func listBuckets() throws(SourceError) -> [SourceBucket]
    /// GetBucketLocation, normalized: "" is us-east-1 and "EU" eu-west-1.
    func region(of bucket: String) throws(SourceError) -> String
    /// Each feature read on its own; one the credentials may not read is `.unknown`, never an
    /// error for the whole bucket.
    func features(of bucket: String, region: String) -> SourceBucketFeatures
    /// One ListObjectsV2 page (at most 1000 keys), in key order; `continuation` is the previous
    /// page's `next`.
    func listObjects(bucket: String, region: String, continuation: String?) throws(SourceError) -> SourcePage
    /// GetObject, streaming.
    func open(bucket: String, region: String, key: String) throws(SourceError) -> any SourceObjectReader
}

/// Where a source account is and how to sign for it. The credentials exist only in memory.
public struct SourceSpec: Sendable, CustomStringConvertible {
    /// `https://s3.amazonaws.com` (the default) or another S3-compatible endpoint URL.
    public var endpoint: String
    /// The signing region for account-wide calls (ListBuckets); buckets use their own.
    public var region: String
    public var credentials: SourceCredentials

    public init(endpoint: String, region: String, credentials: SourceCredentials) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
    }

    /// The endpoint as the allow-list would normalize it, never the text as pasted: that may
    /// carry user info or a signed query.
    public var description: String {
        let shown = (try? EndpointURL.parse(endpoint))?.normalized ?? "(invalid endpoint)"
        return "SourceSpec(\(shown), \(region))"
    }
}

/// Pasted or prompted credentials. Printing one (string interpolation, `dump`, a log line)
/// shows the access key id only, so a careless log statement cannot leak the secret.
public struct SourceCredentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var description: String { "SourceCredentials(\(accessKey), secret withheld)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["accessKey": accessKey]) }
}

extension SourceCredentials {
    /// Text that may reach a person (a lower layer's error, a source's answer) without the secret
    /// or the token, a URL's query (a signed URL's signature) or an Authorization header, should
    /// anything have put them in.
    public func scrub(_ text: String) -> String {
        var t = text.replacing(#/([A-Za-z][A-Za-z0-9+.\-]*:\/\/[^\s?#]*)[?#]\S*/#) { String($0.output.1) }
        t = t.replacing(#/AWS4-HMAC-SHA256\s.*/#, with: "(withheld)")
        for secret in [secretKey, sessionToken ?? ""] where !secret.isEmpty {
            t = t.replacing(secret, with: "(withheld)")
        }
        return t
    }
}

/// Opens a source account; refuses endpoints it cannot or may not reach.
public typealias SourceConnector = @Sendable (SourceSpec) throws(SourceError) -> any SourceAccount

public struct SourceBucket: Sendable, Equatable {
    public var name: String
    /// Seconds since 1970, when the listing gave one.
    public var creationDate: Double?

    public init(name: String, creationDate: Double? = nil) {
        self.name = name
        self.creationDate = creationDate
    }
}

/// One bucket feature as far as the credentials could read it.
public enum SourceFeatureState: String, Sendable, Equatable {
    case enabled, disabled, unknown
    /// Versioning only.
    case suspended
}

public struct SourceBucketFeatures: Sendable, Equatable {
    public var versioning: SourceFeatureState = .unknown
    public var encryption: SourceFeatureState = .unknown
    public var lifecycle: SourceFeatureState = .unknown
    public var replication: SourceFeatureState = .unknown
    public var objectLock: SourceFeatureState = .unknown
    public var policy: SourceFeatureState = .unknown

    public init() {}
}

/// One entry of a ListObjectsV2 page.
public struct SourceObject: Sendable, Equatable {
    public var key: String
    public var size: Int64
    /// Unquoted.
    public var etag: String
    /// Seconds since 1970.
    public var lastModified: Double
    /// Nil when the listing left it out (S3 then means STANDARD).
    public var storageClass: String?

    public init(key: String, size: Int64, etag: String, lastModified: Double, storageClass: String? = nil) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.storageClass = storageClass
    }
}

public struct SourcePage: Sendable, Equatable {
    public var objects: [SourceObject]
    /// The continuation token of the next page; nil on the last.
    public var next: String?

    public init(objects: [SourceObject], next: String?) {
        self.objects = objects
        self.next = next
    }
}

/// What a GetObject answered besides the bytes.
public struct SourceObjectHead: Sendable, Equatable {
    public var size: Int64
    /// Unquoted; `<md5>-<parts>` for multipart uploads.
    public var etag: String
    public var lastModified: Double?
    public var contentType: String?
    /// Headers the gateway stores with an object as the source sent them: Cache-Control,
    /// Content-Disposition, Content-Encoding, Content-Language, Expires, x-amz-meta-*, by
    /// lowercased name; and the `encryptionHeaders`, which say what the ETag is (a copy never
    /// stores those).
    public var headers: [String: String]
    /// `x-amz-checksum-*` the source returned, by lowercased algorithm name ("crc32", "sha256"…).
    public var checksums: [String: String]

    public init(
        size: Int64, etag: String, lastModified: Double? = nil, contentType: String? = nil,
        headers: [String: String] = [:], checksums: [String: String] = [:]
    ) {
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
        self.contentType = contentType
        self.headers = headers
        self.checksums = checksums
    }

    /// How the source encrypted the object, as GetObject answers it. S3 makes the ETag of an
    /// object encrypted with SSE-KMS, DSSE-KMS or SSE-C something other than an MD5 of its
    /// bytes, even when it looks like one.
    public static let encryptionHeaders: Set<String> = [
        "x-amz-server-side-encryption", "x-amz-server-side-encryption-customer-algorithm",
    ]

    /// SSE-C: the source serves the bytes only to a request carrying the customer's key.
    public var isCustomerKeyEncrypted: Bool { headers["x-amz-server-side-encryption-customer-algorithm"] != nil }

    /// The server-side encryption that makes the ETag no digest of the bytes ("aws:kms",
    /// "aws:kms:dsse", "SSE-C"), nil when the ETag is S3's usual one (no encryption, or SSE-S3's
    /// AES256).
    public var etagHidingEncryption: String? {
        if isCustomerKeyEncrypted { return "SSE-C" }
        guard let sse = headers["x-amz-server-side-encryption"]?.lowercased(), sse.hasPrefix("aws:kms") else {
            return nil
        }
        return sse
    }
}

/// A source object being read: `read` streams its bytes, `head` says what they are.
public protocol SourceObjectReader: BlobReader {
    var head: SourceObjectHead { get }
    /// Ends the transfer early (a cancelled copy); reading after it fails.
    func close()
}

/// Why a source request failed, in words that may be shown to the person who pasted the
/// credentials: never the credentials or a signature.
public enum SourceError: Error, Sendable, Equatable {
    /// The endpoint is not in `[discovery] endpoints` (its host), or not a usable URL ("": a
    /// text that is no endpoint URL is never repeated, it may hold a secret).
    case endpointNotAllowed(String)
    /// AccessDenied (or 403) from the source, naming the operation.
    case accessDenied(operation: String)
    /// InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken, InvalidToken…: the S3 code.
    case invalidCredentials(code: String)
    case noSuchBucket(String)
    case noSuchKey(String)
    /// Connection, TLS or timeout: the endpoint did not answer.
    case unreachable(String)
    /// The endpoint answered, but not with something this client can use: keys out of order,
    /// a page larger than asked for, a continuation token repeated, no region. It concerns the
    /// bucket asked about, and asking again would get the same answer.
    case invalidAnswer(String)
    /// Any other S3 error: the operation, HTTP status and S3 code.
    case failed(operation: String, status: Int, code: String)

    public var message: String {
        switch self {
        case .endpointNotAllowed(""):
            "the endpoint is not http(s)://host[:port] (without user info, path or query) on this gateway's [discovery] endpoints"
        case .endpointNotAllowed(let e): "the endpoint \(e) is not allowed by this gateway's [discovery] endpoints"
        case .accessDenied(let op): "\(op): AccessDenied"
        case .invalidCredentials(let code): "the source refused the credentials (\(code))"
        case .noSuchBucket(let b): "no bucket \(b) in the source account"
        case .noSuchKey(let k): "no key \(k) in the source bucket"
        case .unreachable(let why): "the source endpoint could not be reached: \(why)"
        case .invalidAnswer(let why): "the source answered oddly: \(why)"
        case .failed(let op, let status, let code): "\(op) failed: HTTP \(status) \(code)"
        }
    }
}
