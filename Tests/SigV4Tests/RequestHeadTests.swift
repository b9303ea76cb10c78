import XCTest

@testable import SigV4

final class RequestHeadTests: XCTestCase {
    func testPathQueryAndHeaders() {
        let h = head("GET", "/bucket/a%20b?list-type=2&prefix=x", [("X-Amz-Date", "  v  "), ("X-Amz-Date", "w")])
        XCTAssertEqual(h.rawPath, "/bucket/a%20b")
        XCTAssertEqual(h.rawQuery, "list-type=2&prefix=x")
        XCTAssertEqual(h.header("x-amz-date"), "v")
        XCTAssertEqual(h.headers.map(\.name), ["x-amz-date", "x-amz-date"])
        XCTAssertEqual(head("GET", "/b", []).rawQuery, "")
    }

    func testQueryItems() {
        let items = head("GET", "/b?uploads&uploads=&prefix=a%2Fb+c&empty=&k=v=w&&bad=%zz", []).queryItems
        XCTAssertEqual(items.map(\.name), ["uploads", "uploads", "prefix", "empty", "k", "bad"])
        XCTAssertEqual(items.map(\.value), ["", "", "a/b+c", "", "v=w", "%zz"])
    }

    func testPercentDecode() {
        XCTAssertEqual(percentDecode("a%2Bb+c"), "a+b+c")
        XCTAssertEqual(percentDecode("%E2%82%ac"), "€")
        XCTAssertNil(percentDecode("%"))
        XCTAssertNil(percentDecode("%4"))
        XCTAssertNil(percentDecode("%GG"))
        XCTAssertNil(percentDecode("%FF"))  // not UTF-8
    }

    func testURIEncode() {
        XCTAssertEqual(uriEncode("a b/c~d_e-f.g+h€", encodeSlash: false), "a%20b/c~d_e-f.g%2Bh%E2%82%AC")
        XCTAssertEqual(uriEncode("a/b", encodeSlash: true), "a%2Fb")
        XCTAssertEqual(uriEncode("$", encodeSlash: true), "%24")
    }

    func testCanonicalQueryNormalisesEncodingAndOrder() {
        // curl / hand-written clients escape differently and do not sort.
        XCTAssertEqual(
            CanonicalRequest.canonicalQuery("prefix=a/b&list-type=2&delimiter=%2f&b=2&b=1&uploads"),
            "b=1&b=2&delimiter=%2F&list-type=2&prefix=a%2Fb&uploads=")
        XCTAssertEqual(
            CanonicalRequest.canonicalQuery("a=%7e&c=+&X-Amz-Signature=x", excluding: "X-Amz-Signature"), "a=~&c=%2B")
        XCTAssertEqual(CanonicalRequest.canonicalQuery(""), "")
    }

    func testCanonicalHeaderValue() {
        XCTAssertEqual(CanonicalRequest.canonicalHeaderValue("  a   b \t c  "), "a b c")
    }
}
