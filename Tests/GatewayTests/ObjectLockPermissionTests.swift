import Foundation
import GatewayCore
import GatewayTesting
import Logging
import XCTest

@testable import Gateway
@testable import MetadataSQL

/// Who may lock: the lock headers of a write need s3:PutObjectRetention / s3:PutObjectLegalHold
/// besides s3:PutObject, a bucket created with Object Lock needs the rights to configure it, a
/// POST form's signer is authorized before its fields are judged. And the one digest rule, S3's
/// case-sensitive values, and the gateway's own (migration) writes into a bucket with a default.
extension ObjectLockHandlerTests {
    static let lockHeaders = [
        ("x-amz-object-lock-mode", "COMPLIANCE"), ("x-amz-object-lock-retain-until-date", later),
    ]

    func addUploaders() throws {
        try gw.addUser(
            "uploader", permissions: ["s3:PutObject": ["locked/*"], "s3:GetObject": ["locked/*"]],
            accessKey: "AKIDUPLOADER", secret: "uploader-secret")
        try gw.addUser(
            "locker",
            permissions: [
                "s3:PutObject": ["locked/*"], "s3:GetObject": ["locked/*"], "s3:PutObjectRetention": ["locked/*"],
                "s3:PutObjectLegalHold": ["locked/*"],
            ], accessKey: "AKIDLOCKER", secret: "locker-secret")
    }

    func testLockHeadersOnWritesNeedTheLockPermissions() throws {
        try addUploaders()
        put("/locked/src")
        let writes: [(String, String, [(String, String)])] = [
            ("PUT", "/locked/retained", Self.lockHeaders),
            ("PUT", "/locked/held", [("x-amz-object-lock-legal-hold", "ON")]),
            ("PUT", "/locked/copied", Self.lockHeaders + [("x-amz-copy-source", "/locked/src")]),
            ("POST", "/locked/upload?uploads", [("x-amz-object-lock-legal-hold", "ON")]),
        ]
        for (method, uri, headers) in writes {
            let body = method == "PUT" && !headers.contains { $0.0 == "x-amz-copy-source" } ? Array("data".utf8) : []
            let all = body.isEmpty ? headers : [Self.md5(body)] + headers
            let denied = gw.send(
                method, uri, body: body, headers: all, accessKey: "AKIDUPLOADER", secret: "uploader-secret")
            XCTAssertEqual(denied.status, 403, "\(uri): \(denied.text)")
            XCTAssertEqual(denied.errorCode, "AccessDenied", uri)
        }
        for key in ["retained", "held", "copied", "upload"] {
            XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: key), key)
        }
        XCTAssertFalse(gw.send("GET", "/locked?uploads").text.contains("<Key>upload</Key>"))
        for (method, uri, headers) in writes {
            let body = method == "PUT" && !headers.contains { $0.0 == "x-amz-copy-source" } ? Array("data".utf8) : []
            let all = body.isEmpty ? headers : [Self.md5(body)] + headers
            let r = gw.send(method, uri, body: body, headers: all, accessKey: "AKIDLOCKER", secret: "locker-secret")
            XCTAssertEqual(r.status, 200, "\(uri): \(r.text)")
        }
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "retained")?.retention?.mode, .compliance)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "held")?.legalHold, true)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "copied")?.retention?.mode, .compliance)
        XCTAssert(gw.send("GET", "/locked?uploads").text.contains("<Key>upload</Key>"))
    }

    func testTheBucketDefaultNeedsNoLockPermission() throws {
        try addUploaders()
        let config = lockConfig(rule("GOVERNANCE", "<Days>1</Days>"))
        XCTAssertEqual(gw.send("PUT", "/locked?object-lock", body: config, headers: [Self.md5(config)]).status, 200)
        let body = Array("data".utf8)
        let r = gw.send(
            "PUT", "/locked/k", body: body, headers: [Self.md5(body)], accessKey: "AKIDUPLOADER",
            secret: "uploader-secret")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "k")?.retention?.mode, .governance)
    }

    func testAPostFormsLockFieldsNeedItsSignersLockPermissions() throws {
        try addUploaders()
        let fields = ["key": "p", "x-amz-object-lock-legal-hold": "ON"]
        let denied = postForm(bucket: "locked", fields, accessKey: "AKIDUPLOADER", secret: "uploader-secret")
        XCTAssertEqual(denied.errorCode, "AccessDenied", denied.text)
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "p"))
        XCTAssertEqual(gw.zone.blobCount, 0)
        let r = postForm(bucket: "locked", fields, accessKey: "AKIDLOCKER", secret: "locker-secret")
        XCTAssertEqual(r.status, 204, r.text)
        XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: "p")?.legalHold, true)
    }

    func testAPostFormsSignerIsAuthorizedBeforeItsFieldsAreJudged() throws {
        // Allowed elsewhere only: whether "plain" or "locked" has Object Lock is not its to learn.
        try gw.addUser(
            "stranger", permissions: ["s3:PutObject": ["other/*"]], accessKey: "AKIDSTRANGER",
            secret: "stranger-secret")
        for bucket in ["plain", "locked"] {
            let r = postForm(
                bucket: bucket, ["key": "p", "x-amz-object-lock-legal-hold": "ON"], accessKey: "AKIDSTRANGER",
                secret: "stranger-secret")
            XCTAssertEqual(r.errorCode, "AccessDenied", "\(bucket): \(r.text)")
        }
    }

    func testCreatingABucketWithObjectLockNeedsTheLockAndVersioningPermissions() throws {
        try gw.addUser(
            "maker", permissions: ["s3:CreateBucket": ["*"]], accessKey: "AKIDMAKER", secret: "maker-secret")
        try gw.addUser(
            "keeper",
            permissions: [
                "s3:CreateBucket": ["*"], "s3:PutBucketObjectLockConfiguration": ["*"], "s3:PutBucketVersioning": ["*"],
            ], accessKey: "AKIDKEEPER", secret: "keeper-secret")
        let lock = [("x-amz-bucket-object-lock-enabled", "true")]
        let denied = gw.send("PUT", "/vault", headers: lock, accessKey: "AKIDMAKER", secret: "maker-secret")
        XCTAssertEqual(denied.errorCode, "AccessDenied", denied.text)
        XCTAssertNil(try gw.metadata.bucket(named: "vault"), "nothing created")
        XCTAssertEqual(gw.send("PUT", "/open", accessKey: "AKIDMAKER", secret: "maker-secret").status, 200)
        let r = gw.send("PUT", "/vault", headers: lock, accessKey: "AKIDKEEPER", secret: "keeper-secret")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertNotNil(try gw.metadata.bucket(named: "vault")?.objectLock)
    }

    /// One rule for PutObject and UploadPart: a digest when the version will be locked; a hold
    /// OFF alone locks nothing.
    func testADigestIsNeededWhenTheVersionWillBeLocked() throws {
        let body = Array("data".utf8)
        let off = [("x-amz-object-lock-legal-hold", "OFF")]
        XCTAssertEqual(gw.send("PUT", "/locked/off", body: body, headers: off).status, 200)
        let created = gw.send("POST", "/locked/m?uploads", headers: off).text
        let id = try XCTUnwrap(created.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first)
        XCTAssertEqual(gw.send("PUT", "/locked/m?partNumber=1&uploadId=\(id)", body: body).status, 200)
        // ON needs it on both.
        let on = [("x-amz-object-lock-legal-hold", "ON")]
        XCTAssertEqual(gw.send("PUT", "/locked/on", body: body, headers: on).errorCode, "InvalidRequest")
        let held = gw.send("POST", "/locked/h?uploads", headers: on).text
        let heldId = try XCTUnwrap(held.components(separatedBy: "<UploadId>").last?.components(separatedBy: "<").first)
        XCTAssertEqual(
            gw.send("PUT", "/locked/h?partNumber=1&uploadId=\(heldId)", body: body).errorCode, "InvalidRequest")
    }

    func testLockValuesAreCaseSensitiveAsInS3() throws {
        for headers in [
            [("x-amz-object-lock-mode", "governance"), ("x-amz-object-lock-retain-until-date", Self.later)],
            [("x-amz-object-lock-legal-hold", "on")],
        ] {
            let r = put("/locked/k", "data", headers)
            XCTAssertEqual(r.errorCode, "InvalidArgument", "\(headers): \(r.text)")
        }
        XCTAssertNil(try gw.metadata.latestVersion(bucket: "locked", key: "k"))
    }

    /// A migration streams bytes whose digest it knows only at their end (and checks against the
    /// source before the commit): its writes land in a bucket with a default retention.
    func testTheGatewaysOwnWritesLandInABucketWithADefaultRetention() throws {
        let config = lockConfig(rule("COMPLIANCE", "<Days>1</Days>"))
        XCTAssertEqual(gw.send("PUT", "/locked?object-lock", body: config, headers: [Self.md5(config)]).status, 200)
        let principal = try XCTUnwrap(gw.context.identities.resolve(TestGateway.accessKey)?.principal)
        let writes = GatewayWrites(ctx: gw.context, principal: principal, logger: Logger(label: "migration"))
        let bytes = Array("migrated".utf8)
        _ = try writes.putObject(
            bucket: "locked", key: "single", size: Int64(bytes.count), headers: [], body: MemorySource(bytes))
        _ = try writes.multipartUpload(
            bucket: "locked", key: "parts", size: Int64(bytes.count), partSize: 5 * 1024 * 1024, headers: [],
            body: MemorySource(bytes), beforeComplete: { _ in })
        for key in ["single", "parts"] {
            XCTAssertEqual(try gw.metadata.latestVersion(bucket: "locked", key: key)?.retention?.mode, .compliance, key)
            XCTAssertEqual(gw.send("GET", "/locked/\(key)").body, bytes, key)
        }
        // A client's PUT without a digest is still refused there.
        XCTAssertEqual(gw.send("PUT", "/locked/client", body: bytes).errorCode, "InvalidRequest")
    }
}

/// The stores' answer to a lock change on a bucket without Object Lock (a race with the
/// handler's check), and the object lister's seek past a common prefix.
final class ObjectLockStoreAnswerTests: XCTestCase {
    var fixture: TwoStores!

    override func setUpWithError() throws { fixture = try TwoStores("lock-store-answer") }
    override func tearDown() { fixture.remove() }

    func testALockChangeOnABucketWithoutObjectLockIsAnInvalidRequest() throws {
        for s in try fixture.stores(with: VersionStoreTests.bucket) {
            XCTAssertThrowsError(
                try s.changeLock(
                    bucket: "b", key: "k", versionId: nil, .legalHold(true), bypassGovernance: false, now: 1)
            ) { error in
                XCTAssertEqual(error as? StoreError, .invalidRequest("Bucket is missing Object Lock Configuration"))
                let answer = S3Gateway.s3Error(error, logger: Logger(label: "test"))
                XCTAssertEqual(answer.code, .invalidRequest)
                XCTAssertEqual(answer.code.status, 400)
            }
        }
    }

    func testAnObjectListingsSeekIsValidUTF8AfterAContinuationByte() {
        // "¿" is C2 BF: the next byte string (C2 C0) is no UTF-8, so the lister scanned the
        // whole common prefix row by row; the next scalar ("À") is a seek.
        XCTAssertEqual(KeyLister.successor(ofPrefix: Array("x¿".utf8)), "xÀ")
        XCTAssertEqual(KeyLister.successor(ofPrefix: Array("a/".utf8)), "a0")
        XCTAssertNil(KeyLister.successor(ofPrefix: Array("\u{10FFFF}".utf8)))
    }
}
