// Signing side of SigV4: outbound requests to S3 backends, and building test requests.
// Pure functions; the time is always a parameter.
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html

import GatewayCore

public struct Signer {
    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    /// `date` is the scope day, "20130524".
    public static func signingKey(secret: String, date: String, region: String, service: String) -> [UInt8] {
        let kDate = HMAC.sha256(key: Array(("AWS4" + secret).utf8), data: Array(date.utf8))
        let kRegion = HMAC.sha256(key: kDate, data: Array(region.utf8))
        let kService = HMAC.sha256(key: kRegion, data: Array(service.utf8))
        return HMAC.sha256(key: kService, data: Array("aws4_request".utf8))
    }

    public static func scope(amzDate: String, region: String, service: String) -> String {
        String(amzDate.prefix(8)) + "/" + region + "/" + service + "/aws4_request"
    }

    public static func signature(signingKey: [UInt8], stringToSign: String) -> String {
        var text = stringToSign
        return hexEncode(text.withUTF8 { HMAC.sha256(key: signingKey, data: UnsafeRawBufferPointer($0)) })
    }

    /// The canonical request for `headers`, all of which are signed. Include `host`,
    /// `x-amz-date` and `x-amz-content-sha256` in `headers` yourself.
    public static func canonicalRequest(
        method: String, rawURI: String, headers: [(name: String, value: String)], payloadHash: String
    ) -> (canonicalRequest: String, signedHeaders: String) {
        let head = RequestHead(method: method, rawURI: rawURI, headers: headers)
        let names = Array(Set(head.headers.map(\.name))).sorted()
        let signed = names.joined(separator: ";")
        let cr = CanonicalRequest.build(
            method: method, canonicalURI: CanonicalRequest.canonicalURI(rawPath: head.rawPath),
            canonicalQuery: CanonicalRequest.canonicalQuery(pairs: head.rawQueryPairs),
            canonicalHeaders: CanonicalRequest.canonicalHeaders(head.headers, signed: names),
            signedHeaders: signed, payloadHash: payloadHash)
        return (cr, signed)
    }

    /// Signs every header in `headers` (names are lowercased and sorted). `amzDate` is
    /// "20130524T000000Z" and must equal the x-amz-date header you send.
    public static func sign(
        method: String, rawURI: String, headers: [(name: String, value: String)], payloadHash: String,
        accessKey: String, secretKey: String, region: String, service: String, amzDate: String
    ) -> (authorization: String, signature: String) {
        let (cr, signed) = canonicalRequest(method: method, rawURI: rawURI, headers: headers, payloadHash: payloadHash)
        let sc = scope(amzDate: amzDate, region: region, service: service)
        let sts = CanonicalRequest.stringToSign(amzDate: amzDate, scope: sc, canonicalRequest: cr)
        let key = signingKey(secret: secretKey, date: String(amzDate.prefix(8)), region: region, service: service)
        let sig = signature(signingKey: key, stringToSign: sts)
        let auth =
            "\(CanonicalRequest.algorithm) Credential=\(accessKey)/\(sc), SignedHeaders=\(signed), Signature=\(sig)"
        return (auth, sig)
    }

    /// A presigned URL's raw URI (path + query with X-Amz-Signature appended); only `host` is
    /// signed and the payload is UNSIGNED-PAYLOAD, as the SDKs do.
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
    public static func presign(
        method: String, rawPath: String, rawQuery: String = "", host: String, accessKey: String, secretKey: String,
        region: String, service: String = "s3", amzDate: String, expires: Int
    ) -> String {
        let sc = scope(amzDate: amzDate, region: region, service: service)
        var q = rawQuery.isEmpty ? "" : rawQuery + "&"
        q += "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + uriEncode(accessKey + "/" + sc, encodeSlash: true)
        q += "&X-Amz-Date=\(amzDate)&X-Amz-Expires=\(expires)&X-Amz-SignedHeaders=host"
        let cr = CanonicalRequest.build(
            method: method, canonicalURI: CanonicalRequest.canonicalURI(rawPath: rawPath),
            canonicalQuery: CanonicalRequest.canonicalQuery(q), canonicalHeaders: "host:" + host + "\n",
            signedHeaders: "host", payloadHash: PayloadMode.unsignedValue)
        let sts = CanonicalRequest.stringToSign(amzDate: amzDate, scope: sc, canonicalRequest: cr)
        let key = signingKey(secret: secretKey, date: String(amzDate.prefix(8)), region: region, service: service)
        return rawPath + "?" + q + "&X-Amz-Signature=" + signature(signingKey: key, stringToSign: sts)
    }

    /// String to sign of one aws-chunked chunk; `chunkHash` is the hex SHA-256 of its data.
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
    public static func chunkStringToSign(amzDate: String, scope: String, previousSignature: String, chunkHash: String)
        -> String
    {
        "AWS4-HMAC-SHA256-PAYLOAD\n" + amzDate + "\n" + scope + "\n" + previousSignature + "\n"
            + CanonicalRequest.emptySHA256 + "\n" + chunkHash
    }

    public static func chunkSignature(
        signingKey: [UInt8], amzDate: String, scope: String, previousSignature: String, chunkHash: String
    ) -> String {
        signature(
            signingKey: signingKey,
            stringToSign: chunkStringToSign(
                amzDate: amzDate, scope: scope, previousSignature: previousSignature, chunkHash: chunkHash))
    }

    /// Convenience for senders and tests: hashes `chunk` itself.
    public static func chunkSignature(
        signingKey: [UInt8], amzDate: String, scope: String, previousSignature: String, chunk: [UInt8]
    ) -> String {
        chunkSignature(
            signingKey: signingKey, amzDate: amzDate, scope: scope, previousSignature: previousSignature,
            chunkHash: hexEncode(Digest.hash(.sha256, chunk)))
    }

    /// Trailer headers in signing form: "name:value\n" each, names lowercased.
    public static func canonicalTrailer(_ trailers: [(name: String, value: String)]) -> String {
        trailers.map { $0.name.lowercased() + ":" + trimHTTPWhitespace($0.value) + "\n" }.joined()
    }

    /// Signature of the trailing headers, chained to the final (0-byte) chunk's signature.
    /// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
    public static func trailerSignature(
        signingKey: [UInt8], amzDate: String, scope: String, previousSignature: String,
        trailers: [(name: String, value: String)]
    ) -> String {
        let hash = hexEncode(Digest.hash(.sha256, Array(canonicalTrailer(trailers).utf8)))
        let sts = "AWS4-HMAC-SHA256-TRAILER\n" + amzDate + "\n" + scope + "\n" + previousSignature + "\n" + hash
        return signature(signingKey: signingKey, stringToSign: sts)
    }

    /// SigV2: base64(HMAC-SHA1(secret, stringToSign)), the string to sign in `HeaderBytes` form
    /// (its header values signed byte for byte).
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
    public static func signatureV2(secretKey: String, stringToSign: String) -> String {
        base64Encode(HMAC.sha1(key: Array(secretKey.utf8), data: HeaderBytes.encode(stringToSign)))
    }
}
