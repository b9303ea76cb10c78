import GatewayCore

// SigV2, still the default of `aws s3 presign` (v1), boto3 presigned URLs and s3cmd
// `--signature-v2` (CLIENTS.md).
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html

/// Query parameters that are part of the SigV2 CanonicalizedResource (botocore's and s3cmd's
/// list; S3 ignores any other parameter when signing).
let v2SubResources: Set<String> = [
    "accelerate", "acl", "analytics", "cors", "delete", "encryption", "intelligent-tiering", "inventory",
    "legal-hold", "lifecycle", "location", "logging", "metrics", "notification", "object-lock", "ownershipControls",
    "partNumber", "policy", "policyStatus", "publicAccessBlock", "replication", "requestPayment", "restore",
    "retention", "select", "select-type", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
    "versions", "website", "response-cache-control", "response-content-disposition", "response-content-encoding",
    "response-content-language", "response-content-type", "response-expires",
]

extension Verifier {
    /// StringToSign = Verb \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders
    /// CanonicalizedResource. `dateLine` is the Date header (empty when x-amz-date is sent) or,
    /// for query auth, Expires.
    public static func stringToSignV2(
        _ head: RequestHead, dateLine: String, virtualHostedBucket: String? = nil, bucketSlash: Bool = false
    ) -> String {
        var amz: [String: [String]] = [:]
        for h in head.headers where h.name.hasPrefix("x-amz-") {
            amz[h.name, default: []].append(CanonicalRequest.canonicalHeaderValue(h.value))
        }
        let amzLines = amz.keys.sorted().map { $0 + ":" + amz[$0]!.joined(separator: ",") + "\n" }.joined()
        // Header values are HeaderBytes; the resource is text, put in the same form (see
        // `Signer.signatureV2`, which signs the bytes).
        return head.method + "\n" + (head.header("content-md5") ?? "") + "\n" + (head.header("content-type") ?? "")
            + "\n" + dateLine + "\n" + amzLines
            + HeaderBytes.fromText(
                canonicalizedResourceV2(head, virtualHostedBucket: virtualHostedBucket, bucketSlash: bucketSlash))
    }

    /// Compares a SigV2 signature. botocore signs a path-style bucket request sent as
    /// "/bucket" over "/bucket/", so for a bare bucket path both resource forms are tried.
    func v2SignatureMatches(
        _ head: RequestHead, dateLine: String, bucket: String?, secret: String, signature: String
    ) -> Bool {
        let sts = Self.stringToSignV2(head, dateLine: dateLine, virtualHostedBucket: bucket)
        if constantTimeEquals(Signer.signatureV2(secretKey: secret, stringToSign: sts), signature) { return true }
        let path = head.rawPath
        guard bucket == nil, path.count > 1, !path.dropFirst().contains("/") else { return false }
        let slashed = Self.stringToSignV2(head, dateLine: dateLine, virtualHostedBucket: nil, bucketSlash: true)
        return constantTimeEquals(Signer.signatureV2(secretKey: secret, stringToSign: slashed), signature)
    }

    /// Path as sent (prefixed with "/bucket" for virtual-hosted style), then the sub-resources
    /// sorted by name, values decoded; "uploads" and "uploads=" stay distinct, as clients sign them.
    static func canonicalizedResourceV2(_ head: RequestHead, virtualHostedBucket: String?, bucketSlash: Bool = false)
        -> String
    {
        var resource = head.rawPath.isEmpty ? "/" : head.rawPath
        if bucketSlash { resource += "/" }
        if let bucket = virtualHostedBucket, !bucket.isEmpty { resource = "/" + bucket + resource }
        let subs = head.rawQueryPairs.compactMap { p -> (String, String?)? in
            let name = percentDecode(p.name) ?? p.name
            guard v2SubResources.contains(name) else { return nil }
            return (name, p.value.map { percentDecode($0) ?? $0 })
        }.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
        if !subs.isEmpty {
            resource += "?" + subs.map { name, value in value.map { name + "=" + $0 } ?? name }.joined(separator: "&")
        }
        return resource
    }

    func verifyV2Header(_ head: RequestHead, authorization: String, now: Double, bucket: String?) throws(S3Error)
        -> AuthContext
    {
        let credential = authorization.dropFirst(4)
        guard let colon = credential.lastIndex(of: ":"), colon != credential.startIndex,
            credential.index(after: colon) != credential.endIndex
        else {
            throw .invalidArgument("AWS authorization header is invalid.  Expected AwsAccessKeyId:signature")
        }
        let accessKey = trimHTTPWhitespace(String(credential[..<colon]))
        let signature = String(credential[credential.index(after: colon)...])
        let payload = try payloadMode(head, allowStreamingSigned: false)
        // x-amz-date wins over Date and may be RFC 1123 (s3cmd --signature-v2); the Date line is
        // then empty because x-amz-date is signed among the amz headers.
        let dateLine: String
        let time: Int
        if let x = head.header("x-amz-date") {
            guard let t = HTTPDate.parseHTTP(x) ?? HTTPDate.parseAmzDate(x) else { throw .missingDate }
            time = t
            dateLine = ""
        } else if let d = head.header("date"), let t = HTTPDate.parseHTTP(d) {
            time = t
            dateLine = d
        } else {
            throw .missingDate
        }
        guard let secret = credentials.secretKey(forAccessKey: accessKey) else { throw .invalidAccessKey }
        try checkSkew(time, now: now)
        guard v2SignatureMatches(head, dateLine: dateLine, bucket: bucket, secret: secret, signature: signature) else {
            throw .signatureMismatch
        }
        return AuthContext(accessKey: accessKey, method: .v2Header, payload: payload)
    }

    func verifyV2Query(_ head: RequestHead, query: [(name: String, value: String)], now: Double, bucket: String?)
        throws(S3Error) -> AuthContext
    {
        func param(_ n: String) -> String? { query.first { $0.name == n }?.value }
        guard let accessKey = param("AWSAccessKeyId"), let signature = param("Signature"),
            let expiresField = param("Expires")
        else {
            throw .accessDenied(
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
        }
        guard let expires = Int(expiresField) else {
            throw .accessDenied(
                "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
        }
        guard let secret = credentials.secretKey(forAccessKey: accessKey) else { throw .invalidAccessKey }
        if now > Double(expires) { throw .expired }
        let payload = try payloadMode(head, allowStreamingSigned: false)
        // A presigned URL carries the x-amz-* headers it signs as parameters (botocore puts a
        // session's x-amz-security-token there): they are signed as headers.
        var signed = head
        for q in query where q.name.lowercased().hasPrefix("x-amz-") {
            signed.headers.append((name: q.name.lowercased(), value: q.value))
        }
        guard v2SignatureMatches(signed, dateLine: expiresField, bucket: bucket, secret: secret, signature: signature)
        else { throw .signatureMismatch }
        return AuthContext(accessKey: accessKey, method: .v2Query, payload: payload)
    }
}
