import Foundation
import Gateway
import GatewayCore
import SigV4
import XCTest

/// GET ?versions: on an unversioned bucket every object is its own "null" version; a versioned
/// bucket lists every version and delete marker (the second class below).
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

/// GET ?versions on a versioning-Enabled bucket: versions and delete markers interleaved in key
/// order, newest first within a key, paged by key and version-id markers.
final class ListVersionedObjectVersionsTests: XCTestCase {
    var gw: TestGateway!
    /// Version ids by key, oldest first, as the writes answered them.
    var ids: [String: [String]] = [:]

    override func setUp() {
        gw = TestGateway()
        gw.send("PUT", "/ver")
        let body = Array("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>".utf8)
        XCTAssertEqual(gw.send("PUT", "/ver?versioning", body: body).status, 200)
        // a/1: two versions; b: a version under a delete marker; c d+e: one version; z/x/y: one.
        for (key, path, deleteAfter) in [
            ("a/1", "a/1", false), ("a/1", "a/1", false), ("b", "b", true), ("c d+e", "c%20d%2Be", false),
            ("z/x/y", "z/x/y", false),
        ] {
            let r = gw.send("PUT", "/ver/" + path, body: Array(key.utf8))
            ids[key, default: []].append(r.header("x-amz-version-id") ?? "")
            if deleteAfter {
                ids[key, default: []].append(gw.send("DELETE", "/ver/" + path).header("x-amz-version-id") ?? "")
            }
        }
    }

    func values(_ text: String, _ element: String) -> [String] {
        text.components(separatedBy: "<\(element)>").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }

    /// (element, key, version id, IsLatest) of every entry, in document order.
    func entries(_ text: String) -> [(String, String, String, String)] {
        var out: [(String, String, String, String)] = []
        var rest = Substring(text)
        while let r = rest.range(of: "<Version>") ?? rest.range(of: "<DeleteMarker>") {
            let v = rest.range(of: "<Version>")
            let m = rest.range(of: "<DeleteMarker>")
            let isMarker = m != nil && (v == nil || m!.lowerBound < v!.lowerBound)
            let start = isMarker ? m! : (v ?? r)
            let close = isMarker ? "</DeleteMarker>" : "</Version>"
            guard let end = rest.range(of: close, range: start.upperBound..<rest.endIndex) else { break }
            let body = String(rest[start.upperBound..<end.lowerBound])
            out.append(
                (
                    isMarker ? "DeleteMarker" : "Version", values(body, "Key").first ?? "",
                    values(body, "VersionId").first ?? "", values(body, "IsLatest").first ?? ""
                ))
            rest = rest[end.upperBound...]
        }
        return out
    }

    func testVersionsAndMarkersInterleavedNewestFirst() {
        let r = gw.send("GET", "/ver?versions")
        XCTAssertEqual(r.status, 200, r.text)
        let got = entries(r.text)
        let want: [(String, String, String, String)] = [
            ("Version", "a/1", ids["a/1"]![1], "true"), ("Version", "a/1", ids["a/1"]![0], "false"),
            ("DeleteMarker", "b", ids["b"]![1], "true"), ("Version", "b", ids["b"]![0], "false"),
            ("Version", "c d+e", ids["c d+e"]![0], "true"), ("Version", "z/x/y", ids["z/x/y"]![0], "true"),
        ]
        XCTAssertEqual(got.map { "\($0)" }, want.map { "\($0)" })
        // A marker has no ETag, Size or StorageClass; versions have all three.
        XCTAssertEqual(values(r.text, "ETag").count, 5)
        XCTAssertEqual(values(r.text, "Size").count, 5)
        XCTAssertEqual(values(r.text, "StorageClass").count, 5)
        XCTAssertEqual(values(r.text, "ID").count, 6, "every entry has its Owner")
        XCTAssertEqual(values(r.text, "IsTruncated"), ["false"])
    }

    func testPagingThroughTheVersionsOfOneKey() {
        var seen: [String] = []
        var uri = "/ver?versions&max-keys=1"
        var pages = 0
        while pages < 20 {
            pages += 1
            let page = gw.send("GET", uri).text
            XCTAssertEqual(entries(page).count, 1, page)
            seen += entries(page).map { "\($0.1)@\($0.2)@\($0.3)" }
            guard values(page, "IsTruncated") == ["true"] else { break }
            let key = values(page, "NextKeyMarker")[0]
            let version = values(page, "NextVersionIdMarker")[0]
            uri =
                "/ver?versions&max-keys=1&key-marker="
                + key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "&version-id-marker=\(version)"
        }
        XCTAssertEqual(pages, 6)
        XCTAssertEqual(
            seen,
            [
                "a/1@\(ids["a/1"]![1])@true", "a/1@\(ids["a/1"]![0])@false", "b@\(ids["b"]![1])@true",
                "b@\(ids["b"]![0])@false", "c d+e@\(ids["c d+e"]![0])@true", "z/x/y@\(ids["z/x/y"]![0])@true",
            ])
        // key-marker alone starts after every version of that key.
        XCTAssertEqual(entries(gw.send("GET", "/ver?versions&key-marker=b").text).map(\.1), ["c d+e", "z/x/y"])
    }

    func testDelimiterPrefixesAndURLEncoding() {
        let base = "/ver?versions&delimiter=%2F&encoding-type=url&max-keys=2"
        let first = gw.send("GET", base)
        XCTAssertEqual(entries(first.text).map(\.1), ["b"])
        XCTAssertEqual(values(first.text, "Prefix"), ["", "a/"], "a common prefix counts toward max-keys")
        XCTAssertEqual(values(first.text, "NextKeyMarker"), ["b"])
        XCTAssertEqual(values(first.text, "NextVersionIdMarker"), [ids["b"]![1]])
        let second = gw.send("GET", base + "&key-marker=b&version-id-marker=\(ids["b"]![1])")
        XCTAssertEqual(entries(second.text).map(\.1), ["b", "c%20d%2Be"], second.text)
        XCTAssertEqual(entries(second.text).map(\.3), ["false", "true"])
        XCTAssertEqual(values(second.text, "KeyMarker"), ["b"])
        XCTAssertEqual(values(second.text, "VersionIdMarker"), [ids["b"]![1]], "version ids are not encoded")
        XCTAssertEqual(values(second.text, "NextKeyMarker"), ["c%20d%2Be"])
        let third = gw.send("GET", base + "&key-marker=c%20d%2Be")
        XCTAssertEqual(entries(third.text).count, 0)
        XCTAssertEqual(values(third.text, "Prefix"), ["", "z/"])
        XCTAssertEqual(values(third.text, "KeyMarker"), ["c%20d%2Be"])
        XCTAssertEqual(values(third.text, "IsTruncated"), ["false"])
        // A page that ends on a common prefix has no version to continue from.
        let cp = gw.send("GET", "/ver?versions&delimiter=/&max-keys=1").text
        XCTAssertEqual(values(cp, "NextKeyMarker"), ["a/"])
        XCTAssertEqual(values(cp, "NextVersionIdMarker"), [])
        XCTAssertEqual(entries(gw.send("GET", "/ver?versions&delimiter=/&key-marker=a/").text).first?.1, "b")
    }

    func testBadVersionIdMarkers() {
        let noKey = gw.send("GET", "/ver?versions&version-id-marker=\(ids["b"]![0])")
        XCTAssertEqual(noKey.errorCode, "InvalidArgument")
        XCTAssert(noKey.text.contains("A version-id marker cannot be specified without a key marker."), noKey.text)
        for bad in ["nope", String(repeating: "0", count: 31), "NULL"] {
            let r = gw.send("GET", "/ver?versions&key-marker=b&version-id-marker=\(bad)")
            XCTAssertEqual(r.status, 400, bad)
            XCTAssertEqual(r.errorCode, "InvalidArgument", bad)
            XCTAssert(r.text.contains("Invalid version id specified"), r.text)
        }
        // A well-formed id the key does not have (a version deleted since the last page) is a
        // position: older than every version of b, so the listing goes on after b.
        let gone = gw.send("GET", "/ver?versions&key-marker=b&version-id-marker=\(String(repeating: "0", count: 32))")
        XCTAssertEqual(gone.status, 200, gone.text)
        XCTAssertFalse(entries(gone.text).contains { $0.0 == "b" }, gone.text)
        XCTAssertEqual(gw.send("GET", "/ver?versions&max-keys=-1").errorCode, "InvalidArgument")
    }

    func testDeletingEveryListedVersionEmptiesTheBucket() {
        let listed = entries(gw.send("GET", "/ver?versions").text)
        let objects = listed.map { "<Object><Key>\($0.1)</Key><VersionId>\($0.2)</VersionId></Object>" }.joined()
        let body = Array("<Delete>\(objects)</Delete>".utf8)
        let r = gw.send(
            "POST", "/ver?delete", body: body, headers: [("Content-MD5", base64Encode(Digest.hash(.md5, body)))])
        XCTAssertEqual(r.text.components(separatedBy: "<Deleted>").count - 1, 6, r.text)
        XCTAssertEqual(entries(gw.send("GET", "/ver?versions").text).count, 0)
        XCTAssertEqual(gw.zone.blobCount, 0)
        XCTAssertEqual(gw.send("DELETE", "/ver").status, 204)
    }
}
