import Foundation
import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import Gateway

/// PutObject encrypts and GetObject/HeadObject decrypt, per mode (SSE-S3, SSE-KMS, SSE-C):
/// the zone holds ciphertext only, ranges read only what they need, ETags follow S3's rules,
/// keys are checked (SSE-C missing/wrong, KMS disabled), answers carry S3's SSE headers.
final class SSERoundTripTests: XCTestCase {
    var gw: TestGateway!
    let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }

    override func setUp() {
        gw = TestGateway(configure: { $0.allowSSECOverHTTP = true })
        XCTAssertEqual(gw.send("PUT", "/box").status, 200)
    }

    func storedBytes(_ key: String) throws -> [UInt8] {
        let o = try XCTUnwrap(try gw.metadata.object(bucket: "box", key: key))
        let b = try XCTUnwrap(try gw.metadata.bucket(named: "box"))
        let reader = try gw.zone.open(
            backendBucket: gw.context.backendBucket(b, in: o.zone), blob: o.blob, offset: 0, length: nil)
        return try XCTUnwrap(try reader.readAll(limit: 1 << 24))
    }

    func assertRoundTrip(_ key: String, _ h: [(String, String)], file: StaticString = #filePath, line: UInt = #line)
        throws -> TestGateway.Response
    {
        let put = gw.send("PUT", "/box/\(key)", body: data, headers: h)
        XCTAssertEqual(put.status, 200, put.text, file: file, line: line)
        let stored = try storedBytes(key)
        XCTAssertEqual(
            Int64(stored.count), EncryptionLayout.storedSize(plain: Int64(data.count)), file: file, line: line)
        XCTAssertFalse(contains(stored, Array(data[1000..<1064])), "plaintext in the zone", file: file, line: line)
        let readHeaders = h.filter { $0.0.contains("customer") }
        let get = gw.send("GET", "/box/\(key)", headers: readHeaders)
        XCTAssertEqual(get.status, 200, get.text, file: file, line: line)
        XCTAssertEqual(get.body, data, file: file, line: line)
        XCTAssertEqual(get.header("ETag"), put.header("ETag"), file: file, line: line)
        for (from, to) in [(0, 0), (65535, 65537), (70_000, 199_999), (131_072, 131_072)] {
            let ranged = gw.send("GET", "/box/\(key)", headers: readHeaders + [("range", "bytes=\(from)-\(to)")])
            XCTAssertEqual(ranged.status, 206, file: file, line: line)
            XCTAssertEqual(ranged.body, Array(data[from...to]), "\(from)-\(to)", file: file, line: line)
        }
        XCTAssertEqual(gw.send("HEAD", "/box/\(key)", headers: readHeaders).status, 200, file: file, line: line)
        return put
    }

    func testSSES3() throws {
        let put = try assertRoundTrip("s3", [("x-amz-server-side-encryption", "AES256")])
        XCTAssertEqual(put.header("ETag"), "\"\(hexEncode(Digest.hash(.md5, data)))\"", "SSE-S3 ETag is the MD5")
        XCTAssertEqual(put.header("x-amz-server-side-encryption"), "AES256")
        XCTAssertEqual(gw.send("HEAD", "/box/s3").header("x-amz-server-side-encryption"), "AES256")
        // Two writes of the same bytes are stored differently.
        _ = try assertRoundTrip("s3b", [("x-amz-server-side-encryption", "AES256")])
        XCTAssertNotEqual(try storedBytes("s3"), try storedBytes("s3b"))
    }

    func testSSEKMSWithAKeyAndItsDisabling() throws {
        let k = try gw.context.keys.createKey(tenant: TenantRecord.defaultID, alias: "docs")
        let arn = gw.context.keys.arn(k)
        let put = try assertRoundTrip(
            "kms",
            [
                ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", "alias/docs"),
            ])
        XCTAssertNotEqual(put.header("ETag"), "\"\(hexEncode(Digest.hash(.md5, data)))\"", "not the MD5")
        XCTAssertEqual(put.header("x-amz-server-side-encryption-aws-kms-key-id"), arn)
        XCTAssertEqual(gw.send("HEAD", "/box/kms").header("x-amz-server-side-encryption-aws-kms-key-id"), arn)
        let unknown = gw.send(
            "PUT", "/box/x", body: [1],
            headers: [
                ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", "nope"),
            ])
        XCTAssertEqual(unknown.errorCode, "KMS.NotFoundException", unknown.text)

        // Disabled: neither new objects nor reads of its objects.
        var disabled = k
        disabled.state = "Disabled"
        try gw.metadata.putKMSKey(disabled, audit: .kmsKeyState(disabled))
        let write = gw.send(
            "PUT", "/box/y", body: [1],
            headers: [
                ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", k.id),
            ])
        XCTAssertEqual(write.errorCode, "KMS.DisabledException", write.text)
    }

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        hay.withUnsafeBytes { h in needle.withUnsafeBytes { n in ByteSearch.find(n, in: h) != nil } }
    }

    func testSSECNeedsItsKey() throws {
        let put = try assertRoundTrip("c", SSERequestTests.ssec())
        XCTAssertEqual(put.header("x-amz-server-side-encryption-customer-algorithm"), "AES256")
        XCTAssertEqual(put.header("x-amz-server-side-encryption-customer-key-MD5"), SSERequestTests.keyMD5)
        let without = gw.send("GET", "/box/c")
        XCTAssertEqual(without.errorCode, "InvalidRequest", without.text)
        XCTAssertEqual(gw.send("HEAD", "/box/c").status, 400)
        let other = [UInt8](repeating: 9, count: 32)
        let wrong = gw.send(
            "GET", "/box/c",
            headers: [
                ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
                ("x-amz-server-side-encryption-customer-key", base64Encode(other)),
                ("x-amz-server-side-encryption-customer-key-md5", base64Encode(Digest.hash(.md5, other))),
            ])
        XCTAssertEqual(wrong.status, 403, wrong.text)
        // Nothing about the key is stored: not the key, not its MD5.
        let row = try XCTUnwrap(try gw.metadata.object(bucket: "box", key: "c")).sse
        XCTAssertFalse(row.contains(SSERequestTests.keyB64) || row.contains(SSERequestTests.keyMD5), row)
        // Copying it needs its key as the copy source's.
        let copy = gw.send("PUT", "/box/c2", headers: [("x-amz-copy-source", "/box/c")])
        XCTAssertEqual(copy.errorCode, "InvalidRequest", copy.text)
    }

    func testEmptyObject() throws {
        let put = gw.send("PUT", "/box/e", headers: [("x-amz-server-side-encryption", "AES256")])
        XCTAssertEqual(put.status, 200)
        XCTAssertEqual(Int64(try storedBytes("e").count), EncryptionLayout.storedSize(plain: 0))
        let get = gw.send("GET", "/box/e")
        XCTAssertEqual(get.status, 200)
        XCTAssertEqual(get.body, [])
    }

    func uploadId(_ r: TestGateway.Response) -> String {
        r.text.components(separatedBy: "<UploadId>")[1].components(separatedBy: "<")[0]
    }

    /// Multipart per mode: one data key per upload, each part its own stream in its own blob;
    /// reads across parts, partNumber reads, S3's ETag rules, SSE-C parts repeating the key.
    func testMultipartPerMode() throws {
        let k = try gw.context.keys.createKey(tenant: TenantRecord.defaultID, alias: "mp")
        let big = (0..<(5 * 1024 * 1024 + 1000)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let small = Array(data[0..<70_000])
        let modes: [(String, [(String, String)], [(String, String)])] = [
            ("s3", [("x-amz-server-side-encryption", "AES256")], []),
            (
                "kms",
                [("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", k.id)], []
            ),
            ("c", SSERequestTests.ssec(), SSERequestTests.ssec()),
        ]
        for (name, create, each) in modes {
            let key = "mp-\(name)"
            let created = gw.send("POST", "/box/\(key)?uploads", headers: create)
            XCTAssertEqual(created.status, 200, created.text)
            let id = uploadId(created)
            XCTAssertFalse(try XCTUnwrap(try gw.metadata.upload(id: id)).sse.isEmpty, name)
            if name == "c" {
                let bare = gw.send("PUT", "/box/\(key)?partNumber=1&uploadId=\(id)", body: small)
                XCTAssertEqual(bare.status, 400, "an SSE-C part repeats the key: \(bare.text)")
            }
            let p1 = gw.send("PUT", "/box/\(key)?partNumber=1&uploadId=\(id)", body: big, headers: each)
            let p2 = gw.send("PUT", "/box/\(key)?partNumber=2&uploadId=\(id)", body: small, headers: each)
            XCTAssertEqual(p1.status, 200, p1.text)
            XCTAssertEqual(p2.status, 200, p2.text)
            let plainMD5 = "\"\(hexEncode(Digest.hash(.md5, big)))\""
            XCTAssertEqual(p1.header("ETag") == plainMD5, name == "s3", "\(name): part ETag rule")
            let body = """
                <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(p1.header("ETag")!)</ETag></Part>\
                <Part><PartNumber>2</PartNumber><ETag>\(p2.header("ETag")!)</ETag></Part></CompleteMultipartUpload>
                """
            let done = gw.send("POST", "/box/\(key)?uploadId=\(id)", body: Array(body.utf8))
            XCTAssertEqual(done.status, 200, done.text)
            XCTAssert(done.text.contains("-2&quot;") || done.text.contains("-2\""), done.text)
            let o = try XCTUnwrap(try gw.metadata.object(bucket: "box", key: key))
            XCTAssertEqual(
                o.parts.map(\.size),
                [EncryptionLayout.storedSize(plain: Int64(big.count)), EncryptionLayout.storedSize(plain: 70_000)])
            let whole = big + small
            let got = gw.send("GET", "/box/\(key)", headers: each)
            XCTAssertEqual(got.status, 200, "\(name): \(got.text.prefix(300))")
            XCTAssert(got.body == whole, name)
            let from = big.count - 10
            let ranged = gw.send("GET", "/box/\(key)", headers: each + [("range", "bytes=\(from)-\(from + 99)")])
            XCTAssertEqual(ranged.body, Array(whole[from..<(from + 100)]), "\(name): a range across parts")
            let part2 = gw.send("GET", "/box/\(key)?partNumber=2", headers: each)
            XCTAssertEqual(part2.body, small, name)
            if name == "c" { XCTAssertEqual(gw.send("GET", "/box/\(key)").status, 400) }
        }
    }

    /// As S3: a HEAD of an SSE-KMS object calls no KMS, so it answers under a disabled key
    /// (with its SSE headers); the GET is refused with KMS.DisabledException. A 304 carries the
    /// SSE headers, as its 200 would.
    func testHeadNeedsNoKeyAndNotModifiedCarriesSSEHeaders() throws {
        let k = try gw.context.keys.createKey(tenant: TenantRecord.defaultID, alias: "head")
        let arn = gw.context.keys.arn(k)
        let put = gw.send(
            "PUT", "/box/h", body: data,
            headers: [
                ("x-amz-server-side-encryption", "aws:kms"), ("x-amz-server-side-encryption-aws-kms-key-id", k.id),
            ])
        XCTAssertEqual(put.status, 200, put.text)
        let etag = try XCTUnwrap(put.header("ETag"))
        let notModified = gw.send("GET", "/box/h", headers: [("if-none-match", etag)])
        XCTAssertEqual(notModified.status, 304)
        XCTAssertEqual(notModified.header("x-amz-server-side-encryption"), "aws:kms")
        XCTAssertEqual(notModified.header("x-amz-server-side-encryption-aws-kms-key-id"), arn)
        _ = try gw.context.keys.update(id: k.id, { $0.state = "Disabled" }, audit: { .kmsKeyState($0) })
        let head = gw.send("HEAD", "/box/h")
        XCTAssertEqual(head.status, 200, head.text)
        XCTAssertEqual(head.header("x-amz-server-side-encryption"), "aws:kms")
        XCTAssertEqual(head.header("x-amz-server-side-encryption-aws-kms-key-id"), arn)
        XCTAssertEqual(head.header("Content-Length"), String(data.count))
        XCTAssertEqual(gw.send("GET", "/box/h").errorCode, "KMS.DisabledException")
        // SSE-C's key is still checked on HEAD.
        XCTAssertEqual(gw.send("PUT", "/box/c", body: data, headers: SSERequestTests.ssec()).status, 200)
        XCTAssertEqual(gw.send("HEAD", "/box/c").status, 400)
        XCTAssertEqual(gw.send("HEAD", "/box/c", headers: SSERequestTests.ssec()).status, 200)
    }

    /// A retried Complete (the upload already completed) answers as the first did, SSE headers too.
    func testARetriedCompleteCarriesTheSSEHeaders() throws {
        let created = gw.send("POST", "/box/rc?uploads", headers: [("x-amz-server-side-encryption", "AES256")])
        let id = uploadId(created)
        let p1 = gw.send("PUT", "/box/rc?partNumber=1&uploadId=\(id)", body: data)
        let body = Array(
            """
            <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(p1.header("ETag")!)</ETag></Part>\
            </CompleteMultipartUpload>
            """.utf8)
        let first = gw.send("POST", "/box/rc?uploadId=\(id)", body: body)
        XCTAssertEqual(first.header("x-amz-server-side-encryption"), "AES256")
        let retried = gw.send("POST", "/box/rc?uploadId=\(id)", body: body)
        XCTAssertEqual(retried.status, 200, retried.text)
        XCTAssertEqual(retried.header("x-amz-server-side-encryption"), "AES256")
    }

    /// Each part's stream is bound to its part number (the envelope keeps the object's numbers,
    /// sparse ones too): two equal-size part blobs swapped in the zone fail the GET, whole or
    /// ranged, and never answer the parts' bytes in the wrong order.
    func testSwappedPartsFailTheRead() throws {
        let size = 5 * 1024 * 1024 + 100
        let a = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let b = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 11 &+ 1) }
        let created = gw.send("POST", "/box/sw?uploads", headers: [("x-amz-server-side-encryption", "AES256")])
        let id = uploadId(created)
        let p1 = gw.send("PUT", "/box/sw?partNumber=1&uploadId=\(id)", body: a)
        let p3 = gw.send("PUT", "/box/sw?partNumber=3&uploadId=\(id)", body: b)
        let body = """
            <CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(p1.header("ETag")!)</ETag></Part>\
            <Part><PartNumber>3</PartNumber><ETag>\(p3.header("ETag")!)</ETag></Part></CompleteMultipartUpload>
            """
        XCTAssertEqual(gw.send("POST", "/box/sw?uploadId=\(id)", body: Array(body.utf8)).status, 200)
        let o = try XCTUnwrap(try gw.metadata.object(bucket: "box", key: "sw"))
        XCTAssertEqual(try XCTUnwrap(try SSEEnvelope.decode(o.sse)).parts, [1, 3])
        XCTAssertEqual(gw.send("GET", "/box/sw").body, a + b)
        let bucket = try XCTUnwrap(try gw.metadata.bucket(named: "box"))
        let backend = gw.context.backendBucket(bucket, in: o.zone)
        func blob(_ id: String) throws -> [UInt8] {
            try XCTUnwrap(
                try gw.zone.open(backendBucket: backend, blob: id, offset: 0, length: nil).readAll(limit: 1 << 24))
        }
        XCTAssertEqual(o.parts.count, 2)
        let (first, second) = (try blob(o.parts[0].blob), try blob(o.parts[1].blob))
        XCTAssertEqual(first.count, second.count)
        gw.zone.plant(second, backendBucket: backend, id: o.parts[0].blob)
        gw.zone.plant(first, backendBucket: backend, id: o.parts[1].blob)
        let whole = gw.send("GET", "/box/sw")
        XCTAssertEqual(whole.status, 500, "swapped parts must not read")
        XCTAssertNotEqual(whole.body, b + a)
        let ranged = gw.send("GET", "/box/sw", headers: [("range", "bytes=\(size + 10)-\(size + 20)")])
        XCTAssertEqual(ranged.status, 500)
        XCTAssertEqual(gw.send("GET", "/box/sw?partNumber=2").status, 500)
    }

    /// Copies decrypt the source with its key and encrypt the copy as the request (or the
    /// target bucket) says, never the source's way; a copy onto itself may change encryption.
    func testCopiesReEncrypt() throws {
        let k = try gw.context.keys.createKey(tenant: TenantRecord.defaultID, alias: "cp")
        XCTAssertEqual(gw.send("PUT", "/box/c", body: data, headers: SSERequestTests.ssec()).status, 200)
        let sourceKey = SSERequestTests.ssec(SSERequest.copySourceCustomerPrefix)
        // SSE-C source → plaintext copy.
        let plain = gw.send("PUT", "/box/plain", headers: sourceKey + [("x-amz-copy-source", "/box/c")])
        XCTAssertEqual(plain.status, 200, plain.text)
        XCTAssertFalse(try XCTUnwrap(try gw.metadata.object(bucket: "box", key: "plain")).isEncrypted)
        XCTAssertEqual(gw.send("GET", "/box/plain").body, data)
        XCTAssert(plain.text.contains(hexEncode(Digest.hash(.md5, data))), "a plaintext copy's ETag is the MD5")
        // Plaintext source → SSE-KMS copy.
        let kms = gw.send(
            "PUT", "/box/kms",
            headers: [
                ("x-amz-copy-source", "/box/plain"), ("x-amz-server-side-encryption", "aws:kms"),
                ("x-amz-server-side-encryption-aws-kms-key-id", k.id),
            ])
        XCTAssertEqual(kms.status, 200, kms.text)
        XCTAssertEqual(kms.header("x-amz-server-side-encryption"), "aws:kms")
        XCTAssertEqual(gw.send("GET", "/box/kms").body, data)
        XCTAssertNotEqual(try storedBytes("kms").count, data.count)
        // Onto itself, changing the encryption: allowed (S3's way to re-encrypt).
        let again = gw.send(
            "PUT", "/box/kms", headers: [("x-amz-copy-source", "/box/kms"), ("x-amz-server-side-encryption", "AES256")])
        XCTAssertEqual(again.status, 200, again.text)
        XCTAssertEqual(gw.send("HEAD", "/box/kms").header("x-amz-server-side-encryption"), "AES256")
        XCTAssertEqual(gw.send("GET", "/box/kms").body, data)
        // UploadPartCopy from an SSE-C source into an SSE-S3 upload.
        let created = gw.send("POST", "/box/mp?uploads", headers: [("x-amz-server-side-encryption", "AES256")])
        let id = uploadId(created)
        let part = gw.send(
            "PUT", "/box/mp?partNumber=1&uploadId=\(id)",
            headers: sourceKey + [("x-amz-copy-source", "/box/c"), ("x-amz-copy-source-range", "bytes=100-70099")])
        XCTAssertEqual(part.status, 200, part.text)
        let etag = part.text.components(separatedBy: "<ETag>")[1].components(separatedBy: "</ETag>")[0]
        let body =
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
        XCTAssertEqual(gw.send("POST", "/box/mp?uploadId=\(id)", body: Array(body.utf8)).status, 200)
        XCTAssertEqual(gw.send("GET", "/box/mp").body, Array(data[100..<70_100]))
    }
}
