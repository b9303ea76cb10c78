import SigV4

extension RequestHead {
    /// The access key id a request's signature names, read from the raw request (the verifier
    /// refused it before saying): SigV4 `Credential=AKID/…` in the Authorization header or
    /// `X-Amz-Credential` in the query, SigV2 `AWS AKID:…` or `AWSAccessKeyId`.
    public var claimedAccessKey: String? {
        if let auth = header("authorization") {
            if let r = auth.range(of: "Credential=") {
                return String(auth[r.upperBound...].prefix { $0 != "/" && $0 != "," && $0 != " " })
            }
            if auth.hasPrefix("AWS ") { return String(auth.dropFirst(4).prefix { $0 != ":" }) }
        }
        for item in queryItems {
            switch item.name.lowercased() {
            case "x-amz-credential": return String(item.value.prefix { $0 != "/" })
            case "awsaccesskeyid": return item.value
            default: continue
            }
        }
        return nil
    }
}
