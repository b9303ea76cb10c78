import GatewayCore
import S3Protocol
import SigV4

/// A request after authentication and path-style addressing are resolved.
struct S3Request {
    let head: RequestHead
    let requestId: String
    let auth: AuthContext
    /// Who signed it; nil for an anonymous request (a browser POST form, whose signer the
    /// handler finds in the form).
    let principal: Principal?
    /// The bucket as the client named it, percent-decoded; nil for service-level requests.
    let bucketName: String?
    /// Percent-decoded, byte for byte ("a//b/../c" stays as is); nil for bucket-level requests.
    let key: String?
    let query: [String: String]
    let body: any ByteSource
    let now: Double
    /// "https" when nginx terminated TLS for this request, else "http".
    var scheme = "http"
    /// The bucket came from the Host name (virtual-host style).
    var virtualHosted = false
    /// Sent by the gateway itself (GatewayWrites: a migration's writes), not over a network.
    var inProcess = false

    /// The absolute URL of an object, as the client addressed this gateway.
    func objectURL(bucket: String, key: String) -> String {
        let host = header("host") ?? "localhost"
        let path = uriEncode(key, encodeSlash: false)
        return virtualHosted ? "\(scheme)://\(host)/\(path)" : "\(scheme)://\(host)/\(bucket)/\(path)"
    }

    /// The caller's tenant; an anonymous request (a POST form before its signer is known)
    /// addresses the default tenant.
    var tenant: String { principal?.tenant ?? TenantRecord.defaultID }

    /// The metadata store's name of the bucket in the caller's tenant
    /// (`TenantRecord.qualifiedBucket`).
    var bucket: String? { bucketName.map { TenantRecord.qualifiedBucket(tenant: tenant, name: $0) } }

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

    init(status: Int = 200, headers: [Header] = [], body: Body = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    static func xml(_ document: String, status: Int = 200) -> S3Response {
        S3Response(
            status: status, headers: [Header("Content-Type", "application/xml")], body: .bytes(Array(document.utf8)))
    }
}
