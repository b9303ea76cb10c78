import Foundation
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import Synchronization
import XCTest

@testable import Gateway

/// Objects encrypted at the source: an SSE-KMS (or DSSE-KMS) object's ETag is no MD5 of its
/// bytes even when it looks like one, so the copy is checked by a full-object checksum or its
/// size instead; an SSE-C object cannot be read without the customer's key and is skipped
/// before its bytes are read. Neither carries the source's encryption headers into the gateway.
extension MigrationRunnerTests {
    /// 32 hex digits that are no MD5 of the test's bytes: what S3 answers for an SSE-KMS object.
    static let kmsETag = "9b2cf535f27731c974343645a3985328"

    func testObjectsEncryptedWithKMSAreVerifiedByTheirChecksumOrSize() throws {
        let data = Self.bytes(3000, seed: 4)
        XCTAssertNotEqual(hexEncode(Digest.hash(.md5, data)), Self.kmsETag)
        var crc = CRC32()
        crc.update(data)
        putSource("enc", "kms", data, etag: Self.kmsETag, headers: ["x-amz-server-side-encryption": "aws:kms"])
        putSource(
            "enc", "kms-multipart", data, etag: "0123456789abcdef0123456789abcdef-2",
            headers: ["x-amz-server-side-encryption": "aws:kms"])
        putSource(
            "enc", "dsse", data, etag: "00112233445566778899aabbccddeeff",
            checksums: ["crc32": base64Encode(crc.finalize())],
            headers: ["x-amz-server-side-encryption": "aws:kms:dsse"])
        // SSE-S3 leaves the ETag an MD5: still checked as one.
        putSource(
            "enc", "sse-s3", data, etag: hexEncode(Digest.hash(.md5, data)),
            headers: ["x-amz-server-side-encryption": "AES256"])
        let events = Mutex<[String: String]>([:])
        let p = try plan("fi")
        let report = runner(p) { e in events.withLock { $0[e.key] = e.verification ?? e.reason } }.run()
        XCTAssertEqual(report.state, .done, report.text)
        XCTAssertEqual(report.objectsSkipped, 0, report.text)
        XCTAssertEqual(
            events.withLock { $0 },
            ["kms": "size", "kms-multipart": "size", "dsse": "checksum-crc32", "sse-s3": "md5"])
        XCTAssertEqual(report.verification, ["size": 2, "checksum-crc32": 1, "md5": 1])
        XCTAssertEqual(try gw.metadata.migratedObject(bucket: "enc", key: "kms")?.verification, "size")
        for key in ["kms", "kms-multipart", "dsse", "sse-s3"] {
            let r = get("enc", key)
            XCTAssertEqual(r.body, data, key)
            // The copy is the gateway's: the source's encryption is not claimed for it.
            XCTAssertNil(r.header("x-amz-server-side-encryption"), key)
            let o = try XCTUnwrap(try gw.metadata.object(bucket: "enc", key: key))
            XCTAssertFalse(o.headers.contains { $0.name.hasPrefix("x-amz-server-side-encryption") }, "\(o.headers)")
        }
        // The copy record proves the copy: a rerun reads none of them again.
        XCTAssertEqual(runner(p).run().objectsPresent, 4)
        XCTAssertEqual(source.reads, 4)
    }

    /// A target bucket whose default is SSE-KMS answers the tag digest as the ETag: the copy
    /// record keeps that, so a rerun finds the copy present instead of "changed in the gateway".
    func testARerunIntoAnSSEKMSDefaultBucketFindsItsCopies() throws {
        let data = Self.bytes(3000, seed: 5)
        source.put("enc", "plain", data)
        let create = Array(
            "<CreateBucketConfiguration><LocationConstraint>fi</LocationConstraint></CreateBucketConfiguration>".utf8)
        XCTAssertEqual(gw.send("PUT", "/enc", body: create).status, 200)
        let rule = Array(
            ("<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
                + "<SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
                + "</ServerSideEncryptionConfiguration>").utf8)
        XCTAssertEqual(gw.send("PUT", "/enc?encryption", body: rule).status, 200)
        let p = try plan("fi")
        let first = runner(p).run()
        XCTAssertEqual(first.objectsCopied, 1, first.text)
        let o = try XCTUnwrap(try gw.metadata.object(bucket: "enc", key: "plain"))
        XCTAssertFalse(o.sse.isEmpty, "the bucket default encrypted the copy")
        XCTAssertNotEqual(o.etag, hexEncode(Digest.hash(.md5, data)), "SSE-KMS: the ETag is no MD5")
        XCTAssertEqual(try gw.metadata.migratedObject(bucket: "enc", key: "plain")?.gatewayETag, o.etag)
        let again = runner(p).run()
        XCTAssertEqual(again.objectsPresent, 1, again.text)
        XCTAssertEqual(again.objectsSkipped, 0, again.text)
        XCTAssertEqual(get("enc", "plain").body, data)
    }

    func testAChangedKMSObjectIsStillCaughtBySize() throws {
        // The size is all an SSE-KMS object without a checksum offers: a short body fails it.
        let data = Self.bytes(3000, seed: 4)
        putSource("enc", "kms", data, etag: Self.kmsETag, headers: ["x-amz-server-side-encryption": "aws:kms"])
        let report = runner(try plan("fi"), source: TruncatingSource(source, keep: 2000)).run()
        XCTAssertEqual(report.objectsSkipped, 1, report.text)
        XCTAssertEqual(report.skipped.first?.reason, "verification failed: the source sent 2000 of its 3000 bytes")
        XCTAssertEqual(get("enc", "kms").status, 404)
    }

    func testSSECObjectsAreSkippedBeforeTheirBytesAreRead() throws {
        let data = Self.bytes(3000, seed: 6)
        // A source that answers GetObject of an SSE-C object (with its head saying so) …
        putSource(
            "enc", "customer-key", data, etag: hexEncode(Digest.hash(.md5, data)),
            headers: ["x-amz-server-side-encryption-customer-algorithm": "AES256"])
        // … and S3, which refuses it without the key.
        source.put("enc", "refused", data)
        source.put("enc", "plain", data)
        let counting = TruncatingSource(
            ScriptedSource(source) { key in
                if key == "refused" {
                    throw SourceError.failed(operation: "GetObject enc", status: 400, code: "InvalidRequest")
                }
                return nil
            }, keep: .max)
        let report = runner(try plan("fi"), source: counting).run()
        XCTAssertEqual(report.state, .done, report.text)
        XCTAssertEqual(report.objectsCopied, 1, report.text)
        let reasons = Dictionary(uniqueKeysWithValues: report.skipped.map { ($0.key, $0.reason) })
        XCTAssertEqual(reasons["customer-key"], MigrationRunner.customerKeyReason)
        XCTAssertEqual(reasons["refused"], MigrationRunner.customerKeyReason + " (the source answered InvalidRequest)")
        XCTAssertTrue(reasons["customer-key"]?.contains("SSE-C") == true)
        XCTAssertEqual(counting.bytesRead, 3000, "only the plain object's bytes were read")
        XCTAssertEqual(get("enc", "customer-key").status, 404)
        XCTAssertEqual(get("enc", "plain").body, data)
    }

    func testEncryptionHeadersSayWhatTheETagIs() {
        func head(_ h: [String: String]) -> SourceObjectHead { SourceObjectHead(size: 1, etag: "e", headers: h) }
        XCTAssertNil(head([:]).etagHidingEncryption)
        XCTAssertNil(head(["x-amz-server-side-encryption": "AES256"]).etagHidingEncryption)
        XCTAssertEqual(head(["x-amz-server-side-encryption": "aws:kms"]).etagHidingEncryption, "aws:kms")
        XCTAssertEqual(head(["x-amz-server-side-encryption": "aws:kms:dsse"]).etagHidingEncryption, "aws:kms:dsse")
        let ssec = head(["x-amz-server-side-encryption-customer-algorithm": "AES256"])
        XCTAssertEqual(ssec.etagHidingEncryption, "SSE-C")
        XCTAssertTrue(ssec.isCustomerKeyEncrypted)
        // Never among the headers a copy stores.
        let (stored, _) = MigrationRunner.storedHeaders(
            head([
                "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-customer-algorithm": "AES256",
                "cache-control": "no-cache",
            ]))
        XCTAssertEqual(stored.map(\.name), ["cache-control"])
    }
}
