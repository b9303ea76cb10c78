import GatewayCore
import XCTest

@testable import SigV4

/// Single-chunk bodies: x-amz-content-sha256, Content-MD5 and x-amz-checksum-* headers.
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
final class VerifiedBodyTests: XCTestCase {
    let data = Array("0123456789".utf8)
    var md5Base64: String { base64Encode(Digest.hash(.md5, data)) }

    func body(
        _ headers: [(String, String)], payload: PayloadMode = .unsigned, bytes: [UInt8]? = nil
    ) throws(S3Error) -> VerifiedBody {
        let request = head("PUT", "/b/k", headers)
        return try VerifiedBody(
            source: TrickleSource(bytes ?? data, step: 3), head: request,
            auth: AuthContext(accessKey: "AK", method: .v4Header, payload: payload))
    }

    func testPlainBody() throws {
        let b = try body([("Content-Length", "10")])
        XCTAssertEqual(try drain(b), data)
        XCTAssertEqual(b.md5Hex, "781e5e245d69b566979b86e28d23f2c7")
        XCTAssertEqual(b.decodedLength, 10)
        XCTAssertEqual(b.checksums, [:])
        XCTAssertEqual(try drain(b), [])  // EOF stays EOF
    }

    func testDeclaredSHA256() throws {
        let hex = hexEncode(Digest.hash(.sha256, data))
        XCTAssertEqual(try drain(try body([], payload: .sha256(hex))), data)
        let wrong = try body([], payload: .sha256(CanonicalRequest.emptySHA256))
        assertS3Error("XAmzContentSHA256Mismatch") { _ = try drain(wrong) }
    }

    /// What counts as a declared digest for S3's Object Lock rule: Content-MD5, a checksum
    /// header or trailer; not an algorithm named without a value, nor the payload's SHA-256.
    func testDeclaresDigest() {
        let rows: [([(String, String)], Bool)] = [
            ([], false),
            ([("Content-MD5", md5Base64)], true),
            ([("x-amz-checksum-crc32", "AAAAAA==")], true),
            ([("x-amz-trailer", "x-amz-checksum-crc32")], true),
            ([("x-amz-sdk-checksum-algorithm", "CRC32")], false),
            ([("x-amz-checksum-algorithm", "CRC32")], false),
            ([("x-amz-checksum-mode", "ENABLED")], false),
            ([("x-amz-content-sha256", hexEncode(Digest.hash(.sha256, data)))], false),
        ]
        for (headers, declared) in rows {
            XCTAssertEqual(VerifiedBody.declaresDigest(head("PUT", "/b/k", headers)), declared, "\(headers)")
        }
    }

    func testContentMD5() throws {
        XCTAssertEqual(try drain(try body([("Content-MD5", md5Base64)])), data)
        let wrong = try body([("Content-MD5", base64Encode(Digest.hash(.md5, [])))])
        assertS3Error("BadDigest") { _ = try drain(wrong) }
        assertS3Error("InvalidDigest") { _ = try body([("Content-MD5", "not-base64!")]) }
        assertS3Error("InvalidDigest") { _ = try body([("Content-MD5", base64Encode([1, 2, 3]))]) }
    }

    func testChecksumHeader() throws {
        let b = try body([("x-amz-checksum-crc32", "poTHxg=="), ("x-amz-sdk-checksum-algorithm", "CRC32")])
        _ = try drain(b)
        XCTAssertEqual(b.checksums, [.crc32: "poTHxg=="])
        let wrong = try body([("x-amz-checksum-crc32", "AAAAAA==")])
        assertS3Error("BadDigest") { _ = try drain(wrong) }
        let wrongSHA = try body([("x-amz-checksum-sha256", base64Encode(Digest.hash(.sha256, [])))])
        assertS3Error("BadDigest") { _ = try drain(wrongSHA) }
    }

    func testInvalidChecksumHeaders() {
        assertS3Error("InvalidRequest") { _ = try body([("x-amz-checksum-crc32", "!!!")]) }
        assertS3Error("InvalidRequest") { _ = try body([("x-amz-checksum-crc32", "AAAAAAAAAAA=")]) }  // 8 bytes
        assertS3Error("InvalidRequest") {
            _ = try body([("x-amz-checksum-crc32", "poTHxg=="), ("x-amz-checksum-crc32c", "AAAAAA==")])
        }
        assertS3Error("InvalidRequest") {
            _ = try body([("x-amz-checksum-crc32", "poTHxg=="), ("x-amz-sdk-checksum-algorithm", "SHA256")])
        }
        assertS3Error("InvalidRequest") { _ = try body([("x-amz-sdk-checksum-algorithm", "MD4")]) }
        assertS3Error("InvalidRequest") { _ = try body([("x-amz-trailer", "x-amz-checksum-crc32")]) }
        assertS3Error("InvalidRequest") { _ = try body([("x-amz-checksum-xxhash64", "AAAAAAAAAAA=")]) }
        // Headers that only look like checksums are ignored.
        XCTAssertNoThrow(try body([("x-amz-checksum-mode", "ENABLED"), ("x-amz-checksum-type", "FULL_OBJECT")]))
    }

    func testRequestedAlgorithmIsComputed() throws {
        let b = try body([("x-amz-checksum-algorithm", "crc64nvme")])
        _ = try drain(b)
        XCTAssertEqual(b.checksums, [.crc64nvme: "Ffmx7kz9nB0="])
    }

    func testShortBody() throws {
        let b = try body([("Content-Length", "11")])
        assertS3Error("IncompleteBody") { _ = try drain(b) }
    }

    /// Every check runs before EOF is reported: a handler that stops at 0 has verified bytes.
    func testNoEOFBeforeChecks() throws {
        let b = try body([("Content-MD5", base64Encode(Digest.hash(.md5, [])))])
        var buf = [UInt8](repeating: 0, count: 100)
        var total = 0
        while true {
            let n: Int
            do {
                n = try buf.withUnsafeMutableBytes { try b.read(into: $0) }
            } catch {
                XCTAssertEqual((error as? S3Error)?.code.code, "BadDigest")
                break
            }
            XCTAssertNotEqual(n, 0, "EOF reported despite a bad digest")
            total += n
        }
        XCTAssertEqual(total, 10)
    }

    func testStreamingSignedNeedsSigningContext() {
        assertS3Error("InvalidRequest") {
            _ = try VerifiedBody(
                source: MemorySource(""), head: head("PUT", "/b/k", []),
                auth: AuthContext(accessKey: "AK", method: .v4Header, payload: .streamingSigned(trailer: false)))
        }
    }
}
