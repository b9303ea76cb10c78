import GatewayCore
import XCTest

/// The byte helpers of the request path against the Swift library's own answers.
final class ByteSearchTests: XCTestCase {
    func testPrefixesEqualityAndBytesAgreeWithTheLibrary() {
        let texts = [
            "", "H", "HTTP", "HTTP_", "HTTP_HOST", "http_host", "CONTENT_TYPE", "CONTENT_TYPES", "ÄHTTP_", "a%2Fb",
        ]
        for t in texts {
            var bytes = Array(t.utf8)
            bytes.withUnsafeMutableBufferPointer { b in
                let u = UnsafeBufferPointer(b)
                XCTAssertEqual(ByteSearch.hasPrefix(u, "HTTP_"), t.utf8.starts(with: "HTTP_".utf8), t)
                XCTAssertEqual(ByteSearch.equals(u, "CONTENT_TYPE"), t == "CONTENT_TYPE", t)
                XCTAssertTrue(ByteSearch.hasPrefix(u, ""), t)
            }
            XCTAssertEqual(ByteSearch.hasPrefix(t, "HTTP_"), t.hasPrefix("HTTP_"), t)
            XCTAssertEqual(ByteSearch.contains(t, UInt8(ascii: "%")), t.contains("%"), t)
        }
        // A string made from a slice; one-character literals (stored without a pointer).
        let slice = "xxHTTP_Y".dropFirst(2)
        XCTAssertTrue(ByteSearch.hasPrefix(String(slice), "HTTP_"))
        XCTAssertTrue(ByteSearch.hasPrefix("/a", "/"))
        XCTAssertFalse(ByteSearch.hasPrefix("a/", "/"))
        XCTAssertTrue(ByteSearch.hasPrefix("é!", "é"))
        XCTAssertFalse(ByteSearch.hasPrefix("", "/"))
        "/".utf8CString.withUnsafeBufferPointer { c in
            c.withMemoryRebound(to: UInt8.self) {
                XCTAssertTrue(ByteSearch.equals(UnsafeBufferPointer(rebasing: $0.dropLast()), "/"))
            }
        }
        XCTAssertFalse(ByteSearch.contains("é", 0xC3 + 1))
        XCTAssertTrue(ByteSearch.contains("é", 0xC3))
    }
}
