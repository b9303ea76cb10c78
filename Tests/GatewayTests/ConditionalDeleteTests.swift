import GatewayCore
import GatewayTesting
import SigV4
import XCTest

/// DeleteObject's `If-Match` / `x-amz-if-match-size` / `x-amz-if-match-last-modified-time` and
/// DeleteObjects' per-entry `<ETag>` / `<Size>` / `<LastModifiedTime>`: judged against the
/// current version, 412 on a mismatch, NoSuchKey for If-Match on no object, never a 204 that
/// ignores them; and race-free against a write landing between the check and the delete.
final class ConditionalDeleteTests: XCTestCase {
    var gw: TestGateway!
    let lastModified = HTTPDate.rfc1123(TestGateway.now)

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/plain").status, 200)
        XCTAssertEqual(gw.send("PUT", "/vers").status, 200)
        try! gw.metadata.setVersioning(bucket: "vers", .enabled)
    }

    func put(_ path: String, _ body: [UInt8] = [1, 2, 3]) -> String {
        let r = gw.send("PUT", path, body: body)
        XCTAssertEqual(r.status, 200, r.text)
        return r.header("ETag") ?? ""
    }

    func exists(_ path: String) -> Bool { gw.send("HEAD", path).status == 200 }

    func testDeleteObjectHonoursEachCondition() {
        let etag = put("/plain/k")
        for (name, value) in [
            ("If-Match", "\"0123456789abcdef0123456789abcdef\""), ("x-amz-if-match-size", "4"),
            ("x-amz-if-match-last-modified-time", "Wed, 01 Jan 2020 00:00:00 GMT"),
        ] {
            let r = gw.send("DELETE", "/plain/k", headers: [(name, value)])
            XCTAssertEqual(r.status, 412, "\(name): \(r.text)")
            XCTAssertEqual(r.errorCode, "PreconditionFailed")
            XCTAssert(exists("/plain/k"), "\(name) failed: the object stays")
        }
        let bad = gw.send("DELETE", "/plain/k", headers: [("x-amz-if-match-size", "three")])
        XCTAssertEqual(bad.errorCode, "InvalidArgument")
        XCTAssert(exists("/plain/k"))
        // All three holding (the ETag quoted or not): deleted.
        let ok = gw.send(
            "DELETE", "/plain/k",
            headers: [
                ("If-Match", etag.replacingOccurrences(of: "\"", with: "")), ("x-amz-if-match-size", "3"),
                ("x-amz-if-match-last-modified-time", lastModified),
            ])
        XCTAssertEqual(ok.status, 204, ok.text)
        XCTAssertFalse(exists("/plain/k"))
        XCTAssertEqual(gw.zone.blobCount, 0)
    }

    func testIfMatchOnNoObjectIsNoSuchKeyAndSizeAloneIsNothingToDo() throws {
        for value in ["*", "\"0123456789abcdef0123456789abcdef\""] {
            let r = gw.send("DELETE", "/plain/missing", headers: [("If-Match", value)])
            XCTAssertEqual(r.status, 404, r.text)
            XCTAssertEqual(r.errorCode, "NoSuchKey")
        }
        // Without If-Match, S3 answers 204 for no object: nothing to delete, nothing added.
        let sized = gw.send("DELETE", "/vers/missing", headers: [("x-amz-if-match-size", "3")])
        XCTAssertEqual(sized.status, 204, sized.text)
        XCTAssertEqual(try gw.metadata.listVersions(bucket: "vers", query: VersionListQuery()).entries.count, 0)
        // If-Match: * deletes whatever object there is.
        _ = put("/plain/any")
        XCTAssertEqual(gw.send("DELETE", "/plain/any", headers: [("If-Match", "*")]).status, 204)
        XCTAssertFalse(exists("/plain/any"))
    }

    func testVersionedBucketJudgesTheCurrentVersionAndRefusesAVersionId() throws {
        let etag = put("/vers/k")
        let versionId = gw.send("HEAD", "/vers/k").header("x-amz-version-id") ?? ""
        let refused = gw.send("DELETE", "/vers/k?versionId=\(versionId)", headers: [("If-Match", etag)])
        XCTAssertEqual(refused.status, 501, refused.text)
        XCTAssertEqual(refused.errorCode, "NotImplemented")
        XCTAssertEqual(gw.send("GET", "/vers/k?versionId=\(versionId)").status, 200, "the version stays")

        let marked = gw.send("DELETE", "/vers/k", headers: [("If-Match", etag)])
        XCTAssertEqual(marked.status, 204, marked.text)
        XCTAssertEqual(marked.header("x-amz-delete-marker"), "true")
        // The current version is now the marker: no object, whatever lies under it.
        let again = gw.send("DELETE", "/vers/k", headers: [("If-Match", etag)])
        XCTAssertEqual(again.errorCode, "NoSuchKey")
        let entries = try gw.metadata.listVersions(bucket: "vers", query: VersionListQuery()).entries
        XCTAssertEqual(entries.map(\.record.isDeleteMarker), [true, false], "one marker, the version kept")
    }

    /// A write that lands after the check and before the delete is never the one deleted: the
    /// delete is conditional on the entry that was judged, and the new one is judged again.
    func testAWriteBetweenCheckAndDeleteIsNotDeleted() throws {
        for bucket in ["plain", "vers"] {
            let etag = put("/\(bucket)/k", [1])
            let store = gw.metadata
            store.onceAfterLatestVersionRead { b, k in
                var newer = try! store.object(bucket: b, key: k)!
                newer.etag = "raced"
                newer.blob = "raced-blob"
                newer.lastModified += 1
                _ = try! store.putVersion(newer, condition: nil)
            }
            let r = gw.send("DELETE", "/\(bucket)/k", headers: [("If-Match", etag)])
            XCTAssertEqual(r.status, 412, "\(bucket): \(r.text)")
            XCTAssertEqual(try gw.metadata.object(bucket: bucket, key: "k")?.etag, "raced", bucket)
        }
    }

    func testDeleteObjectsEntriesCarryTheirConditions() throws {
        let etag = put("/vers/match").replacingOccurrences(of: "\"", with: "")
        _ = put("/vers/other-etag")
        _ = put("/vers/other-size")
        _ = put("/vers/other-time")
        _ = put("/vers/versioned")
        let versionId = gw.send("HEAD", "/vers/versioned").header("x-amz-version-id") ?? ""
        let body = Array(
            """
            <Delete>
            <Object><Key>match</Key><ETag>"\(etag)"</ETag><Size>3</Size><LastModifiedTime>\(lastModified)</LastModifiedTime></Object>
            <Object><Key>other-etag</Key><ETag>0123456789abcdef0123456789abcdef</ETag></Object>
            <Object><Key>other-size</Key><Size>99</Size></Object>
            <Object><Key>other-time</Key><LastModifiedTime>2020-01-01T00:00:00.000Z</LastModifiedTime></Object>
            <Object><Key>absent</Key><ETag>*</ETag></Object>
            <Object><Key>versioned</Key><VersionId>\(versionId)</VersionId><ETag>*</ETag></Object>
            </Delete>
            """.utf8)
        let r = gw.send(
            "POST", "/vers?delete", body: body, headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssert(r.text.contains("<Deleted><Key>match</Key><DeleteMarker>true</DeleteMarker>"), r.text)
        for key in ["other-etag", "other-size", "other-time"] {
            XCTAssert(r.text.contains("<Error><Key>\(key)</Key><Code>PreconditionFailed</Code>"), r.text)
            XCTAssert(exists("/vers/\(key)"), key)
        }
        XCTAssert(r.text.contains("<Error><Key>absent</Key><Code>NoSuchKey</Code>"), r.text)
        XCTAssert(
            r.text.contains(
                "<Error><Key>versioned</Key><VersionId>\(versionId)</VersionId><Code>NotImplemented</Code>"),
            r.text)
        XCTAssert(exists("/vers/versioned"))
        XCTAssertFalse(exists("/vers/match"))
    }

    /// A conditional delete tells what the object is: it needs s3:GetObject besides
    /// s3:DeleteObject, as in S3.
    func testConditionsNeedGetObject() {
        _ = put("/plain/k")
        let user = gw.addUser(TenantRecord.defaultID, "deleter", ["s3:DeleteObject": ["plain"]])
        let r = gw.send(
            "DELETE", "/plain/k", headers: [("If-Match", "*")], accessKey: user.accessKey, secret: user.secret)
        XCTAssertEqual(r.errorCode, "AccessDenied", r.text)
        XCTAssert(exists("/plain/k"))
        XCTAssertEqual(gw.send("DELETE", "/plain/k", accessKey: user.accessKey, secret: user.secret).status, 204)
    }
}
