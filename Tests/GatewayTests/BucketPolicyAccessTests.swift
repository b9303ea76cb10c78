import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import Gateway

/// The access wiring end to end through S3Gateway.handle: anonymous callers, `tenant:bucket`
/// addresses, S3's existence rules, bucket policy handlers and conditions from the request.
final class BucketPolicyAccessTests: XCTestCase {
    var gw: TestGateway!

    /// Buckets made here start without a public access block (`[s3] default_public_access_block
    /// = false`): these cases are about policies, and set one where it matters.
    override func setUp() { gw = TestGateway(configure: { $0.accessDefaults.blockPublicAccess = false }) }

    let everything: [String: [String]] = ["s3:*": ["*"]]

    /// A policy document with one statement per element of `statements` (JSON object bodies).
    func policy(_ statements: String...) -> [UInt8] {
        Array(#"{"Version":"2012-10-17","Statement":[\#(statements.joined(separator: ","))]}"#.utf8)
    }

    func putPolicy(_ bucket: String, _ document: [UInt8], as key: TestGateway.UserKey? = nil) -> TestGateway.Response {
        if let key { return gw.send(as: key, "PUT", "/\(bucket)?policy", body: document) }
        return gw.send("PUT", "/\(bucket)?policy", body: document)
    }

    func anonymous(_ method: String, _ uri: String, body: [UInt8] = [], remote: String? = nil, https: Bool = false)
        -> TestGateway.Response
    {
        gw.send(method, uri, body: body, sign: false, remoteAddress: remote, https: https)
    }

    func objectCount(_ bucket: String) throws -> Int {
        try gw.metadata.listObjects(bucket: bucket, query: ListQuery(maxKeys: 1000)).objects.count
    }

    // MARK: - Existence and anonymous callers

    /// The table of S3's answers to callers who may not see a bucket: a missing bucket is
    /// NoSuchBucket to everyone; an existing one AccessDenied; a missing key NoSuchKey only to
    /// callers holding s3:ListBucket.
    func testExistenceAnswersByWhatTheCallerMayDo() {
        gw.send("PUT", "/pub")
        gw.send("PUT", "/pub/k", body: Array("bytes".utf8))
        let getter = gw.addUser(TenantRecord.defaultID, "getter", ["s3:GetObject": ["pub/*"]])
        let lister = gw.addUser(
            TenantRecord.defaultID, "lister", ["s3:GetObject": ["pub/*"], "s3:ListBucket": ["pub"]])
        let cases: [(String, TestGateway.Response, String?)] = [
            ("anonymous, missing bucket", anonymous("GET", "/nothing/k"), "NoSuchBucket"),
            ("anonymous, bucket", anonymous("GET", "/pub"), "AccessDenied"),
            ("anonymous, object", anonymous("GET", "/pub/k"), "AccessDenied"),
            ("anonymous, missing key", anonymous("GET", "/pub/missing"), "AccessDenied"),
            ("anonymous HEAD, missing key", anonymous("HEAD", "/pub/missing"), nil),
            ("getter, object", gw.send(as: getter, "GET", "/pub/k"), nil),
            ("getter, missing key", gw.send(as: getter, "GET", "/pub/missing"), "AccessDenied"),
            ("lister, missing key", gw.send(as: lister, "GET", "/pub/missing"), "NoSuchKey"),
            ("owner, missing key", gw.send("GET", "/pub/missing"), "NoSuchKey"),
            ("getter, missing bucket", gw.send(as: getter, "GET", "/nothing/k"), "NoSuchBucket"),
        ]
        for (name, response, code) in cases {
            XCTAssertEqual(response.errorCode, code, name)
        }
        XCTAssertEqual(cases[4].1.status, 403, "HEAD has no body, its status says it")
        XCTAssertEqual(cases[5].1.text, "bytes")
    }

    /// An unsigned request is the anonymous caller; a request with a signature that does not
    /// verify still fails as before, and ListBuckets is never anonymous.
    func testUnsignedIsAnonymousButBadSignaturesStillFail() {
        gw.send("PUT", "/pub")
        XCTAssertEqual(anonymous("GET", "/").errorCode, "AccessDenied")
        let forged = gw.send("GET", "/pub", secret: "wrong-secret")
        XCTAssertEqual(forged.errorCode, "SignatureDoesNotMatch")
        let unknown = gw.send("GET", "/pub", accessKey: "AKIDNOBODY")
        XCTAssertEqual(unknown.errorCode, "InvalidAccessKeyId")
    }

    /// A public-read policy lets unsigned GETs read; writes, listing and a missing key stay
    /// AccessDenied; DeleteBucketPolicy closes the bucket again.
    func testPublicReadPolicyThenDelete() throws {
        gw.send("PUT", "/pub")
        gw.send("PUT", "/pub/k", body: Array("public bytes".utf8))
        let read = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}"#)
        XCTAssertEqual(putPolicy("pub", read).status, 204)
        XCTAssertEqual(anonymous("GET", "/pub/k").text, "public bytes")
        XCTAssertEqual(anonymous("GET", "/pub/missing").errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("GET", "/pub").errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("PUT", "/pub/new", body: [1]).errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("DELETE", "/pub/k").errorCode, "AccessDenied")
        XCTAssertEqual(try objectCount("pub"), 1)

        XCTAssertEqual(gw.send("DELETE", "/pub?policy").status, 204)
        XCTAssertEqual(anonymous("GET", "/pub/k").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/pub/k").text, "public bytes")
    }

    /// With s3:ListBucket granted too, a missing key is NoSuchKey, and the listing's s3:prefix
    /// condition is the request's `prefix`.
    func testListBucketGrantAndPrefixCondition() {
        gw.send("PUT", "/pub")
        gw.send("PUT", "/pub/public/a", body: [1])
        gw.send("PUT", "/pub/private/b", body: [2])
        let document = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/public/*"}"#,
            #"{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub","Condition":{"StringLike":{"s3:prefix":"public/*"}}}"#
        )
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        let listing = anonymous("GET", "/pub?list-type=2&prefix=public/")
        XCTAssertEqual(listing.status, 200)
        XCTAssertTrue(listing.text.contains("<Key>public/a</Key>"))
        XCTAssertEqual(anonymous("GET", "/pub?list-type=2&prefix=private/").errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("GET", "/pub?list-type=2").errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("GET", "/pub/public/missing").errorCode, "NoSuchKey")
        XCTAssertEqual(anonymous("GET", "/pub/private/b").errorCode, "AccessDenied")
    }

    // MARK: - Conditions from the request

    /// aws:SourceIp is REMOTE_ADDR (X-Forwarded-For is ignored); aws:SecureTransport is the
    /// HTTPS param nginx sets. A Deny binds the bucket's own tenant too.
    func testSourceIpAndSecureTransportConditions() {
        gw.send("PUT", "/pub")
        gw.send("PUT", "/pub/k", body: Array("b".utf8))
        let document = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}"#,
            #"{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::pub","arn:aws:s3:::pub/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#
        )
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        XCTAssertEqual(anonymous("GET", "/pub/k", remote: "10.1.2.3", https: true).text, "b")
        XCTAssertEqual(anonymous("GET", "/pub/k", remote: "127.0.0.1", https: true).errorCode, "AccessDenied")
        let forwarded = gw.send(
            "GET", "/pub/k", headers: [("x-forwarded-for", "10.1.2.3")], sign: false, remoteAddress: "127.0.0.1",
            https: true)
        XCTAssertEqual(forwarded.errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("GET", "/pub/k", remote: "10.1.2.3").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/pub/k").errorCode, "AccessDenied", "the owner over http")
        XCTAssertEqual(gw.send("GET", "/pub/k", https: true).text, "b")
        XCTAssertEqual(gw.send("PUT", "/pub/new", body: [1]).errorCode, "AccessDenied", "the owner over http")
        // Policy management stays the owner's, whatever the Deny says.
        XCTAssertEqual(gw.send("GET", "/pub?policy").body, document)
        XCTAssertEqual(gw.send("DELETE", "/pub?policy").status, 204)
        XCTAssertEqual(gw.send("GET", "/pub/k").text, "b")
    }

    /// s3:ExistingObjectTag reads the object the request names: the GET's own read, and the
    /// version a `versionId` names (read for the decision because the bucket has a policy).
    func testExistingObjectTagCondition() {
        gw.send("PUT", "/pub")
        gw.send("PUT", "/pub?versioning", body: Array(versioningEnabled.utf8))
        let tagged = gw.send("PUT", "/pub/t", body: Array("tagged".utf8), headers: [("x-amz-tagging", "share=yes")])
        let version = tagged.header("x-amz-version-id") ?? ""
        gw.send("PUT", "/pub/u", body: Array("untagged".utf8))
        let document = policy(
            #"{"Effect":"Allow","Principal":"*","Action":["s3:GetObject","s3:GetObjectVersion","s3:GetObjectTagging"],"Resource":"arn:aws:s3:::pub/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/share":"yes"}}}"#
        )
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        XCTAssertEqual(anonymous("GET", "/pub/t").text, "tagged")
        XCTAssertEqual(anonymous("GET", "/pub/t?versionId=\(version)").text, "tagged")
        XCTAssertEqual(anonymous("GET", "/pub/t?tagging").status, 200)
        XCTAssertEqual(anonymous("GET", "/pub/u").errorCode, "AccessDenied")
        XCTAssertEqual(anonymous("GET", "/pub/u?tagging").errorCode, "AccessDenied")
    }

    let versioningEnabled =
        #"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#

    /// A Deny on one prefix leaves the others as they were.
    func testDenyOnePrefix() {
        gw.send("PUT", "/pub")
        let document = policy(
            #"{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/locked/*"}"#)
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        XCTAssertEqual(gw.send("PUT", "/pub/locked/a", body: [1]).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("PUT", "/pub/open/a", body: [1]).status, 200)
    }

    /// The request-side condition keys, as a policy sees them.
    func testPolicyContextFromTheRequest() {
        func request(_ method: String, _ uri: String, key: String?, query: [String: String], auth: AuthMethod)
            -> S3Request
        {
            let head = RequestHead(
                method: method, rawURI: uri,
                headers: [
                    ("user-agent", "curl/8"), ("x-amz-acl", " public-read "), ("x-forwarded-for", "10.0.0.1"),
                    ("x-amz-object-lock-retain-until-date", "2023-11-16T22:13:20Z"),
                ])
            var r = S3Request(
                head: head, requestId: "r", auth: AuthContext(accessKey: "", method: auth, payload: .unsigned),
                principal: nil, bucketName: "b", key: key, query: query, body: MemorySource([]), now: TestGateway.now)
            r.remoteAddress = "192.0.2.7"
            r.scheme = "https"
            return r
        }
        let list = request(
            "GET", "/b?prefix=p/&max-keys=5", key: nil, query: ["prefix": "p/", "max-keys": "5"], auth: .v4Query
        )
        .policyContext(action: "s3:ListBucket")
        XCTAssertEqual(list["aws:SourceIp"], ["192.0.2.7"], "REMOTE_ADDR, never X-Forwarded-For")
        XCTAssertEqual(list["aws:securetransport"], ["true"])
        XCTAssertEqual(list["aws:EpochTime"], ["1700000000"])
        XCTAssertEqual(list["aws:CurrentTime"], ["2023-11-14T22:13:20.000Z"])
        XCTAssertEqual(list["aws:UserAgent"], ["curl/8"])
        XCTAssertEqual(list["s3:prefix"], ["p/"])
        XCTAssertEqual(list["s3:max-keys"], ["5"])
        XCTAssertNil(list["s3:delimiter"])
        XCTAssertEqual(list["s3:authType"], ["REST-QUERY-STRING"])
        XCTAssertEqual(list["s3:signatureversion"], ["AWS4-HMAC-SHA256"])
        let get = request(
            "GET", "/b/k?versionId=v1&prefix=x", key: "k", query: ["versionId": "v1", "prefix": "x"], auth: .anonymous
        )
        .policyContext(action: "s3:GetObjectVersion")
        XCTAssertNil(get["s3:prefix"], "a listing key means nothing on an object request")
        XCTAssertEqual(get["s3:VersionId"], ["v1"])
        XCTAssertEqual(get["s3:x-amz-acl"], ["public-read"])
        XCTAssertEqual(get["s3:object-lock-remaining-retention-days"], ["2"])
        XCTAssertNil(get["s3:signatureversion"])
        XCTAssertNil(get["s3:authType"])
        var own = request("PUT", "/b/k", key: "k", query: [:], auth: .v4Header)
        own.scheme = "http"
        XCTAssertEqual(own.policyContext(action: "s3:PutObject")["aws:SecureTransport"], ["false"])
        own.inProcess = true
        XCTAssertEqual(
            own.policyContext(action: "s3:PutObject")["aws:SecureTransport"], ["true"],
            "a migration's own writes cross no network")
    }

    // MARK: - Another tenant's bucket

    /// `tenant:bucket` names that tenant's bucket: denied without a grant, allowed by a policy
    /// naming the caller's tenant; errors echo the name as sent; a bare name stays the caller's.
    func testTenantAddressAndCrossTenantPolicy() throws {
        let acme = gw.addUser("acme", "admin", everything)
        let globex = gw.addUser("globex", "admin", everything)
        gw.send(as: acme, "PUT", "/photos")
        gw.send(as: acme, "PUT", "/photos/k", body: Array("acme bytes".utf8))
        gw.send(as: globex, "PUT", "/mine")

        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:photos/k").errorCode, "AccessDenied")
        let missing = gw.send(as: globex, "GET", "/acme:nothing/k")
        XCTAssertEqual(missing.errorCode, "NoSuchBucket")
        XCTAssertTrue(missing.text.contains("<BucketName>acme:nothing</BucketName>"), missing.text)
        XCTAssertEqual(gw.send(as: globex, "GET", "/Bad_Tenant:photos/k").errorCode, "InvalidBucketName")
        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:/k").errorCode, "InvalidBucketName")
        XCTAssertEqual(gw.send(as: globex, "GET", "/photos/k").errorCode, "NoSuchBucket")
        XCTAssertEqual(gw.send(as: acme, "GET", "/acme:photos/k").text, "acme bytes")
        XCTAssertEqual(gw.send(as: globex, "PUT", "/acme:fresh").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:photos?policy").errorCode, "AccessDenied")
        let copy = [("x-amz-copy-source", "/acme:photos/k")]
        XCTAssertEqual(gw.send(as: globex, "PUT", "/mine/copy", headers: copy).errorCode, "AccessDenied")

        let grant = policy(
            #"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::globex:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme:photos/*"}"#
        )
        XCTAssertEqual(putPolicy("photos", grant, as: acme).status, 204)
        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:photos/k").text, "acme bytes")
        XCTAssertEqual(gw.send(as: globex, "PUT", "/acme:photos/k", body: [1]).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:photos/missing").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: globex, "PUT", "/mine/copy", headers: copy).status, 200)
        XCTAssertEqual(gw.send(as: globex, "GET", "/mine/copy").text, "acme bytes")
        // Policy management is the bucket's tenant's alone, whatever a policy grants.
        let all = policy(
            #"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::globex:root"},"Action":"s3:*","Resource":["arn:aws:s3:::acme:photos","arn:aws:s3:::acme:photos/*"]}"#
        )
        XCTAssertEqual(putPolicy("photos", all, as: acme).status, 204)
        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:photos?policy").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: globex, "DELETE", "/acme:photos?policy").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: globex, "PUT", "/acme:photos?policy", body: all).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: globex, "GET", "/acme:photos?policyStatus").errorCode, "AccessDenied")
        // Nor does a grant reach buckets of the caller's own tenant's namespace.
        XCTAssertEqual(gw.send(as: globex, "GET", "/").text.contains("photos"), false)
    }

    // MARK: - Policy handlers

    func testPolicyHandlersStoreAuditAndStatus() throws {
        gw.send("PUT", "/pub")
        XCTAssertEqual(gw.send("GET", "/pub?policy").errorCode, "NoSuchBucketPolicy")
        XCTAssertEqual(gw.send("GET", "/pub?policyStatus").errorCode, "NoSuchBucketPolicy")
        XCTAssertEqual(gw.send("GET", "/nothing?policy").errorCode, "NoSuchBucket")
        XCTAssertEqual(gw.send("DELETE", "/pub?policy").status, 204)

        let document = Array(
            """
            {
              "Version": "2012-10-17",
              "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                             "Resource": "arn:aws:s3:::pub/*"}]
            }
            """.utf8)
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        let got = gw.send("GET", "/pub?policy")
        XCTAssertEqual(got.body, document, "the document as it was put")
        XCTAssertEqual(got.header("Content-Type"), "application/json")
        XCTAssertTrue(gw.send("GET", "/pub?policyStatus").text.contains("<IsPublic>true</IsPublic>"))
        let put = try gw.metadata.auditRecords(AuditQuery(change: "bucket.policy"))
        XCTAssertEqual(put.count, 1)
        XCTAssertTrue(put[0].detail.contains(hexEncode(Digest.hash(.sha256, document))), put[0].detail)
        XCTAssertFalse(put[0].detail.contains("GetObject"), "the document stays out of the chain")

        let pinned = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}}"#
        )
        XCTAssertEqual(putPolicy("pub", pinned).status, 204)
        XCTAssertTrue(gw.send("GET", "/pub?policyStatus").text.contains("<IsPublic>false</IsPublic>"))

        XCTAssertEqual(gw.send("DELETE", "/pub?policy").status, 204)
        XCTAssertEqual(gw.send("GET", "/pub?policy").errorCode, "NoSuchBucketPolicy")
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.policy-delete")).count, 1)
    }

    func testMalformedPoliciesAreRefusedAndNothingStored() throws {
        gw.send("PUT", "/pub")
        let bad: [(String, String)] = [
            ("not json", "not json"),
            ("no statement", #"{"Version":"2012-10-17"}"#),
            (
                "resource outside the bucket",
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}"#
            ),
            (
                "unknown tenant",
                #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::nosuchtenant:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}]}"#
            ),
            ("too large", #"{"Version":"2012-10-17","Id":"\#(String(repeating: "x", count: 21 * 1024))"}"#),
        ]
        for (name, document) in bad {
            let r = gw.send("PUT", "/pub?policy", body: Array(document.utf8))
            XCTAssertEqual(r.errorCode, "MalformedPolicy", name)
            XCTAssertEqual(r.status, 400, name)
        }
        XCTAssertEqual(gw.send("GET", "/pub?policy").errorCode, "NoSuchBucketPolicy")
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.policy")).count, 0)
    }

    /// BlockPublicPolicy refuses a public policy (403) and lets a pinned one through.
    func testBlockPublicPolicy() throws {
        gw.send("PUT", "/pub")
        try gw.metadata.setBucketSetting(
            bucket: "pub", .publicAccessBlock, PublicAccessBlock.all.encoded,
            audit: AuditEntry("bucket.public-access-block", bucket: "pub"))
        let open = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}"#)
        XCTAssertEqual(putPolicy("pub", open).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/pub?policy").errorCode, "NoSuchBucketPolicy")
        let user = policy(
            #"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::default:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}"#
        )
        XCTAssertEqual(putPolicy("pub", user).status, 204)
    }

    /// The policy actions are permissions like any other: a user of the bucket's tenant
    /// without them is denied.
    func testPolicyActionsNeedTheirPermissions() {
        gw.send("PUT", "/pub")
        let reader = gw.addUser(TenantRecord.defaultID, "reader", ["s3:GetBucketPolicy": ["pub"]])
        let document = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}"#)
        XCTAssertEqual(putPolicy("pub", document, as: reader).errorCode, "AccessDenied")
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        XCTAssertEqual(gw.send(as: reader, "GET", "/pub?policy").body, document)
        XCTAssertEqual(gw.send(as: reader, "GET", "/pub?policyStatus").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send(as: reader, "DELETE", "/pub?policy").errorCode, "AccessDenied")
    }

    // MARK: - DeleteObjects and the POST form

    /// DeleteObjects decides each key: a policy letting everyone delete under tmp/ removes
    /// those keys and answers AccessDenied entries for the others.
    func testDeleteObjectsDecidesPerKey() throws {
        gw.send("PUT", "/pub")
        gw.send("PUT", "/pub/tmp/a", body: [1])
        gw.send("PUT", "/pub/keep/b", body: [2])
        let document = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::pub/tmp/*"}"#)
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        let body = Array(
            "<Delete><Object><Key>tmp/a</Key></Object><Object><Key>keep/b</Key></Object></Delete>".utf8)
        let md5 = Data(Digest.hash(.md5, body)).base64EncodedString()
        let r = gw.send("POST", "/pub?delete", body: body, headers: [("content-md5", md5)], sign: false)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertTrue(r.text.contains("<Deleted><Key>tmp/a</Key></Deleted>"), r.text)
        XCTAssertTrue(r.text.contains("<Error><Key>keep/b</Key><Code>AccessDenied</Code>"), r.text)
        XCTAssertNil(try gw.metadata.object(bucket: "pub", key: "tmp/a"))
        XCTAssertNotNil(try gw.metadata.object(bucket: "pub", key: "keep/b"))
    }

    /// An unsigned browser form (no policy, no signature fields) is the anonymous caller's:
    /// refused in a private bucket, stored where the policy lets everyone put.
    func testUnsignedPostForm() throws {
        gw.send("PUT", "/pub")
        func post(_ key: String) -> TestGateway.Response {
            let boundary = "----anon"
            var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n\(key)\r\n"
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nform\r\n"
            body += "--\(boundary)--\r\n"
            return gw.send(
                "POST", "/pub", body: Array(body.utf8),
                headers: [("content-type", "multipart/form-data; boundary=\(boundary)")], sign: false)
        }
        XCTAssertEqual(post("uploads/a").errorCode, "AccessDenied")
        XCTAssertEqual(try objectCount("pub"), 0)
        let document = policy(
            #"{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/uploads/*"}"#)
        XCTAssertEqual(putPolicy("pub", document).status, 204)
        XCTAssertEqual(post("uploads/a").status, 204)
        XCTAssertEqual(gw.send("GET", "/pub/uploads/a").text, "form")
        XCTAssertEqual(post("elsewhere").errorCode, "AccessDenied")
        XCTAssertEqual(try objectCount("pub"), 1)
    }
}
