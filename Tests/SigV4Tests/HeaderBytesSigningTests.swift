import GatewayCore
import XCTest

@testable import SigV4

/// Header values are signed as the bytes that were sent (HeaderBytes: one scalar per byte), so
/// a Latin-1 byte and a UTF-8 sequence in metadata both verify, and neither is re-encoded.
final class HeaderBytesSigningTests: XCTestCase {
    // MARK: - Vector computed independently over the raw request bytes (Python hmac/hashlib):
    // x-amz-meta-latin is the single byte 0xE9 after "caf", x-amz-meta-utf8 the bytes C3 A9.
    static let signature = "78f65f20457b3a90326823ea2576189e8192aaaa69dae683638e48f7e5628327"

    func head(signature: String) -> RequestHead {
        let signed = "host;x-amz-content-sha256;x-amz-date;x-amz-meta-latin;x-amz-meta-utf8"
        return RequestHead(
            method: "PUT", rawURI: "/bucket/key",
            headers: [
                ("host", "localhost:8080"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                ("x-amz-date", "20130524T000000Z"),
                // As FastCGIExchange hands them over: each byte one scalar.
                ("x-amz-meta-latin", HeaderBytes.decode([0x63, 0x61, 0x66, 0xE9])),
                ("x-amz-meta-utf8", HeaderBytes.decode([0x63, 0x61, 0x66, 0xC3, 0xA9])),
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=\(exampleAccessKey)/20130524/us-east-1/s3/aws4_request, SignedHeaders=\(signed), Signature=\(signature)"
                ),
            ])
    }

    func testRawHeaderBytesAreWhatIsSigned() throws {
        XCTAssertNoThrow(try exampleVerifier.authenticate(head(signature: Self.signature), now: exampleNow))
        XCTAssertThrowsError(
            try exampleVerifier.authenticate(head(signature: String(repeating: "0", count: 64)), now: exampleNow))
    }

    func testTheSignerSignsTheSameBytes() {
        let out = Signer.sign(
            method: "PUT", rawURI: "/bucket/key",
            headers: [
                ("host", "localhost:8080"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                ("x-amz-date", "20130524T000000Z"), ("x-amz-meta-latin", HeaderBytes.decode([0x63, 0x61, 0x66, 0xE9])),
                ("x-amz-meta-utf8", HeaderBytes.decode([0x63, 0x61, 0x66, 0xC3, 0xA9])),
            ], payloadHash: "UNSIGNED-PAYLOAD", accessKey: exampleAccessKey, secretKey: exampleSecret,
            region: "us-east-1", service: "s3", amzDate: "20130524T000000Z")
        XCTAssertEqual(out.signature, Self.signature)
    }
}
