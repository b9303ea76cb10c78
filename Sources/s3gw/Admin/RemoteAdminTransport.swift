import Foundation
import GatewayCore
import S3Backend
import SigV4

/// Admin calls to a gateway's `/admin/` API over HTTP(S), SigV4-signed (service `s3`, the body's
/// SHA-256 in x-amz-content-sha256) like any AWS signing library would sign them.
struct RemoteAdminTransport: AdminTransport {
    struct Credentials {
        var accessKey: String
        var secretKey: String
        var sessionToken: String?
    }

    /// `scheme://host[:port]`.
    let origin: String
    /// The endpoint's path, if it has one, without a trailing slash ("" for none).
    let prefix: String
    /// The Host header as signed: host, and the port when the URL names one.
    let host: String
    let credentials: Credentials
    let region: String
    let caBundle: String?
    let verifyTLS: Bool
    var timeout: Double = 30

    init(endpoint: String, credentials: Credentials, region: String, caBundle: String?, verifyTLS: Bool)
        throws(AdminFailure)
    {
        guard let url = URLComponents(string: endpoint), let scheme = url.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let name = url.host, !name.isEmpty,
            url.query == nil, url.fragment == nil
        else {
            throw AdminFailure(code: "InvalidEndpoint", message: "\(endpoint) is not an http:// or https:// URL")
        }
        let hostName = name.contains(":") && !name.hasPrefix("[") ? "[\(name)]" : name
        host = url.port.map { "\(hostName):\($0)" } ?? hostName
        var path = url.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        prefix = path
        origin = "\(scheme)://\(host)"
        self.credentials = credentials
        self.region = region
        self.caBundle = caBundle
        self.verifyTLS = verifyTLS
    }

    func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
        let (url, headers) = signed(call, now: Int(Date().timeIntervalSince1970))
        do {
            let answer = try SimpleHTTP.send(
                method: call.method, url: url, headers: headers, body: call.body, caBundle: caBundle,
                verifyTLS: verifyTLS, timeout: call.timeout ?? timeout)
            return AdminReply(status: answer.status, body: answer.body)
        } catch {
            let hint =
                origin.hasPrefix("https:") && error.description.contains("SSL")
                ? " (--ca-bundle FILE names the CA that signed its certificate)" : ""
            throw AdminFailure(code: "Unreachable", message: "\(origin)\(prefix): \(error.description)\(hint)")
        }
    }

    func download(_ call: AdminCall, into sink: any ByteSink) throws(AdminFailure) -> AdminReply {
        let (url, headers) = signed(call, now: Int(Date().timeIntervalSince1970))
        do {
            let answer = try SimpleHTTP.receive(
                method: call.method, url: url, headers: headers, caBundle: caBundle, verifyTLS: verifyTLS,
                timeout: call.timeout ?? timeout
            ) { status in (200..<300).contains(status) ? sink : nil }
            return AdminReply(status: answer.status, body: answer.body)
        } catch {
            throw AdminFailure(code: "Unreachable", message: "\(origin)\(prefix): \(error.description)")
        }
    }

    /// The URL and the headers, signature included, of `call` sent at `now`.
    func signed(_ call: AdminCall, now: Int) -> (url: String, headers: [(name: String, value: String)]) {
        let path =
            prefix + "/\(call.api.rawValue)/"
            + call.path.map { uriEncode($0, encodeSlash: true) }.joined(separator: "/")
        let query = call.query.sorted { $0.key < $1.key }
            .map { uriEncode($0.key, encodeSlash: true) + "=" + uriEncode($0.value, encodeSlash: true) }
            .joined(separator: "&")
        let rawURI = query.isEmpty ? path : path + "?" + query
        let payloadHash = hexEncode(Digest.hash(.sha256, call.body))
        let amzDate = HTTPDate.amzDate(now)
        var headers: [(name: String, value: String)] = [
            ("host", host), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
        ]
        if !call.body.isEmpty { headers.append(("content-type", "application/json")) }
        if let token = credentials.sessionToken { headers.append(("x-amz-security-token", token)) }
        let (authorization, _) = Signer.sign(
            method: call.method, rawURI: rawURI, headers: headers, payloadHash: payloadHash,
            accessKey: credentials.accessKey, secretKey: credentials.secretKey, region: region, service: "s3",
            amzDate: amzDate)
        headers.append(("authorization", authorization))
        return (origin + rawURI, headers)
    }
}
