import GatewayCore
import SigV4

/// Signs the requests the gateway sends to an S3 endpoint, for a zone's provider and a source
/// account alike: the keys (with the session token of temporary credentials, which is sent and
/// signed as `x-amz-security-token`) and the clock that dates each signature.
struct S3RequestSigner: Sendable {
    let accessKey: String
    let secretKey: String
    let sessionToken: String?
    let clock: any Clock

    /// Where a request for `bucket` (and `key`) goes on `host`: path-style (`host/bucket/key`)
    /// or virtual-hosted (`bucket.host/key`). Keys are URI-encoded once, slashes kept.
    static func address(host: String, bucket: String?, key: String?, pathStyle: Bool) -> (host: String, path: String) {
        guard let bucket else { return (host, "/") }
        let encodedKey = key.map { uriEncode($0, encodeSlash: false) }
        if pathStyle { return (host, "/" + bucket + (encodedKey.map { "/" + $0 } ?? "")) }
        return (bucket + "." + host, "/" + (encodedKey ?? ""))
    }

    /// Builds and signs a request to `scheme://host rawURI`. The payload is UNSIGNED-PAYLOAD
    /// unless `payload` says otherwise. Returns the request, its signature (the seed of signed
    /// chunks) and its date.
    func sign(
        _ method: String, scheme: String, host: String, rawURI: String, region: String,
        headers extra: [(String, String)] = [], payload: String = "UNSIGNED-PAYLOAD", length: Int64? = nil,
        timeouts: ZoneTimeouts
    ) -> (request: HTTPRequest, signature: String, amzDate: String) {
        let amzDate = HTTPDate.amzDate(Int(clock.now().rounded(.down)))
        var headers: [(name: String, value: String)] = [
            ("host", host), ("x-amz-date", amzDate), ("x-amz-content-sha256", payload),
        ]
        if let sessionToken { headers.append(("x-amz-security-token", sessionToken)) }
        headers += extra.map { (name: $0.0.lowercased(), value: $0.1) }
        let (authorization, signature) = Signer.sign(
            method: method, rawURI: rawURI, headers: headers, payloadHash: payload, accessKey: accessKey,
            secretKey: secretKey, region: region, service: "s3", amzDate: amzDate)
        let sent = headers.filter { $0.name != "host" } + [("Authorization", authorization), ("Host", host)]
        let request = HTTPRequest(
            method: method, url: "\(scheme)://\(host)\(rawURI)", headers: sent, bodyLength: length, timeouts: timeouts)
        return (request, signature, amzDate)
    }
}
