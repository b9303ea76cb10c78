import GatewayCore
import XCTest

@testable import SigV4

/// Generic SigV4 signers (botocore's `SigV4Auth`, AWS's rule for every service but S3) sign the
/// path URI-encoded twice; the admin API accepts that as well as S3's single encoding.
final class DoubleEncodedPathTests: XCTestCase {
    let path = "/admin/tenants/acme/users/a%40b%2Bc"

    func head(canonicalURI: String) -> RequestHead {
        let date = "20130524T000000Z"
        let hash = CanonicalRequest.emptySHA256
        let headers: [(name: String, value: String)] = [
            ("host", "gw.example.test"), ("x-amz-date", date), ("x-amz-content-sha256", hash),
        ]
        let cr = CanonicalRequest.build(
            method: "GET", canonicalURI: canonicalURI, canonicalQuery: "",
            canonicalHeaders: CanonicalRequest.canonicalHeaders(
                headers, signed: ["host", "x-amz-content-sha256", "x-amz-date"]),
            signedHeaders: "host;x-amz-content-sha256;x-amz-date", payloadHash: hash)
        let scope = Signer.scope(amzDate: date, region: "us-east-1", service: "s3")
        let key = Signer.signingKey(secret: exampleSecret, date: "20130524", region: "us-east-1", service: "s3")
        let sig = Signer.signature(
            signingKey: key,
            stringToSign: CanonicalRequest.stringToSign(amzDate: date, scope: scope, canonicalRequest: cr))
        let auth =
            "AWS4-HMAC-SHA256 Credential=\(exampleAccessKey)/\(scope), SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\(sig)"
        return RequestHead(method: "GET", rawURI: path, headers: headers + [("authorization", auth)])
    }

    func testADoubleEncodedSignatureIsAcceptedOnlyWhereAsked() throws {
        let double = head(canonicalURI: "/admin/tenants/acme/users/a%2540b%252Bc")
        XCTAssertThrowsError(try exampleVerifier.authenticate(double, now: exampleNow))
        XCTAssertEqual(
            try exampleVerifier.authenticate(double, now: exampleNow, doubleEncodedPath: true).accessKey,
            exampleAccessKey)
    }

    func testASingleEncodedSignatureStillWorks() throws {
        let single = head(canonicalURI: path)
        XCTAssertNoThrow(try exampleVerifier.authenticate(single, now: exampleNow))
        XCTAssertNoThrow(try exampleVerifier.authenticate(single, now: exampleNow, doubleEncodedPath: true))
    }

    func testAWrongSignatureFailsBothWays() {
        let wrong = head(canonicalURI: "/admin/tenants/acme/users/other")
        XCTAssertThrowsError(try exampleVerifier.authenticate(wrong, now: exampleNow, doubleEncodedPath: true))
    }
}
