import Foundation
import Gateway
import GatewayCore
import SigV4
import XCTest

/// GET ?versions on an unversioned bucket: every object is its own "null" version.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectVersions.html
final class ListObjectVersionsTests: XCTestCase {
    var gw: TestGateway!

    override func setUp() {
        gw = TestGateway()
        gw.send("PUT", "/ver")
        for k in ["a/1", "a/2", "b", "c d+e", "z/x/y"] {
            let path = k.replacingOccurrences(of: " ", with: "%20").replacingOccurrences(of: "+", with: "%2B")
            XCTAssertEqual(gw.send("PUT", "/ver/" + path, body: Array(k.utf8)).status, 200)
        }
    }

    func values(_ text: String, _ element: String) -> [String] {
        text.components(separatedBy: "<\(element)>").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    func testEveryObjectIsItsNullLatestVersion() {
        let r = gw.send("GET", "/ver?versions")
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssert(r.text.contains("<ListVersionsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"), r.text)
        XCTAssertEqual(values(r.text, "Key"), ["a/1", "a/2", "b", "c d+e", "z/x/y"])
        XCTAssertEqual(values(r.text, "VersionId"), Array(repeating: "null", count: 5))
        XCTAssertEqual(values(r.text, "IsLatest"), Array(repeating: "true", count: 5))
        XCTAssertEqual(values(r.text, "Size"), ["3", "3", "1", "5", "5"])
        XCTAssertEqual(values(r.text, "StorageClass"), Array(repeating: "STANDARD", count: 5))
        XCTAssertEqual(values(r.text, "ID"), Array(repeating: gw.rootID, count: 5))
        XCTAssertEqual(values(r.text, "ETag").first, "&quot;\(hexEncode(Digest.hash(.md5, Array("a/1".utf8))))&quot;")
        XCTAssertEqual(values(r.text, "IsTruncated"), ["false"])
        XCTAssertFalse(r.text.contains("NextKeyMarker"), r.text)
        XCTAssertFalse(r.text.contains("DeleteMarker"), r.text)
    }

    func testPrefixDelimiterAndURLEncoding() {
        let r = gw.send("GET", "/ver?versions&delimiter=%2F&encoding-type=url")
        XCTAssertEqual(values(r.text, "Key"), ["b", "c%20d%2Be"])
        XCTAssertEqual(values(r.text, "Prefix"), ["", "a/", "z/"])
        XCTAssert(r.text.contains("<EncodingType>url</EncodingType>"), r.text)
        let under = gw.send("GET", "/ver?versions&prefix=a%2F")
        XCTAssertEqual(values(under.text, "Key"), ["a/1", "a/2"])
    }

    func testPagesWithKeyAndVersionIdMarkers() {
        var keys: [String] = []
        var uri = "/ver?versions&max-keys=2"
        var pages = 0
        while pages < 10 {
            pages += 1
            let page = gw.send("GET", uri).text
            keys += values(page, "Key")
            guard values(page, "IsTruncated") == ["true"] else { break }
            let next = values(page, "NextKeyMarker")
            XCTAssertEqual(values(page, "NextVersionIdMarker"), ["null"])
            XCTAssertEqual(next.count, 1)
            uri =
                "/ver?versions&max-keys=2&version-id-marker=null&key-marker="
                + next[0].addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        }
        XCTAssertEqual(keys, ["a/1", "a/2", "b", "c d+e", "z/x/y"])
        XCTAssertEqual(pages, 3)
        // A page that ends on a common prefix continues after every key under it.
        let cp = gw.send("GET", "/ver?versions&delimiter=/&max-keys=1").text
        XCTAssertEqual(values(cp, "NextKeyMarker"), ["a/"])
        XCTAssertEqual(values(cp, "NextVersionIdMarker"), [])
        let after = gw.send("GET", "/ver?versions&delimiter=/&max-keys=1&key-marker=a/").text
        XCTAssertEqual(values(after, "Key"), ["b"])
    }

    func testBadMarkersAndParameters() {
        XCTAssertEqual(gw.send("GET", "/ver?versions&version-id-marker=null").errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("GET", "/ver?versions&key-marker=b&version-id-marker=v1").errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("GET", "/ver?versions&max-keys=x").errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("GET", "/ver?versions&encoding-type=base64").errorCode, "InvalidArgument")
        XCTAssertEqual(gw.send("GET", "/nobucket?versions").errorCode, "NoSuchBucket")
    }

    func testDeletingTheListedNullVersionsEmptiesTheBucket() {
        let listed = gw.send("GET", "/ver?versions").text
        let objects = values(listed, "Key").map {
            "<Object><Key>\($0)</Key><VersionId>null</VersionId></Object>"
        }.joined()
        let body = Array("<Delete>\(objects)</Delete>".utf8)
        let r = gw.send(
            "POST", "/ver?delete", body: body, headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(values(r.text, "VersionId"), Array(repeating: "null", count: 5))
        XCTAssertEqual(values(gw.send("GET", "/ver?versions").text, "Key"), [])
        XCTAssertEqual(gw.send("DELETE", "/ver").status, 204)
    }
}
