import XCTest

@testable import SigV4

/// `[s3] signing_hosts`: a request a client signed for the global router's host, re-sent to this
/// gateway after the router's 307, verifies here only when that host is configured.
final class SigningHostsTests: XCTestCase {
    let router = "router.example:443"
    let regional = "fi.example:8443"

    /// A header-signed GET as botocore signs it for `host`, arriving with `arrivesAs` as its Host.
    func signedFor(_ host: String, arrivesAs: String) -> RequestHead {
        let amzDate = "20130524T000000Z"
        let headers: [(String, String)] = [
            ("Host", host), ("X-Amz-Date", amzDate), ("X-Amz-Content-Sha256", CanonicalRequest.emptySHA256),
        ]
        let out = Signer.sign(
            method: "GET", rawURI: "/bucket/key", headers: headers.map { (name: $0.0, value: $0.1) },
            payloadHash: CanonicalRequest.emptySHA256, accessKey: exampleAccessKey, secretKey: exampleSecret,
            region: "us-east-1", service: "s3", amzDate: amzDate)
        return head(
            "GET", "/bucket/key",
            [("Host", arrivesAs)] + headers.dropFirst() + [("Authorization", out.authorization)])
    }

    /// A presigned GET URL made for `host`, arriving with `arrivesAs` as its Host.
    func presignedFor(_ host: String, arrivesAs: String) -> RequestHead {
        let uri = Signer.presign(
            method: "GET", rawPath: "/bucket/key", host: host, accessKey: exampleAccessKey, secretKey: exampleSecret,
            region: "us-east-1", amzDate: "20130524T000000Z", expires: 3600)
        return head("GET", uri, [("Host", arrivesAs)])
    }

    func testARouterSignatureIsRefusedUnlessItsHostIsConfigured() {
        assertS3Error("SignatureDoesNotMatch") {
            _ = try exampleVerifier.authenticate(signedFor(router, arrivesAs: regional), now: exampleNow)
        }
        assertS3Error("SignatureDoesNotMatch") {
            _ = try exampleVerifier.authenticate(presignedFor(router, arrivesAs: regional), now: exampleNow)
        }
    }

    func testARouterSignatureVerifiesWhenItsHostIsConfigured() throws {
        let v = Verifier(credentials: StaticCredentials(), signingHosts: [router])
        XCTAssertEqual(try v.authenticate(signedFor(router, arrivesAs: regional), now: exampleNow).method, .v4Header)
        XCTAssertEqual(
            try v.authenticate(presignedFor(router, arrivesAs: regional), now: exampleNow).method, .v4Query)
        // The request's own Host still verifies, and is tried first.
        XCTAssertEqual(
            try v.authenticate(signedFor(regional, arrivesAs: regional), now: exampleNow).accessKey,
            exampleAccessKey)
        XCTAssertNoThrow(try v.authenticate(presignedFor(regional, arrivesAs: regional), now: exampleNow))
    }

    /// Only the hosts listed: a signature for any other host (another router, a typo'd port) fails.
    func testOnlyTheListedHostsAreTried() {
        let v = Verifier(credentials: StaticCredentials(), signingHosts: [router])
        assertS3Error("SignatureDoesNotMatch") {
            _ = try v.authenticate(signedFor("router.example:444", arrivesAs: regional), now: exampleNow)
        }
        assertS3Error("SignatureDoesNotMatch") {
            _ = try v.authenticate(presignedFor("evil.example", arrivesAs: regional), now: exampleNow)
        }
        // A wrong secret stays wrong under every host.
        let other = Verifier(
            credentials: StaticCredentials(keys: [exampleAccessKey: "not-the-secret"]), signingHosts: [router])
        assertS3Error("SignatureDoesNotMatch") {
            _ = try other.authenticate(signedFor(router, arrivesAs: regional), now: exampleNow)
        }
    }
}
