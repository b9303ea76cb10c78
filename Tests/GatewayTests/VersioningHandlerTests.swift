import Foundation
import Gateway
import GatewayCore
import SigV4
import XCTest

/// The request side of versioning (docs/VERSIONING.md), against the in-memory store: bucket
/// versioning state, versions written by every kind of write, delete markers and what GET, HEAD,
/// DELETE, tagging and copy answer about them, and the version permissions.
final class VersioningHandlerTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/ver").status, 200)
    }

    func setVersioning(_ bucket: String, _ status: String) {
        let body = Array(
            "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>\(status)</Status></VersioningConfiguration>"
                .utf8)
        XCTAssertEqual(gw.send("PUT", "/\(bucket)?versioning", body: body).status, 200)
    }

    /// PUTs `text` as `key`; returns its `x-amz-version-id` ("" when the answer has none).
    @discardableResult
    func put(_ key: String, _ text: String, bucket: String = "ver") -> String {
        let r = gw.send("PUT", "/\(bucket)/\(key)", body: Array(text.utf8))
        XCTAssertEqual(r.status, 200, r.text)
        return r.header("x-amz-version-id") ?? ""
    }

    func values(_ text: String, _ element: String) -> [String] {
        text.components(separatedBy: "<\(element)>").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    func deleteObjects(_ inner: String, bucket: String = "ver", headers: [(String, String)] = [])
        -> TestGateway.Response
    {
        let body = Array("<Delete>\(inner)</Delete>".utf8)
        return gw.send(
            "POST", "/\(bucket)?delete", body: body,
            headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))] + headers)
    }

    // MARK: bucket versioning state

    func testVersioningStateIsKeptAndAnswered() {
        XCTAssertFalse(gw.send("GET", "/ver?versioning").text.contains("<Status>"), "never set: empty")
        setVersioning("ver", "Enabled")
        XCTAssert(gw.send("GET", "/ver?versioning").text.contains("<Status>Enabled</Status>"))
        setVersioning("ver", "Suspended")
        XCTAssert(gw.send("GET", "/ver?versioning").text.contains("<Status>Suspended</Status>"))
        XCTAssertEqual(try gw.metadata.bucket(named: "ver")?.versioning, .suspended)
        // An empty configuration does not take it back to unversioned.
        let empty = Array("<VersioningConfiguration/>".utf8)
        XCTAssertEqual(gw.send("PUT", "/ver?versioning", body: empty).status, 200)
        XCTAssertEqual(try gw.metadata.bucket(named: "ver")?.versioning, .suspended)
        let mfa = Array(
            "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>"
                .utf8)
        XCTAssertEqual(gw.send("PUT", "/ver?versioning", body: mfa).errorCode, "NotImplemented")
        XCTAssertEqual(try gw.metadata.bucket(named: "ver")?.versioning, .suspended, "a refusal changes nothing")
    }

    func testAnObjectLockBucketCannotBeSuspended() throws {
        setVersioning("ver", "Enabled")
        try gw.metadata.setObjectLock(bucket: "ver", ObjectLockConfig())
        let body = Array("<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>".utf8)
        let r = gw.send("PUT", "/ver?versioning", body: body)
        XCTAssertEqual(r.status, 409)
        XCTAssertEqual(r.errorCode, "InvalidBucketState")
        XCTAssertEqual(try gw.metadata.bucket(named: "ver")?.versioning, .enabled)
    }

    // MARK: writes and reads by version

    func testUnversionedBucketsNameNoVersionButAcceptNull() {
        XCTAssertEqual(put("k", "one"), "")
        let get = gw.send("GET", "/ver/k")
        XCTAssertNil(get.header("x-amz-version-id"))
        // rclone reads `versionId=null` of unversioned buckets.
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=null").text, "one")
        XCTAssertEqual(gw.send("GET", "/ver/gone?versionId=null").errorCode, "NoSuchKey")
        XCTAssertNil(gw.send("DELETE", "/ver/k").header("x-amz-delete-marker"))
        XCTAssertEqual(gw.send("GET", "/ver/k").errorCode, "NoSuchKey")
        XCTAssertEqual(gw.zone.blobCount, 0, "the unversioned delete removed the bytes")
    }

    func testEnabledWritesKeepEveryVersionReadableById() {
        setVersioning("ver", "Enabled")
        let v1 = put("k", "first")
        let v2 = put("k", "second")
        XCTAssert(VersionId.isWellFormed(v1) && v1 != VersionId.null, v1)
        XCTAssertNotEqual(v1, v2)
        let latest = gw.send("GET", "/ver/k")
        XCTAssertEqual(latest.text, "second")
        XCTAssertEqual(latest.header("x-amz-version-id"), v2)
        let old = gw.send("GET", "/ver/k?versionId=\(v1)")
        XCTAssertEqual(old.text, "first")
        XCTAssertEqual(old.header("x-amz-version-id"), v1)
        let head = gw.send("HEAD", "/ver/k?versionId=\(v1)")
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "5")
        XCTAssertEqual(head.header("x-amz-version-id"), v1)
        XCTAssertEqual(gw.zone.blobCount, 2, "the overwritten version keeps its bytes")
    }

    func testVersionIdErrors() {
        setVersioning("ver", "Enabled")
        put("k", "x")
        for bad in ["v1", "NULL", String(repeating: "g", count: 32), String(repeating: "A", count: 32)] {
            for method in ["GET", "HEAD", "DELETE"] {
                let r = gw.send(method, "/ver/k?versionId=\(bad)")
                XCTAssertEqual(r.status, 400, "\(method) \(bad)")
                if method != "HEAD" {
                    XCTAssertEqual(r.errorCode, "InvalidArgument")
                    XCTAssert(r.text.contains("Invalid version id specified"), r.text)
                }
            }
        }
        let unknown = String(repeating: "0", count: 32)
        let r = gw.send("GET", "/ver/k?versionId=\(unknown)")
        XCTAssertEqual(r.status, 404)
        XCTAssertEqual(r.errorCode, "NoSuchVersion")
        XCTAssertEqual(gw.send("HEAD", "/ver/k?versionId=\(unknown)").status, 404)
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=null").errorCode, "NoSuchVersion", "no null version here")
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(unknown)&tagging").errorCode, "NoSuchVersion")
        // A well-formed id that names nothing deletes nothing and succeeds, as S3 does.
        let d = gw.send("DELETE", "/ver/k?versionId=\(unknown)")
        XCTAssertEqual(d.status, 204)
        XCTAssertEqual(d.header("x-amz-version-id"), unknown)
        XCTAssertEqual(gw.send("GET", "/ver/k").text, "x")
    }

    // MARK: delete markers

    func testDeleteAddsAMarkerThatHidesTheKeyUntilRemoved() {
        setVersioning("ver", "Enabled")
        let v1 = put("k", "first")
        let d = gw.send("DELETE", "/ver/k")
        XCTAssertEqual(d.status, 204)
        XCTAssertEqual(d.header("x-amz-delete-marker"), "true")
        let marker = d.header("x-amz-version-id") ?? ""
        XCTAssert(VersionId.isWellFormed(marker) && marker != v1, marker)
        XCTAssertEqual(gw.zone.blobCount, 1, "a marker removes nothing")

        for method in ["GET", "HEAD"] {
            let r = gw.send(method, "/ver/k")
            XCTAssertEqual(r.status, 404, method)
            XCTAssertEqual(r.header("x-amz-delete-marker"), "true", method)
            XCTAssertEqual(r.header("x-amz-version-id"), marker, method)
            XCTAssertEqual(r.header("Last-Modified"), HTTPDate.rfc1123(TestGateway.now), method)
            if method == "GET" { XCTAssertEqual(r.errorCode, "NoSuchKey") } else { XCTAssert(r.body.isEmpty) }
            let byId = gw.send(method, "/ver/k?versionId=\(marker)")
            XCTAssertEqual(byId.status, 405, method)
            XCTAssertEqual(byId.header("x-amz-delete-marker"), "true", method)
            XCTAssertEqual(byId.header("x-amz-version-id"), marker, method)
            XCTAssertNotNil(byId.header("Last-Modified"), method)
            if method == "GET" {
                XCTAssertEqual(byId.errorCode, "MethodNotAllowed")
            } else {
                XCTAssert(byId.body.isEmpty)
            }
        }
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(v1)").text, "first", "the old version stays readable")
        XCTAssertEqual(gw.send("GET", "/ver?list-type=2").text.contains("<Key>k</Key>"), false, "not listed")
        XCTAssertEqual(gw.send("GET", "/ver/k?tagging").errorCode, "NoSuchKey")
        XCTAssertEqual(gw.send("GET", "/ver/k?tagging&versionId=\(marker)").status, 405)
        XCTAssertEqual(gw.send("PUT", "/ver/k?tagging&versionId=\(marker)", body: tagBody("a", "b")).status, 405)
        XCTAssertEqual(gw.send("GET", "/ver/k?acl&versionId=\(marker)").status, 405)

        // Removing the marker by its id brings the object back.
        let undo = gw.send("DELETE", "/ver/k?versionId=\(marker)")
        XCTAssertEqual(undo.status, 204)
        XCTAssertEqual(undo.header("x-amz-delete-marker"), "true")
        XCTAssertEqual(undo.header("x-amz-version-id"), marker)
        let back = gw.send("GET", "/ver/k")
        XCTAssertEqual(back.text, "first")
        XCTAssertEqual(back.header("x-amz-version-id"), v1)
    }

    func testDeletingAVersionByIdRemovesItsBytesAndPromotesTheNext() {
        setVersioning("ver", "Enabled")
        let v1 = put("k", "first")
        let v2 = put("k", "second")
        let d = gw.send("DELETE", "/ver/k?versionId=\(v2)")
        XCTAssertEqual(d.status, 204)
        XCTAssertEqual(d.header("x-amz-version-id"), v2)
        XCTAssertNil(d.header("x-amz-delete-marker"))
        XCTAssertEqual(gw.zone.blobCount, 1)
        XCTAssertEqual(gw.send("GET", "/ver/k").header("x-amz-version-id"), v1)
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(v2)").errorCode, "NoSuchVersion")
        XCTAssertEqual(gw.send("DELETE", "/ver/k?versionId=\(v1)").status, 204)
        XCTAssertEqual(gw.zone.blobCount, 0)
        XCTAssertEqual(gw.send("DELETE", "/ver").status, 204, "no version left")
    }

    func testSuspendedWritesReplaceTheNullVersion() {
        setVersioning("ver", "Enabled")
        let v1 = put("k", "kept")
        setVersioning("ver", "Suspended")
        XCTAssertEqual(put("k", "null one"), VersionId.null)
        XCTAssertEqual(put("k", "null two"), VersionId.null)
        XCTAssertEqual(gw.zone.blobCount, 2, "the first null version's bytes went")
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=null").text, "null two")
        XCTAssertEqual(gw.send("GET", "/ver/k").header("x-amz-version-id"), VersionId.null)
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(v1)").text, "kept")
        // DELETE replaces the null version with a null marker.
        let d = gw.send("DELETE", "/ver/k")
        XCTAssertEqual(d.header("x-amz-delete-marker"), "true")
        XCTAssertEqual(d.header("x-amz-version-id"), VersionId.null)
        XCTAssertEqual(gw.zone.blobCount, 1)
        let listed = gw.send("GET", "/ver?versions").text
        XCTAssertEqual(values(listed, "VersionId"), [VersionId.null, v1])
        XCTAssertEqual(values(listed, "IsLatest"), ["true", "false"])
        XCTAssert(listed.contains("<DeleteMarker><Key>k</Key>"), listed)
    }

    // MARK: tagging by version

    func tagBody(_ key: String, _ value: String) -> [UInt8] {
        Array("<Tagging><TagSet><Tag><Key>\(key)</Key><Value>\(value)</Value></Tag></TagSet></Tagging>".utf8)
    }

    func testTaggingNamesOneVersion() {
        setVersioning("ver", "Enabled")
        let v1 = put("k", "first")
        let v2 = put("k", "second")
        let p = gw.send("PUT", "/ver/k?tagging&versionId=\(v1)", body: tagBody("era", "old"))
        XCTAssertEqual(p.status, 200, p.text)
        XCTAssertEqual(p.header("x-amz-version-id"), v1)
        let old = gw.send("GET", "/ver/k?tagging&versionId=\(v1)")
        XCTAssertEqual(values(old.text, "Value"), ["old"])
        XCTAssertEqual(old.header("x-amz-version-id"), v1)
        let latest = gw.send("GET", "/ver/k?tagging")
        XCTAssertEqual(values(latest.text, "Value"), [], "the latest version has its own tags")
        XCTAssertEqual(latest.header("x-amz-version-id"), v2)
        XCTAssertEqual(gw.send("PUT", "/ver/k?tagging", body: tagBody("era", "new")).header("x-amz-version-id"), v2)
        XCTAssertEqual(values(gw.send("GET", "/ver/k?tagging&versionId=\(v1)").text, "Value"), ["old"])
        let del = gw.send("DELETE", "/ver/k?tagging&versionId=\(v1)")
        XCTAssertEqual(del.status, 204)
        XCTAssertEqual(del.header("x-amz-version-id"), v1)
        XCTAssertEqual(values(gw.send("GET", "/ver/k?tagging&versionId=\(v1)").text, "Value"), [])
        XCTAssertEqual(values(gw.send("GET", "/ver/k?tagging").text, "Value"), ["new"])
    }

    // MARK: copy from a version

    func testCopyReadsTheNamedSourceVersion() {
        setVersioning("ver", "Enabled")
        let v1 = put("src", "first")
        put("src", "second")
        let c = gw.send("PUT", "/ver/dst", headers: [("x-amz-copy-source", "/ver/src?versionId=\(v1)")])
        XCTAssertEqual(c.status, 200, c.text)
        XCTAssertEqual(c.header("x-amz-copy-source-version-id"), v1)
        let dstVersion = c.header("x-amz-version-id") ?? ""
        XCTAssert(VersionId.isWellFormed(dstVersion) && dstVersion != VersionId.null, dstVersion)
        XCTAssertEqual(gw.send("GET", "/ver/dst").text, "first")
        // Without an id: the latest, and its id is answered.
        let latest = gw.send("PUT", "/ver/dst2", headers: [("x-amz-copy-source", "ver/src")])
        XCTAssertEqual(gw.send("GET", "/ver/dst2").text, "second")
        XCTAssertEqual(
            latest.header("x-amz-copy-source-version-id"), gw.send("HEAD", "/ver/src").header("x-amz-version-id"))
        // Copying an old version onto its own key restores it as the latest.
        let restore = gw.send("PUT", "/ver/src", headers: [("x-amz-copy-source", "ver/src?versionId=\(v1)")])
        XCTAssertEqual(restore.status, 200, restore.text)
        XCTAssertEqual(gw.send("GET", "/ver/src").text, "first")
        XCTAssertEqual(values(gw.send("GET", "/ver?versions&prefix=src").text, "Key").count, 3)
        // From an unversioned bucket: no source version id in the answer.
        gw.send("PUT", "/plain")
        put("p", "plain", bucket: "plain")
        let fromPlain = gw.send("PUT", "/ver/dst3", headers: [("x-amz-copy-source", "plain/p")])
        XCTAssertEqual(fromPlain.status, 200)
        XCTAssertNil(fromPlain.header("x-amz-copy-source-version-id"))
        XCTAssertNotNil(fromPlain.header("x-amz-version-id"))
    }

    func testCopySourceErrors() {
        setVersioning("ver", "Enabled")
        put("src", "x")
        let marker = gw.send("DELETE", "/ver/src").header("x-amz-delete-marker") == "true"
        XCTAssert(marker)
        let markerId = values(gw.send("GET", "/ver?versions").text, "VersionId").first ?? ""
        let byMarker = gw.send("PUT", "/ver/dst", headers: [("x-amz-copy-source", "ver/src?versionId=\(markerId)")])
        XCTAssertEqual(byMarker.status, 400)
        XCTAssertEqual(byMarker.errorCode, "InvalidRequest")
        XCTAssert(
            byMarker.text.contains(
                "The source of a copy request may not specifically refer to a delete marker by version id."),
            byMarker.text)
        let latestMarker = gw.send("PUT", "/ver/dst", headers: [("x-amz-copy-source", "ver/src")])
        XCTAssertEqual(latestMarker.errorCode, "NoSuchKey")
        XCTAssertNil(latestMarker.header("x-amz-delete-marker"), "the marker is the source's, not this answer's")
        let unknown = String(repeating: "1", count: 32)
        XCTAssertEqual(
            gw.send("PUT", "/ver/dst", headers: [("x-amz-copy-source", "ver/src?versionId=\(unknown)")]).errorCode,
            "NoSuchVersion")
        XCTAssertEqual(
            gw.send("PUT", "/ver/dst", headers: [("x-amz-copy-source", "ver/src?versionId=zz")]).errorCode,
            "InvalidArgument")
        XCTAssertEqual(gw.send("HEAD", "/ver/dst").status, 404, "nothing was written")
    }

    func testUploadPartCopyFromAVersion() {
        setVersioning("ver", "Enabled")
        let v1 = put("src", "first")
        put("src", "second")
        let start = gw.send("POST", "/ver/mp?uploads")
        let id = values(start.text, "UploadId").first ?? ""
        let c = gw.send(
            "PUT", "/ver/mp?partNumber=1&uploadId=\(id)", headers: [("x-amz-copy-source", "ver/src?versionId=\(v1)")])
        XCTAssertEqual(c.status, 200, c.text)
        XCTAssertEqual(c.header("x-amz-copy-source-version-id"), v1)
        let etag = values(c.text, "ETag").first ?? ""
        let body = Array(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
                .utf8)
        let done = gw.send("POST", "/ver/mp?uploadId=\(id)", body: body)
        XCTAssertEqual(done.status, 200, done.text)
        XCTAssertEqual(gw.send("GET", "/ver/mp").text, "first")
    }

    // MARK: multipart

    func testCompleteCreatesAVersionAndItsRetryFindsItWhenNoLongerLatest() {
        setVersioning("ver", "Enabled")
        let before = put("mp", "older")
        let id = values(gw.send("POST", "/ver/mp?uploads").text, "UploadId").first ?? ""
        let etag = gw.send("PUT", "/ver/mp?partNumber=1&uploadId=\(id)", body: Array("multi".utf8)).header("ETag") ?? ""
        let body = Array(
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
                .utf8)
        let done = gw.send("POST", "/ver/mp?uploadId=\(id)", body: body)
        XCTAssertEqual(done.status, 200, done.text)
        let version = done.header("x-amz-version-id") ?? ""
        XCTAssert(VersionId.isWellFormed(version) && version != before && version != VersionId.null, version)
        XCTAssertEqual(gw.send("GET", "/ver/mp?versionId=\(before)").text, "older")
        put("mp", "newest")
        let retry = gw.send("POST", "/ver/mp?uploadId=\(id)", body: body)
        XCTAssertEqual(retry.status, 200, retry.text)
        XCTAssertEqual(retry.header("x-amz-version-id"), version)
        XCTAssertEqual(values(retry.text, "ETag"), values(done.text, "ETag"))
        XCTAssertEqual(gw.send("GET", "/ver/mp?versionId=\(version)").text, "multi")
        // Once that version is gone, the upload is simply gone.
        gw.send("DELETE", "/ver/mp?versionId=\(version)")
        XCTAssertEqual(gw.send("POST", "/ver/mp?uploadId=\(id)", body: body).errorCode, "NoSuchUpload")
    }

    // MARK: POST form

    func testPostFormWritesAVersion() {
        setVersioning("ver", "Enabled")
        let date = String(TestGateway.amzDate.prefix(8))
        let credential = "\(TestGateway.accessKey)/\(date)/us-east-1/s3/aws4_request"
        let json = """
            {"expiration": "2030-01-01T00:00:00Z", "conditions": [{"bucket": "ver"}, ["starts-with", "$key", ""],
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "\(credential)"}, {"x-amz-date": "\(TestGateway.amzDate)"}]}
            """
        let policy = Data(json.utf8).base64EncodedString()
        let signingKey = Signer.signingKey(
            secret: TestGateway.secretKey, date: date, region: "us-east-1", service: "s3")
        let fields = [
            ("key", "form"), ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
            ("x-amz-date", TestGateway.amzDate), ("policy", policy),
            ("x-amz-signature", Signer.signature(signingKey: signingKey, stringToSign: policy)),
        ]
        let boundary = "----v"
        var body = ""
        for (name, value) in fields {
            body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n"
        }
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\nbytes\r\n"
        body += "--\(boundary)--\r\n"
        let r = gw.send(
            "POST", "/ver", body: Array(body.utf8),
            headers: [("content-type", "multipart/form-data; boundary=\(boundary)")], sign: false)
        XCTAssertEqual(r.status, 204, r.text)
        let v = r.header("x-amz-version-id") ?? ""
        XCTAssert(VersionId.isWellFormed(v) && v != VersionId.null, v)
        XCTAssertEqual(gw.send("GET", "/ver/form?versionId=\(v)").text, "bytes")
    }

    // MARK: DeleteObjects

    func testDeleteObjectsWithVersionIds() {
        setVersioning("ver", "Enabled")
        let a1 = put("a", "a1")
        put("a", "a2")
        put("b", "b1")
        let r = deleteObjects(
            "<Object><Key>a</Key><VersionId>\(a1)</VersionId></Object><Object><Key>b</Key></Object>"
                + "<Object><Key>c</Key><VersionId>bad</VersionId></Object>")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssert(r.text.contains("<Deleted><Key>a</Key><VersionId>\(a1)</VersionId></Deleted>"), r.text)
        let marker = values(r.text, "DeleteMarkerVersionId").first ?? ""
        XCTAssert(
            r.text.contains(
                "<Deleted><Key>b</Key><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>\(marker)</DeleteMarkerVersionId></Deleted>"
            ), r.text)
        XCTAssert(
            r.text.contains("<Error><Key>c</Key><VersionId>bad</VersionId><Code>InvalidArgument</Code>"), r.text)
        XCTAssertEqual(gw.send("GET", "/ver/a?versionId=\(a1)").errorCode, "NoSuchVersion")
        XCTAssertEqual(gw.send("GET", "/ver/b").header("x-amz-delete-marker"), "true")
        // Removing a marker by id says so.
        let undo = deleteObjects("<Object><Key>b</Key><VersionId>\(marker)</VersionId></Object>")
        XCTAssert(
            undo.text.contains(
                "<Deleted><Key>b</Key><VersionId>\(marker)</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>\(marker)</DeleteMarkerVersionId></Deleted>"
            ), undo.text)
        XCTAssertEqual(gw.send("GET", "/ver/b").text, "b1")
    }

    // MARK: permissions

    func testVersionRequestsNeedTheVersionPermissions() {
        setVersioning("ver", "Enabled")
        let v1 = put("k", "first")
        put("k", "second")
        let plain = gw.addUser(
            TenantRecord.defaultID, "plain",
            [
                "s3:GetObject": ["ver"], "s3:DeleteObject": ["ver"], "s3:GetObjectTagging": ["ver"],
                "s3:PutObject": ["ver"],
            ])
        let versions = gw.addUser(
            TenantRecord.defaultID, "versions",
            [
                "s3:GetObjectVersion": ["ver"], "s3:GetObjectVersionTagging": ["ver"], "s3:PutObject": ["ver"],
                "s3:DeleteObjectVersion": ["ver"],
            ])
        func send(_ u: TestGateway.UserKey, _ method: String, _ uri: String, headers: [(String, String)] = [])
            -> TestGateway.Response
        {
            gw.send(method, uri, headers: headers, accessKey: u.accessKey, secret: u.secret)
        }
        XCTAssertEqual(send(plain, "GET", "/ver/k").text, "second")
        XCTAssertEqual(send(plain, "GET", "/ver/k?versionId=\(v1)").errorCode, "AccessDenied")
        XCTAssertEqual(send(plain, "HEAD", "/ver/k?versionId=\(v1)").status, 403)
        XCTAssertEqual(send(plain, "GET", "/ver/k?tagging&versionId=\(v1)").errorCode, "AccessDenied")
        XCTAssertEqual(send(plain, "DELETE", "/ver/k?versionId=\(v1)").errorCode, "AccessDenied")
        XCTAssertEqual(
            send(plain, "PUT", "/ver/c", headers: [("x-amz-copy-source", "ver/k?versionId=\(v1)")]).errorCode,
            "AccessDenied")
        XCTAssertEqual(send(versions, "GET", "/ver/k").errorCode, "AccessDenied")
        XCTAssertEqual(send(versions, "GET", "/ver/k?versionId=\(v1)").text, "first")
        XCTAssertEqual(send(versions, "GET", "/ver/k?tagging&versionId=\(v1)").status, 200)
        XCTAssertEqual(
            send(versions, "PUT", "/ver/c", headers: [("x-amz-copy-source", "ver/k?versionId=\(v1)")]).status, 200)
        XCTAssertEqual(send(versions, "DELETE", "/ver/k").errorCode, "AccessDenied")
        XCTAssertEqual(send(versions, "DELETE", "/ver/k?versionId=\(v1)").status, 204)

        // DeleteObjects decides per key, by whether the entry names a version.
        let v2 = gw.send("HEAD", "/ver/k").header("x-amz-version-id") ?? ""
        let body = Array(
            "<Delete><Object><Key>k</Key><VersionId>\(v2)</VersionId></Object><Object><Key>c</Key></Object></Delete>"
                .utf8)
        let r = gw.send(
            "POST", "/ver?delete", body: body, headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))],
            accessKey: plain.accessKey, secret: plain.secret)
        XCTAssert(r.text.contains("<Error><Key>k</Key><VersionId>\(v2)</VersionId><Code>AccessDenied</Code>"), r.text)
        XCTAssert(r.text.contains("<Deleted><Key>c</Key><DeleteMarker>true</DeleteMarker>"), r.text)
        XCTAssertEqual(gw.send("GET", "/ver/k").text, "second")
    }

    /// `versionId=null` names the object itself in an unversioned bucket (rclone HEADs every
    /// upload so, CLIENTS.md): the plain permissions do. Once the bucket is versioned "null" can
    /// name a noncurrent version, and the version permissions are needed as for any id.
    func testNullVersionNeedsTheVersionPermissionOnlyInVersionedBuckets() {
        put("k", "plain")
        let plain = gw.addUser(
            TenantRecord.defaultID, "plain",
            ["s3:GetObject": ["ver"], "s3:DeleteObject": ["ver"], "s3:PutObject": ["ver"]])
        func send(_ method: String, _ uri: String) -> TestGateway.Response {
            gw.send(method, uri, accessKey: plain.accessKey, secret: plain.secret)
        }
        XCTAssertEqual(send("HEAD", "/ver/k?versionId=null").status, 200)
        XCTAssertEqual(send("GET", "/ver/k?versionId=null").text, "plain")
        setVersioning("ver", "Enabled")
        put("k", "versioned")
        XCTAssertEqual(send("HEAD", "/ver/k?versionId=null").status, 403)
        XCTAssertEqual(send("GET", "/ver/k?versionId=null").errorCode, "AccessDenied")
        XCTAssertEqual(send("DELETE", "/ver/k?versionId=null").errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/ver/k?versionId=null").text, "plain", "the null version is still there")
    }

    /// A GOVERNANCE retention yields only to the bypass header together with the permission;
    /// COMPLIANCE and a legal hold to nothing (the table of ObjectLock.decide, seen by clients).
    func testLockedVersionsAndTheGovernanceBypass() throws {
        setVersioning("ver", "Enabled")
        try gw.metadata.setObjectLock(bucket: "ver", ObjectLockConfig())
        let until = TestGateway.now + 3600
        let bypassing = gw.addUser(
            TenantRecord.defaultID, "bypassing",
            ["s3:DeleteObjectVersion": ["ver"], "s3:BypassGovernanceRetention": ["ver"]])
        let plain = gw.addUser(TenantRecord.defaultID, "plain", ["s3:DeleteObjectVersion": ["ver"]])
        let header = [("x-amz-bypass-governance-retention", "true")]
        let cases: [(String, LockChange, TestGateway.UserKey, [(String, String)], Int)] = [
            ("governance, no header", .retention(Retention(mode: .governance, until: until)), bypassing, [], 403),
            ("governance, no permission", .retention(Retention(mode: .governance, until: until)), plain, header, 403),
            ("governance, bypass", .retention(Retention(mode: .governance, until: until)), bypassing, header, 204),
            ("compliance, bypass", .retention(Retention(mode: .compliance, until: until)), bypassing, header, 403),
            ("legal hold, bypass", .legalHold(true), bypassing, header, 403),
            ("expired retention", .retention(Retention(mode: .compliance, until: TestGateway.now - 1)), plain, [], 204),
        ]
        for (name, change, user, headers, status) in cases {
            let v = put("k", name)
            _ = try gw.metadata.changeLock(
                bucket: "ver", key: "k", versionId: v, change, bypassGovernance: false, now: TestGateway.now - 10)
            let r = gw.send(
                "DELETE", "/ver/k?versionId=\(v)", headers: headers, accessKey: user.accessKey, secret: user.secret)
            XCTAssertEqual(r.status, status, name)
            if status == 403 {
                XCTAssertEqual(r.errorCode, "AccessDenied", name)
                XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(v)").text, name, "\(name): still there")
                let body = Array("<Delete><Object><Key>k</Key><VersionId>\(v)</VersionId></Object></Delete>".utf8)
                let multi = gw.send(
                    "POST", "/ver?delete", body: body,
                    headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))] + headers,
                    accessKey: user.accessKey, secret: user.secret)
                XCTAssert(multi.text.contains("<Code>AccessDenied</Code>"), "\(name): \(multi.text)")
                // A delete marker is always allowed: lock protects versions, not names.
                XCTAssertEqual(gw.send("DELETE", "/ver/k").header("x-amz-delete-marker"), "true", name)
                XCTAssertEqual(gw.send("GET", "/ver/k?versionId=\(v)").text, name, "\(name): still there")
            }
        }
    }
}
