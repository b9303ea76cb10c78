import XCTest

@testable import SigV4

/// SigV4 header and presigned-URL verification: the shapes real clients send, and negative
/// vectors, each asserting the exact S3 error code.
final class VerifierTests: XCTestCase {
    /// A request signed the way botocore signs it (all given headers signed).
    func signed(
        _ method: String = "GET", _ uri: String = "/bucket/key", headers: [(String, String)] = [],
        payloadHash: String? = CanonicalRequest.emptySHA256, secret: String = exampleSecret,
        accessKey: String = exampleAccessKey, region: String = "us-east-1", amzDate: String = "20130524T000000Z"
    ) -> RequestHead {
        var all: [(String, String)] = [("Host", "localhost:8080"), ("X-Amz-Date", amzDate)] + headers
        if let payloadHash { all.append(("X-Amz-Content-Sha256", payloadHash)) }
        let out = Signer.sign(
            method: method, rawURI: uri, headers: all.map { (name: $0.0, value: $0.1) },
            payloadHash: payloadHash ?? CanonicalRequest.emptySHA256, accessKey: accessKey, secretKey: secret,
            region: region, service: "s3", amzDate: amzDate)
        return head(method, uri, all + [("Authorization", out.authorization)])
    }

    func replacingAuthorization(_ h: RequestHead, _ transform: (String) -> String) -> RequestHead {
        var h = h
        h.headers = h.headers.map { $0.name == "authorization" ? (name: $0.name, value: transform($0.value)) : $0 }
        return h
    }

    func testValidRequest() throws {
        let auth = try exampleVerifier.authenticate(signed(), now: exampleNow)
        XCTAssertEqual(auth.method, .v4Header)
        XCTAssertEqual(auth.accessKey, exampleAccessKey)
        XCTAssertEqual(auth.payload, .sha256(CanonicalRequest.emptySHA256))
        XCTAssertEqual(auth.amzDate, "20130524T000000Z")
        XCTAssertNotNil(auth.signingKey)
    }

    func testPayloadModes() throws {
        XCTAssertEqual(
            try exampleVerifier.authenticate(signed(payloadHash: "UNSIGNED-PAYLOAD"), now: exampleNow).payload,
            .unsigned)
        XCTAssertEqual(
            try exampleVerifier.authenticate(
                signed("PUT", payloadHash: "STREAMING-UNSIGNED-PAYLOAD-TRAILER"), now: exampleNow
            )
            .payload, .streamingUnsignedTrailer)
        // curl --aws-sigv4: no header at all, the empty hash is signed.
        XCTAssertEqual(
            try exampleVerifier.authenticate(signed(payloadHash: nil), now: exampleNow).payload, .notDeclared)
        assertS3Error("InvalidArgument") {
            _ = try exampleVerifier.authenticate(signed(payloadHash: "not-a-hash"), now: exampleNow)
        }
    }

    /// s3cmd separates the parts with "," only; others with ", ".
    func testAuthorizationSeparators() throws {
        let h = signed()
        let noSpaces = replacingAuthorization(h) { $0.replacingOccurrences(of: ", ", with: ",") }
        XCTAssertFalse(noSpaces.header("authorization")!.contains(", "))
        XCTAssertNoThrow(try exampleVerifier.authenticate(noSpaces, now: exampleNow))
        let extraSpaces = replacingAuthorization(h) { $0.replacingOccurrences(of: ", ", with: " ,  ") }
        XCTAssertNoThrow(try exampleVerifier.authenticate(extraSpaces, now: exampleNow))
    }

    /// s3cmd `mb --bucket-location=fi,se` signs with the constraint as the scope's region.
    func testAScopeRegionMayBeALocationList() throws {
        for separator in [",", ", "] {
            let h = replacingAuthorization(signed("PUT", "/b", region: "fi,se")) {
                $0.replacingOccurrences(of: ", S", with: separator + "S")
            }
            XCTAssert(h.header("authorization")!.contains("/fi,se/s3/aws4_request"))
            XCTAssertEqual(try exampleVerifier.authenticate(h, now: exampleNow).region, "fi,se")
        }
        // A piece that is neither a part nor a continuation is still malformed.
        assertS3Error("AuthorizationHeaderMalformed") {
            _ = try exampleVerifier.authenticate(
                replacingAuthorization(signed()) { "AWS4-HMAC-SHA256 ,junk" + $0.dropFirst(16) }, now: exampleNow)
        }
    }

    /// The canonical URI is the raw path: '+', '%2B', '//' and '..' all stay as sent.
    func testRawPathIsCanonicalURI() throws {
        for uri in ["/bucket/a+b", "/bucket/a%2Bb", "/bucket/a//b/../c.txt", "/bucket/", "/bucket/%E2%82%AC%20x"] {
            XCTAssertNoThrow(try exampleVerifier.authenticate(signed("GET", uri), now: exampleNow), uri)
        }
        // The same key spelled differently by the transport does not verify.
        var h = signed("GET", "/bucket/a%2Bb")
        h.rawURI = "/bucket/a+b"
        assertS3Error("SignatureDoesNotMatch") { _ = try exampleVerifier.authenticate(h, now: exampleNow) }
    }

    func testQueryOrderAndEscapingDoNotMatter() throws {
        var h = signed("GET", "/bucket?list-type=2&prefix=a%2Fb&encoding-type=url")
        h.rawURI = "/bucket?prefix=a/b&encoding-type=url&list-type=2"
        XCTAssertNoThrow(try exampleVerifier.authenticate(h, now: exampleNow))
    }

    func testAnyRegionAndHeaderCase() throws {
        let h = signed(
            "PUT", "/newbucket", headers: [("X-Amz-Meta-Foo", "  a   b  "), ("Content-MD5", "x")], region: "fi")
        let auth = try exampleVerifier.authenticate(h, now: exampleNow)
        XCTAssertEqual(auth.region, "fi")
    }

    func testDateHeaderFallback() throws {
        let date = "Fri, 24 May 2013 00:00:00 GMT"
        let all: [(name: String, value: String)] = [(name: "host", value: "h"), (name: "date", value: date)]
        let out = Signer.sign(
            method: "GET", rawURI: "/", headers: all, payloadHash: CanonicalRequest.emptySHA256,
            accessKey: exampleAccessKey, secretKey: exampleSecret, region: "us-east-1", service: "s3",
            amzDate: "20130524T000000Z")
        let h = head("GET", "/", [("Host", "h"), ("Date", date), ("Authorization", out.authorization)])
        XCTAssertEqual(try exampleVerifier.authenticate(h, now: exampleNow).amzDate, "20130524T000000Z")
    }

    func testAnonymous() throws {
        let auth = try exampleVerifier.authenticate(head("GET", "/bucket/key", [("Host", "h")]), now: exampleNow)
        XCTAssertEqual(auth.method, .anonymous)
        XCTAssertEqual(auth.payload, .notDeclared)
    }

    // MARK: - Negative vectors

    func testTamperedSignature() {
        let h = replacingAuthorization(signed()) { a in
            let last = a.last == "0" ? "1" : "0"
            return String(a.dropLast()) + last
        }
        assertS3Error("SignatureDoesNotMatch") { _ = try exampleVerifier.authenticate(h, now: exampleNow) }
    }

    func testTamperedRequest() {
        var h = signed(headers: [("Range", "bytes=0-9")])
        h.headers = h.headers.map { $0.name == "range" ? (name: "range", value: "bytes=0-99") : $0 }
        assertS3Error("SignatureDoesNotMatch") { _ = try exampleVerifier.authenticate(h, now: exampleNow) }
        var m = signed()
        m.method = "DELETE"
        assertS3Error("SignatureDoesNotMatch") { _ = try exampleVerifier.authenticate(m, now: exampleNow) }
    }

    func testWrongSecret() {
        assertS3Error("SignatureDoesNotMatch") {
            _ = try exampleVerifier.authenticate(signed(secret: "not the secret"), now: exampleNow)
        }
    }

    func testUnknownAccessKey() {
        assertS3Error("InvalidAccessKeyId") {
            _ = try exampleVerifier.authenticate(signed(accessKey: "AKIDUNKNOWN"), now: exampleNow)
        }
    }

    func testSkewedDate() {
        XCTAssertNoThrow(try exampleVerifier.authenticate(signed(), now: exampleNow + 899))
        assertS3Error("RequestTimeTooSkewed") {
            _ = try exampleVerifier.authenticate(signed(), now: exampleNow + 901)
        }
        assertS3Error("RequestTimeTooSkewed") {
            _ = try exampleVerifier.authenticate(signed(), now: exampleNow - 901)
        }
    }

    func testMissingOrBadDate() {
        var h = signed()
        h.headers.removeAll { $0.name == "x-amz-date" }
        assertS3Error("AccessDenied") { _ = try exampleVerifier.authenticate(h, now: exampleNow) }
        var bad = signed()
        bad.headers = bad.headers.map { $0.name == "x-amz-date" ? (name: "x-amz-date", value: "yesterday") : $0 }
        assertS3Error("AccessDenied") { _ = try exampleVerifier.authenticate(bad, now: exampleNow) }
    }

    func testMalformedAuthorization() {
        let base = signed()
        let cases: [(String, (String) -> String)] = [
            ("scope date differs", { $0.replacingOccurrences(of: "/20130524/", with: "/20130525/") }),
            ("wrong service", { $0.replacingOccurrences(of: "/s3/", with: "/ec2/") }),
            ("wrong terminator", { $0.replacingOccurrences(of: "aws4_request", with: "aws5_request") }),
            ("short credential", { $0.replacingOccurrences(of: "/us-east-1/s3", with: "") }),
            ("no signature", { String($0[..<$0.range(of: ", Signature=")!.lowerBound]) }),
            ("no equals", { $0 + ", Garbage" }),
            ("host not signed", { $0.replacingOccurrences(of: "SignedHeaders=host;", with: "SignedHeaders=") }),
            (
                "uppercase signed header",
                { $0.replacingOccurrences(of: "SignedHeaders=host", with: "SignedHeaders=Host") }
            ),
        ]
        for (name, transform) in cases {
            let h = replacingAuthorization(base, transform)
            XCTAssertEqual(
                authCode { _ = try exampleVerifier.authenticate(h, now: exampleNow) }, "AuthorizationHeaderMalformed",
                name)
        }
    }

    func testUnsupportedAuthorizationTypes() {
        let h = head("GET", "/", [("Host", "h"), ("Authorization", "Bearer abc")])
        assertS3Error("InvalidArgument") { _ = try exampleVerifier.authenticate(h, now: exampleNow) }
        var both = signed("GET", "/b?X-Amz-Algorithm=AWS4-HMAC-SHA256")
        both.rawURI = "/b?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        assertS3Error("InvalidArgument") { _ = try exampleVerifier.authenticate(both, now: exampleNow) }
    }

    // MARK: - Presigned URLs
    // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html

    func presigned(expires: Int = 3600, query: String = "", secret: String = exampleSecret) -> RequestHead {
        let uri = Signer.presign(
            method: "GET", rawPath: "/bucket/key", rawQuery: query, host: "localhost:8080",
            accessKey: exampleAccessKey, secretKey: secret, region: "us-east-1", amzDate: "20130524T000000Z",
            expires: expires)
        return head("GET", uri, [("Host", "localhost:8080")])
    }

    func testPresignedValid() throws {
        let auth = try exampleVerifier.authenticate(
            presigned(query: "response-content-type=text%2Fplain"), now: exampleNow + 3599)
        XCTAssertEqual(auth.method, .v4Query)
        XCTAssertEqual(auth.payload, .unsigned)
    }

    func testPresignedExpired() {
        assertS3Error("AccessDenied") {
            _ = try exampleVerifier.authenticate(presigned(), now: exampleNow + 3601)
        }
        assertS3Error("AccessDenied") {
            _ = try exampleVerifier.authenticate(presigned(), now: exampleNow - 3600)  // not valid yet
        }
    }

    func testPresignedExpiresBounds() {
        XCTAssertNoThrow(try exampleVerifier.authenticate(presigned(expires: 604_800), now: exampleNow))
        assertS3Error("AuthorizationQueryParametersError") {
            _ = try exampleVerifier.authenticate(presigned(expires: 604_801), now: exampleNow)
        }
        assertS3Error("AuthorizationQueryParametersError") {
            _ = try exampleVerifier.authenticate(presigned(expires: 0), now: exampleNow)
        }
    }

    func testPresignedTamperedOrIncomplete() {
        var h = presigned()
        h.rawURI = h.rawURI.replacingOccurrences(of: "/bucket/key", with: "/bucket/other")
        assertS3Error("SignatureDoesNotMatch") { _ = try exampleVerifier.authenticate(h, now: exampleNow) }
        var added = presigned()
        added.rawURI += "&acl"
        assertS3Error("SignatureDoesNotMatch") { _ = try exampleVerifier.authenticate(added, now: exampleNow) }
        assertS3Error("SignatureDoesNotMatch") {
            _ = try exampleVerifier.authenticate(presigned(secret: "wrong"), now: exampleNow)
        }
        var missing = presigned()
        missing.rawURI = missing.rawURI.replacingOccurrences(of: "&X-Amz-SignedHeaders=host", with: "")
        assertS3Error("AuthorizationQueryParametersError") {
            _ = try exampleVerifier.authenticate(missing, now: exampleNow)
        }
        var algorithm = presigned()
        algorithm.rawURI = algorithm.rawURI.replacingOccurrences(of: "AWS4-HMAC-SHA256", with: "AWS4-ECDSA-P256-SHA256")
        assertS3Error("AuthorizationQueryParametersError") {
            _ = try exampleVerifier.authenticate(algorithm, now: exampleNow)
        }
        let unknown = Verifier(credentials: StaticCredentials(keys: [:]))
        assertS3Error("InvalidAccessKeyId") { _ = try unknown.authenticate(presigned(), now: exampleNow) }
    }
}
