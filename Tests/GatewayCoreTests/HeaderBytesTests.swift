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
}
