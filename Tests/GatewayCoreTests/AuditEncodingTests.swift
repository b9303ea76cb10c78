import GatewayCore
import XCTest

/// The audit chain's bytes: JSON details and the canonical record a hash covers. They are built
/// byte by byte and must stay exactly what they were (stored records are verified against
/// them), so the expected texts below are literal, taken from the earlier String-based code.
final class AuditEncodingTests: XCTestCase {
    func testQuotedEscapesExactlyQuotesBackslashesAndControls() {
        let table: [(String, String)] = [
            ("", #""""#),
            ("plain", #""plain""#),
            ("q\"uote", #""q\"uote""#),
            ("back\\slash", #""back\\slash""#),
            ("nl\ncr\rtab\t", #""nl\ncr\rtab\t""#),
            ("nul\u{0}x\u{1f}y\u{7f}", "\"nul\\u0000x\\u001fy\u{7f}\""),
            ("é ü €", "\"é ü €\""),
            ("😀 emoji", "\"😀 emoji\""),
            ("\u{2028}", "\"\u{2028}\""),
        ]
        for (input, expected) in table {
            XCTAssertEqual(AuditValue.quoted(input), expected, input.debugDescription)
            XCTAssertEqual(AuditValue.object([("k", .string(input))]), "{\"k\":\(expected)}", input.debugDescription)
        }
    }

    func testObjectRendersEveryValueKindInOrder() {
        let detail = AuditValue.object([
            ("etag", .string("\"abc\"")), ("size", .int(-42)), ("zones", .strings(["a", "b\"c"])),
            ("legal_hold", .bool(true)), ("empty", .strings([])), ("off", .bool(false)),
        ])
        XCTAssertEqual(
            detail, #"{"etag":"\"abc\"","size":-42,"zones":["a","b\"c"],"legal_hold":true,"empty":[],"off":false}"#)
        XCTAssertEqual(AuditValue.object([]), "{}")
    }

    func testCanonicalBytesAreLengthPrefixedFieldsInTheirOrder() {
        var actor = AuditActor()
        actor.requestId = "req-1"
        actor.origin = "s3"
        actor.tenant = "t"
        actor.accessKey = "AKID"
        actor.operation = "PutObject"
        actor.clientIP = "127.0.0.1"
        let entry = AuditEntry("object.put", bucket: "b", key: "k/é\n", detail: [("size", .int(3))])
        let r = AuditRecord(
            seq: 7, time: 1_700_000_000_123, actor: actor, entry: entry, prevHash: AuditRecord.genesisHash,
            sha256Hex: { bytes in String(bytes.count) })
        let tail =
            "\n13:1700000000123\n5:req-1\n2:s3\n1:t\n4:AKID\n9:PutObject\n10:object.put\n1:b\n5:k/é\n\n"
            + "10:{\"size\":3}\n9:127.0.0.1\n64:" + String(repeating: "0", count: 64) + "\n"
        XCTAssertEqual(String(decoding: r.canonical(), as: UTF8.self), "s3gw-audit-v1\n1:7" + tail)
        XCTAssertEqual(String(decoding: r.canonical(seq: 9), as: UTF8.self), "s3gw-audit-v1\n1:9" + tail)
        for n in [0, 10, -12, Int64.max, Int64.min] {
            let s = String(n)
            XCTAssertEqual(
                String(decoding: r.canonical(seq: n), as: UTF8.self), "s3gw-audit-v1\n\(s.count):\(s)" + tail)
        }
        // The hash covers those bytes (here: the stand-in hasher gives their count).
        XCTAssertEqual(r.hash, String(r.canonical().count))
    }
}
