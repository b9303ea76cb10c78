import Gateway
import GatewayCore
import SigV4
import XCTest

final class LifecycleHandlerTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/lcb").status, 200)
    }

    static func configuration(_ rules: String) -> [UInt8] {
        Array(
            "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(rules)</LifecycleConfiguration>"
                .utf8)
    }

    static let expireLogs = configuration(
        "<Rule><ID>expire logs/</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
            + "<Rule><ID>uploads</ID><Filter></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>3</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>"
    )

    func md5(_ body: [UInt8]) -> (String, String) { ("Content-MD5", base64Encode(Digest.hash(.md5, body))) }

    @discardableResult
    func put(_ body: [UInt8], bucket: String = "lcb") -> TestGateway.Response {
        gw.send("PUT", "/\(bucket)?lifecycle", body: body, headers: [md5(body)])
    }

    func testPutGetDeleteRoundTripAndAudit() throws {
        XCTAssertEqual(gw.send("GET", "/lcb?lifecycle").errorCode, "NoSuchLifecycleConfiguration")
        let r = put(Self.expireLogs)
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.header("x-amz-transition-default-minimum-object-size"), "all_storage_classes_128K")
        let got = gw.send("GET", "/lcb?lifecycle")
        XCTAssertEqual(got.status, 200)
        XCTAssert(
            got.text.contains(
                "<Rule><ID>expire logs/</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
            ), got.text)
        XCTAssert(got.text.contains("<DaysAfterInitiation>3</DaysAfterInitiation>"), got.text)
        let set = try gw.metadata.auditRecords(AuditQuery(change: "bucket.lifecycle"))
        XCTAssertEqual(set.count, 1)
        XCTAssert(set[0].detail.contains("expire logs/"), set[0].detail)
        XCTAssertEqual(set[0].operation, "PutBucketLifecycleConfiguration")

        XCTAssertEqual(gw.send("DELETE", "/lcb?lifecycle").status, 204)
        XCTAssertEqual(gw.send("GET", "/lcb?lifecycle").errorCode, "NoSuchLifecycleConfiguration")
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.lifecycle-delete")).count, 1)
        // Deleting what is not there is still 204, and records nothing.
        XCTAssertEqual(gw.send("DELETE", "/lcb?lifecycle").status, 204)
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.lifecycle-delete")).count, 1)
    }

    func testPutNeedsAnIntegrityHeaderAndAValidBody() throws {
        let noMD5 = gw.send("PUT", "/lcb?lifecycle", body: Self.expireLogs)
        XCTAssertEqual(noMD5.errorCode, "InvalidRequest")
        XCTAssert(noMD5.text.contains("Missing required header for this request: Content-MD5"), noMD5.text)
        let wrong = gw.send(
            "PUT", "/lcb?lifecycle", body: Self.expireLogs,
            headers: [("Content-MD5", base64Encode(Array(repeating: 0, count: 16)))])
        XCTAssertEqual(wrong.errorCode, "BadDigest")
        // An x-amz-checksum-* header does as well as Content-MD5 (newer SDKs send CRC32).
        let hasher = ChecksumAlgorithm.crc32.makeHasher()
        hasher.update(Self.expireLogs)
        let crc = base64Encode(hasher.finalize())
        XCTAssertEqual(
            gw.send("PUT", "/lcb?lifecycle", body: Self.expireLogs, headers: [("x-amz-checksum-crc32", crc)]).status,
            200)
        XCTAssertEqual(gw.send("DELETE", "/lcb?lifecycle").status, 204)

        XCTAssertEqual(put(Array("<LifecycleConfiguration>".utf8)).errorCode, "MalformedXML")
        XCTAssertEqual(
            put(
                Self.configuration(
                    "<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>")
            ).errorCode, "InvalidArgument")
        XCTAssertEqual(
            put(Self.configuration("<Rule><ID>a</ID><Filter/><Status>Enabled</Status></Rule>")).errorCode,
            "InvalidRequest")
        let transition = put(
            Self.configuration(
                "<Rule><ID>a</ID><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>"
            ))
        XCTAssertEqual(transition.errorCode, "NotImplemented")
        XCTAssert(transition.text.contains("is not implemented by this gateway"), transition.text)
        XCTAssertEqual(put(Self.expireLogs, bucket: "missing").errorCode, "NoSuchBucket")
        XCTAssertEqual(gw.send("GET", "/lcb?lifecycle").errorCode, "NoSuchLifecycleConfiguration", "nothing stored")
        // Only the CRC32-protected put above was recorded.
        XCTAssertEqual(try gw.metadata.auditRecords(AuditQuery(change: "bucket.lifecycle")).count, 1)
    }

    func testExpirationAndAbortHeaders() {
        XCTAssertEqual(put(Self.expireLogs).status, 200)
        // Written 2023-11-14 22:13:20 UTC + 1 day, rounded up to midnight.
        let expected = "expiry-date=\"Thu, 16 Nov 2023 00:00:00 GMT\", rule-id=\"expire%20logs%2F\""
        XCTAssertEqual(gw.send("PUT", "/lcb/logs/a", body: [1]).header("x-amz-expiration"), expected)
        XCTAssertNil(gw.send("PUT", "/lcb/data/a", body: [1]).header("x-amz-expiration"))
        XCTAssertEqual(gw.send("HEAD", "/lcb/logs/a").header("x-amz-expiration"), expected)
        XCTAssertEqual(gw.send("GET", "/lcb/logs/a").header("x-amz-expiration"), expected)
        XCTAssertNil(gw.send("HEAD", "/lcb/data/a").header("x-amz-expiration"))
        XCTAssertEqual(
            gw.send("PUT", "/lcb/logs/b", headers: [("x-amz-copy-source", "lcb/data/a")]).header("x-amz-expiration"),
            expected)

        let created = gw.send("POST", "/lcb/logs/mp?uploads")
        XCTAssertEqual(created.header("x-amz-abort-date"), "Sat, 18 Nov 2023 00:00:00 GMT")
        XCTAssertEqual(created.header("x-amz-abort-rule-id"), "uploads")
        let id = created.text.components(separatedBy: "<UploadId>")[1].components(separatedBy: "</UploadId>")[0]
        let etag = gw.send("PUT", "/lcb/logs/mp?partNumber=1&uploadId=\(id)", body: [1, 2]).header("ETag") ?? ""
        XCTAssertEqual(
            gw.send("GET", "/lcb/logs/mp?uploadId=\(id)").header("x-amz-abort-date"), "Sat, 18 Nov 2023 00:00:00 GMT",
            "ListParts answers it too")
        let done = gw.send(
            "POST", "/lcb/logs/mp?uploadId=\(id)",
            body: Array(
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
                    .utf8))
        XCTAssertEqual(done.status, 200, done.text)
        XCTAssertEqual(done.header("x-amz-expiration"), expected)

        // Without a configuration, none of them.
        XCTAssertEqual(gw.send("DELETE", "/lcb?lifecycle").status, 204)
        XCTAssertNil(gw.send("HEAD", "/lcb/logs/a").header("x-amz-expiration"))
        XCTAssertNil(gw.send("POST", "/lcb/logs/mp2?uploads").header("x-amz-abort-date"))
    }

    /// PUT's x-amz-transition-default-minimum-object-size is kept with the configuration and
    /// answered back by GET (S3's default when PUT sent none); the document GET answers is S3's.
    func testTheTransitionMinimumSizeIsKeptAndAnsweredBack() {
        let put = gw.send(
            "PUT", "/lcb?lifecycle", body: Self.expireLogs,
            headers: [
                md5(Self.expireLogs), ("x-amz-transition-default-minimum-object-size", "varies_by_storage_class"),
            ])
        XCTAssertEqual(put.status, 200, put.text)
        XCTAssertEqual(put.header("x-amz-transition-default-minimum-object-size"), "varies_by_storage_class")
        let got = gw.send("GET", "/lcb?lifecycle")
        XCTAssertEqual(got.header("x-amz-transition-default-minimum-object-size"), "varies_by_storage_class")
        XCTAssert(
            got.text.contains("<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule>"),
            got.text)
        XCTAssertFalse(got.text.contains("transitionDefault"), got.text)
        // The configuration still reads: the header answers still come from it.
        XCTAssertNotNil(gw.send("PUT", "/lcb/logs/a", body: [1]).header("x-amz-expiration"))
        XCTAssertEqual(self.put(Self.expireLogs).status, 200)
        XCTAssertEqual(
            gw.send("GET", "/lcb?lifecycle").header("x-amz-transition-default-minimum-object-size"),
            "all_storage_classes_128K")
    }

    /// A trailer stands in for Content-MD5 only when it is a checksum.
    func testATrailerThatIsNoChecksumIsNoIntegrityHeader() {
        let r = gw.send("PUT", "/lcb?lifecycle", body: Self.expireLogs, headers: [("x-amz-trailer", "x-amz-meta-note")])
        XCTAssertEqual(r.errorCode, "InvalidRequest", r.text)
        XCTAssert(r.text.contains("Missing required header for this request: Content-MD5"), r.text)
        XCTAssertEqual(gw.send("GET", "/lcb?lifecycle").errorCode, "NoSuchLifecycleConfiguration")
    }

    /// A size filter matches no upload (it has no size yet) and no delete marker: S3 offers
    /// neither AbortIncompleteMultipartUpload nor ExpiredObjectDeleteMarker with one, as with tags.
    func testSizeFiltersAreRefusedBesideUploadAndMarkerActions() {
        for (filter, action) in [
            (
                "<ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan>",
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            ),
            (
                "<And><Prefix>a/</Prefix><ObjectSizeLessThan>10</ObjectSizeLessThan></And>",
                "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
            ),
            (
                "<ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan>",
                "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
            ),
        ] {
            let r = put(
                Self.configuration("<Rule><ID>r</ID><Filter>\(filter)</Filter><Status>Enabled</Status>\(action)</Rule>")
            )
            XCTAssertEqual(r.errorCode, "InvalidRequest", "\(filter) \(action)")
        }
        XCTAssertEqual(gw.send("GET", "/lcb?lifecycle").errorCode, "NoSuchLifecycleConfiguration")
        // Size filters with object actions stay fine.
        XCTAssertEqual(
            put(
                Self.configuration(
                    "<Rule><ID>r</ID><Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
                )
            ).status, 200)
    }

    func testNoncurrentVersionsAndMarkersCarryNoExpiration() throws {
        XCTAssertEqual(put(Self.expireLogs).status, 200)
        try gw.metadata.setVersioning(bucket: "lcb", .enabled)
        let first = try XCTUnwrap(gw.send("PUT", "/lcb/logs/v", body: [1]).header("x-amz-version-id"))
        XCTAssertNotNil(gw.send("PUT", "/lcb/logs/v", body: [2]).header("x-amz-expiration"))
        XCTAssertNil(gw.send("HEAD", "/lcb/logs/v?versionId=\(first)").header("x-amz-expiration"), "noncurrent")
        XCTAssertNotNil(gw.send("HEAD", "/lcb/logs/v").header("x-amz-expiration"))
        XCTAssertEqual(gw.send("DELETE", "/lcb/logs/v").header("x-amz-delete-marker"), "true")
        XCTAssertNil(gw.send("HEAD", "/lcb/logs/v").header("x-amz-expiration"), "a delete marker")
    }
}
