import GatewayCore

// Inbound request authentication: SigV4 (header and presigned query) and SigV2 (header and
// query), which clients still send (CLIENTS.md).
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html

public struct Verifier: Sendable {
    let credentials: any CredentialLookup
    let maxClockSkew: Double
    /// `[s3] signing_hosts`: Host values a SigV4 signature may have been computed for besides
    /// the request's own, tried after it. A global router answers 307 and the client re-sends
    /// to this gateway with the headers (or presigned URL) it signed for the router's host.
    let signingHosts: [String]
    /// Derived signing keys, shared by copies of this verifier.
    let signingKeys: SigningKeyCache

    public init(
        credentials: any CredentialLookup, maxClockSkew: Double = 900, signingHosts: [String] = [],
        signingKeys: SigningKeyCache = SigningKeyCache()
    ) {
        self.credentials = credentials
        self.maxClockSkew = maxClockSkew
        self.signingHosts = signingHosts
        self.signingKeys = signingKeys
    }

    /// The request's headers as signed for each host a signature may name: its own Host first,
    /// then each of `signingHosts` in its place (only when `host` is among the signed headers).
    func headerVariants(_ head: RequestHead, signed: [String]) -> [[(name: String, value: String)]] {
        guard signed.contains("host"), !signingHosts.isEmpty else { return [head.headers] }
        let own = head.header("host")
        return [head.headers]
            + signingHosts.filter { $0 != own }.map { host in
                head.headers.filter { $0.name != "host" } + [(name: "host", value: host)]
            }
    }

    /// `now` is seconds since 1970 (a parameter so tests are deterministic).
    /// `virtualHostedBucket` is the bucket taken from the Host name for virtual-hosted-style
    /// requests: SigV2 signs "/bucket/key" even when the path is only "/key".
    ///
    /// `service` is the one the credential scope must name ("s3"; "sts" for the STS endpoint).
    /// `bodyHash` is the hex SHA-256 of a body the caller already read, for signers that sign
    /// the payload without sending `x-amz-content-sha256` (STS and admin API clients).
    ///
    /// `doubleEncodedPath`: also accept a signature over the path URI-encoded once more, as AWS
    /// signs for every service but S3 and generic signers (botocore's `SigV4Auth`) do for any
    /// service; for the admin API, whose paths are not S3 keys.
    public func authenticate(
        _ head: RequestHead, now: Double, virtualHostedBucket: String? = nil, service: String = "s3",
        bodyHash: String? = nil, doubleEncodedPath: Bool = false
    ) throws(S3Error) -> AuthContext {
        let authorization = head.header("authorization")
        let query = head.queryItems
        let hasV4Query = query.contains {
            $0.name == "X-Amz-Algorithm" || $0.name == "X-Amz-Credential" || $0.name == "X-Amz-Signature"
        }
        let hasV2Query = query.contains { $0.name == "AWSAccessKeyId" || $0.name == "Signature" }
        if authorization != nil && (hasV4Query || hasV2Query) || hasV4Query && hasV2Query {
            throw .invalidArgument(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
            )
        }
        if let authorization {
            if authorization.hasPrefix(CanonicalRequest.algorithm + " ") {
                return try verifyV4Header(
                    head, authorization: authorization, now: now, service: service, bodyHash: bodyHash,
                    doubleEncodedPath: doubleEncodedPath)
            }
            if authorization.hasPrefix("AWS ") {
                return try verifyV2Header(head, authorization: authorization, now: now, bucket: virtualHostedBucket)
            }
            throw .invalidArgument("Unsupported Authorization Type")
        }
        if hasV4Query { return try verifyV4Query(head, query: query, now: now, service: service) }
        if hasV2Query { return try verifyV2Query(head, query: query, now: now, bucket: virtualHostedBucket) }
        // The caller decides whether anonymous access is allowed; the body may still carry
        // checksums to verify.
        return AuthContext(
            accessKey: "", method: .anonymous, payload: try payloadMode(head, allowStreamingSigned: false))
    }

    func payloadMode(_ head: RequestHead, allowStreamingSigned: Bool) throws(S3Error) -> PayloadMode {
        guard let mode = PayloadMode(headerValue: head.header("x-amz-content-sha256")) else {
            throw .invalidArgument(
                "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-*, or a valid sha256 value.")
        }
        if case .streamingSigned = mode, !allowStreamingSigned {
            throw .invalidArgument("Streaming signed payloads require Authorization header SigV4.")
        }
        return mode
    }

    func checkSkew(_ t: Int, now: Double) throws(S3Error) {
        if abs(Double(t) - now) > maxClockSkew { throw .skewed }
    }

    // MARK: - SigV4 Authorization header

    struct Credential {
        let accessKey: String
        let date: String
        let region: String
        let service: String
        var scope: String { date + "/" + region + "/" + service + "/aws4_request" }
    }

    /// "AK/20130524/us-east-1/s3/aws4_request"; nil reason means well-formed.
    static func parseCredential(_ s: String, service: String = "s3") -> (Credential?, String) {
        // Scanned as bytes, one String made per part kept: splitting into Strings (or on
        // Characters) cost more than the rest of the credential's checks.
        var s = s
        return s.withUTF8 { b in
            var cuts: [Int] = []
            cuts.reserveCapacity(6)
            cuts.append(-1)
            for i in 0..<b.count where b[i] == UInt8(ascii: "/") {
                cuts.append(i)
                if cuts.count > 5 { break }
            }
            cuts.append(b.count)
            func part(_ n: Int) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: b[(cuts[n] + 1)..<cuts[n + 1]])
            }
            func text(_ n: Int) -> String { String(decoding: part(n), as: UTF8.self) }
            let expecting = "expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
            guard cuts.count == 6, !part(0).isEmpty, !part(2).isEmpty else {
                return (nil, "the Credential is mal-formed; " + expecting)
            }
            guard part(1).count == 8, part(1).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return (
                    nil,
                    "incorrect date format \"\(text(1))\". This date in the credential must be in the format \"yyyyMMdd\"."
                )
            }
            guard part(3).elementsEqual(service.utf8) else {
                return (nil, "incorrect service \"\(text(3))\". This endpoint belongs to \"\(service)\".")
            }
            guard part(4).elementsEqual("aws4_request".utf8) else {
                return (nil, "incorrect terminal \"\(text(4))\". This endpoint uses \"aws4_request\".")
            }
            return (Credential(accessKey: text(0), date: text(1), region: text(2), service: service), "")
        }
    }

    static func parseSignedHeaders(_ s: String) -> [String]? {
        let names = s.utf8.split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).map {
            String(s[$0.startIndex..<$0.endIndex])
        }
        // Lower case: ASCII names by their bytes (no String made), others as Swift lowercases them.
        func isLower(_ n: String) -> Bool {
            n.utf8.allSatisfy { $0 < 0x80 } ? !n.utf8.contains { $0 >= 0x41 && $0 <= 0x5A } : n == n.lowercased()
        }
        guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && isLower($0) }) else { return nil }
        return names
    }

    /// The request time: x-amz-date (ISO 8601 basic) or, failing that, Date (RFC 1123).
    /// Returns epoch seconds and the ISO form used in the string to sign.
    public static func requestTimeV4(_ head: RequestHead) -> (Int, String)? {
        if let x = head.header("x-amz-date") {
            guard let t = HTTPDate.parseAmzDate(x) else { return nil }
            return (t, x)
        }
        if let d = head.header("date"), let t = HTTPDate.parseHTTP(d) { return (t, HTTPDate.amzDate(t)) }
        return nil
    }

    func verifyV4Header(
        _ head: RequestHead, authorization: String, now: Double, service: String = "s3", bodyHash: String? = nil,
        doubleEncodedPath: Bool = false
    ) throws(S3Error) -> AuthContext {
        // Parts separated by "," with or without spaces (s3cmd sends none). A piece that starts
        // no part may continue the Credential: the scope's region may be a LocationConstraint
        // list ("…/fi,se/s3/aws4_request", as s3cmd signs CreateBucket with --bucket-location).
        let rest = authorization.dropFirst(CanonicalRequest.algorithm.count + 1)
        var fields: [String: String] = [:]
        var last: String?
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) {
            let p = trimHTTPWhitespace(String(part))
            if let eq = p.firstIndex(of: "="), ["Credential", "SignedHeaders", "Signature"].contains(p[..<eq]) {
                last = String(p[..<eq])
                fields[last!] = String(p[p.index(after: eq)...])
            } else if last == "Credential", !p.isEmpty {
                fields["Credential"]! += "," + part
            } else {
                throw .malformed("The authorization header is malformed; incorrect component \"\(p)\".")
            }
        }
        guard let credentialField = fields["Credential"], let signedField = fields["SignedHeaders"],
            let signature = fields["Signature"]
        else {
            throw .malformed(
                "The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.")
        }
        let (parsed, reason) = Self.parseCredential(credentialField, service: service)
        guard let credential = parsed else { throw .malformed("The authorization header is malformed; " + reason) }
        guard let signed = Self.parseSignedHeaders(signedField) else {
            throw .malformed("The authorization header is malformed; SignedHeaders is invalid.")
        }
        guard signed.contains("host") else {
            throw .malformed("The authorization header is malformed; the host header must be signed.")
        }
        let payload = try payloadMode(head, allowStreamingSigned: true)
        guard let (time, amzDate) = Self.requestTimeV4(head) else { throw .missingDate }
        guard amzDate.hasPrefix(credential.date) else {
            throw .malformed(
                "The authorization header is malformed; Invalid credential date \"\(credential.date)\". This date is not the same as X-Amz-Date: \"\(amzDate.prefix(8))\"."
            )
        }
        guard let secret = credentials.secretKey(forAccessKey: credential.accessKey) else { throw .invalidAccessKey }
        try checkSkew(time, now: now)

        let derived = signingKeys.signingKey(
            accessKey: credential.accessKey, secret: secret, date: credential.date, region: credential.region,
            service: credential.service)
        let key = derived.key
        let canonicalQuery = CanonicalRequest.canonicalQuery(pairs: head.rawQueryPairs)
        let scope = credential.scope
        let payloadHash = head.header("x-amz-content-sha256") ?? bodyHash ?? CanonicalRequest.emptySHA256
        func expectedSignature(uri: String, headers: [(name: String, value: String)]) -> String {
            CanonicalRequest.signature(
                signingKey: key, amzDate: amzDate, scope: scope, method: head.method, canonicalURI: uri,
                canonicalQuery: canonicalQuery,
                canonicalHeaders: CanonicalRequest.canonicalHeaders(headers, signed: signed),
                signedHeaders: signedField, payloadHash: payloadHash)
        }
        let uri = CanonicalRequest.canonicalURI(rawPath: head.rawPath)
        var uris = [uri]
        if doubleEncodedPath && uri.contains("%") { uris.append(uriEncode(uri, encodeSlash: false)) }
        var expected = ""
        search: for headers in headerVariants(head, signed: signed) {
            for u in uris {
                expected = expectedSignature(uri: u, headers: headers)
                if constantTimeEquals(expected, signature) { break search }
            }
        }
        guard constantTimeEquals(expected, signature) else { throw .signatureMismatch }
        if derived.fresh { signingKeys.remember(derived.scope, key) }
        return AuthContext(
            accessKey: credential.accessKey, method: .v4Header, payload: payload, signingKey: key,
            seedSignature: expected, scope: scope, amzDate: amzDate)
    }

    // MARK: - SigV4 presigned URL
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html

    func verifyV4Query(
        _ head: RequestHead, query: [(name: String, value: String)], now: Double, service: String = "s3"
    ) throws(S3Error) -> AuthContext {
        func param(_ n: String) -> String? { query.first { $0.name == n }?.value }
        guard let algorithm = param("X-Amz-Algorithm"), let credentialField = param("X-Amz-Credential"),
            let signature = param("X-Amz-Signature"), let amzDate = param("X-Amz-Date"),
            let signedField = param("X-Amz-SignedHeaders"), let expiresField = param("X-Amz-Expires")
        else {
            throw .queryError(
                "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
            )
        }
        guard algorithm == CanonicalRequest.algorithm else {
            throw .queryError("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        }
        let (parsed, reason) = Self.parseCredential(credentialField, service: service)
        guard let credential = parsed else {
            throw .queryError("Error parsing the X-Amz-Credential parameter; " + reason)
        }
        guard let time = HTTPDate.parseAmzDate(amzDate) else {
            throw .queryError("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        }
        guard amzDate.hasPrefix(credential.date) else {
            throw .queryError(
                "Error parsing the X-Amz-Credential parameter; Invalid credential date. Date is not the same as X-Amz-Date."
            )
        }
        guard let expires = Int(expiresField), expires >= 1 else {
            throw .queryError("X-Amz-Expires must be a positive integer")
        }
        guard expires <= 604_800 else {
            throw .queryError(
                "X-Amz-Expires must be less than a week (in seconds) that is; the maximum expires is 604800 seconds")
        }
        guard let signed = Self.parseSignedHeaders(signedField), signed.contains("host") else {
            throw .queryError("X-Amz-SignedHeaders must contain host")
        }
        guard let secret = credentials.secretKey(forAccessKey: credential.accessKey) else { throw .invalidAccessKey }
        if Double(time) - now > maxClockSkew { throw .accessDenied("Request is not valid yet") }
        if now > Double(time + expires) { throw .expired }

        // Presigned URLs cannot sign the body; a client may still pin it with X-Amz-Content-Sha256.
        let declared = param("X-Amz-Content-Sha256")
        let payloadHash = declared ?? PayloadMode.unsignedValue
        guard let payload = PayloadMode(headerValue: payloadHash), !payload.isStreaming else {
            throw .invalidArgument("X-Amz-Content-Sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.")
        }
        let derived = signingKeys.signingKey(
            accessKey: credential.accessKey, secret: secret, date: credential.date, region: credential.region,
            service: credential.service)
        let key = derived.key
        var expected = ""
        let canonicalQuery = CanonicalRequest.canonicalQuery(pairs: head.rawQueryPairs, excluding: "X-Amz-Signature")
        let scope = credential.scope
        let uri = CanonicalRequest.canonicalURI(rawPath: head.rawPath)
        for headers in headerVariants(head, signed: signed) {
            expected = CanonicalRequest.signature(
                signingKey: key, amzDate: amzDate, scope: scope, method: head.method, canonicalURI: uri,
                canonicalQuery: canonicalQuery,
                canonicalHeaders: CanonicalRequest.canonicalHeaders(headers, signed: signed),
                signedHeaders: signedField, payloadHash: payloadHash)
            if constantTimeEquals(expected, signature) { break }
        }
        guard constantTimeEquals(expected, signature) else { throw .signatureMismatch }
        if derived.fresh { signingKeys.remember(derived.scope, key) }
        return AuthContext(
            accessKey: credential.accessKey, method: .v4Query, payload: payload, signingKey: key,
            seedSignature: expected, scope: scope, amzDate: amzDate)
    }
}
