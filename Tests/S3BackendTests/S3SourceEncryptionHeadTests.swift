import GatewayCore
import XCTest

@testable import S3Backend

/// GetObject of an encrypted source object: the head carries the encryption headers, which say
/// whether the ETag is an MD5 of the bytes (a migration verifies by them, never stores them).
final class S3SourceEncryptionHeadTests: XCTestCase {
    override func setUp() { CurlGlobal.initializeOnce() }

    func head(_ extra: [(String, String)]) throws -> SourceObjectHead {
        let provider = FakeProvider([
            .reply(
                200, headers: [("Content-Length", "5"), ("ETag", "\"9b2cf535f27731c974343645a3985328\"")] + extra,
                body: "bytes")
        ])
        let reader = try makeSource(provider).open(bucket: "b", region: "eu-west-1", key: "k")
        defer { reader.close() }
        return reader.head
    }

    func testKMSAndCustomerKeyEncryptionReachTheHead() throws {
        let kms = try head([
            ("x-amz-server-side-encryption", "aws:kms"),
            ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:eu-west-1:111122223333:key/k"),
        ])
        XCTAssertEqual(kms.headers, ["x-amz-server-side-encryption": "aws:kms"])
        XCTAssertEqual(kms.etagHidingEncryption, "aws:kms")
        let dsse = try head([("x-amz-server-side-encryption", "aws:kms:dsse")])
        XCTAssertEqual(dsse.etagHidingEncryption, "aws:kms:dsse")
        let ssec = try head([
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key-MD5", "ZjQrne1X/iTcskbY2m3example=="),
        ])
        XCTAssertEqual(ssec.headers, ["x-amz-server-side-encryption-customer-algorithm": "AES256"])
        XCTAssertTrue(ssec.isCustomerKeyEncrypted)
        XCTAssertNil(try head([("x-amz-server-side-encryption", "AES256")]).etagHidingEncryption)
    }
}
