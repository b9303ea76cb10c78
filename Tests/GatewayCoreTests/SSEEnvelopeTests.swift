import GatewayCore
import XCTest

/// The `sse` column's text: stable bytes, every mode back and forth, damage refused.
final class SSEEnvelopeTests: XCTestCase {
    func testEncodeDecode() throws {
        let e = SSEEnvelope(mode: .kms("k-1"), kekId: "k-1", kekVersion: 3, wrapped: "AAAA", tagDigest: "ab")
        XCTAssertEqual(e.encoded, #"{"v":1,"m":"aws:kms","k":"k-1","kv":3,"w":"AAAA","s":65536,"td":"ab"}"#)
        XCTAssertEqual(try SSEEnvelope.decode(e.encoded), e)
        for m in [
            SSEEnvelope(mode: .s3, kekId: "t-key", kekVersion: 1, wrapped: "x+/="),
            SSEEnvelope(mode: .customer, kekId: "", kekVersion: 0, wrapped: "abc"),
        ] {
            XCTAssertEqual(try SSEEnvelope.decode(m.encoded), m)
        }
        XCTAssertNil(try SSEEnvelope.decode(""))
        // Whitespace, key order and escapes are JSON's, not ours.
        let loose = #" { "td" : "", "s":65536, "w":"a\/b", "kv":1, "k":"id\u0031", "m":"AES256", "v":1 } "#
        XCTAssertEqual(
            try SSEEnvelope.decode(loose), SSEEnvelope(mode: .s3, kekId: "id1", kekVersion: 1, wrapped: "a/b"))
        XCTAssertEqual(e.wrapAAD, Array("s3gw-dek-v1|aws:kms|k-1|3".utf8))
        XCTAssertEqual(SSEEnvelope.Mode.customer.name, "SSE-C")
    }

    /// A multipart object's part numbers, kept as ranges; malformed ranges are damage.
    func testPartNumbers() throws {
        var e = SSEEnvelope(mode: .s3, kekId: "t", kekVersion: 1, wrapped: "AAAA")
        e.parts = [1, 2, 3, 7, 9, 10]
        XCTAssert(e.encoded.hasSuffix(#","pn":"1-3,7,9-10"}"#), e.encoded)
        XCTAssertEqual(try SSEEnvelope.decode(e.encoded)?.parts, [1, 2, 3, 7, 9, 10])
        for bad in ["", "3-1", "a", "1,,2", "1-2-3", "-1", "1-20000"] {
            let text = #"{"v":1,"m":"AES256","k":"t","kv":1,"w":"AAAA","s":65536,"td":"","pn":"\#(bad)"}"#
            XCTAssertThrowsError(try SSEEnvelope.decode(text), bad)
        }
    }

    func testMalformedIsCorrupt() {
        let bad = [
            "{", "[]", #"{"v":2,"m":"AES256","k":"a","kv":1,"w":"x","s":65536}"#,
            #"{"v":1,"m":"AES256","k":"","kv":1,"w":"x","s":65536}"#,  // SSE-S3 without its key
            #"{"v":1,"m":"SSE-C","k":"a","kv":1,"w":"x","s":65536}"#,  // SSE-C names no key
            #"{"v":1,"m":"DES","k":"a","kv":1,"w":"x","s":65536}"#,
            #"{"v":1,"m":"AES256","k":"a","kv":1,"w":"","s":65536}"#,
            #"{"v":1,"m":"AES256","k":"a","kv":1,"w":"x","s":0}"#,
            #"{"v":1,"m":"AES256","k":"a","kv":1,"w":"x","s":65536} x"#,
            #"{"v":1,"v":1,"m":"AES256","k":"a","kv":1,"w":"x","s":65536}"#,
        ]
        for text in bad {
            XCTAssertThrowsError(try SSEEnvelope.decode(text), text) { e in
                XCTAssertEqual(e as? SSEError, .corrupt("malformed encryption envelope"))
            }
        }
    }

    func testErrorsMapToS3() {
        XCTAssertEqual(SSEError.wrongKey.s3Error.code, .accessDenied)
        XCTAssertEqual(SSEError.keyNotFound("alias/x").s3Error.code.code, "KMS.NotFoundException")
        XCTAssertEqual(SSEError.keyNotFound("alias/x").s3Error.code.status, 400)
        XCTAssertEqual(SSEError.keyDisabled("k").s3Error.code.code, "KMS.DisabledException")
        XCTAssertEqual(SSEError.corrupt("x").s3Error.code, .internalError)
    }
}
