import Gateway
import GatewayCore
import SigV4
import XCTest

final class CORSHandlerTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/web").status, 200)
        XCTAssertEqual(gw.send("PUT", "/plain").status, 200)
        XCTAssertEqual(gw.send("PUT", "/web/page.html", body: Array("<html/>".utf8)).status, 200)
    }

    static let page = "http://page.example"
    static let vary = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

    static func configuration(_ rules: String...) -> [UInt8] {
        Array(
            ("<CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + rules.map { "<CORSRule>\($0)</CORSRule>" }.joined() + "</CORSConfiguration>").utf8)
    }

    /// The page may read and upload (with its content type and x-amz-* headers); everyone may GET.
    static let rules = configuration(
        "<ID>page</ID><AllowedOrigin>\(page)</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
            + "<AllowedMethod>PUT</AllowedMethod><AllowedHeader>Content-Type</AllowedHeader>"
            + "<AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds>",
        "<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>")

    func md5(_ body: [UInt8]) -> (String, String) { ("Content-MD5", base64Encode(Digest.hash(.md5, body))) }

    @discardableResult
    func put(_ body: [UInt8], bucket: String = "web") -> TestGateway.Response {
        gw.send("PUT", "/\(bucket)?cors", body: body, headers: [md5(body)])
    }

    func options(_ path: String, _ headers: [(String, String)], host: String = "127.0.0.1:8080")
        -> TestGateway.Response
    {
        gw.send("OPTIONS", path, headers: headers, sign: false, host: host)
    }

    func cors(_ r: TestGateway.Response) -> [String: String] {
        var out: [String: String] = [:]
        for h in r.headers where h.name.lowercased().hasPrefix("access-control-") || h.name == "Vary" {
            out[h.name] = h.value
        }
        return out
    }

    func testPutGetDeleteRoundTripAndAudit() throws {
        let missing = gw.send("GET", "/web?cors")
        XCTAssertEqual(missing.errorCode, "NoSuchCORSConfiguration")
        XCTAssertEqual(missing.status, 404)
        XCTAssert(missing.text.contains("<BucketName>web</BucketName>"), missing.text)
        XCTAssertEqual(put(Self.rules).status, 200)
        let got = gw.send("GET", "/web?cors")
        XCTAssertEqual(got.status, 200)
        XCTAssert(
            got.text.contains(
                "<CORSRule><ID>page</ID><AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>"
                    + "<AllowedOrigin>http://page.example</AllowedOrigin><AllowedHeader>Content-Type</AllowedHeader>"
                    + "<AllowedHeader>x-amz-*</AllowedHeader><MaxAgeSeconds>600</MaxAgeSeconds>"
                    + "<ExposeHeader>ETag</ExposeHeader></CORSRule>"), got.text)
        let set = try gw.metadata.auditRecords(AuditQuery(change: "bucket.cors"))
        XCTAssertEqual(set.count, 1)
        XCTAssert(set[0].detail.contains("\"rules\":2"), set[0].detail)
        XCTAssertEqual(set[0].operation, "PutBucketCors")

        XCTAssertEqual(gw.send("DELETE", "/web?cors").status, 204)
        XCTAssertEqual(gw.send("GET", "/web?cors").errorCode, "NoSuchCORSConfiguration")
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.cors-delete")).count, 1)
        // Deleting what is not there is still 204, and records nothing.
        XCTAssertEqual(gw.send("DELETE", "/web?cors").status, 204)
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.cors-delete")).count, 1)
    }

    func testPutValidatesAndStoresNothingOnError() throws {
        let noMD5 = gw.send("PUT", "/web?cors", body: Self.rules)
        XCTAssertEqual(noMD5.errorCode, "InvalidRequest")
        XCTAssert(noMD5.text.contains("Missing required header for this request: Content-MD5"), noMD5.text)
        XCTAssertEqual(
            gw.send(
                "PUT", "/web?cors", body: Self.rules,
                headers: [("Content-MD5", base64Encode([UInt8](repeating: 0, count: 16)))]
            )
            .errorCode, "BadDigest")
        XCTAssertEqual(put([]).errorCode, "MissingRequestBodyError")
        XCTAssertEqual(put(Array("<CORSConfiguration/>".utf8)).errorCode, "MalformedXML")
        let patch = put(Self.configuration("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"))
        XCTAssertEqual(patch.errorCode, "InvalidRequest")
        XCTAssert(
            patch.text.contains("Found unsupported HTTP method in CORS config. Unsupported method is PATCH"), patch.text
        )
        XCTAssertEqual(gw.send("GET", "/web?cors").errorCode, "NoSuchCORSConfiguration")
        XCTAssertTrue(try gw.metadata.auditRecords(AuditQuery(change: "bucket.cors")).isEmpty)
        // Never a CreateBucket.
        XCTAssertEqual(put(Self.rules, bucket: "fresh").errorCode, "NoSuchBucket")
        XCTAssertNil(try gw.metadata.bucket(named: "fresh"))
    }

    func testPreflightIsAnsweredFromTheRulesWithoutASignature() {
        XCTAssertEqual(put(Self.rules).status, 200)
        let page: [String: String] = [
            "Access-Control-Allow-Origin": Self.page, "Access-Control-Allow-Methods": "GET, PUT",
            "Access-Control-Expose-Headers": "ETag", "Access-Control-Max-Age": "600",
            "Access-Control-Allow-Credentials": "true", "Vary": Self.vary,
        ]
        var upload = page
        upload["Access-Control-Allow-Headers"] = "content-type, x-amz-meta-name"
        let everyone = [
            "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD", "Vary": Self.vary,
        ]
        let cases: [(String, [(String, String)], [String: String])] = [
            ("/web", [("Origin", Self.page), ("Access-Control-Request-Method", "GET")], page),
            (
                "/web/new.txt",
                [
                    ("Origin", Self.page), ("Access-Control-Request-Method", "PUT"),
                    ("Access-Control-Request-Headers", "Content-Type, X-Amz-Meta-Name"),
                ], upload
            ),
            // A presigned URL's query changes nothing.
            (
                "/web/new.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00",
                [("Origin", Self.page), ("Access-Control-Request-Method", "PUT")], page
            ),
            (
                "/web/no/such/key", [("Origin", "http://other.example"), ("Access-Control-Request-Method", "HEAD")],
                everyone
            ),
        ]
        for (path, headers, expected) in cases {
            let r = options(path, headers)
            XCTAssertEqual(r.status, 200, "\(path) \(r.text)")
            XCTAssertEqual(cors(r), expected, path)
            XCTAssert(r.body.isEmpty)
        }
    }

    func testPreflightRefusalsLikeS3() {
        XCTAssertEqual(put(Self.rules).status, 200)
        // (The full text, with its apostrophe escaped in XML: testAccessForbiddenTexts.)
        let notAllowed =
            "<Message>CORSResponse: This CORS request is not allowed. This is usually because the evalution"
        let notFound = "CORSResponse: Bucket not found"
        let notEnabled = "CORSResponse: CORS is not enabled for this bucket."
        // S3's order: Origin, the bucket, its configuration, the method, a matching rule. The
        // 403s name the method asked about (OPTIONS when none) and BUCKET unless a rule was
        // looked for on a key.
        let cases: [(String, [(String, String)], Int, String, String, String?)] = [
            (
                "/web/k", [("Access-Control-Request-Method", "GET")], 400, "BadRequest",
                "Origin request header needed.", nil
            ),
            ("/nowhere/k", [], 400, "BadRequest", "Origin request header needed.", nil),
            ("/web/k", [("Origin", Self.page)], 400, "BadRequest", "Invalid Access-Control-Request-Method: null", nil),
            (
                "/web/k", [("Origin", Self.page), ("Access-Control-Request-Method", "PATCH")], 400, "BadRequest",
                "Invalid Access-Control-Request-Method: PATCH", nil
            ),
            (
                "/web/k", [("Origin", Self.page), ("Access-Control-Request-Method", "DELETE")], 403, "AccessForbidden",
                notAllowed, "<Method>DELETE</Method><ResourceType>OBJECT</ResourceType>"
            ),
            (
                "/web", [("Origin", Self.page), ("Access-Control-Request-Method", "DELETE")], 403, "AccessForbidden",
                notAllowed, "<Method>DELETE</Method><ResourceType>BUCKET</ResourceType>"
            ),
            (
                "/web/k", [("Origin", "http://other.example"), ("Access-Control-Request-Method", "PUT")], 403,
                "AccessForbidden", notAllowed, "<Method>PUT</Method><ResourceType>OBJECT</ResourceType>"
            ),
            (
                "/web/k",
                [
                    ("Origin", Self.page), ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "authorization"),
                ],
                403, "AccessForbidden", notAllowed, "<Method>GET</Method><ResourceType>OBJECT</ResourceType>"
            ),
            (
                "/plain/k", [("Origin", Self.page), ("Access-Control-Request-Method", "GET")], 403, "AccessForbidden",
                notEnabled, "<Method>GET</Method><ResourceType>BUCKET</ResourceType>"
            ),
            (
                "/plain/k", [("Origin", Self.page)], 403, "AccessForbidden", notEnabled,
                "<Method>OPTIONS</Method><ResourceType>BUCKET</ResourceType>"
            ),
            (
                "/nowhere/k", [("Origin", Self.page), ("Access-Control-Request-Method", "GET")], 403, "AccessForbidden",
                notFound, "<Method>GET</Method><ResourceType>BUCKET</ResourceType>"
            ),
            (
                "/nowhere/k", [("Origin", Self.page)], 403, "AccessForbidden", notFound,
                "<Method>OPTIONS</Method><ResourceType>BUCKET</ResourceType>"
            ),
            (
                "/nowhere", [("Origin", Self.page), ("Access-Control-Request-Method", "PATCH")], 403, "AccessForbidden",
                notFound, "<Method>PATCH</Method><ResourceType>BUCKET</ResourceType>"
            ),
        ]
        for (path, headers, status, code, message, details) in cases {
            let r = options(path, headers)
            XCTAssertEqual(r.status, status, "\(path) \(headers) \(r.text)")
            XCTAssertEqual(r.errorCode, code, "\(path) \(headers)")
            XCTAssert(r.text.contains(message), r.text)
            if let details { XCTAssert(r.text.contains(details), "\(path) \(headers) \(r.text)") }
            XCTAssertEqual(cors(r), [:], "a refused preflight carries no CORS headers")
        }
    }

    /// The three texts live with the one error table.
    func testAccessForbiddenTexts() {
        XCTAssertEqual(
            S3ErrorCode.accessForbidden.message,
            "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
        )
        XCTAssertEqual(S3ErrorCode.CORSText.bucketNotFound, "CORSResponse: Bucket not found")
        XCTAssertEqual(S3ErrorCode.CORSText.notEnabled, "CORSResponse: CORS is not enabled for this bucket.")
    }

    func testAnswersToRequestsWithOriginCarryTheMatchingRulesHeaders() {
        XCTAssertEqual(put(Self.rules).status, 200)
        let get = gw.send("GET", "/web/page.html", headers: [("Origin", Self.page)])
        XCTAssertEqual(get.status, 200)
        XCTAssertEqual(get.text, "<html/>")
        XCTAssertEqual(get.header("Access-Control-Allow-Origin"), Self.page)
        XCTAssertEqual(get.header("Access-Control-Expose-Headers"), "ETag")
        XCTAssertEqual(get.header("Access-Control-Allow-Credentials"), "true")
        XCTAssertEqual(get.header("Vary"), Self.vary)
        XCTAssertNil(get.header("Access-Control-Allow-Headers"))
        // Another origin: the second rule (every origin, GET and HEAD).
        let other = gw.send("HEAD", "/web/page.html", headers: [("Origin", "http://other.example")])
        XCTAssertEqual(other.header("Access-Control-Allow-Origin"), "*")
        XCTAssertNil(other.header("Access-Control-Allow-Credentials"))
        // No rule for DELETE: served, without CORS headers.
        XCTAssertEqual(gw.send("PUT", "/web/gone", body: [1]).status, 200)
        let delete = gw.send("DELETE", "/web/gone", headers: [("Origin", Self.page)])
        XCTAssertEqual(delete.status, 204)
        XCTAssertEqual(cors(delete), [:])
        // Without Origin: none.
        XCTAssertEqual(cors(gw.send("GET", "/web/page.html")), [:])
        // A bucket without rules: none.
        XCTAssertEqual(cors(gw.send("GET", "/plain", headers: [("Origin", Self.page)])), [:])
        // Errors too: a missing key, and an unsigned request refused.
        let noKey = gw.send("GET", "/web/missing", headers: [("Origin", Self.page)])
        XCTAssertEqual(noKey.errorCode, "NoSuchKey")
        XCTAssertEqual(noKey.header("Access-Control-Allow-Origin"), Self.page)
        let denied = gw.send("PUT", "/web/x", body: [1], headers: [("Origin", Self.page)], sign: false)
        XCTAssertEqual(denied.errorCode, "AccessDenied")
        XCTAssertEqual(denied.header("Access-Control-Allow-Origin"), Self.page)
        XCTAssertNil(try gw.metadata.object(bucket: "web", key: "x"))
    }

    func testAnotherTenantsBucketByItsPresignedCredentialOrTenantColonBucket() {
        let acme = gw.addUser("acme", "admin", ["s3:*": ["*"]])
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos").status, 200)
        XCTAssertEqual(
            gw.send(as: acme, "PUT", "/photos?cors", body: Self.rules, headers: [md5(Self.rules)]).status, 200)
        let ask = [("Origin", Self.page), ("Access-Control-Request-Method", "PUT")]
        // A bare name is the default tenant's bucket, which does not exist.
        XCTAssertTrue(options("/photos/k", ask).text.contains("CORSResponse: Bucket not found"))
        // The preflight of a presigned URL repeats its query, and so its credential's tenant.
        let presigned =
            "/photos/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(acme.accessKey)%2F20231114%2Fus-east-1%2Fs3%2Faws4_request"
        let r = options(presigned, ask)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.header("Access-Control-Allow-Origin"), Self.page)
        XCTAssertEqual(options("/acme:photos/k", ask).status, 200)
        XCTAssertEqual(options("/globex:photos/k", ask).status, 403)
        // The tenant's own signed requests get the headers.
        let get = gw.send(as: acme, "GET", "/photos/missing", headers: [("Origin", Self.page)])
        XCTAssertEqual(get.errorCode, "NoSuchKey")
        XCTAssertEqual(get.header("Access-Control-Allow-Origin"), Self.page)
    }

    func testTheRulesInForceWhenTheRequestCameAnswerIt() {
        let deleteFromPage = Self.configuration(
            "<AllowedOrigin>\(Self.page)</AllowedOrigin><AllowedMethod>DELETE</AllowedMethod>")
        XCTAssertEqual(put(deleteFromPage).status, 200)
        // A page removing the configuration still reads the answer.
        let deleted = gw.send("DELETE", "/web?cors", headers: [("Origin", Self.page)])
        XCTAssertEqual(deleted.status, 204)
        XCTAssertEqual(deleted.header("Access-Control-Allow-Origin"), Self.page)
        XCTAssertNil(
            gw.send("DELETE", "/web?cors", headers: [("Origin", Self.page)]).header("Access-Control-Allow-Origin"))
    }

    /// A key the request claims but that does not resolve (unknown, inactive) finds no bucket:
    /// not the default tenant's bucket of that name, whose rules would otherwise answer.
    func testAClaimedKeyThatDoesNotResolveFindsNoBucket() throws {
        XCTAssertEqual(put(Self.rules).status, 200)
        let ask = [("Origin", Self.page), ("Access-Control-Request-Method", "GET")]
        let inactive = gw.addUser(TenantRecord.defaultID, "gone", ["s3:*": ["*"]])
        try gw.identityStore.setCredentialStatus(accessKey: inactive.accessKey, .inactive)
        for key in ["AKIAMADEUP", inactive.accessKey] {
            let presigned = options(
                "/web/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=\(key)%2F20231114%2Fus-east-1%2Fs3%2Faws4_request",
                ask)
            XCTAssertEqual(presigned.status, 403, presigned.text)
            XCTAssert(presigned.text.contains("<Message>CORSResponse: Bucket not found</Message>"), presigned.text)
            XCTAssertEqual(cors(presigned), [:])
            let v2 = options("/web/k?AWSAccessKeyId=\(key)&Signature=x&Expires=1", ask)
            XCTAssert(v2.text.contains("CORSResponse: Bucket not found"), v2.text)
            let header = options(
                "/web/k",
                ask + [("Authorization", "AWS4-HMAC-SHA256 Credential=\(key)/20231114/us-east-1/s3/aws4_request, x")])
            XCTAssert(header.text.contains("CORSResponse: Bucket not found"), header.text)
            // The actual request is refused, and its answer carries no CORS headers.
            let get = gw.send("GET", "/web/page.html", headers: [("Origin", Self.page)], accessKey: key)
            XCTAssertEqual(get.status, 403, get.text)
            XCTAssertEqual(cors(get), [:])
        }
        // The root key resolves: its tenant's bucket answers.
        let root = options(
            "/web/k?X-Amz-Credential=\(TestGateway.accessKey)%2F20231114%2Fus-east-1%2Fs3%2Faws4_request", ask)
        XCTAssertEqual(root.status, 200, root.text)
    }

    /// A store failure is the preflight's answer (logged, 500), never "Bucket not found".
    func testPreflightAnswersAStoreFailure() {
        XCTAssertEqual(put(Self.rules).status, 200)
        gw.metadata.bucketReadFailure.withLock { $0 = .internalFailure("disk says no") }
        let r = options("/web/k", [("Origin", Self.page), ("Access-Control-Request-Method", "GET")])
        gw.metadata.bucketReadFailure.withLock { $0 = nil }
        XCTAssertEqual(r.status, 500, r.text)
        XCTAssertEqual(r.errorCode, "InternalError")
        XCTAssertFalse(r.text.contains("disk says no"))
        XCTAssertEqual(cors(r), [:])
    }

    /// The CORS headers of an actual request come from the bucket the router loaded: a GET
    /// with Origin reads no more than one without.
    func testActualRequestsReadTheBucketNoMoreThanWithoutOrigin() {
        XCTAssertEqual(put(Self.rules).status, 200)
        for (method, path, body) in [("GET", "/web/page.html", [UInt8]()), ("PUT", "/web/up.txt", [1, 2])] {
            gw.metadata.bucketNameReads.withLock { $0 = 0 }
            XCTAssertEqual(gw.send(method, path, body: body).status, 200)
            let without = gw.metadata.bucketNameReads.withLock { $0 }
            gw.metadata.bucketNameReads.withLock { $0 = 0 }
            let r = gw.send(method, path, body: body, headers: [("Origin", Self.page)])
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.header("Access-Control-Allow-Origin"), Self.page)
            XCTAssertEqual(gw.metadata.bucketNameReads.withLock { $0 }, without, method)
        }
    }

    func testAReplacedConfigurationAnswersTheNextPreflight() {
        XCTAssertEqual(put(Self.rules).status, 200)
        let ask = [("Origin", Self.page), ("Access-Control-Request-Method", "GET")]
        XCTAssertEqual(options("/web/k", ask).header("Access-Control-Allow-Methods"), "GET, PUT")
        XCTAssertEqual(
            gw.send("GET", "/web/page.html", headers: [("Origin", Self.page)]).header("Access-Control-Allow-Methods"),
            "GET, PUT")
        XCTAssertEqual(
            put(
                Self.configuration(
                    "<AllowedOrigin>http://new.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                        + "<AllowedMethod>DELETE</AllowedMethod>")
            ).status, 200)
        XCTAssertEqual(options("/web/k", ask).status, 403)
        XCTAssertEqual(cors(gw.send("GET", "/web/page.html", headers: [("Origin", Self.page)])), [:])
        let now = options("/web/k", [("Origin", "http://new.example"), ("Access-Control-Request-Method", "DELETE")])
        XCTAssertEqual(now.status, 200, now.text)
        XCTAssertEqual(now.header("Access-Control-Allow-Methods"), "GET, DELETE")
        XCTAssertEqual(gw.send("DELETE", "/web?cors").status, 204)
        XCTAssert(options("/web/k", ask).text.contains("CORS is not enabled"))
    }

    func testVirtualHostedPreflight() {
        XCTAssertEqual(put(Self.rules).status, 200)
        let ask = [("Origin", Self.page), ("Access-Control-Request-Method", "PUT")]
        let ok = options("/photo.jpg", ask, host: "web.s3.example.test")
        XCTAssertEqual(ok.status, 200, ok.text)
        XCTAssertEqual(ok.header("Access-Control-Allow-Origin"), Self.page)
        let plain = options("/photo.jpg", ask, host: "plain.s3.example.test:8080")
        XCTAssert(plain.text.contains("<ResourceType>BUCKET</ResourceType>"), plain.text)
        XCTAssert(plain.text.contains("CORS is not enabled"), plain.text)
        let get = gw.send("GET", "/page.html", headers: [("Origin", Self.page)], host: "web.s3.example.test")
        XCTAssertEqual(get.text, "<html/>")
        XCTAssertEqual(get.header("Access-Control-Allow-Origin"), Self.page)
    }

    func testHeadErrorsCarryTheHeaders() {
        XCTAssertEqual(put(Self.rules).status, 200)
        let r = gw.send("HEAD", "/web/missing", headers: [("Origin", "http://other.example")])
        XCTAssertEqual(r.status, 404)
        XCTAssert(r.body.isEmpty)
        XCTAssertEqual(r.header("Access-Control-Allow-Origin"), "*")
        XCTAssertEqual(r.header("Access-Control-Allow-Methods"), "GET, HEAD")
    }

    /// A signed browser form names a bare bucket of its signer's tenant: the answer carries
    /// that bucket's rules, the one the upload went to (the form's key is in its body, not in
    /// anything a lookup before the handler could see).
    func testASignedFormsAnswerCarriesTheRulesOfTheBucketItUploadedTo() throws {
        let acme = gw.addUser("acme", "admin", ["s3:*": ["*"]])
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos").status, 200)
        let rules = Self.configuration(
            "<AllowedOrigin>\(Self.page)</AllowedOrigin><AllowedMethod>POST</AllowedMethod>")
        XCTAssertEqual(gw.send(as: acme, "PUT", "/photos?cors", body: rules, headers: [md5(rules)]).status, 200)
        let date = String(TestGateway.amzDate.prefix(8))
        let credential = "\(acme.accessKey)/\(date)/us-east-1/s3/aws4_request"
        let json = """
            {"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "photos"}, ["starts-with", "$key", ""],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "\(credential)"}, {"x-amz-date": "\(TestGateway.amzDate)"}]}
            """
        let policy = base64Encode(Array(json.utf8))
        let signingKey = Signer.signingKey(secret: acme.secret, date: date, region: "us-east-1", service: "s3")
        let fields = [
            ("key", "up.jpg"), ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
            ("x-amz-date", TestGateway.amzDate), ("policy", policy),
            ("x-amz-signature", Signer.signature(signingKey: signingKey, stringToSign: policy)),
        ]
        let boundary = "----cors"
        var body = ""
        for (name, value) in fields {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nbytes\r\n"
        body += "--\(boundary)--\r\n"
        let r = gw.send(
            "POST", "/photos", body: Array(body.utf8),
            headers: [("content-type", "multipart/form-data; boundary=\(boundary)"), ("Origin", Self.page)],
            sign: false)
        XCTAssertEqual(r.status, 204, r.text)
        XCTAssertEqual(r.header("Access-Control-Allow-Origin"), Self.page)
        XCTAssertNotNil(try gw.metadata.object(bucket: "acme/photos", key: "up.jpg"))
    }
}
