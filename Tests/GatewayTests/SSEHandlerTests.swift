import Foundation
import GatewayCore
import SigV4
import XCTest

@testable import Gateway

/// SSE headers through the handlers: S3's 400s for malformed ones, the HTTPS rule for customer
/// keys, and — while the data path cannot encrypt — a 501 for every write that would have to be
/// encrypted, with nothing stored. Customer keys never appear in an answer.
final class SSEHandlerTests: XCTestCase {
    var gw: TestGateway!
    static let keyB64 = SSERequestTests.keyB64

    override func setUp() {
        gw = TestGateway(configure: { $0.allowSSECOverHTTP = true })
        XCTAssertEqual(gw.send("PUT", "/box").status, 200)
        XCTAssertEqual(gw.send("PUT", "/box/src", body: Array("source".utf8)).status, 200)
    }

    func assertNothingStored(_ context: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(gw.zone.blobCount, 1, "\(context): a blob was stored", file: file, line: line)
        XCTAssertNil(try gw.metadata.object(bucket: "box", key: "k"), "\(context): an object", file: file, line: line)
        let uploads = try? gw.metadata.uploads(bucket: "box", prefix: "", keyMarker: "", uploadIdMarker: "", limit: 10)
        XCTAssertEqual(uploads?.count, 0, "\(context): an upload was opened", file: file, line: line)
    }

    /// Every object write, with `headers`.
    func writes(_ headers: [(String, String)]) -> [(String, TestGateway.Response)] {
        [
            ("PUT", gw.send("PUT", "/box/k", body: Array("secret".utf8), headers: headers)),
            ("copy", gw.send("PUT", "/box/k", headers: headers + [("x-amz-copy-source", "/box/src")])),
            ("CreateMultipartUpload", gw.send("POST", "/box/k?uploads", headers: headers)),
            (
                "POST form",
                postForm(["key": "k"].merging(headers.map { ($0.0.lowercased(), $0.1) }) { a, _ in a })
            ),
        ]
    }

    func testPOSTFormsEncryptToo() throws {
        for (key, h) in [
            ("s3", [("x-amz-server-side-encryption", "AES256")]),
            ("kms", [("x-amz-server-side-encryption", "aws:kms")]),
            ("c", SSERequestTests.ssec()),
        ] {
            let r = postForm(["key": key].merging(h.map { ($0.0.lowercased(), $0.1) }) { a, _ in a })
            XCTAssertEqual(r.status, 204, r.text)
            let o = try XCTUnwrap(try gw.metadata.object(bucket: "box", key: key))
            XCTAssertTrue(o.isEncrypted, key)
            XCTAssertEqual(o.storedSize, EncryptionLayout.storedSize(plain: 6))
            let read = key == "c" ? SSERequestTests.ssec() : []
            XCTAssertEqual(gw.send("GET", "/box/\(key)", headers: read).body, Array("secret".utf8), key)
        }
    }

    func testMalformedSSEHeadersGetS3sErrors() {
        let cases: [([(String, String)], String)] = [
            ([("x-amz-server-side-encryption", "AES128")], "InvalidArgument"),
            ([("x-amz-server-side-encryption-aws-kms-key-id", "k")], "InvalidArgument"),
            ([("x-amz-server-side-encryption", "aws:kms:dsse")], "NotImplemented"),
            (SSERequestTests.ssec() + [("x-amz-server-side-encryption", "AES256")], "InvalidArgument"),
            (
                [
                    ("x-amz-server-side-encryption-customer-algorithm", "AES128"),
                    ("x-amz-server-side-encryption-customer-key", Self.keyB64),
                    ("x-amz-server-side-encryption-customer-key-md5", SSERequestTests.keyMD5),
                ], "InvalidEncryptionAlgorithmError"
            ),
            (
                [
                    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                    ("x-amz-server-side-encryption-customer-key", Self.keyB64),
                    ("x-amz-server-side-encryption-customer-key-md5", "AAAAAAAAAAAAAAAAAAAAAA=="),
                ], "InvalidArgument"
            ),
        ]
        for (h, code) in cases {
            for (op, r) in writes(h) {
                XCTAssertEqual(r.errorCode, code, "\(op) \(h): \(r.text)")
                XCTAssertFalse(r.text.contains(Self.keyB64), r.text)
                assertNothingStored("\(op) \(h)")
            }
        }
    }

    func testCustomerKeysNeedTLS() {
        let plain = TestGateway()
        XCTAssertEqual(plain.send("PUT", "/box").status, 200)
        XCTAssertEqual(plain.send("PUT", "/box/src", body: [1]).status, 200)
        let r = plain.send("PUT", "/box/k", body: [1], headers: SSERequestTests.ssec())
        XCTAssertEqual(r.errorCode, "InvalidRequest", r.text)
        XCTAssert(r.text.contains("must be made over a secure connection"), r.text)
        XCTAssertEqual(plain.send("GET", "/box/src", headers: SSERequestTests.ssec()).errorCode, "InvalidRequest")
        XCTAssertNil(try plain.metadata.object(bucket: "box", key: "k"))
    }

    func testAPlaintextObjectRefusesCustomerKeysOnReadsCopiesAndParts() {
        for method in ["GET", "HEAD"] {
            let r = gw.send(method, "/box/src", headers: SSERequestTests.ssec())
            XCTAssertEqual(r.status, 400, method)
            if method == "GET" { XCTAssertEqual(r.errorCode, "InvalidRequest", r.text) }
        }
        let sourceKey = SSERequestTests.ssec(SSERequest.copySourceCustomerPrefix)
        let copy = gw.send("PUT", "/box/k", headers: sourceKey + [("x-amz-copy-source", "/box/src")])
        XCTAssertEqual(copy.errorCode, "InvalidRequest", copy.text)
        assertNothingStored("copy with a source key")
        // GET and HEAD of an SSE-S3 object take no SSE header.
        XCTAssertEqual(
            gw.send("GET", "/box/src", headers: [("x-amz-server-side-encryption", "AES256")]).errorCode,
            "InvalidArgument")

        let created = gw.send("POST", "/box/mp?uploads").text
        let id = created.components(separatedBy: "<UploadId>")[1].components(separatedBy: "<")[0]
        let blobs = gw.zone.blobCount
        let cases: [[(String, String)]] = [
            SSERequestTests.ssec(),
            [("x-amz-server-side-encryption", "AES256")],
            [("x-amz-copy-source", "/box/src")] + SSERequestTests.ssec(),
            [("x-amz-copy-source", "/box/src")] + sourceKey,
        ]
        for headers in cases {
            let r = gw.send("PUT", "/box/mp?partNumber=1&uploadId=\(id)", body: [1, 2, 3], headers: headers)
            XCTAssertEqual(r.status, 400, "\(headers): \(r.text)")
            XCTAssertEqual(try gw.metadata.parts(uploadId: id, after: 0, limit: 10).count, 0, "\(headers)")
            XCTAssertEqual(gw.zone.blobCount, blobs, "\(headers)")
        }
    }

    /// A bucket default the gateway cannot read never means "no encryption": every write is
    /// refused with 500 InternalError and nothing is stored.
    func testAnUnreadableBucketDefaultRefusesWrites() throws {
        try gw.metadata.setBucketSetting(
            bucket: "box", .encryption, "AES512 bucket-key", audit: .bucketEncryptionDelete(bucket: "box"))
        for (op, r) in writes([]) {
            XCTAssertEqual(r.status, 500, "\(op): \(r.text)")
            XCTAssertEqual(r.errorCode, "InternalError", "\(op)")
        }
        assertNothingStored("an unreadable default")
    }

    func testPlainWritesStillWork() {
        XCTAssertEqual(gw.send("PUT", "/box/k", body: [1, 2]).status, 200)
        XCTAssertEqual(gw.send("GET", "/box/k").body, [1, 2])
    }

    /// A browser POST form signed with SigV2 whose policy allows every given field.
    func postForm(_ fields: [String: String]) -> TestGateway.Response {
        gw.postForm(bucket: "box", fields, file: "secret")
    }
}
