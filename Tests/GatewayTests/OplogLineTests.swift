import Foundation
import Gateway
import GatewayCore
import SigV4
import Synchronization
import XCTest

/// One request, one line: every field the document lists, JSON that survives whatever a client
/// puts in a key or a user agent, and nothing secret.
final class OplogLineTests: XCTestCase {
    final class Lines: RequestObserver, @unchecked Sendable {
        let lines = Mutex<[[UInt8]]>([])
        func requestFinished(_ trace: RequestTrace) { lines.withLock { $0.append(OplogLine.encode(trace)) } }
        var all: [[UInt8]] { lines.withLock { $0 } }
    }

    func object(_ line: [UInt8], file: StaticString = #filePath, l: UInt = #line) throws -> [String: Any] {
        XCTAssertEqual(line.last, 0x0A, "a line ends with its newline", file: file, line: l)
        XCTAssertEqual(line.filter { $0 == 0x0A }.count, 1, "one line per record", file: file, line: l)
        XCTAssertFalse(
            line.dropLast().contains { $0 < 0x20 || $0 == 0x7F }, "no raw control character", file: file, line: l)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], file: file, line: l)
    }

    func testEveryFieldInTheDocumentsOrderAndNamesAndNothingUnknown() throws {
        let t = RequestTrace(requestId: "R1", origin: .s3, started: 1_700_000_000.25)
        t.operation = "PutObject"
        t.method = "PUT"
        t.clientAddress = "192.0.2.7"
        t.userAgent = "aws-cli/2.15"
        t.tenant = "acme"
        t.accessKey = "AKIDEXAMPLE"
        t.bucket = "photos"
        t.key = "a/b.jpg"
        t.status = 200
        t.bytesIn = 1234
        t.bytesOut = 0
        t.touched(zone: "se-1")
        t.touched(zone: "fi-1")
        t.finished = 1_700_000_000.25 + 0.012_345_6
        let line = OplogLine.encode(t)
        XCTAssertEqual(
            String(decoding: line, as: UTF8.self),
            #"{"time":"2023-11-14T22:13:20.250Z","request_id":"R1","origin":"s3","tenant":"acme","access_key_id":"AKIDEXAMPLE","operation":"PutObject","method":"PUT","bucket":"photos","key":"a/b.jpg","status":200,"bytes_in":1234,"bytes_out":0,"latency_ms":12.346,"zones":["se-1","fi-1"],"client_ip":"192.0.2.7","user_agent":"aws-cli/2.15"}"#
                + "\n")
        let failed = RequestTrace(requestId: "R2", origin: .s3, started: 0)
        failed.status = 403
        failed.errorCode = "SignatureDoesNotMatch"
        failed.authFailure = "SignatureDoesNotMatch"
        failed.finished = 0
        let o = try object(OplogLine.encode(failed))
        XCTAssertEqual(
            Set(o.keys),
            [
                "time", "request_id", "origin", "status", "error_code", "auth_failure", "bytes_in", "bytes_out",
                "latency_ms", "zones",
            ],
            "unknown fields are absent")
        XCTAssertEqual(o["latency_ms"] as? Double, 0)
        XCTAssertEqual(o["zones"] as? [String], [])
    }

    func testHostileKeysAndUserAgentsStayInTheirStrings() throws {
        let hostile = [
            "quote\" backslash\\ slash/", "new\nline\r\ttab", "nul\u{0}bell\u{7}esc\u{1B}[31mdel\u{7F}",
            "\u{1F}\u{2028}\u{2029}", "c1\u{80}\u{85}csi\u{9B}31m\u{9F}\u{A0}", "ünïcødé 😀 𝄞", "\\u0000\\n",
            "\"}\n{\"status\":200,\"x\":\"",
        ]
        for s in hostile {
            let t = RequestTrace(requestId: "R", origin: .s3, started: 0)
            t.key = s
            t.bucket = s
            t.userAgent = s
            t.touched(zone: s)
            let o = try object(OplogLine.encode(t))
            XCTAssertEqual(o["key"] as? String, s)
            XCTAssertEqual(o["bucket"] as? String, s)
            XCTAssertEqual(o["user_agent"] as? String, s)
            XCTAssertEqual(o["zones"] as? [String], [s])
            XCTAssertEqual(o["status"] as? Int, 0, "the key cannot set a field")
            let line = OplogLine.encode(t)
            XCTAssertFalse(line.contains { $0 < 0x20 && $0 != 0x0A } || line.dropLast().contains(0x0A), s)
            // No C1 control (U+0080…U+009F: `C2 80`…`C2 9F`) raw: a terminal acts on them.
            XCTAssertFalse(zip(line, line.dropFirst()).contains { $0 == 0xC2 && (0x80...0x9F).contains($1) }, s)
            // Nor U+2028 / U+2029 raw (`E2 80 A8` / `E2 80 A9`): JavaScript ends a line there.
            let triples = zip(zip(line, line.dropFirst()), line.dropFirst(2))
            XCTAssertFalse(triples.contains { $0.0 == 0xE2 && $0.1 == 0x80 && ($1 == 0xA8 || $1 == 0xA9) }, s)
            let record = try XCTUnwrap(OplogLine.encode(t).dropLast().withUnsafeBytes { OplogRecord.parse($0) })
            XCTAssertEqual(record.key, s)
        }
    }

    /// Through the gateway: a key whose percent-encoding is not UTF-8, control characters in the
    /// user agent, a signed request with a query string — the line is JSON, holds the key as the
    /// gateway read it, and neither the secret, nor the signature, nor the query.
    func testARealRequestsLineHasNoSecretNoSignatureNoQuery() throws {
        let lines = Lines()
        let gw = TestGateway { $0.observers = [lines] }
        XCTAssertEqual(gw.send("PUT", "/bkt").status, 200)
        let notUTF8 = gw.send("PUT", "/bkt/%FF%FEk", body: [1])
        XCTAssertEqual(notUTF8.status, 400)
        XCTAssertEqual(gw.send("PUT", "/bkt/k%0A%22x%1B%5B31m", body: [1, 2, 3]).status, 200)
        let agent = "evil\u{1B}]0;title\u{7}\"agent"
        let get = gw.send(
            "GET", "/bkt/k%0A%22x%1B%5B31m?response-content-type=zzquerymarkzz", headers: [("User-Agent", agent)])
        XCTAssertEqual(get.status, 200)
        // The signature the client actually sent.
        let authorization = try XCTUnwrap(gw.lastParams["HTTP_AUTHORIZATION"])
        let signature = String(try XCTUnwrap(authorization.components(separatedBy: "Signature=").last))
        XCTAssertEqual(gw.send("GET", "/bkt/nothing").status, 404)
        XCTAssertEqual(gw.send("GET", "/bkt", secret: "wrong-secret-zz").status, 403)
        let all = lines.all
        XCTAssertEqual(all.count, 6)
        let objects = try all.map { try object($0) }
        XCTAssertEqual(objects[1]["status"] as? Int, 400)
        XCTAssertEqual(objects[1]["error_code"] as? String, notUTF8.errorCode)
        XCTAssertEqual(objects[2]["key"] as? String, "k\n\"x\u{1B}[31m")
        XCTAssertEqual(objects[2]["access_key_id"] as? String, TestGateway.accessKey)
        XCTAssertEqual(objects[3]["user_agent"] as? String, agent)
        XCTAssertEqual(objects[3]["operation"] as? String, "GetObject")
        XCTAssertEqual(objects[3]["bytes_out"] as? Int, 3)
        XCTAssertEqual(objects[4]["error_code"] as? String, "NoSuchKey")
        XCTAssertEqual(objects[4]["status"] as? Int, 404)
        XCTAssertEqual(objects[5]["auth_failure"] as? String, "SignatureDoesNotMatch")
        XCTAssertNil(objects[5]["access_key_id"])

        let text = all.map { String(decoding: $0, as: UTF8.self) }.joined()
        XCTAssertEqual(signature.count, 64)
        for secret in [TestGateway.secretKey, "wrong-secret-zz", signature, "zzquerymarkzz", "Signature=", "AWS4-HMAC"]
        {
            XCTAssertFalse(text.contains(secret), "\(secret) in the log")
        }
    }
}
