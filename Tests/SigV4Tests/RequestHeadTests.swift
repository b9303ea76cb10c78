import GatewayCore
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

    /// The query is split once, when the head is made; every reader shares the result.
    func testQueryParserTable() {
        let cases: [(query: String, raw: [String], items: [String])] = [
            ("", [], []),
            ("a=1&a=2&a", ["a=1", "a=2", "a"], ["a=1", "a=2", "a="]),  // duplicates kept, in order
            ("e=&f", ["e=", "f"], ["e=", "f="]),  // empty value and no "=" differ only raw
            ("k=v=w==", ["k=v=w=="], ["k=v=w=="]),  // only the first "=" splits
            ("=v", ["=v"], ["=v"]),  // an empty name
            ("p=a+b%20c%2B", ["p=a+b%20c%2B"], ["p=a+b c+"]),  // '+' stays '+'
            ("bad=%zz&t=%4&%gg=1", ["bad=%zz", "t=%4", "%gg=1"], ["bad=%zz", "t=%4", "%gg=1"]),
            ("nonutf8=%FF", ["nonutf8=%FF"], ["nonutf8=%FF"]),  // decodes to no UTF-8: left as sent
            ("u=%E2%82%AC&%C3%A9=x", ["u=%E2%82%AC", "%C3%A9=x"], ["u=€", "é=x"]),
            ("raw=€é", ["raw=€é"], ["raw=€é"]),  // unescaped UTF-8 on the wire
            ("&&a=1&&", ["a=1"], ["a=1"]),
            ("x-id=GetObject&partNumber=1", ["x-id=GetObject", "partNumber=1"], ["x-id=GetObject", "partNumber=1"]),
        ]
        for c in cases {
            let h = head("GET", "/b/k?" + c.query, [])
            XCTAssertEqual(h.rawQuery, c.query)
            XCTAssertEqual(h.rawPath, "/b/k")
            XCTAssertEqual(h.rawQueryPairs.map { $0.name + ($0.value.map { "=" + $0 } ?? "") }, c.raw, c.query)
            XCTAssertEqual(h.queryItems.map { $0.name + "=" + $0.value }, c.items, c.query)
        }
        // The canonical query from the shared split, against strings written out by hand (sorted
        // by encoded name, then value; everything but unreserved characters encoded).
        let canonical: [(query: String, expected: String)] = [
            ("", ""),
            ("a=1&a=2&a", "a=&a=1&a=2"),
            ("p=a+b%20c%2B", "p=a%2Bb%20c%2B"),
            ("u=%E2%82%AC&%C3%A9=x", "%C3%A9=x&u=%E2%82%AC"),
            ("raw=\u{20AC}\u{E9}", "raw=%E2%82%AC%C3%A9"),
            ("list-type=2&prefix=a%2Fb&delimiter=%2F", "delimiter=%2F&list-type=2&prefix=a%2Fb"),
        ]
        for c in canonical {
            XCTAssertEqual(
                CanonicalRequest.canonicalQuery(pairs: head("GET", "/b?" + c.query, []).rawQueryPairs), c.expected,
                c.query)
        }
        let h = head("GET", "/b?a=1&a=2&X-Amz-Security-Token=t%2F", [])
        XCTAssertEqual(h.queryItem("a"), "1")
        XCTAssertEqual(h.queryItem("X-Amz-Security-Token"), "t/")
        XCTAssertNil(h.queryItem("x-amz-security-token"))
        XCTAssertEqual(head("GET", "/only?", []).rawPath, "/only")
        XCTAssertEqual(head("GET", "/only?", []).queryItems.count, 0)
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

    /// A query component already in its canonical form is kept as sent; every other one is
    /// decoded and re-encoded. The shortcut must agree with the long way for each shape.
    func testCanonicalComponentShortcut() {
        let cases: [(String, Bool)] = [
            ("AKID%2F20261130%2Fus-east-1%2Fs3%2Faws4_request", true), ("a%20b", true), ("plain-._~", true),
            ("%2f", false), ("%41", false), ("%7E", false), ("%", false), ("%2", false), ("%G0", false),
            ("a+b", false), ("a b", false), ("é", false), ("%E2%82%AC", true), ("", true),
        ]
        for (raw, canonical) in cases {
            XCTAssertEqual(CanonicalRequest.isCanonicallyEncoded(raw), canonical, raw)
            let long = uriEncodeBytes(percentDecodeBytes(raw) ?? Array(raw.utf8), encodeSlash: true)
            XCTAssertEqual(CanonicalRequest.canonicalComponent(raw), long, raw)
            if canonical { XCTAssertEqual(long, raw, raw) }
        }
    }

    /// The verifier hashes the canonical request part by part: the same string to sign as the
    /// one built whole, for ASCII parts, header values with obs-text bytes, a UTF-8 path and
    /// empty parts.
    func testStreamedStringToSignEqualsTheBuiltOne() {
        let latin1 = HeaderBytes.decode([0x63, 0x61, 0x66, 0xE9])  // "caf" + byte 0xE9
        let cases: [(String, String, String, String, String, String)] = [
            ("GET", "/b/k", "X-Amz-Date=1", "host:h\n", "host", "UNSIGNED-PAYLOAD"),
            ("PUT", "/b/caf\u{E9}/\u{20AC}", "", "host:h\nx-amz-meta-a:\(latin1)\n", "host;x-amz-meta-a", latin1),
            ("", "", "", "", "", ""),
        ]
        for (method, uri, query, headers, signed, payload) in cases {
            let built = CanonicalRequest.build(
                method: method, canonicalURI: uri, canonicalQuery: query, canonicalHeaders: headers,
                signedHeaders: signed, payloadHash: payload)
            XCTAssertEqual(
                CanonicalRequest.stringToSign(
                    amzDate: "20261130T000000Z", scope: "20261130/us-east-1/s3/aws4_request", method: method,
                    canonicalURI: uri, canonicalQuery: query, canonicalHeaders: headers, signedHeaders: signed,
                    payloadHash: payload),
                CanonicalRequest.stringToSign(
                    amzDate: "20261130T000000Z", scope: "20261130/us-east-1/s3/aws4_request", canonicalRequest: built),
                uri)
        }
    }
}
