import Gateway
import GatewayCore
import SigV4
import XCTest

/// ChecksumType on multipart uploads: FULL_OBJECT CRCs combined from the parts' CRCs,
/// COMPOSITE as before, and Complete's whole-object checksum checked before anything commits.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
final class MultipartChecksumTests: XCTestCase {
    var gw: TestGateway!
    let first = (0..<(5 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    let second: [UInt8] = Array("the last part".utf8)

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/cks").status, 200)
    }

    func checksum(_ a: ChecksumAlgorithm, _ bytes: [UInt8]) -> String {
        let h = a.makeHasher()
        h.update(bytes)
        return base64Encode(h.finalize())
    }

    func between(_ s: String, _ a: String, _ b: String) -> String? {
        guard let r = s.range(of: a), let e = s.range(of: b, range: r.upperBound..<s.endIndex) else { return nil }
        return String(s[r.upperBound..<e.lowerBound])
    }

    /// Creates an upload and sends both parts without any checksum header; returns the id and
    /// the Complete body.
    func upload(_ key: String, _ headers: [(String, String)]) -> (String, [UInt8]) {
        let created = gw.send("POST", "/cks/\(key)?uploads", headers: headers)
        XCTAssertEqual(created.status, 200, created.text)
        let id = between(created.text, "<UploadId>", "</UploadId>") ?? ""
        var items = ""
        for (n, bytes) in [(1, first), (2, second)] {
            let r = gw.send("PUT", "/cks/\(key)?partNumber=\(n)&uploadId=\(id)", body: bytes)
            XCTAssertEqual(r.status, 200, r.text)
            items += "<Part><PartNumber>\(n)</PartNumber><ETag>\(r.header("ETag") ?? "")</ETag></Part>"
        }
        return (id, Array("<CompleteMultipartUpload>\(items)</CompleteMultipartUpload>".utf8))
    }

    func testFullObjectCRCsAreTheChecksumOfTheWholeObject() {
        for (algorithm, type) in [
            (ChecksumAlgorithm.crc32, "FULL_OBJECT"), (.crc32c, "FULL_OBJECT"), (.crc64nvme, nil),
        ] {
            var headers = [("x-amz-checksum-algorithm", algorithm.algorithmName)]
            if let type { headers.append(("x-amz-checksum-type", type)) }
            let created = gw.send("POST", "/cks/probe?uploads", headers: headers)
            XCTAssertEqual(created.header("x-amz-checksum-type"), "FULL_OBJECT", "\(algorithm)")
            XCTAssertEqual(created.header("x-amz-checksum-algorithm"), algorithm.algorithmName)

            let key = "full-\(algorithm.rawValue)"
            let (id, body) = upload(key, headers)
            let listed = gw.send("GET", "/cks/\(key)?uploadId=\(id)")
            XCTAssert(listed.text.contains("<ChecksumType>FULL_OBJECT</ChecksumType>"), listed.text)
            let whole = checksum(algorithm, first + second)
            let done = gw.send("POST", "/cks/\(key)?uploadId=\(id)", body: body)
            XCTAssertEqual(done.status, 200, done.text)
            XCTAssertEqual(between(done.text, "<Checksum\(algorithm.algorithmName)>", "<"), whole, "\(algorithm)")
            XCTAssertEqual(between(done.text, "<ChecksumType>", "<"), "FULL_OBJECT")
            let head = gw.send("HEAD", "/cks/\(key)", headers: [("x-amz-checksum-mode", "ENABLED")])
            XCTAssertEqual(head.header(algorithm.headerName), whole)
            XCTAssertEqual(head.header("x-amz-checksum-type"), "FULL_OBJECT")
        }
    }

    func testCompositeStaysTheChecksumOfChecksums() {
        let (id, body) = upload("composite", [("x-amz-checksum-algorithm", "CRC32")])
        let done = gw.send("POST", "/cks/composite?uploadId=\(id)", body: body)
        let parts = base64Decode(checksum(.crc32, first))! + base64Decode(checksum(.crc32, second))!
        let expected = checksum(.crc32, parts) + "-2"
        XCTAssertEqual(between(done.text, "<ChecksumCRC32>", "<"), expected, done.text)
        XCTAssertEqual(between(done.text, "<ChecksumType>", "<"), "COMPOSITE")
        let head = gw.send("HEAD", "/cks/composite", headers: [("x-amz-checksum-mode", "ENABLED")])
        XCTAssertEqual(head.header("x-amz-checksum-crc32"), expected)
        XCTAssertEqual(head.header("x-amz-checksum-type"), "COMPOSITE")
    }

    func testAWrongWholeObjectChecksumOnCompleteIsRejectedAndTheUploadStaysOpen() {
        let headers = [("x-amz-checksum-algorithm", "CRC32"), ("x-amz-checksum-type", "FULL_OBJECT")]
        let (id, body) = upload("checked", headers)
        let wrong = gw.send(
            "POST", "/cks/checked?uploadId=\(id)", body: body,
            headers: [("x-amz-checksum-crc32", "AAAAAA=="), ("x-amz-checksum-type", "FULL_OBJECT")])
        XCTAssertEqual(wrong.status, 400)
        XCTAssertEqual(wrong.errorCode, "BadDigest")
        XCTAssertEqual(gw.send("HEAD", "/cks/checked").status, 404, "nothing was committed")
        XCTAssertEqual(gw.send("GET", "/cks/checked?uploadId=\(id)").status, 200, "the upload is still open")
        XCTAssertEqual(
            gw.send(
                "POST", "/cks/checked?uploadId=\(id)", body: body,
                headers: [("x-amz-checksum-crc32c", checksum(.crc32c, first + second))]
            ).errorCode, "InvalidRequest", "another algorithm than the upload's")
        XCTAssertEqual(
            gw.send("POST", "/cks/checked?uploadId=\(id)", body: body, headers: [("x-amz-checksum-type", "COMPOSITE")])
                .errorCode, "InvalidRequest", "another type than the upload's")
        XCTAssertEqual(
            gw.send("POST", "/cks/checked?uploadId=\(id)", body: body, headers: [("x-amz-mp-object-size", "1")])
                .errorCode, "InvalidRequest")
        let right = gw.send(
            "POST", "/cks/checked?uploadId=\(id)", body: body,
            headers: [
                ("x-amz-checksum-crc32", checksum(.crc32, first + second)), ("x-amz-checksum-type", "FULL_OBJECT"),
                ("x-amz-mp-object-size", String(first.count + second.count)),
            ])
        XCTAssertEqual(right.status, 200, right.text)
        XCTAssertEqual(gw.send("GET", "/cks/checked").body, first + second)
    }

    func testTypesTheAlgorithmsDoNotHaveAreRefused() {
        for headers in [
            [("x-amz-checksum-algorithm", "SHA256"), ("x-amz-checksum-type", "FULL_OBJECT")],
            [("x-amz-checksum-algorithm", "SHA1"), ("x-amz-checksum-type", "FULL_OBJECT")],
            [("x-amz-checksum-algorithm", "CRC64NVME"), ("x-amz-checksum-type", "COMPOSITE")],
            [("x-amz-checksum-type", "FULL_OBJECT")],
            [("x-amz-checksum-algorithm", "CRC32"), ("x-amz-checksum-type", "PARTIAL")],
        ] {
            let r = gw.send("POST", "/cks/refused?uploads", headers: headers)
            XCTAssertEqual(r.errorCode, "InvalidRequest", "\(headers)")
        }
        XCTAssertFalse(gw.send("GET", "/cks?uploads").text.contains("<Upload>"), "no upload was created")
    }

    func testAPartDeclaringAnotherAlgorithmIsRefused() {
        let created = gw.send("POST", "/cks/mixed?uploads", headers: [("x-amz-checksum-algorithm", "CRC32C")])
        let id = between(created.text, "<UploadId>", "</UploadId>") ?? ""
        let r = gw.send(
            "PUT", "/cks/mixed?partNumber=1&uploadId=\(id)", body: second,
            headers: [("x-amz-checksum-crc32", checksum(.crc32, second))])
        XCTAssertEqual(r.errorCode, "InvalidRequest")
        XCTAssertEqual(gw.zone.blobCount, 0)
        let plain = gw.send("PUT", "/cks/mixed?partNumber=1&uploadId=\(id)", body: second)
        XCTAssertEqual(plain.header("x-amz-checksum-crc32c"), checksum(.crc32c, second), "computed though not sent")
    }
}
