import GatewayCore
import Synchronization
import XCTest

@testable import SigV4

/// The verifier's cache of derived signing keys: a key is reused only for the very credential,
/// secret and scope it was derived for, and the credential is looked up on every request.
final class SigningKeyCacheTests: XCTestCase {
    /// Credentials a test changes between requests (a rotation, a revocation).
    final class ChangingCredentials: CredentialLookup {
        let keys = Mutex<[String: String]>([exampleAccessKey: exampleSecret])
        func secretKey(forAccessKey key: String) -> String? { keys.withLock { $0[key] } }
        func set(_ key: String, _ secret: String?) { keys.withLock { $0[key] = secret } }
    }

    func signed(secret: String = exampleSecret, amzDate: String = "20130524T000000Z") -> RequestHead {
        let all = [
            (name: "Host", value: "localhost:8080"), (name: "X-Amz-Date", value: amzDate),
            (name: "X-Amz-Content-Sha256", value: CanonicalRequest.emptySHA256),
        ]
        let out = Signer.sign(
            method: "GET", rawURI: "/bucket/key", headers: all, payloadHash: CanonicalRequest.emptySHA256,
            accessKey: exampleAccessKey, secretKey: secret, region: "us-east-1", service: "s3", amzDate: amzDate)
        return RequestHead(
            method: "GET", rawURI: "/bucket/key", headers: all + [(name: "Authorization", value: out.authorization)])
    }

    func testHitIsTheDerivedKeyAndEveryScopePartIsPartOfTheKey() {
        let cache = SigningKeyCache(shardCount: 1)
        func derive(_ ak: String, _ secret: String, _ date: String, _ region: String, _ service: String) {
            let got = cache.signingKey(accessKey: ak, secret: secret, date: date, region: region, service: service)
            XCTAssertEqual(
                got.key, Signer.signingKey(secret: secret, date: date, region: region, service: service),
                "\(ak) \(date) \(region) \(service)")
            if got.fresh { cache.remember(got.scope, got.key) }
        }
        derive("AK", "s1", "20130524", "us-east-1", "s3")
        derive("AK", "s1", "20130524", "us-east-1", "s3")  // a hit
        XCTAssertEqual(cache.keys.count, 1)
        derive("AK", "s1", "20130525", "us-east-1", "s3")  // another day
        derive("AK", "s1", "20130524", "eu-west-1", "s3")  // another region
        derive("AK", "s1", "20130524", "us-east-1", "sts")  // another service
        derive("AK", "s2", "20130524", "us-east-1", "s3")  // a rotated secret
        derive("AK2", "s1", "20130524", "us-east-1", "s3")  // another key with the same secret
        XCTAssertEqual(cache.keys.count, 6)
    }

    func testBounded() {
        let cache = SigningKeyCache(shardCount: 2, maxEntriesPerShard: 3)
        for day in 10...40 {
            let got = cache.signingKey(accessKey: "AK", secret: "s", date: "201305\(day)", region: "r", service: "s3")
            XCTAssertEqual(got.key, Signer.signingKey(secret: "s", date: "201305\(day)", region: "r", service: "s3"))
            cache.remember(got.scope, got.key)
            XCTAssertLessThanOrEqual(cache.keys.count, 6)
        }
    }

    /// A caller who knows an access key id but not its secret sends signatures over made-up
    /// scopes: none is held (no memory to fill, no shard to flush); a verified one is.
    func testOnlyAVerifiedSignaturesKeyIsHeld() throws {
        let verifier = Verifier(credentials: StaticCredentials())
        for region in ["made-up-1", "made-up-2", String(repeating: "r", count: 8_000)] {
            let all = [
                (name: "Host", value: "localhost:8080"), (name: "X-Amz-Date", value: "20130524T000000Z"),
                (name: "X-Amz-Content-Sha256", value: CanonicalRequest.emptySHA256),
            ]
            let out = Signer.sign(
                method: "GET", rawURI: "/bucket/key", headers: all, payloadHash: CanonicalRequest.emptySHA256,
                accessKey: exampleAccessKey, secretKey: "not-the-secret", region: region, service: "s3",
                amzDate: "20130524T000000Z")
            let head = RequestHead(
                method: "GET", rawURI: "/bucket/key", headers: all + [(name: "Authorization", value: out.authorization)]
            )
            XCTAssertThrowsError(try verifier.authenticate(head, now: exampleNow))
        }
        XCTAssertEqual(verifier.signingKeys.keys.count, 0, "no key of a failed signature is held")
        _ = try verifier.authenticate(signed(), now: exampleNow)
        XCTAssertEqual(verifier.signingKeys.keys.count, 1)
    }

    func testRevokedKeyIsRefusedAtOnceDespiteACachedSigningKey() throws {
        let credentials = ChangingCredentials()
        let verifier = Verifier(credentials: credentials)
        XCTAssertEqual(try verifier.authenticate(signed(), now: exampleNow).accessKey, exampleAccessKey)
        credentials.set(exampleAccessKey, nil)
        XCTAssertThrowsError(try verifier.authenticate(signed(), now: exampleNow)) {
            XCTAssertEqual(($0 as? S3Error)?.code, .invalidAccessKeyId)
        }
    }

    func testRotatedSecretRefusesTheOldOneAndAcceptsTheNew() throws {
        let credentials = ChangingCredentials()
        let verifier = Verifier(credentials: credentials)
        _ = try verifier.authenticate(signed(), now: exampleNow)
        credentials.set(exampleAccessKey, "rotated-secret")
        XCTAssertThrowsError(try verifier.authenticate(signed(), now: exampleNow)) {
            XCTAssertEqual(($0 as? S3Error)?.code, .signatureDoesNotMatch)
        }
        XCTAssertEqual(
            try verifier.authenticate(signed(secret: "rotated-secret"), now: exampleNow).accessKey, exampleAccessKey)
    }

    func testNextDaySignatureIsVerifiedWithThatDaysKey() throws {
        let verifier = Verifier(credentials: StaticCredentials())
        _ = try verifier.authenticate(signed(), now: exampleNow)
        let next = signed(amzDate: "20130525T000000Z")
        XCTAssertNoThrow(try verifier.authenticate(next, now: exampleNow + 86_400))
    }
}
