import GatewayCore
import XCTest

final class TaggingHandlerTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/tagged").status, 200)
    }

    func tagging(_ pairs: [(String, String)]) -> [UInt8] {
        let tags = pairs.map { "<Tag><Key>\($0.0)</Key><Value>\($0.1)</Value></Tag>" }.joined()
        return Array(
            "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>\(tags)</TagSet></Tagging>".utf8)
    }

    func testHeaderTagsRoundTripAndCount() {
        // replica-count 2 asks for more copies than this bucket's one zone: refused, nothing stored.
        let tooMany = gw.send(
            "PUT", "/tagged/o", body: [1], headers: [("x-amz-tagging", "team=a%20b&replica-count=2&k%3Ax=")])
        XCTAssertEqual(tooMany.errorCode, "InvalidArgument")
        XCTAssert(tooMany.text.contains("exceeds the 1 location"), tooMany.text)
        XCTAssertEqual(gw.send("HEAD", "/tagged/o").status, 404)
        XCTAssertEqual(gw.zone.blobCount, 0)
        gw.send("PUT", "/tagged/o", body: [1], headers: [("x-amz-tagging", "team=a%20b&replica-count=1&k%3Ax=")])
        XCTAssertEqual(gw.send("HEAD", "/tagged/o").header("x-amz-tagging-count"), "3")
        let t = gw.send("GET", "/tagged/o?tagging").text
        XCTAssert(t.contains("<Key>team</Key><Value>a b</Value>"), t)
        XCTAssert(t.contains("<Key>k:x</Key><Value></Value>"), t)
        XCTAssertEqual(gw.send("DELETE", "/tagged/o?tagging").status, 204)
        XCTAssertNil(gw.send("HEAD", "/tagged/o").header("x-amz-tagging-count"))
    }

    func testPutTaggingLimits() {
        gw.send("PUT", "/tagged/o", body: [1])
        XCTAssertEqual(gw.send("PUT", "/tagged/o?tagging", body: tagging([("a", "1"), ("b", "2")])).status, 200)
        XCTAssertEqual(
            gw.send("PUT", "/tagged/o?tagging", body: tagging((0..<11).map { ("k\($0)", "v") })).errorCode, "BadRequest"
        )
        XCTAssertEqual(
            gw.send("PUT", "/tagged/o?tagging", body: tagging([("a", "1"), ("a", "2")])).errorCode, "InvalidTag")
        XCTAssertEqual(
            gw.send("PUT", "/tagged/o?tagging", body: tagging([(String(repeating: "k", count: 129), "v")])).errorCode,
            "InvalidTag")
        XCTAssertEqual(
            gw.send("PUT", "/tagged/o?tagging", body: tagging([("k", String(repeating: "v", count: 257))])).errorCode,
            "InvalidTag")
        XCTAssertEqual(gw.send("PUT", "/tagged/o?tagging", body: Array("<Tagging>".utf8)).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("PUT", "/tagged/missing?tagging", body: tagging([("a", "1")])).errorCode, "NoSuchKey")
        XCTAssertEqual(gw.send("HEAD", "/tagged/o").header("x-amz-tagging-count"), "2", "failed puts changed nothing")
        XCTAssertEqual(
            gw.send("PUT", "/tagged/p", body: [1], headers: [("x-amz-tagging", "a=1&a=2")]).errorCode, "InvalidTag")
        XCTAssertEqual(gw.send("HEAD", "/tagged/p").status, 404)
    }

    func testCopyDirectiveAndMultipartTags() {
        gw.send("PUT", "/tagged/src", body: [1], headers: [("x-amz-tagging", "a=1")])
        gw.send("PUT", "/tagged/copied", headers: [("x-amz-copy-source", "tagged/src")])
        XCTAssert(gw.send("GET", "/tagged/copied?tagging").text.contains("<Key>a</Key>"))
        gw.send(
            "PUT", "/tagged/replaced",
            headers: [
                ("x-amz-copy-source", "tagged/src"), ("x-amz-tagging-directive", "REPLACE"), ("x-amz-tagging", "b=2"),
            ])
        let t = gw.send("GET", "/tagged/replaced?tagging").text
        XCTAssert(t.contains("<Key>b</Key>") && !t.contains("<Key>a</Key>"), t)

        let start = gw.send("POST", "/tagged/mp?uploads", headers: [("x-amz-tagging", "m=1")]).text
        let id = String(start.components(separatedBy: "<UploadId>")[1].prefix { $0 != "<" })
        let etag = gw.send("PUT", "/tagged/mp?partNumber=1&uploadId=\(id)", body: [7]).header("ETag")!
        let body =
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\(etag)</ETag></Part></CompleteMultipartUpload>"
        XCTAssertEqual(gw.send("POST", "/tagged/mp?uploadId=\(id)", body: Array(body.utf8)).status, 200)
        XCTAssertEqual(gw.send("HEAD", "/tagged/mp").header("x-amz-tagging-count"), "1")
    }

    func testBucketTagging() {
        XCTAssertEqual(gw.send("GET", "/tagged?tagging").errorCode, "NoSuchTagSet")
        XCTAssertEqual(gw.send("PUT", "/tagged?tagging", body: tagging([("env", "prod")])).status, 204)
        XCTAssert(gw.send("GET", "/tagged?tagging").text.contains("<Key>env</Key><Value>prod</Value>"))
        XCTAssertEqual(gw.send("DELETE", "/tagged?tagging").status, 204)
        XCTAssertEqual(gw.send("GET", "/tagged?tagging").errorCode, "NoSuchTagSet")
    }
}
