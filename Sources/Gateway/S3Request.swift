import GatewayCore
import S3Protocol
import SigV4

/// A request after authentication and path-style addressing are resolved.
struct S3Request {
    let head: RequestHead
    let requestId: String
    let auth: AuthContext
    /// Who signed it; nil for an anonymous (unsigned) request: the anonymous caller, or a browser
    /// POST form, whose signer the handler finds in the form.
    var principal: Principal?
    /// The bucket as the client named it, percent-decoded: `photos`, or path-style
    /// `acme:photos` naming tenant acme's bucket (`S3Gateway.address` checked the tenant id);
    /// nil for service-level requests. Error bodies echo it as sent.
    let bucketName: String?
    /// Percent-decoded, byte for byte ("a//b/../c" stays as is); nil for bucket-level requests.
    let key: String?
    var query: [String: String]
    let body: any ByteSource
    let now: Double
    /// "https" when nginx terminated TLS for this request, else "http".
    var scheme = "http"
    /// The bucket came from the Host name (virtual-host style).
    var virtualHosted = false
    /// Sent by the gateway itself (GatewayWrites: a migration's writes), not over a network.
    var inProcess = false
    /// REMOTE_ADDR: the address nginx accepted the connection from (aws:SourceIp); 127.0.0.1
    /// for the gateway's own (`inProcess`) writes.
    var remoteAddress = ""
    /// nginx's $ssl_protocol (SSL_PROTOCOL: "TLSv1.3"), empty over plain HTTP: s3:TlsVersion.
    var tlsProtocol = ""
    /// nginx may send the object's file itself (`AccelRedirect`): false when its fallback
    /// location passes the request back (`S3GW_NO_ACCEL`).
    var accelAllowed = false
    /// PutObjectTagging's tag set once its body is parsed: the s3:RequestObjectTag keys of the
    /// decision taken then (`S3Router.decidesAfterBody`).
    var taggingBody: [Header]?
    /// The addressed bucket, loaded (and the request authorized on it) once by the router for
    /// bucket- and object-level routes; `Handlers.ownedBucket` hands it out.
    var bucketRecord: BucketRecord? { didSet { answered.bucket = bucketRecord } }
    /// The bucket as last loaded for this request, shared by every copy of it (a handler's
    /// `var caller = r` included): the gateway reads it after the route returned or threw, for
    /// the CORS headers of the answer (S3Gateway+CORS.swift), without reading the bucket again.
    let answered = AnsweredBucket()
    /// GET/HEAD of an object's latest version: the router read it with the bucket in one store
    /// read (`bucketAndObject`); nil inside means no such object. Nil when not read.
    var latestObject: ObjectRecord??
    /// The version `versionId` names, as the router read it for its decision (nil inside: none).
    var namedVersion: (id: String, object: ObjectRecord?)?
    /// A browser POST form's fields (lowercased names): what its policy conditions see in place
    /// of request headers (`acl` as x-amz-acl).
    var formFields: [String: String]?

    /// The absolute URL of an object, as the client addressed this gateway.
    func objectURL(bucket: String, key: String) -> String {
        let host = header("host") ?? "localhost"
        let path = uriEncode(key, encodeSlash: false)
        return virtualHosted ? "\(scheme)://\(host)/\(path)" : "\(scheme)://\(host)/\(bucket)/\(path)"
    }

    /// The caller's tenant; an anonymous request (or a POST form before its signer is known)
    /// belongs to the default tenant.
    var tenant: String { principal?.tenant ?? TenantRecord.defaultID }

    /// Who the access decision is about.
    var caller: Caller { principal.map { .principal($0) } ?? .anonymous }

    /// The tenant whose bucket the request addresses: the one named by `tenant:bucket`, else the
    /// caller's.
    var bucketTenant: String { bucketName.map { BucketAddress.resolve($0, callerTenant: tenant).tenant } ?? tenant }

    /// The bucket's name inside its tenant (`photos` of `acme:photos`).
    var bucketDisplayName: String? { bucketName.map { BucketAddress.split($0).name } }

    /// The metadata store's name of the addressed bucket (`TenantRecord.qualifiedBucket`).
    var bucket: String? { bucketName.map { BucketAddress.resolve($0, callerTenant: tenant).stored } }

    var method: String { head.method }
    /// The header's value as sent, byte for byte (HeaderBytes).
    func header(_ name: String) -> String? { head.header(name) }
    /// A header whose value is text (a percent-encoded copy source, a tag set): its bytes as
    /// UTF-8; nil when absent, and the raw value when its bytes are not UTF-8.
    func headerText(_ name: String) -> String? { head.header(name).map { HeaderBytes.text($0) ?? $0 } }
    func has(_ subresource: String) -> Bool { query[subresource] != nil }

    /// The resource named in error bodies.
    var resource: String { head.rawPath }
}

/// Path-style `tenant:bucket` (Ceph RGW's convention): another tenant's bucket, or one's own
/// named with its tenant. `:` is never valid in a bucket name, so a bare name cannot clash.
enum BucketAddress {
    /// The tenant before the first `:` (nil without one) and the name after it.
    static func split(_ sent: String) -> (tenant: String?, name: String) {
        // On the byte: S3 names are split where the `:` is, and a Character scan costs more.
        guard let colon = sent.utf8.firstIndex(of: UInt8(ascii: ":")) else { return (nil, sent) }
        return (String(sent[..<colon]), String(sent[sent.utf8.index(after: colon)...]))
    }

    /// The bucket `sent` addresses for a caller of `callerTenant`: its tenant (the one named by
    /// `tenant:bucket`, else the caller's), its name inside it, and the metadata store's name of
    /// it (`TenantRecord.qualifiedBucket`). The one resolution every part of a request uses (the
    /// router, handlers, the preflight), so they always mean the same bucket.
    static func resolve(_ sent: String, callerTenant: String) -> (tenant: String, name: String, stored: String) {
        let (named, name) = split(sent)
        let tenant = named ?? callerTenant
        return (tenant, name, TenantRecord.qualifiedBucket(tenant: tenant, name: name))
    }

    /// InvalidBucketName unless the tenant part is a tenant id and a name follows it.
    static func validate(_ sent: String) throws(S3Error) {
        let (tenant, name) = split(sent)
        guard let tenant else { return }
        guard TenantRecord.isValidID(tenant), !name.isEmpty, !name.contains(":") else {
            throw S3Error(.invalidBucketName, extra: [("BucketName", sent)])
        }
    }
}

/// `S3Request.answered`: a reference, so what the router or a handler loaded reaches the gateway
/// through the copies of the request they made.
final class AnsweredBucket {
    var bucket: BucketRecord?
}

/// What a handler answers: status, headers, and a body that is either small bytes or a stream.
struct S3Response {
    enum Body {
        case empty
        case bytes([UInt8])
        case stream(any ByteSource)
    }

    var status: Int
    var headers: [Header]
    var body: Body
    /// Set (with no body): nginx sends the bytes from this internal URI (`AccelRedirect`).
    var accelRedirect: String?

    init(status: Int = 200, headers: [Header] = [], body: Body = .empty, accelRedirect: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.accelRedirect = accelRedirect
    }

    static func xml(_ document: String, status: Int = 200) -> S3Response {
        S3Response(
            status: status, headers: [Header("Content-Type", "application/xml")], body: .bytes(Array(document.utf8)))
    }
}
