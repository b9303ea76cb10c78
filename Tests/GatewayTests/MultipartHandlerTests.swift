import Gateway
import GatewayCore
import SigV4
import XCTest

final class MultipartHandlerTests: XCTestCase {
    var gw: TestGateway!
    let mib = 1024 * 1024

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/mpu").status, 200)
    }

    func start(_ key: String = "obj", headers: [(String, String)] = []) -> String {
        let r = gw.send("POST", "/mpu/\(key)?uploads", headers: headers)
        XCTAssertEqual(r.status, 200, r.text)
        return between(r.text, "<UploadId>", "</UploadId>")
    }

    func between(_ s: String, _ a: String, _ b: String) -> String {
        guard let r = s.range(of: a), let e = s.range(of: b, range: r.upperBound..<s.endIndex) else { return "" }
        return String(s[r.upperBound..<e.lowerBound])
    }

    func part(_ id: String, _ n: Int, _ bytes: [UInt8], key: String = "obj", headers: [(String, String)] = []) -> String
    {
        let r = gw.send("PUT", "/mpu/\(key)?partNumber=\(n)&uploadId=\(id)", body: bytes, headers: headers)
        XCTAssertEqual(r.status, 200, r.text)
        return r.header("ETag") ?? ""
    }

    func completeBody(_ parts: [(Int, String)], namespace: Bool = true) -> [UInt8] {
        let ns = namespace ? " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"" : ""
        let items = parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }.joined()
        return Array("<CompleteMultipartUpload\(ns)>\(items)</CompleteMultipartUpload>".utf8)
    }

    func testOutOfOrderPartsCompleteIntoOneObjectWithS3ETag() {
        let id = start()
        let a = [UInt8](repeating: 1, count: 5 * mib)
        let b = [UInt8](repeating: 2, count: 5 * mib)
        let c: [UInt8] = Array("tail".utf8)
        let e3 = part(id, 3, c)
        let e1 = part(id, 1, a)
        let e2 = part(id, 2, b)
        // ETags quoted, unquoted and XML-escaped all name the same part; no namespace (s3cmd).
        let body = completeBody(
            [
                (1, e1), (2, e2.replacingOccurrences(of: "\"", with: "")),
                (3, e3.replacingOccurrences(of: "\"", with: "&#34;")),
            ], namespace: false)
        let done = gw.send("POST", "/mpu/obj?uploadId=\(id)", body: body)
        XCTAssertEqual(done.status, 200, done.text)
        var md5 = Digest(.md5)
        for p in [a, b, c] { md5.update(Digest.hash(.md5, p)) }
        let expected = "\"\(hexEncode(md5.finalize()))-3\""
        XCTAssert(
            done.text.contains("<ETag>\(expected.replacingOccurrences(of: "\"", with: "&quot;"))</ETag>"), done.text)
        let get = gw.send("GET", "/mpu/obj")
        XCTAssertEqual(get.header("ETag"), expected)
        XCTAssertEqual(get.body, a + b + c)
        let ranged = gw.send("GET", "/mpu/obj", headers: [("Range", "bytes=\(5 * mib - 2)-\(5 * mib + 1)")])
        XCTAssertEqual(ranged.body, [1, 1, 2, 2])
        // The upload is gone; its parts are the object now (3 blobs, nothing copied or left).
        XCTAssertEqual(gw.send("GET", "/mpu/obj?uploadId=\(id)").errorCode, "NoSuchUpload")
        XCTAssertEqual(gw.zone.blobCount, 3)
    }

    func testS3RulesOnComplete() {
        let id = start()
        let small = part(id, 1, [1, 2, 3])
        let last = part(id, 2, [4])
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(1, small), (2, last)])).errorCode,
            "EntityTooSmall")
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(2, last), (1, small)])).errorCode,
            "InvalidPartOrder")
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(1, small), (1, small)])).errorCode,
            "InvalidPartOrder")
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(3, last)])).errorCode, "InvalidPart")
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(2, "\"0000\"")])).errorCode, "InvalidPart")
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: Array("<Complete".utf8)).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([])).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("PUT", "/mpu/obj?partNumber=0&uploadId=\(id)", body: [1]).errorCode, "InvalidArgument")
        XCTAssertEqual(
            gw.send("PUT", "/mpu/obj?partNumber=10001&uploadId=\(id)", body: [1]).errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("PUT", "/mpu/obj?partNumber=1&uploadId=nope", body: [1]).errorCode, "NoSuchUpload")
        XCTAssertEqual(gw.send("PUT", "/mpu/other?partNumber=1&uploadId=\(id)", body: [1]).errorCode, "NoSuchUpload")
        // A single small part is a valid (last) part.
        XCTAssertEqual(gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(2, last)])).status, 200)
        XCTAssertEqual(gw.send("GET", "/mpu/obj").body, [4])
        XCTAssertEqual(gw.zone.blobCount, 1, "the unused part's blob is removed at completion")
    }

    func testRetriedCompleteAnswersTheSameUntilTheObjectChanges() {
        let id = start()
        let e1 = part(id, 1, [UInt8](repeating: 7, count: 5 * mib))
        let e2 = part(id, 2, [8])
        let body = completeBody([(1, e1), (2, e2)])
        let first = gw.send("POST", "/mpu/obj?uploadId=\(id)", body: body)
        XCTAssertEqual(first.status, 200, first.text)
        // An SDK that timed out waiting for the answer sends the same Complete again.
        let retry = gw.send("POST", "/mpu/obj?uploadId=\(id)", body: body)
        XCTAssertEqual(retry.status, 200, retry.text)
        for element in ["Location", "Bucket", "Key", "ETag"] {
            XCTAssertEqual(between(retry.text, "<\(element)>", "</"), between(first.text, "<\(element)>", "</"))
        }
        XCTAssert(retry.text.contains("<Key>obj</Key>"), retry.text)
        XCTAssertEqual(gw.send("GET", "/mpu/obj").body.count, 5 * mib + 1)
        // Naming other parts is not a retry of this completion.
        XCTAssertEqual(
            gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(1, e1)])).errorCode, "NoSuchUpload")
        XCTAssertEqual(gw.send("POST", "/mpu/other?uploadId=\(id)", body: body).errorCode, "NoSuchUpload")
        // Once the object is overwritten (or deleted) the upload is simply gone.
        XCTAssertEqual(gw.send("PUT", "/mpu/obj", body: [1]).status, 200)
        XCTAssertEqual(gw.send("POST", "/mpu/obj?uploadId=\(id)", body: body).errorCode, "NoSuchUpload")
        let id2 = start()
        let body2 = completeBody([(1, part(id2, 1, [9]))])
        XCTAssertEqual(gw.send("POST", "/mpu/obj?uploadId=\(id2)", body: body2).status, 200)
        XCTAssertEqual(gw.send("DELETE", "/mpu/obj").status, 204)
        XCTAssertEqual(gw.send("POST", "/mpu/obj?uploadId=\(id2)", body: body2).errorCode, "NoSuchUpload")
        XCTAssertEqual(gw.send("POST", "/mpu/obj?uploadId=never", body: body2).errorCode, "NoSuchUpload")
    }

    func testPartNumberReadsOnePartOfTheObject() {
        let id = start()
        let a = [UInt8](repeating: 1, count: 5 * mib)
        let b = [UInt8](repeating: 2, count: 5 * mib + 3)
        let c: [UInt8] = [3, 3]
        let body = completeBody([(1, part(id, 1, a)), (2, part(id, 2, b)), (3, part(id, 3, c))])
        let done = gw.send("POST", "/mpu/obj?uploadId=\(id)", body: body)
        XCTAssertEqual(done.status, 200, done.text)
        let etag = gw.send("HEAD", "/mpu/obj").header("ETag")
        let total = a.count + b.count + c.count

        let second = gw.send("GET", "/mpu/obj?partNumber=2")
        XCTAssertEqual(second.status, 206)
        XCTAssertEqual(second.body, b)
        XCTAssertEqual(second.header("Content-Range"), "bytes \(a.count)-\(a.count + b.count - 1)/\(total)")
        XCTAssertEqual(second.header("Content-Length"), String(b.count))
        XCTAssertEqual(second.header("x-amz-mp-parts-count"), "3")
        XCTAssertEqual(second.header("ETag"), etag, "the whole object's ETag")
        let head = gw.send("HEAD", "/mpu/obj?partNumber=3")
        XCTAssertEqual(head.status, 206)
        XCTAssertEqual(head.header("Content-Length"), "2")
        XCTAssertEqual(head.header("Content-Range"), "bytes \(total - 2)-\(total - 1)/\(total)")
        XCTAssertEqual(gw.send("GET", "/mpu/obj?partNumber=1").body, a)

        let past = gw.send("GET", "/mpu/obj?partNumber=4")
        XCTAssertEqual(past.status, 416)
        XCTAssertEqual(past.errorCode, "InvalidPartNumber")
        XCTAssertEqual(gw.send("GET", "/mpu/obj?partNumber=0").errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("GET", "/mpu/obj?partNumber=x").errorCode, "InvalidArgument")
        XCTAssertEqual(
            gw.send("GET", "/mpu/obj?partNumber=1", headers: [("Range", "bytes=0-1")]).errorCode, "InvalidRequest")

        // An object written in one piece is its own part 1, with no parts count.
        XCTAssertEqual(gw.send("PUT", "/mpu/single", body: [5, 6, 7]).status, 200)
        let whole = gw.send("GET", "/mpu/single?partNumber=1")
        XCTAssertEqual(whole.status, 206)
        XCTAssertEqual(whole.body, [5, 6, 7])
        XCTAssertEqual(whole.header("Content-Range"), "bytes 0-2/3")
        XCTAssertNil(whole.header("x-amz-mp-parts-count"))
        XCTAssertEqual(gw.send("HEAD", "/mpu/single?partNumber=2").status, 416)
    }

    func testAbortRemovesPartsAndReuploadReplaces() {
        let id = start()
        _ = part(id, 1, [1])
        _ = part(id, 1, [2])
        XCTAssertEqual(gw.zone.blobCount, 1, "a re-uploaded part replaces the old blob")
        XCTAssert(gw.send("GET", "/mpu?uploads").text.contains("<UploadId>\(id)</UploadId>"))
        XCTAssert(gw.send("GET", "/mpu/obj?uploadId=\(id)").text.contains("<PartNumber>1</PartNumber>"))
        XCTAssertEqual(gw.send("DELETE", "/mpu/obj?uploadId=\(id)").status, 204)
        XCTAssertEqual(gw.zone.blobCount, 0)
        XCTAssertEqual(gw.send("DELETE", "/mpu/obj?uploadId=\(id)").errorCode, "NoSuchUpload")
        XCTAssertFalse(gw.send("GET", "/mpu?uploads").text.contains("<Upload>"))
    }

    func testCompositeChecksumAndBadPartDigestStoresNothing() {
        let id = start(headers: [("x-amz-checksum-algorithm", "CRC32")])
        let data: [UInt8] = Array("part-data".utf8)
        var crc = CRC32()
        crc.update(data)
        let value = base64Encode(crc.finalize())
        let e1 = part(id, 1, data, headers: [("x-amz-checksum-crc32", value)])
        let bad = gw.send(
            "PUT", "/mpu/obj?partNumber=2&uploadId=\(id)", body: data, headers: [("x-amz-checksum-crc32", "AAAAAA==")])
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(gw.zone.blobCount, 1)
        let done = gw.send("POST", "/mpu/obj?uploadId=\(id)", body: completeBody([(1, e1)]))
        var composite = CRC32()
        composite.update(base64Decode(value)!)
        XCTAssert(
            done.text.contains("<ChecksumCRC32>\(base64Encode(composite.finalize()))-1</ChecksumCRC32>"), done.text)
    }

    func testDeletingTheBucketTakesUnfinishedUploads() {
        let id = start()
        _ = part(id, 1, [1, 2])
        XCTAssertEqual(gw.send("DELETE", "/mpu").status, 204)
        XCTAssertEqual(gw.send("PUT", "/mpu").status, 200)
        XCTAssertEqual(gw.send("GET", "/mpu/obj?uploadId=\(id)").errorCode, "NoSuchUpload")
    }

    func testUploadPartCopyRangesAndConditions() {
        let source = (0..<(6 * mib)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        XCTAssertEqual(gw.send("PUT", "/mpu/source", body: source).status, 200)
        let id = start("joined")
        func copyPart(_ n: Int, _ headers: [(String, String)]) -> TestGateway.Response {
            gw.send(
                "PUT", "/mpu/joined?partNumber=\(n)&uploadId=\(id)",
                headers: [("x-amz-copy-source", "/mpu/source")] + headers)
        }
        let p1 = copyPart(1, [("x-amz-copy-source-range", "bytes=0-\(5 * mib - 1)")])
        XCTAssertEqual(p1.status, 200, p1.text)
        XCTAssert(p1.text.contains("<CopyPartResult"), p1.text)
        XCTAssertEqual(
            copyPart(2, [("x-amz-copy-source-range", "bytes=\(5 * mib)-\(6 * mib)")]).errorCode, "InvalidRange")
        XCTAssertEqual(copyPart(2, [("x-amz-copy-source-range", "5-9")]).errorCode, "InvalidArgument")
        XCTAssertEqual(copyPart(2, [("x-amz-copy-source-if-match", "\"nope\"")]).status, 412)
        let p2 = copyPart(2, [("x-amz-copy-source-range", "bytes=\(5 * mib)-\(6 * mib - 1)")])
        func tag(_ r: TestGateway.Response) -> String {
            between(r.text, "<ETag>", "</ETag>").replacingOccurrences(of: "&quot;", with: "\"")
        }
        let done = gw.send("POST", "/mpu/joined?uploadId=\(id)", body: completeBody([(1, tag(p1)), (2, tag(p2))]))
        XCTAssertEqual(done.status, 200, done.text)
        XCTAssertEqual(gw.send("GET", "/mpu/joined").body, source)
    }
}

final class MaintenanceTests: XCTestCase {
    func testExpireUploadsRemovesOnlyOldOnesAndTheirBlobs() throws {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/old-uploads").status, 200)
        let start = gw.send("POST", "/old-uploads/k?uploads").text
        let id = String(start.components(separatedBy: "<UploadId>")[1].prefix { $0 != "<" })
        XCTAssertEqual(gw.send("PUT", "/old-uploads/k?partNumber=1&uploadId=\(id)", body: [1, 2]).status, 200)
        XCTAssertEqual(gw.zone.blobCount, 1)
        XCTAssertEqual(try Maintenance.expireUploads(initiatedBefore: TestGateway.now - 1, gw.context), 0)
        XCTAssertEqual(try Maintenance.expireUploads(initiatedBefore: TestGateway.now + 1, gw.context), 1)
        XCTAssertEqual(gw.zone.blobCount, 0)
        XCTAssertEqual(gw.send("GET", "/old-uploads/k?uploadId=\(id)").errorCode, "NoSuchUpload")
    }
}
