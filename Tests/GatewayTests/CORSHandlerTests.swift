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

    func options(_ path: String, _ headers: [(String, String)]) -> TestGateway.Response {
        gw.send("OPTIONS", path, headers: headers, sign: false)
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
        let notAllowed = "CORSResponse: This CORS request is not allowed."
        let cases: [(String, [(String, String)], Int, String, String)] = [
            ("/web/k", [("Access-Control-Request-Method", "GET")], 400, "BadRequest", "Origin request header needed."),
            ("/web/k", [("Origin", Self.page)], 400, "BadRequest", "Invalid Access-Control-Request-Method: null"),
            (
                "/web/k", [("Origin", Self.page), ("Access-Control-Request-Method", "PATCH")], 400, "BadRequest",
                "Invalid Access-Control-Request-Method: PATCH"
            ),
            (
                "/web/k", [("Origin", Self.page), ("Access-Control-Request-Method", "DELETE")], 403, "AccessForbidden",
                notAllowed
            ),
            (
                "/web/k", [("Origin", "http://other.example"), ("Access-Control-Request-Method", "PUT")], 403,
                "AccessForbidden", notAllowed
            ),
            (
                "/web/k",
                [
                    ("Origin", Self.page), ("Access-Control-Request-Method", "GET"),
                    ("Access-Control-Request-Headers", "authorization"),
                ],
                403, "AccessForbidden", notAllowed
            ),
            (
                "/plain/k", [("Origin", Self.page), ("Access-Control-Request-Method", "GET")], 403, "AccessForbidden",
                "CORSResponse: CORS is not enabled for this bucket."
            ),
            (
                "/nowhere/k", [("Origin", Self.page), ("Access-Control-Request-Method", "GET")], 403, "AccessForbidden",
                "CORSResponse: Bucket not found"
            ),
        ]
        for (path, headers, status, code, message) in cases {
            let r = options(path, headers)
            XCTAssertEqual(r.status, status, "\(path) \(headers) \(r.text)")
            XCTAssertEqual(r.errorCode, code, "\(path) \(headers)")
            XCTAssert(r.text.contains(message), r.text)
            XCTAssertEqual(cors(r), [:], "a refused preflight carries no CORS headers")
        }
        let r = options("/web", [("Origin", Self.page), ("Access-Control-Request-Method", "DELETE")])
        XCTAssert(r.text.contains("<Method>DELETE</Method><ResourceType>BUCKET</ResourceType>"), r.text)
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
}
