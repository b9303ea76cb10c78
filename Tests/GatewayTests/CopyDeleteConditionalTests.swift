import Foundation
import GatewayCore
import MetadataSQL
import SigV4
import Synchronization
import XCTest

final class CopyDeleteConditionalTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/src-bucket").status, 200)
        XCTAssertEqual(gw.send("PUT", "/dst-bucket").status, 200)
        gw.send(
            "PUT", "/src-bucket/a%20b%2Bc", body: Array("payload".utf8),
            headers: [("x-amz-meta-k", "v"), ("Content-Type", "text/x")])
    }

    func testCopyWithAndWithoutLeadingSlashKeepsMetadata() {
        for (i, source) in ["/src-bucket/a%20b%2Bc", "src-bucket/a%20b%2Bc"].enumerated() {
            let r = gw.send("PUT", "/dst-bucket/copy\(i)", headers: [("x-amz-copy-source", source)])
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssert(r.text.contains("<CopyObjectResult"), r.text)
            let got = gw.send("GET", "/dst-bucket/copy\(i)")
            XCTAssertEqual(got.text, "payload")
            XCTAssertEqual(got.header("x-amz-meta-k"), "v")
            XCTAssertEqual(got.header("Content-Type"), "text/x")
        }
        // Deleting the source leaves the copy intact: bytes are not shared.
        gw.send("DELETE", "/src-bucket/a%20b%2Bc")
        XCTAssertEqual(gw.send("GET", "/dst-bucket/copy0").text, "payload")
    }

    func testCopyOntoItselfNeedsReplaceAndConditionsApply() {
        let selfCopy = gw.send("PUT", "/src-bucket/a%20b%2Bc", headers: [("x-amz-copy-source", "src-bucket/a%20b%2Bc")])
        XCTAssertEqual(selfCopy.errorCode, "InvalidRequest")
        let replaced = gw.send(
            "PUT", "/src-bucket/a%20b%2Bc",
            headers: [
                ("x-amz-copy-source", "src-bucket/a%20b%2Bc"), ("x-amz-metadata-directive", "REPLACE"),
                ("x-amz-meta-new", "1"),
            ])
        XCTAssertEqual(replaced.status, 200, replaced.text)
        let head = gw.send("HEAD", "/src-bucket/a%20b%2Bc")
        XCTAssertEqual(head.header("x-amz-meta-new"), "1")
        XCTAssertNil(head.header("x-amz-meta-k"))
        let etag = head.header("ETag")!
        XCTAssertEqual(
            gw.send(
                "PUT", "/dst-bucket/c",
                headers: [("x-amz-copy-source", "src-bucket/a%20b%2Bc"), ("x-amz-copy-source-if-match", "\"nope\"")]
            ).status, 412)
        XCTAssertEqual(
            gw.send(
                "PUT", "/dst-bucket/c",
                headers: [("x-amz-copy-source", "src-bucket/a%20b%2Bc"), ("x-amz-copy-source-if-none-match", etag)]
            ).status, 412)
        XCTAssertEqual(
            gw.send(
                "PUT", "/dst-bucket/c",
                headers: [("x-amz-copy-source", "src-bucket/a%20b%2Bc"), ("x-amz-copy-source-if-match", etag)]
            ).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/dst-bucket/c", headers: [("x-amz-copy-source", "src-bucket/missing")]).errorCode,
            "NoSuchKey")
        XCTAssertEqual(
            gw.send("PUT", "/dst-bucket/c", headers: [("x-amz-copy-source", "no-slash")]).errorCode, "InvalidArgument")
        XCTAssertEqual(
            gw.send("PUT", "/dst-bucket/c", headers: [("x-amz-copy-source", "nobucket-here/k")]).errorCode,
            "NoSuchBucket")
    }

    func testDeleteObjectsQuietVerboseAndDigests() {
        for k in ["one", "two", "three"] { gw.send("PUT", "/dst-bucket/\(k)", body: [1]) }
        let body = Array(
            "<Delete><Object><Key>one</Key></Object><Object><Key>missing</Key></Object><Object><Key>two</Key><VersionId>v9</VersionId></Object></Delete>"
                .utf8)
        let r = gw.send(
            "POST", "/dst-bucket?delete", body: body, headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssert(r.text.contains("<Deleted><Key>one</Key></Deleted>"), r.text)
        XCTAssert(r.text.contains("<Deleted><Key>missing</Key></Deleted>"), r.text)
        // Not an id this gateway makes: S3's answer to a malformed one.
        XCTAssert(r.text.contains("<Code>InvalidArgument</Code>"), r.text)
        var crc = CRC32()
        let quiet = Array("<Delete><Quiet>true</Quiet><Object><Key>three</Key></Object></Delete>".utf8)
        crc.update(quiet)
        let q = gw.send(
            "POST", "/dst-bucket?delete", body: quiet, headers: [("x-amz-checksum-crc32", base64Encode(crc.finalize()))]
        )
        XCTAssertEqual(q.status, 200)
        XCTAssertFalse(q.text.contains("<Deleted>"), q.text)
        XCTAssertEqual(gw.send("HEAD", "/dst-bucket/three").status, 404)
        let badDigest = gw.send(
            "POST", "/dst-bucket?delete", body: quiet, headers: [("Content-MD5", base64Encode(Digest.hash(.md5, [1])))])
        XCTAssertEqual(badDigest.errorCode, "BadDigest")
        XCTAssertEqual(gw.send("POST", "/dst-bucket?delete", body: Array("<Delete>".utf8)).errorCode, "MalformedXML")
        let tooMany = "<Delete>" + String(repeating: "<Object><Key>k</Key></Object>", count: 1001) + "</Delete>"
        XCTAssertEqual(gw.send("POST", "/dst-bucket?delete", body: Array(tooMany.utf8)).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("HEAD", "/dst-bucket/two").status, 200, "a failed entry deletes nothing")
    }

    func testConditionalPut() {
        XCTAssertEqual(gw.send("PUT", "/dst-bucket/once", body: [1], headers: [("If-None-Match", "*")]).status, 200)
        let second = gw.send("PUT", "/dst-bucket/once", body: [2], headers: [("If-None-Match", "*")])
        XCTAssertEqual(second.status, 412)
        XCTAssertEqual(gw.send("GET", "/dst-bucket/once").body, [1])
        let etag = gw.send("HEAD", "/dst-bucket/once").header("ETag")!
        XCTAssertEqual(gw.send("PUT", "/dst-bucket/once", body: [3], headers: [("If-Match", "\"other\"")]).status, 412)
        XCTAssertEqual(gw.send("PUT", "/dst-bucket/once", body: [3], headers: [("If-Match", etag)]).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/dst-bucket/absent", body: [3], headers: [("If-Match", etag)]).errorCode, "NoSuchKey")
        XCTAssertEqual(gw.zone.blobCount, 2, "failed conditional writes leave no blob")
    }

    /// Many writers race with If-None-Match: * through the real SQLite store: exactly one wins.
    func testConcurrentIfNoneMatchHasOneWinner() throws {
        let dir = NSTemporaryDirectory() + "s3gw-race-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let setup = try sqlStore(dir: dir)
        _ = try setup.createBucket(
            BucketRecord(name: "b", owner: "o", createdAt: 1, locationConstraint: "", zones: ["z"], backendBucket: "x"))
        let wins = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let store = try! sqlStore(dir: dir)
            let o = ObjectRecord(
                bucket: "b", key: "k", size: 1, etag: "e\(i)", lastModified: 1, contentType: "t", headers: [],
                checksums: [:], zone: "z", blob: "ab\(i)")
            do {
                _ = try store.putObject(o, condition: .noneExists)
                wins.withLock { $0 += 1 }
            } catch {
                XCTAssertEqual(error as? StoreError, .preconditionFailed)
            }
        }
        XCTAssertEqual(wins.withLock { $0 }, 1)
    }
}
