import GatewayCore
import XCTest

final class BucketHandlerTests: XCTestCase {
    func testCreateTwiceIsAlreadyOwnedByYouAndListShowsIt() {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/photos").status, 200)
        XCTAssertEqual(gw.send("PUT", "/photos/").errorCode, "BucketAlreadyOwnedByYou")
        let list = gw.send("GET", "/")
        XCTAssert(list.text.contains("<Name>photos</Name>"), list.text)
        XCTAssertEqual(gw.send("HEAD", "/photos").status, 200)
        XCTAssertEqual(gw.send("HEAD", "/nothing-here").status, 404)
    }

    func testInvalidNamesAndLocations() {
        let gw = TestGateway()
        for bad in ["ab", "UPPER", "has_underscore", "-dash", "192.168.1.1", "a..b"] {
            XCTAssertEqual(gw.send("PUT", "/" + bad).errorCode, "InvalidBucketName", bad)
        }
        let body = Array(
            "<CreateBucketConfiguration><LocationConstraint>mars</LocationConstraint></CreateBucketConfiguration>".utf8)
        XCTAssertEqual(gw.send("PUT", "/located", body: body).errorCode, "InvalidLocationConstraint")
        XCTAssertEqual(
            gw.send("PUT", "/located", body: Array("<CreateBucketConfiguration>".utf8)).errorCode, "MalformedXML")
        XCTAssertEqual(gw.send("HEAD", "/located").status, 404)
    }

    func testLocationConstraintIsStoredAndReported() {
        let gw = TestGateway()
        let body = Array(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>se</LocationConstraint></CreateBucketConfiguration>"
                .utf8)
        XCTAssertEqual(gw.send("PUT", "/in-sweden", body: body).status, 200)
        XCTAssert(gw.send("GET", "/in-sweden?location").text.contains(">se</LocationConstraint>"))
        XCTAssertEqual(try gw.metadata.bucket(named: "in-sweden")?.zones, ["zone-a"])
    }

    func testDeleteNonEmptyBucket() {
        let gw = TestGateway()
        gw.send("PUT", "/full")
        gw.send("PUT", "/full/k", body: [1])
        let r = gw.send("DELETE", "/full")
        XCTAssertEqual(r.status, 409)
        XCTAssertEqual(r.errorCode, "BucketNotEmpty")
        gw.send("DELETE", "/full/k")
        XCTAssertEqual(gw.send("DELETE", "/full").status, 204)
        XCTAssertEqual(gw.send("GET", "/full?list-type=2").errorCode, "NoSuchBucket")
    }

    /// A query parameter given twice counts with its first value, wherever it stands.
    func testAParameterGivenTwiceKeepsItsFirstValue() {
        let gw = TestGateway()
        gw.send("PUT", "/twice")
        for k in ["a1", "b1"] { gw.send("PUT", "/twice/" + k, body: [1]) }
        for (uri, shown, hidden) in [
            ("/twice?list-type=2&prefix=a&prefix=b", "a1", "b1"), ("/twice?prefix=b&list-type=2&prefix=a", "b1", "a1"),
        ] {
            let r = gw.send("GET", uri)
            XCTAssertEqual(r.status, 200, uri)
            XCTAssert(r.text.contains("<Key>\(shown)</Key>") && !r.text.contains("<Key>\(hidden)</Key>"), r.text)
        }
    }

    func testListObjectsV2PagesWithDelimiterAndURLEncoding() {
        let gw = TestGateway()
        gw.send("PUT", "/list")
        for k in ["a/1", "a/2", "b", "c d+e", "z/x/y"] {
            gw.send(
                "PUT",
                "/list/" + k.replacingOccurrences(of: " ", with: "%20").replacingOccurrences(of: "+", with: "%2B"),
                body: [1])
        }
        let r = gw.send("GET", "/list?list-type=2&delimiter=%2F&encoding-type=url")
        XCTAssert(r.text.contains("<Prefix>a/</Prefix>"), r.text)
        XCTAssert(r.text.contains("<Key>c%20d%2Be</Key>"), r.text)
        XCTAssert(r.text.contains("<KeyCount>4</KeyCount>"), r.text)
        var keys: [String] = []
        var token: String?
        repeat {
            var uri = "/list?list-type=2&max-keys=2"
            if let t = token {
                uri += "&continuation-token=" + t.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            }
            let page = gw.send("GET", uri).text
            keys += page.components(separatedBy: "<Key>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            token = page.range(of: "<NextContinuationToken>").map { r in
                String(page[r.upperBound...].prefix { $0 != "<" })
            }
        } while token != nil
        XCTAssertEqual(keys, ["a/1", "a/2", "b", "c d+e", "z/x/y"])
        let empty = gw.send("GET", "/list?delimiter=&prefix=a")
        XCTAssert(empty.text.contains("<Key>a/1</Key>"), empty.text)
        XCTAssertEqual(gw.send("GET", "/list?max-keys=-1").errorCode, "InvalidArgument")
    }

    /// V1 without encoding-type (s3cmd, rclone) gets Prefix, Marker, Delimiter and keys raw;
    /// with encoding-type=url, URL-encoded.
    func testListObjectsV1EncodesOnlyWhenAsked() {
        let gw = TestGateway()
        gw.send("PUT", "/listv1")
        gw.send("PUT", "/listv1/a%20b%2Bc/%C3%A9", body: [1])
        let raw = gw.send("GET", "/listv1?prefix=a%20b%2Bc%2F&marker=a%20b%2Bc%2F&delimiter=%2F").text
        XCTAssert(raw.contains("<Prefix>a b+c/</Prefix>"), raw)
        XCTAssert(raw.contains("<Marker>a b+c/</Marker>"), raw)
        XCTAssert(raw.contains("<Delimiter>/</Delimiter>"), raw)
        XCTAssert(raw.contains("<Key>a b+c/é</Key>"), raw)
        XCTAssertFalse(raw.contains("EncodingType"), raw)
        let url = gw.send("GET", "/listv1?prefix=a%20b%2Bc%2F&marker=a%20b%2Bc%2F&delimiter=%2F&encoding-type=url").text
        XCTAssert(url.contains("<Prefix>a%20b%2Bc/</Prefix>"), url)
        XCTAssert(url.contains("<Marker>a%20b%2Bc/</Marker>"), url)
        XCTAssert(url.contains("<Key>a%20b%2Bc/%C3%A9</Key>"), url)
        XCTAssert(url.contains("<EncodingType>url</EncodingType>"), url)
    }

    func testProbedSubresourcesAnswerLikeS3() {
        let gw = TestGateway()
        gw.send("PUT", "/probe")
        XCTAssertEqual(gw.send("GET", "/probe?policy").errorCode, "NoSuchBucketPolicy")
        XCTAssertEqual(gw.send("GET", "/probe?cors").errorCode, "NoSuchCORSConfiguration")
        XCTAssert(gw.send("GET", "/probe?acl").text.contains("FULL_CONTROL"))
        XCTAssertEqual(gw.send("PUT", "/probe?acl", headers: [("x-amz-acl", "private")]).status, 200)
        XCTAssertEqual(gw.send("GET", "/probe?versioning").status, 200)
        XCTAssertEqual(gw.send("GET", "/probe?website").errorCode, "NoSuchWebsiteConfiguration")
        XCTAssert(gw.send("GET", "/probe?logging").text.contains("BucketLoggingStatus"))
        XCTAssertEqual(gw.send("DELETE", "/probe?cors").status, 204)
        XCTAssertEqual(gw.send("GET", "/probe?versions").status, 200)
        XCTAssertEqual(gw.send("PUT", "/probe?versions").status, 501)
    }
}

final class VirtualHostTests: XCTestCase {
    func testBucketFromHostWithAndWithoutPort() {
        let gw = TestGateway()
        XCTAssertEqual(gw.send("PUT", "/", host: "vhost-bucket.s3.example.test:8443").status, 200)
        XCTAssertEqual(gw.send("PUT", "/dir/a%20b", body: [5], host: "vhost-bucket.s3.example.test").status, 200)
        XCTAssertEqual(gw.send("GET", "/vhost-bucket/dir/a%20b").body, [5], "the same object path-style")
        let list = gw.send("GET", "/?list-type=2", host: "VHOST-bucket.s3.example.test:8443")
        XCTAssert(list.text.contains("<Key>dir/a b</Key>"), list.text)
        // The base domain itself, or an unrelated host, stays path-style.
        XCTAssertEqual(gw.send("GET", "/vhost-bucket/dir/a%20b", host: "s3.example.test").body, [5])
        XCTAssert(gw.send("GET", "/", host: "other.example.org").text.contains("ListAllMyBucketsResult"))
    }
}
