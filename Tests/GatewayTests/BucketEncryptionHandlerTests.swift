import Foundation
import GatewayCore
import SigV4
import XCTest

@testable import Gateway

/// Put/Get/DeleteBucketEncryption: AWS's document and errors, KMS keys of the bucket's tenant
/// only, audited, and the default's effect on writes (refused while the data path cannot encrypt).
final class BucketEncryptionHandlerTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/box").status, 200)
    }

    func addKey(_ id: String, tenant: String = TenantRecord.defaultID, alias: String = "", kind: String = "kms") {
        XCTAssertNoThrow(
            try gw.metadata.putKMSKey(
                KMSKeyRecord(
                    id: id, tenant: tenant, alias: alias, kind: kind, createdAt: TestGateway.now, versions: "[]"),
                audit: AuditEntry("kms.key-create")))
    }

    func config(_ apply: String, bucketKey: String = "") -> [UInt8] {
        Array(
            """
            <ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>\
            <ApplyServerSideEncryptionByDefault>\(apply)</ApplyServerSideEncryptionByDefault>\(bucketKey)</Rule>\
            </ServerSideEncryptionConfiguration>
            """.utf8)
    }

    func testNoneConfiguredIsNotFoundAndDeleteIsIdempotent() {
        let r = gw.send("GET", "/box?encryption")
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.errorCode, "ServerSideEncryptionConfigurationNotFoundError")
        XCTAssertEqual(gw.send("DELETE", "/box?encryption").status, 204)
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.encryption-delete")).count, 0)
        XCTAssertEqual(gw.send("GET", "/nobox?encryption").errorCode, "NoSuchBucket")
        XCTAssertEqual(
            gw.send("PUT", "/nobox?encryption", body: config("<SSEAlgorithm>AES256</SSEAlgorithm>")).errorCode,
            "NoSuchBucket")
        XCTAssertNil(try gw.metadata.bucket(named: "nobox"))
    }

    func testAES256PutGetDeleteAudited() throws {
        XCTAssertEqual(
            gw.send("PUT", "/box?encryption", body: config("<SSEAlgorithm>AES256</SSEAlgorithm>")).status, 200)
        let got = gw.send("GET", "/box?encryption")
        XCTAssertEqual(got.status, 200)
        XCTAssert(
            got.text.contains("<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"), got.text
        )
        XCTAssert(got.text.contains("<BucketKeyEnabled>false</BucketKeyEnabled>"), got.text)
        XCTAssertEqual(try gw.metadata.bucket(named: "box")?.encryption, "AES256")
        let set = try gw.metadata.auditRecords(AuditQuery(change: "bucket.encryption"))
        XCTAssertEqual(set.count, 1)
        XCTAssert(set[0].detail.contains("\"algorithm\":\"AES256\""), set[0].detail)
        XCTAssertEqual(set[0].operation, "PutBucketEncryption")

        XCTAssertEqual(gw.send("DELETE", "/box?encryption").status, 204)
        XCTAssertEqual(gw.send("GET", "/box?encryption").status, 404)
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.encryption-delete")).count, 1)
    }

    func testKMSKeyByIdARNOrAliasIsKeptByIdAndAnsweredAsARN() throws {
        addKey("key-1", alias: "photos")
        let arn = "arn:aws:kms:us-east-1:\(TenantRecord.defaultID):key/key-1"
        for name in ["key-1", arn, "alias/photos", "arn:aws:kms:us-east-1:\(TenantRecord.defaultID):alias/photos"] {
            let r = gw.send(
                "PUT", "/box?encryption",
                body: config(
                    "<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>\(name)</KMSMasterKeyID>",
                    bucketKey: "<BucketKeyEnabled>true</BucketKeyEnabled>"))
            XCTAssertEqual(r.status, 200, "\(name): \(r.text)")
            XCTAssertEqual(try gw.metadata.bucket(named: "box")?.encryption, "aws:kms key=key-1 bucket-key", name)
            let got = gw.send("GET", "/box?encryption").text
            XCTAssert(got.contains("<KMSMasterKeyID>\(arn)</KMSMasterKeyID>"), got)
            XCTAssert(got.contains("<BucketKeyEnabled>true</BucketKeyEnabled>"), got)
        }
        // aws:kms without a key: the tenant's default key.
        XCTAssertEqual(
            gw.send("PUT", "/box?encryption", body: config("<SSEAlgorithm>aws:kms</SSEAlgorithm>")).status, 200)
        XCTAssertFalse(gw.send("GET", "/box?encryption").text.contains("KMSMasterKeyID"))
        let audit = try gw.metadata.auditRecords(AuditQuery(change: "bucket.encryption"))
        XCTAssert(audit.contains { $0.detail.contains("\"key_id\":\"key-1\"") })
    }

    func testUnknownAndOtherTenantsKeysAreNotFound() throws {
        addKey("theirs", tenant: "acme", alias: "photos")
        for name in [
            "nope", "alias/nope", "theirs", "alias/photos", "arn:aws:kms:us-east-1:acme:key/theirs",
            "arn:aws:kms:us-east-1:\(TenantRecord.defaultID):key/", "arn:aws:s3:::box",
        ] {
            let r = gw.send(
                "PUT", "/box?encryption",
                body: config("<SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>\(name)</KMSMasterKeyID>"))
            XCTAssertEqual(r.status, 400, name)
            XCTAssertEqual(r.errorCode, "KMS.NotFoundException", "\(name): \(r.text)")
        }
        XCTAssertEqual(try gw.metadata.bucket(named: "box")?.encryption, "")
    }

    func testMalformedConfigurationsChangeNothing() throws {
        let cases: [([UInt8], String)] = [
            (config("<SSEAlgorithm>DES</SSEAlgorithm>"), "MalformedXML"),
            (config("<SSEAlgorithm>aws:kms:dsse</SSEAlgorithm>"), "NotImplemented"),
            (config("<SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID>k</KMSMasterKeyID>"), "InvalidArgument"),
            (config(""), "MalformedXML"),
            (Array("<ServerSideEncryptionConfiguration/>".utf8), "MalformedXML"),
            (Array("not xml".utf8), "MalformedXML"),
        ]
        for (body, code) in cases {
            XCTAssertEqual(
                gw.send("PUT", "/box?encryption", body: body).errorCode, code, String(decoding: body, as: UTF8.self))
        }
        XCTAssertEqual(try gw.metadata.bucket(named: "box")?.encryption, "")
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.encryption")).count, 0)
    }

    func testPermissionsAreAWSs() throws {
        let reader = gw.addUser(
            TenantRecord.defaultID, "reader", ["s3:GetEncryptionConfiguration": ["*"], "s3:CreateBucket": ["*"]])
        let body = config("<SSEAlgorithm>AES256</SSEAlgorithm>")
        XCTAssertEqual(
            gw.send("PUT", "/box?encryption", body: body, accessKey: reader.accessKey, secret: reader.secret).errorCode,
            "AccessDenied")
        XCTAssertEqual(
            gw.send("DELETE", "/box?encryption", accessKey: reader.accessKey, secret: reader.secret).errorCode,
            "AccessDenied")
        XCTAssertEqual(
            gw.send("GET", "/box?encryption", accessKey: reader.accessKey, secret: reader.secret).errorCode,
            "ServerSideEncryptionConfigurationNotFoundError")
        XCTAssert(
            S3Router.knownActions.isSuperset(of: ["s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"]))
    }

    func testADefaultEncryptsPlainPutsAndCopies() throws {
        XCTAssertEqual(gw.send("PUT", "/box/before", body: [1]).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/box?encryption", body: config("<SSEAlgorithm>AES256</SSEAlgorithm>")).status, 200)
        let r = gw.send("PUT", "/box/k", body: [1, 2, 3])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.header("x-amz-server-side-encryption"), "AES256")
        XCTAssertFalse(try XCTUnwrap(try gw.metadata.object(bucket: "box", key: "k")).sse.isEmpty)
        XCTAssertEqual(gw.send("GET", "/box/k").body, [1, 2, 3])
        XCTAssertFalse(try XCTUnwrap(try gw.metadata.object(bucket: "box", key: "before")).isEncrypted)
        let copy = gw.send("PUT", "/box/copy", headers: [("x-amz-copy-source", "/box/before")])
        XCTAssertEqual(copy.header("x-amz-server-side-encryption"), "AES256", copy.text)
        XCTAssertTrue(try XCTUnwrap(try gw.metadata.object(bucket: "box", key: "copy")).isEncrypted)
        XCTAssertEqual(gw.send("GET", "/box/copy").body, [1])
        // Reading what was stored before is unaffected.
        XCTAssertEqual(gw.send("GET", "/box/before").body, [1])
    }
}
