import GatewayCore
import XCTest

/// Header values as bytes: every octet survives decode → encode, ASCII is unchanged, and text
/// enters as its UTF-8 bytes.
final class HeaderBytesTests: XCTestCase {
    func testHeaderBytesRoundTripEveryByte() {
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(HeaderBytes.encode(HeaderBytes.decode(all)), all)
        XCTAssertEqual(HeaderBytes.decode(Array("plain ascii".utf8)), "plain ascii")
        XCTAssertEqual(HeaderBytes.encode(HeaderBytes.fromText("café €")), Array("café €".utf8))
        XCTAssertEqual(HeaderBytes.text(HeaderBytes.fromText("café €")), "café €")
        XCTAssertNil(HeaderBytes.text(HeaderBytes.decode([0x63, 0xE9])), "0xE9 alone is not UTF-8")
        XCTAssertEqual(HeaderBytes.byteCount(HeaderBytes.decode([0xE9, 0xC3, 0xA9])), 3)
    }

    /// The word-at-a-time ASCII check agrees with a byte-by-byte one for every length around a
    /// word and every position of a high byte, in small (inline) and large strings.
    func testIsASCIIAgreesWithEveryByte() {
        for length in 0..<40 {
            let plain = String(repeating: "a", count: length)
            XCTAssertTrue(HeaderBytes.isASCII(plain), "\(length)")
            for position in 0..<length {
                var bytes = Array(plain.utf8)
                bytes[position] = 0xC3
                let value = HeaderBytes.decode(bytes)  // one scalar U+00C3: two UTF-8 bytes
                XCTAssertFalse(HeaderBytes.isASCII(value), "\(length) \(position)")
                bytes.withUnsafeBufferPointer { XCTAssertFalse(HeaderBytes.isASCII($0), "\(length) \(position)") }
            }
        }
        XCTAssertTrue(HeaderBytes.isASCII("\u{7F}\u{0}"))
        XCTAssertFalse(HeaderBytes.isASCII("€"))
    }
}
