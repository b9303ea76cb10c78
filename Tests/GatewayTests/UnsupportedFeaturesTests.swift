import Foundation
import GatewayCore
import SigV4
import XCTest

/// Requests for features the gateway lacks (Object Lock, ACLs on a bucket whose ACLs are
/// disabled, versioning, unrouted sub-resources) get their S3 error and leave the store as it
/// was. ACLs where they apply: ACLHandlerTests; encryption: SSEHandlerTests.
final class UnsupportedFeaturesTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/box").status, 200)
        XCTAssertEqual(gw.send("PUT", "/box/src", body: Array("source".utf8)).status, 200)
    }

    static let encryption = "NotImplemented"
    static let lock = "InvalidRequest"
    static let acl = "AccessControlListNotSupported"
    static let status = [encryption: 501, lock: 400, acl: 400, "NoSuchBucket": 404, "MalformedXML": 400]

    /// Headers every object write (PUT, copy, CreateMultipartUpload, POST form) refuses.
    static let objectWriteRefusals: [(header: String, value: String, code: String)] = [
        ("x-amz-object-lock-mode", "COMPLIANCE", lock),
        ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z", lock),
        ("x-amz-object-lock-legal-hold", "ON", lock),
        ("x-amz-acl", "public-read", acl),
        ("x-amz-acl", "public-read-write", acl),
        ("x-amz-acl", "authenticated-read", acl),
        ("x-amz-acl", "bucket-owner-read", acl),
        ("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"", acl),
        ("x-amz-grant-full-control", "id=someone-else", acl),
        ("x-amz-grant-write-acp", "id=someone-else", acl),
    ]

    /// Asserts the answer and that no object, blob or upload appeared since `setUp`.
    func assertRefused(
        _ r: TestGateway.Response, _ code: String, _ context: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(r.errorCode, code, "\(context): \(r.text)", file: file, line: line)
        XCTAssertEqual(r.status, Self.status[code], context, file: file, line: line)
        XCTAssertEqual(gw.zone.blobCount, 1, "\(context): a blob was stored", file: file, line: line)
        XCTAssertNil(try gw.metadata.object(bucket: "box", key: "k"), "\(context): an object", file: file, line: line)
        let uploads = try? gw.metadata.uploads(bucket: "box", prefix: "", keyMarker: "", uploadIdMarker: "", limit: 10)
        XCTAssertEqual(uploads?.count, 0, "\(context): an upload was opened", file: file, line: line)
    }

    func testObjectWritesRefuseEncryptionLockAndACLHeadersBeforeStoringAnything() {
        for (header, value, code) in Self.objectWriteRefusals {
            let h = [(header, value)]
            assertRefused(gw.send("PUT", "/box/k", body: Array("secret".utf8), headers: h), code, "PUT \(header)")
            assertRefused(
                gw.send("PUT", "/box/k", headers: h + [("x-amz-copy-source", "/box/src")]), code, "copy \(header)")
            assertRefused(gw.send("POST", "/box/k?uploads", headers: h), code, "CreateMultipartUpload \(header)")
            assertRefused(postForm(["key": "k", header.lowercased(): value]), code, "POST form \(header)")
        }
        assertRefused(postForm(["key": "k", "acl": "public-read"]), Self.acl, "POST form acl field")
    }

    func testPrivateAndBucketOwnerFullControlAreAccepted() {
        for acl in ["private", "bucket-owner-full-control", "Private"] {
            XCTAssertEqual(gw.send("PUT", "/box/k", body: [1], headers: [("x-amz-acl", acl)]).status, 200, acl)
            XCTAssertEqual(
                gw.send("PUT", "/box/c", headers: [("x-amz-acl", acl), ("x-amz-copy-source", "/box/src")]).status, 200,
                acl)
            XCTAssertEqual(gw.send("POST", "/box/m?uploads", headers: [("x-amz-acl", acl)]).status, 200, acl)
            XCTAssertEqual(postForm(["key": "p", "acl": acl]).status, 204, acl)
            XCTAssertEqual(gw.send("PUT", "/box?acl", headers: [("x-amz-acl", acl)]).status, 200, acl)
            XCTAssertEqual(gw.send("PUT", "/box/k?acl", headers: [("x-amz-acl", acl)]).status, 200, acl)
        }
    }

    func testCreateBucketRefusesLockACLsAndOwnershipAndCreatesNothing() {
        let refused: [(String, String, String)] = [
            ("x-amz-bucket-object-lock-enabled", "maybe", Self.encryption)
        ]
        for (header, value, code) in refused {
            let r = gw.send("PUT", "/new-bucket", headers: [(header, value)])
            XCTAssertEqual(r.errorCode, code, "\(header): \(r.text)")
            XCTAssertNil(try gw.metadata.bucket(named: "new-bucket"), header)
        }
        // Asked for on an existing bucket, it is refused too: the owner's repeat must not look granted.
        XCTAssertEqual(
            gw.send("PUT", "/box", headers: [("x-amz-acl", "public-read")]).errorCode,
            "InvalidBucketAclWithObjectOwnership")
        for (header, value) in [
            ("x-amz-bucket-object-lock-enabled", "false"), ("x-amz-object-ownership", "BucketOwnerEnforced"),
            ("x-amz-acl", "private"),
        ] {
            XCTAssertEqual(gw.send("PUT", "/ok-\(value.lowercased())", headers: [(header, value)]).status, 200, header)
        }
    }

    // MARK: PutBucketAcl / PutObjectAcl bodies

    func aclBody(owner: String? = nil, grants: String) -> [UInt8] {
        Array(
            """
            <AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Owner><ID>\(owner ?? gw.rootID)</ID></Owner>\
            <AccessControlList>\(grants)</AccessControlList></AccessControlPolicy>
            """.utf8)
    }

    func grant(_ grantee: String, _ permission: String, type: String = "CanonicalUser") -> String {
        """
        <Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="\(type)">\(grantee)</Grantee>\
        <Permission>\(permission)</Permission></Grant>
        """
    }

    func testACLBodiesGrantingAnythingButOwnerFullControlAreRefused() {
        let me = "<ID>\(gw.rootID)</ID>"
        let refused: [(String, [UInt8], String)] = [
            (
                "public group", aclBody(grants: grant(me, "FULL_CONTROL") + grant(allUsers, "READ", type: "Group")),
                Self.acl
            ),
            ("group only", aclBody(grants: grant(allUsers, "READ", type: "Group")), Self.acl),
            ("other user", aclBody(grants: grant("<ID>someone-else</ID>", "FULL_CONTROL")), Self.acl),
            (
                "e-mail",
                aclBody(
                    grants: grant("<EmailAddress>a@example.com</EmailAddress>", "READ", type: "AmazonCustomerByEmail")),
                "UnresolvableGrantByEmailAddress"
            ),
            ("owner READ only", aclBody(grants: grant(me, "READ")), Self.acl),
            ("no grant", aclBody(grants: ""), Self.acl),
            ("other owner", aclBody(owner: "someone-else", grants: grant(me, "FULL_CONTROL")), "AccessDenied"),
        ]
        for path in ["/box?acl", "/box/src?acl"] {
            for (name, body, code) in refused {
                let r = gw.send("PUT", path, body: body)
                XCTAssertEqual(r.errorCode, code, "\(path) \(name): \(r.text)")
            }
            XCTAssertEqual(gw.send("PUT", path, headers: [("x-amz-acl", "public-read")]).errorCode, Self.acl, path)
            XCTAssertEqual(gw.send("PUT", path, headers: [("x-amz-grant-read", "id=x")]).errorCode, Self.acl, path)
            XCTAssertEqual(
                gw.send("PUT", path, body: Array("<AccessControlPolicy>".utf8)).errorCode, "MalformedACLError")
            // What GET ?acl answers goes back unchanged (s3cmd `cp`), with or without DisplayName.
            let current = gw.send("GET", path).body
            XCTAssertEqual(gw.send("PUT", path, body: current).status, 200, String(decoding: current, as: UTF8.self))
            XCTAssertEqual(gw.send("PUT", path, body: aclBody(grants: grant(me, "FULL_CONTROL"))).status, 200)
            XCTAssert(gw.send("GET", path).text.contains("FULL_CONTROL"))
        }
    }

    let allUsers = "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>"

    // MARK: Bucket versioning and Object Lock sub-resources

    func versioning(_ inner: String) -> [UInt8] {
        Array(
            "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(inner)</VersioningConfiguration>"
                .utf8)
    }

    func testPutBucketVersioningRefusesMFADeleteAndIsNeverACreateBucket() {
        let cases: [(String, [UInt8], String)] = [
            ("MFA delete", versioning("<MfaDelete>Enabled</MfaDelete>"), "NotImplemented"),
            (
                "MFA delete with a status", versioning("<Status>Enabled</Status><MfaDelete>Enabled</MfaDelete>"),
                "NotImplemented"
            ),
            ("bad status", versioning("<Status>On</Status>"), "MalformedXML"),
            ("not XML", Array("Enabled".utf8), "MalformedXML"),
            ("empty", [], "MalformedXML"),
        ]
        for (name, body, code) in cases {
            XCTAssertEqual(gw.send("PUT", "/box?versioning", body: body).errorCode, code, name)
            // On a bucket that does not exist it used to fall through to CreateBucket.
            XCTAssertEqual(gw.send("PUT", "/no-such?versioning", body: body).errorCode, "NoSuchBucket", name)
            XCTAssertNil(try gw.metadata.bucket(named: "no-such"), name)
        }
        XCTAssertEqual(gw.send("PUT", "/box?versioning", body: versioning("")).status, 200, "asks for nothing")
        XCTAssertFalse(gw.send("GET", "/box?versioning").text.contains("<Status>"))
        // Enabled and Suspended are kept (VersioningHandlerTests); on a missing bucket never a create.
        for status in ["Enabled", "Suspended"] {
            let body = versioning("<Status>\(status)</Status>")
            XCTAssertEqual(gw.send("PUT", "/no-such?versioning", body: body).errorCode, "NoSuchBucket")
            XCTAssertNil(try gw.metadata.bucket(named: "no-such"))
        }
    }

    func testRetentionAndLegalHoldAnswerMissingObjectLock() {
        let retention = Array(
            "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>".utf8
        )
        for (method, uri, body) in [
            ("PUT", "/box/src?retention", retention), ("GET", "/box/src?retention", []),
            ("PUT", "/box/src?legal-hold", Array("<LegalHold><Status>ON</Status></LegalHold>".utf8)),
            ("GET", "/box/src?legal-hold", []),
        ] {
            let r = gw.send(method, uri, body: body)
            XCTAssertEqual(r.errorCode, "InvalidRequest", "\(method) \(uri)")
            XCTAssert(r.text.contains("Bucket is missing Object Lock Configuration"), r.text)
        }
        // S3's digest rule comes first; with one, an unversioned bucket cannot take a lock.
        XCTAssertEqual(gw.send("PUT", "/box?object-lock", body: []).errorCode, "InvalidRequest")
        let config = Array(
            "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>".utf8)
        let md5 = base64Encode(Digest.hash(.md5, config))
        let r = gw.send("PUT", "/box?object-lock", body: config, headers: [("Content-MD5", md5)])
        XCTAssertEqual(r.status, 409, r.text)
        XCTAssertEqual(r.errorCode, "InvalidBucketState")
        XCTAssertEqual(gw.send("GET", "/box?object-lock").errorCode, "ObjectLockConfigurationNotFoundError")
        XCTAssertEqual(gw.send("DELETE", "/box/src").status, 204, "nothing holds the object")
    }

    // MARK: Sub-resources without a route

    func testEverySubresourceWithoutARouteIsNotImplementedNeverAFallThrough() {
        let bucketPuts = [
            "website", "replication",
            "logging", "notification", "accelerate", "requestPayment", "intelligent-tiering&id=x",
            "analytics&id=x", "inventory&id=x", "metrics&id=x", "location", "uploads", "delete",
            "versions", "metadataTable",
        ]
        let config = Array("<Configuration/>".utf8)
        for sub in bucketPuts {
            XCTAssertEqual(gw.send("PUT", "/box?\(sub)", body: config).errorCode, "NotImplemented", "PUT ?\(sub)")
            XCTAssertEqual(gw.send("PUT", "/fresh?\(sub)", body: config).errorCode, "NoSuchBucket", "PUT ?\(sub)")
            XCTAssertNil(try gw.metadata.bucket(named: "fresh"), "PUT ?\(sub) created a bucket")
        }
        // PUT ?policy has its route (BucketPolicyAccessTests): still never a CreateBucket.
        XCTAssertEqual(gw.send("PUT", "/fresh?policy", body: config).errorCode, "NoSuchBucket")
        XCTAssertNil(try gw.metadata.bucket(named: "fresh"), "PUT ?policy created a bucket")
        // PUT ?lifecycle has its route (LifecycleHandlerTests): still never a CreateBucket.
        XCTAssertEqual(gw.send("PUT", "/fresh?lifecycle", body: config).errorCode, "NoSuchBucket")
        XCTAssertNil(try gw.metadata.bucket(named: "fresh"), "PUT ?lifecycle created a bucket")
        // PUT ?object-lock likewise (ObjectLockHandlerTests).
        XCTAssertEqual(gw.send("PUT", "/fresh?object-lock", body: config).errorCode, "NoSuchBucket")
        XCTAssertNil(try gw.metadata.bucket(named: "fresh"), "PUT ?object-lock created a bucket")
        // Unrouted methods on routed sub-resources: never the plain request on the bucket or object.
        for (method, uri) in [
            ("DELETE", "/box?acl"), ("DELETE", "/box?versioning"), ("DELETE", "/box/src?acl"),
            ("DELETE", "/box/src?retention"),
            ("POST", "/box?acl"), ("POST", "/box/src?restore"), ("POST", "/box/src?select&select-type=2"),
            ("PUT", "/box/src?renameObject"), ("PUT", "/box/src?restore"), ("HEAD", "/box/src?uploadId=x"),
        ] {
            XCTAssertEqual(gw.send(method, uri, body: config).status, 501, "\(method) \(uri)")
        }
        XCTAssertNotNil(try gw.metadata.bucket(named: "box"), "the bucket survived")
        XCTAssertEqual(gw.send("GET", "/box/src").text, "source", "the object survived unchanged")
        XCTAssertEqual(gw.zone.blobCount, 1)
    }

    // MARK: POST form helper

    /// A browser POST form signed with SigV2 whose policy allows every given field.
    func postForm(_ fields: [String: String]) -> TestGateway.Response {
        gw.postForm(bucket: "box", fields, file: "secret")
    }
}
