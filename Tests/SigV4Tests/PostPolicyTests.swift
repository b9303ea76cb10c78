import Foundation
import GatewayCore
import XCTest

@testable import SigV4

final class PostPolicyTests: XCTestCase {
    struct Keys: CredentialLookup {
        func secretKey(forAccessKey key: String) -> String? { key == "AKIDPOST" ? "post-secret" : nil }
    }

    let verifier = Verifier(credentials: Keys())
    let now: Double = 1_700_000_000  // 2023-11-14T22:13:20Z

    func policy(_ conditions: String, expiration: String = "2023-11-15T00:00:00.000Z") -> String {
        base64Encode(Array("{\"expiration\": \"\(expiration)\", \"conditions\": [\(conditions)]}".utf8))
    }

    func v4Fields(_ policyB64: String, secret: String = "post-secret") -> [String: String] {
        let key = Signer.signingKey(secret: secret, date: "20231114", region: "us-east-1", service: "s3")
        return [
            "policy": policyB64, "x-amz-algorithm": "AWS4-HMAC-SHA256",
            "x-amz-credential": "AKIDPOST/20231114/us-east-1/s3/aws4_request", "x-amz-date": "20231114T220000Z",
            "x-amz-signature": Signer.signature(signingKey: key, stringToSign: policyB64), "key": "uploads/a.txt",
        ]
    }

    func testV4AndV2SignaturesOverThePolicy() throws {
        let p = policy(#"{"bucket": "b"}, ["starts-with", "$key", "uploads/"], ["content-length-range", 1, 100]"#)
        let v4 = try verifier.verifyPostForm(v4Fields(p), now: now)
        XCTAssertEqual(v4.accessKey, "AKIDPOST")
        XCTAssertEqual(v4.contentLengthRange, 1...100)
        let v2: [String: String] = [
            "policy": p, "awsaccesskeyid": "AKIDPOST",
            "signature": Signer.signatureV2(secretKey: "post-secret", stringToSign: p),
        ]
        XCTAssertEqual(try verifier.verifyPostForm(v2, now: now).accessKey, "AKIDPOST")
    }

    func testRejectsBadSignatureExpiryAndJSON() {
        let p = policy(#"{"bucket": "b"}"#)
        XCTAssertThrowsError(try verifier.verifyPostForm(v4Fields(p, secret: "wrong"), now: now)) {
            XCTAssertEqual(($0 as? S3Error)?.code.code, "SignatureDoesNotMatch")
        }
        XCTAssertThrowsError(try verifier.verifyPostForm(v4Fields(p), now: now + 86400)) {
            XCTAssertEqual(($0 as? S3Error)?.message, "Invalid according to Policy: Policy expired.")
        }
        XCTAssertThrowsError(try verifier.verifyPostForm(v4Fields(base64Encode(Array("{nope".utf8))), now: now)) {
            XCTAssertEqual(($0 as? S3Error)?.code.code, "InvalidPolicyDocument")
        }
        var unsigned = v4Fields(p)
        unsigned["x-amz-signature"] = nil
        unsigned["x-amz-algorithm"] = nil
        XCTAssertThrowsError(try verifier.verifyPostForm(unsigned, now: now)) {
            XCTAssertEqual(($0 as? S3Error)?.code.code, "AccessDenied")
        }
    }

    func testConditionsAndExtraFields() throws {
        let p = try verifier.verifyPostForm(
            v4Fields(
                policy(
                    #"{"bucket": "b"}, ["starts-with", "$key", "uploads/"], ["eq", "$Content-Type", "text/plain"], {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": "AKIDPOST/20231114/us-east-1/s3/aws4_request"}, {"x-amz-date": "20231114T220000Z"}"#
                )), now: now)
        var fields = v4Fields("ignored")
        fields["bucket"] = "b"
        fields["content-type"] = "text/plain"
        XCTAssertNoThrow(try p.check(fields: fields))
        fields["key"] = "elsewhere/a.txt"
        XCTAssertThrowsError(try p.check(fields: fields)) {
            XCTAssert(($0 as! S3Error).message.contains("starts-with"))
        }
        fields["key"] = "uploads/a.txt"
        fields["content-type"] = "image/png"
        XCTAssertThrowsError(try p.check(fields: fields)) { XCTAssert(($0 as! S3Error).message.contains("eq")) }
        fields["content-type"] = "text/plain"
        fields["x-amz-meta-sneaky"] = "1"
        XCTAssertThrowsError(try p.check(fields: fields)) {
            XCTAssert(($0 as! S3Error).message.contains("x-amz-meta-sneaky"))
        }
        fields["x-amz-meta-sneaky"] = nil
        fields["x-ignore-me"] = "1"
        XCTAssertNoThrow(try p.check(fields: fields))
    }
}
