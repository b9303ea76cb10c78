import Foundation
import Gateway
import GatewayCore
import GatewayTesting
import Logging
import SigV4
import XCTest

/// The STS endpoint (GetSessionToken, AssumeRole on the query protocol) and the temporary
/// credentials it issues, used for S3 requests until they expire or their parent key goes.
final class STSTests: XCTestCase {
    // MARK: - GetSessionToken

    func testGetSessionTokenAnswersAWSShapeAndTheSessionWorksForS3() throws {
        let gw = STSGateway()
        let r = gw.sts(["Action": "GetSessionToken", "Version": "2011-06-15"])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.header("Content-Type"), "text/xml")
        XCTAssertTrue(
            r.text.contains("<GetSessionTokenResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"), r.text)
        XCTAssertTrue(r.text.contains("<GetSessionTokenResult><Credentials><AccessKeyId>"), r.text)
        XCTAssertEqual(r.value("RequestId"), r.header("x-amz-request-id"))
        let s = try XCTUnwrap(r.session)
        XCTAssertNotNil(s.accessKey.wholeMatch(of: /ASIA[A-Z2-7]{16}/), s.accessKey)
        XCTAssertEqual(s.secret.count, 40)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(base64Decode(s.token)).count, 64)
        XCTAssertEqual(r.value("Expiration"), HTTPDate.iso8601(TestGateway.now + 3600))

        // Stored as a session of root under the root key: the token only as its hash, the
        // secret sealed.
        let (c, user) = try XCTUnwrap(gw.identityStore.credential(accessKey: s.accessKey))
        XCTAssertEqual(user.name, "root")
        XCTAssertEqual(c.parentKey, TestGateway.accessKey)
        XCTAssertEqual(c.expiresAt, TestGateway.now + 3600)
        XCTAssertEqual(c.tokenHash, hexEncode(Digest.hash(.sha256, Array(s.token.utf8))))
        XCTAssertNil(c.sessionPolicy)
        XCTAssertFalse(c.sealedSecret.contains(s.secret))
        XCTAssertEqual(TestGateway.box.open(c.sealedSecret, context: s.accessKey), s.secret)

        XCTAssertEqual(gw.send("PUT", "/tmp-bucket", key: s.key).status, 200)
        XCTAssertEqual(gw.send("PUT", "/tmp-bucket/k", body: Array("hello".utf8), key: s.key).status, 200)
        let got = gw.send("GET", "/tmp-bucket/k", key: s.key)
        XCTAssertEqual(got.status, 200)
        XCTAssertEqual(got.text, "hello")
    }

    func testDurationBounds() throws {
        let gw = STSGateway()
        for bad in ["899", "43201", "0", "-5", "abc", "1.5"] {
            let r = gw.sts(["Action": "GetSessionToken", "DurationSeconds": bad])
            XCTAssertEqual(r.status, 400, bad)
            XCTAssertEqual(r.stsError?.code, "ValidationError", bad)
            XCTAssertEqual(r.stsError?.type, "Sender", bad)
        }
        for (good, seconds) in [("900", 900.0), ("43200", 43200)] {
            let r = gw.sts(["Action": "GetSessionToken", "DurationSeconds": good])
            XCTAssertEqual(r.status, 200, r.text)
            XCTAssertEqual(r.value("Expiration"), HTTPDate.iso8601(TestGateway.now + seconds))
        }
        // The floor comes from the configuration ([sts] min_duration_seconds).
        let short = STSGateway(minDuration: 5)
        XCTAssertEqual(short.sts(["Action": "GetSessionToken", "DurationSeconds": "5"]).status, 200)
        XCTAssertEqual(
            short.sts(["Action": "GetSessionToken", "DurationSeconds": "4"]).stsError?.code, "ValidationError")
    }

    func testErrorsAreSTSErrorResponses() {
        let gw = STSGateway()
        let r = gw.sts(["Action": "GetFederationToken"])
        XCTAssertEqual(r.status, 400)
        XCTAssertTrue(r.text.contains("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"))
        XCTAssertEqual(r.stsError?.code, "InvalidAction")
        XCTAssertEqual(r.stsError?.type, "Sender")
        XCTAssertEqual(r.value("RequestId"), r.header("x-amz-request-id"))
        XCTAssertEqual(gw.sts(["Version": "2011-06-15"]).stsError?.code, "InvalidAction")
        XCTAssertEqual(
            gw.sts(["Action": "GetSessionToken", "Version": "2010-01-01"]).stsError?.code, "InvalidAction")
        // MFA is not implemented: refused, not ignored.
        XCTAssertEqual(
            gw.sts(["Action": "GetSessionToken", "SerialNumber": "arn:aws:iam::default:mfa/root", "TokenCode": "1"])
                .stsError?.code, "ValidationError")
    }

    func testAuthentication() {
        let gw = STSGateway()
        let unsigned = gw.sts(["Action": "GetSessionToken"], sign: false)
        XCTAssertEqual(unsigned.status, 403)
        XCTAssertEqual(unsigned.stsError?.code, "MissingAuthenticationToken")
        let unknown = gw.sts(["Action": "GetSessionToken"], key: .init(accessKey: "AKIDNOBODY", secret: "x"))
        XCTAssertEqual(unknown.status, 403)
        XCTAssertEqual(unknown.stsError?.code, "InvalidClientTokenId")
        let wrongSecret = gw.sts(
            ["Action": "GetSessionToken"], key: .init(accessKey: TestGateway.accessKey, secret: "wrong"))
        XCTAssertEqual(wrongSecret.stsError?.code, "SignatureDoesNotMatch")
        // The credential scope must name sts.
        let s3Scope = gw.sts(["Action": "GetSessionToken"], service: "s3")
        XCTAssertEqual(s3Scope.status, 400)
        XCTAssertEqual(s3Scope.stsError?.code, "AuthorizationHeaderMalformed")
        // A signed body hash that is not the body's.
        let lying = gw.sts(["Action": "GetSessionToken"], declaredHash: String(repeating: "0", count: 64))
        XCTAssertEqual(lying.stsError?.code, "XAmzContentSHA256Mismatch")
        // Body parameters the signature does not cover are not taken.
        let unsignedBody = gw.sts(["Action": "GetSessionToken"], declaredHash: "UNSIGNED-PAYLOAD")
        XCTAssertEqual(unsignedBody.stsError?.code, "ValidationError")
        XCTAssertEqual(gw.sessionCount, 0)
    }

    func testQueryStringAndPresignedForms() throws {
        let gw = STSGateway()
        let get = gw.send("GET", "/?Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900", service: "sts")
        XCTAssertEqual(get.status, 200, get.text)
        XCTAssertEqual(get.value("Expiration"), HTTPDate.iso8601(TestGateway.now + 900))
        let url = Signer.presign(
            method: "GET", rawPath: "/", rawQuery: "Action=GetSessionToken&Version=2011-06-15", host: gw.host,
            accessKey: TestGateway.accessKey, secretKey: TestGateway.secretKey, region: "us-east-1", service: "sts",
            amzDate: gw.amzDate, expires: 300)
        let presigned = gw.raw("GET", url)
        XCTAssertEqual(presigned.status, 200, presigned.text)
        XCTAssertNotNil(presigned.session)
        // ListBuckets on `/` is still S3.
        XCTAssertTrue(gw.send("GET", "/").text.contains("<ListAllMyBucketsResult"))
    }

    func testBadPolicyIsMalformedPolicyDocumentWithTheReason() {
        let gw = STSGateway()
        let cases = [
            "not json",
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{}}]}"#,
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:GetObject","Resource":"*"}]}"#,
        ]
        for policy in cases {
            let r = gw.sts(["Action": "GetSessionToken", "Policy": policy])
            XCTAssertEqual(r.status, 400, policy)
            XCTAssertEqual(r.stsError?.code, "MalformedPolicyDocument", policy)
        }
        let r = gw.sts(["Action": "GetSessionToken", "Policy": cases[1]])
        XCTAssertTrue(r.stsError?.message.contains("Condition") ?? false, r.text)
        XCTAssertEqual(gw.sessionCount, 0)
    }

    // MARK: - Sessions on S3

    func testSessionPolicyOnlyNarrows() throws {
        let gw = STSGateway()
        XCTAssertEqual(gw.send("PUT", "/allowed").status, 200)
        XCTAssertEqual(gw.send("PUT", "/other").status, 200)
        XCTAssertEqual(gw.send("PUT", "/allowed/k", body: Array("v".utf8)).status, 200)
        XCTAssertEqual(gw.send("PUT", "/other/k", body: Array("w".utf8)).status, 200)
        let policy =
            #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::allowed/*"}]}"#
        let r = gw.sts(["Action": "GetSessionToken", "Policy": policy])
        let s = try XCTUnwrap(r.session, r.text)
        XCTAssertEqual(try gw.identityStore.credential(accessKey: s.accessKey)?.0.sessionPolicy, policy)

        XCTAssertEqual(gw.send("GET", "/allowed/k", key: s.key).text, "v")
        XCTAssertEqual(gw.send("GET", "/other/k", key: s.key).errorCode, "AccessDenied")
        let put = gw.send("PUT", "/allowed/new", body: Array("x".utf8), key: s.key)
        XCTAssertEqual(put.status, 403)
        XCTAssertEqual(put.errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "allowed", key: "new"))
        XCTAssertEqual(gw.send("DELETE", "/allowed/k", key: s.key).errorCode, "AccessDenied")
        XCTAssertEqual(gw.send("GET", "/allowed/k").text, "v")
    }

    func testExpiredSessionIsExpiredToken() throws {
        let gw = STSGateway()
        XCTAssertEqual(gw.send("PUT", "/bkt").status, 200)
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken", "DurationSeconds": "900"]).session)
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.key).status, 200)
        gw.clock.advance(899)
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.key).status, 200)
        gw.clock.advance(1)
        let r = gw.send("GET", "/bkt", key: s.key)
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.errorCode, "ExpiredToken")
        // The root key itself is not affected.
        XCTAssertEqual(gw.send("GET", "/bkt").status, 200)
    }

    func testTamperedMissingOrMisplacedTokenIsInvalidToken() throws {
        let gw = STSGateway()
        XCTAssertEqual(gw.send("PUT", "/bkt").status, 200)
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"]).session)
        var tampered = Array(s.token)
        tampered[10] = tampered[10] == "A" ? "B" : "A"
        let bad = gw.send("GET", "/bkt", key: s.with(token: String(tampered)))
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(bad.errorCode, "InvalidToken")
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.with(token: nil)).errorCode, "InvalidToken")
        // Another session's token does not fit this key.
        let other = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"]).session)
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.with(token: other.token)).errorCode, "InvalidToken")
        // A permanent key carries no token.
        XCTAssertEqual(gw.send("GET", "/bkt", key: STSGateway.root.with(token: s.token)).errorCode, "InvalidToken")
        // Nothing in the answers gives the token or the secret away.
        for r in [bad, gw.send("GET", "/bkt", key: s.with(token: nil))] {
            XCTAssertFalse(r.text.contains(s.token))
            XCTAssertFalse(r.text.contains(s.secret))
        }
    }

    func testPresignedURLsCarryTheToken() throws {
        let gw = STSGateway()
        XCTAssertEqual(gw.send("PUT", "/bkt").status, 200)
        XCTAssertEqual(gw.send("PUT", "/bkt/k", body: Array("bytes".utf8)).status, 200)
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken", "DurationSeconds": "900"]).session)
        func presigned(_ token: String?) -> STSGateway.Response {
            let query = token.map { "X-Amz-Security-Token=" + uriEncode($0, encodeSlash: true) } ?? ""
            return gw.raw(
                "GET",
                Signer.presign(
                    method: "GET", rawPath: "/bkt/k", rawQuery: query, host: gw.host, accessKey: s.accessKey,
                    secretKey: s.secret, region: "us-east-1", amzDate: gw.amzDate, expires: 3600))
        }
        XCTAssertEqual(presigned(s.token).text, "bytes")
        XCTAssertEqual(presigned(nil).errorCode, "InvalidToken")
        XCTAssertEqual(presigned(String(s.token.dropLast()) + "x").errorCode, "InvalidToken")
        // SigV2 query auth (botocore's default presigner off AWS) signs x-amz-security-token as a
        // header while sending it as a parameter.
        func presignedV2(_ token: String) -> STSGateway.Response {
            let expires = Int(gw.clock.now()) + 300
            let signature = Signer.signatureV2(
                secretKey: s.secret, stringToSign: "GET\n\n\n\(expires)\nx-amz-security-token:\(token)\n/bkt/k")
            return gw.raw(
                "GET",
                "/bkt/k?AWSAccessKeyId=\(s.accessKey)&Expires=\(expires)&x-amz-security-token="
                    + uriEncode(token, encodeSlash: true) + "&Signature=" + uriEncode(signature, encodeSlash: true))
        }
        XCTAssertEqual(presignedV2(s.token).text, "bytes")
        XCTAssertEqual(presignedV2(String(s.token.dropLast()) + "x").errorCode, "InvalidToken")
        gw.clock.advance(901)
        XCTAssertEqual(presigned(s.token).errorCode, "ExpiredToken")
    }

    func testRevokingTheParentKeyRevokesItsSessions() throws {
        let gw = STSGateway()
        let alice = try gw.addUser("alice", ["s3:*": ["*"], "sts:GetSessionToken": ["*"]])
        XCTAssertEqual(gw.send("PUT", "/bkt", key: alice).status, 200)
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"], key: alice).session)
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.key).status, 200)

        try gw.identityStore.setCredentialStatus(accessKey: alice.accessKey, .inactive)
        let refused = gw.send("GET", "/bkt", key: s.key)
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(refused.errorCode, "InvalidAccessKeyId")
        try gw.identityStore.setCredentialStatus(accessKey: alice.accessKey, .active)
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.key).status, 200)

        try gw.identityStore.deleteCredential(accessKey: alice.accessKey)
        XCTAssertEqual(gw.send("GET", "/bkt", key: s.key).errorCode, "InvalidAccessKeyId")
        XCTAssertNil(try gw.identityStore.credential(accessKey: s.accessKey))
    }

    func testSessionsCannotCreateSessionsAndPermissionIsRequired() throws {
        let gw = STSGateway()
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken"]).session)
        let again = gw.sts(["Action": "GetSessionToken"], key: s.key)
        XCTAssertEqual(again.status, 403, again.text)
        XCTAssertEqual(again.stsError?.code, "AccessDenied")
        let assume = gw.sts(
            ["Action": "AssumeRole", "RoleArn": "arn:aws:iam::default:role/root", "RoleSessionName": "x1"], key: s.key)
        XCTAssertEqual(assume.stsError?.code, "AccessDenied")
        // A session's tampered token is refused before anything else.
        XCTAssertEqual(
            gw.sts(["Action": "GetSessionToken"], key: s.with(token: "nope")).stsError?.code, "InvalidClientTokenId")

        let plain = try gw.addUser("plain", ["s3:*": ["*"]])
        let denied = gw.sts(["Action": "GetSessionToken"], key: plain)
        XCTAssertEqual(denied.status, 403)
        XCTAssertEqual(denied.stsError?.code, "AccessDenied")
        XCTAssertTrue(denied.stsError?.message.contains("sts:GetSessionToken") ?? false)
        XCTAssertEqual(gw.sessionCount, 1)
    }

    // MARK: - AssumeRole

    func testAssumeRoleActsAsTheUser() throws {
        let gw = STSGateway()
        XCTAssertEqual(gw.send("PUT", "/shared").status, 200)
        XCTAssertEqual(gw.send("PUT", "/shared/doc", body: Array("text".utf8)).status, 200)
        let reader = try gw.addUser("reader", ["s3:GetObject": ["shared"], "s3:ListBucket": ["shared"]])
        let r = gw.sts([
            "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::default:role/reader",
            "RoleSessionName": "nightly-job", "DurationSeconds": "1800",
        ])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertTrue(
            r.text.contains(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>"))
        XCTAssertEqual(r.value("Arn"), "arn:aws:sts::default:assumed-role/reader/nightly-job")
        let roleID = try XCTUnwrap(r.value("AssumedRoleId"))
        XCTAssertTrue(roleID.hasPrefix("AROA") && roleID.hasSuffix(":nightly-job"), roleID)
        XCTAssertEqual(r.value("Expiration"), HTTPDate.iso8601(TestGateway.now + 1800))
        XCTAssertNil(r.value("PackedPolicySize"))
        let s = try XCTUnwrap(r.session)
        let (c, user) = try XCTUnwrap(gw.identityStore.credential(accessKey: s.accessKey))
        XCTAssertEqual(user.name, "reader")
        XCTAssertEqual(c.parentKey, TestGateway.accessKey)
        XCTAssertNotEqual(reader.accessKey, c.parentKey)

        XCTAssertEqual(gw.send("GET", "/shared/doc", key: s.key).text, "text")
        XCTAssertEqual(gw.send("PUT", "/shared/new", body: [1], key: s.key).errorCode, "AccessDenied")
        XCTAssertNil(try gw.metadata.object(bucket: "shared", key: "new"))
        XCTAssertEqual(gw.send("PUT", "/mine", key: s.key).errorCode, "AccessDenied")

        // With a policy: only narrower still, and the answer reports its packed size.
        let narrow = gw.sts([
            "Action": "AssumeRole", "RoleArn": "arn:aws:iam::default:role/reader", "RoleSessionName": "n1",
            "Policy":
                #"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}}"#,
        ])
        XCTAssertNotNil(narrow.value("PackedPolicySize"))
        let n = try XCTUnwrap(narrow.session)
        XCTAssertEqual(gw.send("GET", "/shared", key: n.key).status, 200)
        XCTAssertEqual(gw.send("GET", "/shared/doc", key: n.key).errorCode, "AccessDenied")
    }

    func testWhoMayAssumeWhom() throws {
        let gw = STSGateway()
        _ = try gw.addUser("ci-bot", ["s3:ListAllMyBuckets": ["*"]])
        _ = try gw.addUser("reader", ["s3:GetObject": ["*"]])
        let alice = try gw.addUser("alice", ["sts:AssumeRole": ["ci-*"]])
        func assume(_ arn: String, as key: STSGateway.Key = STSGateway.root, name: String? = "s1")
            -> STSGateway.Response
        {
            var p = ["Action": "AssumeRole", "RoleArn": arn]
            p["RoleSessionName"] = name
            return gw.sts(p, key: key)
        }
        XCTAssertEqual(assume("arn:aws:iam::default:role/ci-bot", as: alice).status, 200)
        for arn in [
            "arn:aws:iam::default:role/reader",  // no pattern matches
            "arn:aws:iam::default:role/ci-ghost",  // matches, but no such user
            "arn:aws:iam::default:role/alice",  // itself, without sts:GetSessionToken
        ] {
            let r = assume(arn, as: alice)
            XCTAssertEqual(r.status, 403, arn)
            XCTAssertEqual(r.stsError?.code, "AccessDenied", arn)
        }
        try gw.tenant("acme")
        try gw.identityStore.createUser(
            UserRecord(tenant: "acme", name: "ci-x", id: CanonicalID.make(), permissions: .init(), createdAt: 0))
        // Another tenant's users are out of reach, even for the gateway's root.
        XCTAssertEqual(assume("arn:aws:iam::acme:role/ci-x", as: alice).stsError?.code, "AccessDenied")
        XCTAssertEqual(assume("arn:aws:iam::acme:role/ci-x").stsError?.code, "AccessDenied")
        // Assuming oneself is a GetSessionToken with a session name.
        let bob = try gw.addUser("bob", ["sts:GetSessionToken": ["*"]])
        XCTAssertEqual(assume("arn:aws:iam::default:role/bob", as: bob).status, 200)

        for (arn, name) in [
            ("arn:aws:iam::default:user/reader", "s1"), ("reader", "s1"), ("arn:aws:iam::default:role/", "s1"),
            ("arn:aws:iam::default:role/reader", "x"), ("arn:aws:iam::default:role/reader", "has space"),
            ("arn:aws:iam::default:role/reader", String(repeating: "n", count: 65)),
        ] {
            XCTAssertEqual(assume(arn, name: name).stsError?.code, "ValidationError", "\(arn) \(name)")
        }
        XCTAssertEqual(assume("arn:aws:iam::default:role/reader", name: nil).stsError?.code, "ValidationError")
        XCTAssertEqual(
            gw.sts(["Action": "AssumeRole", "RoleSessionName": "s1"]).stsError?.code, "ValidationError")
        XCTAssertEqual(
            gw.sts([
                "Action": "AssumeRole", "RoleArn": "arn:aws:iam::default:role/reader", "RoleSessionName": "s1",
                "Tags.member.1.Key": "team", "Tags.member.1.Value": "x",
            ]).stsError?.code, "ValidationError")
        XCTAssertEqual(gw.sessionCount, 2)
    }

    // MARK: - Cleanup and configuration

    func testTheAgentRemovesSessionsAnHourAfterExpiry() throws {
        let gw = STSGateway()
        let s = try XCTUnwrap(gw.sts(["Action": "GetSessionToken", "DurationSeconds": "900"]).session)
        _ = try XCTUnwrap(gw.sts(["Action": "GetSessionToken", "DurationSeconds": "43200"]).session)
        let expiry = TestGateway.now + 900
        XCTAssertEqual(try Maintenance.removeExpiredSessions(gw.context, now: expiry + 60), 0)
        // Still known while it is recent: the answer is ExpiredToken, not an unknown key.
        gw.clock.advance(960)
        XCTAssertEqual(gw.send("GET", "/", key: s.key).errorCode, "ExpiredToken")
        XCTAssertEqual(try Maintenance.removeExpiredSessions(gw.context, now: expiry + 3601), 1)
        XCTAssertNil(try gw.identityStore.credential(accessKey: s.accessKey))
        XCTAssertEqual(gw.sessionCount, 1)
        XCTAssertNotNil(try gw.identityStore.credential(accessKey: TestGateway.accessKey))
    }

    func testConfiguration() throws {
        let zones = "[[zones]]\nname = \"z\"\ncountry = \"se\"\nregion = \"r\"\nkind = \"filesystem\"\npath = \"/z\"\n"
        XCTAssertEqual(try GatewayConfig.parse(zones, file: "t").sts.minDuration, 900)
        XCTAssertEqual(
            try GatewayConfig.parse("[sts]\nmin_duration_seconds = 5\n" + zones, file: "t").sts.minDuration, 5)
        XCTAssertThrowsError(try GatewayConfig.parse("[sts]\nmin_duration_seconds = 0\n" + zones, file: "t"))
        XCTAssertThrowsError(try GatewayConfig.parse("[sts]\nmax_duration_seconds = 60\n" + zones, file: "t"))
    }
}

/// A gateway over in-memory stores whose clock a test moves, signing as any key (permanent or
/// a session with its token) for service s3 or sts.
final class STSGateway {
    struct Key {
        var accessKey: String
        var secret: String
        var token: String?
        func with(token: String?) -> Key { Key(accessKey: accessKey, secret: secret, token: token) }
    }

    /// Temporary credentials as an answer hands them out.
    struct Session {
        var accessKey: String
        var secret: String
        var token: String
        var key: Key { Key(accessKey: accessKey, secret: secret, token: token) }
        func with(token: String?) -> Key { Key(accessKey: accessKey, secret: secret, token: token) }
    }

    typealias Response = TestGateway.Response

    static let root = Key(accessKey: TestGateway.accessKey, secret: TestGateway.secretKey)
    let host = "127.0.0.1:8080"
    let metadata = InMemoryMetadataStore()
    let identityStore: InMemoryIdentityStore
    let clock = SteppingClock(TestGateway.now)
    let context: GatewayContext
    let gateway: S3Gateway

    /// `discovery` makes the context's discovery jobs over the gateway's store and clock.
    init(
        minDuration: Int = 900,
        discovery: ((InMemoryMetadataStore, SteppingClock) -> DiscoveryJobs)? = nil
    ) {
        let (store, identities) = TestGateway.identities(metadata, clock: clock)
        identityStore = store
        context = GatewayContext(
            metadata: metadata, zones: ["zone-a": InMemoryZone(name: "zone-a")],
            catalog: ZoneCatalog(
                zones: [ZoneCatalog.Zone(name: "zone-a", country: "se", region: "se-sto")], defaultZone: "zone-a"),
            identities: identities, clock: clock, installationSecret: Array(repeating: 7, count: 32),
            logger: Logger(label: "test"), sts: STSSettings(minDuration: minDuration),
            discovery: discovery?(metadata, clock))
        gateway = S3Gateway(context: context)
    }

    var amzDate: String { HTTPDate.amzDate(Int(clock.now())) }

    var sessionCount: Int {
        (try? identityStore.sealedSecrets().filter { $0.accessKey.hasPrefix("ASIA") }.count) ?? -1
    }

    /// A user of the default tenant with one permanent key.
    func addUser(_ name: String, _ permissions: [String: [String]]) throws -> Key {
        try identityStore.createUser(
            UserRecord(
                tenant: TenantRecord.defaultID, name: name, id: CanonicalID.make(),
                permissions: PermissionSet(permissions),
                createdAt: TestGateway.now))
        let key = Key(accessKey: "AKID" + name.uppercased().filter(\.isLetter), secret: "secret-of-" + name)
        try identityStore.createCredential(
            CredentialRecord(
                accessKey: key.accessKey, tenant: TenantRecord.defaultID, user: name,
                sealedSecret: TestGateway.box.seal(key.secret, context: key.accessKey), createdAt: TestGateway.now),
            maxKeysPerUser: 2)
        return key
    }

    func tenant(_ id: String) throws {
        try identityStore.createTenant(TenantRecord(id: id, displayName: id, createdAt: TestGateway.now))
    }

    /// An STS call as botocore sends it: a signed form POST to `/` whose payload hash is signed
    /// but not sent as x-amz-content-sha256 (unless `declaredHash` is given).
    func sts(
        _ params: [String: String], key: Key = root, sign: Bool = true, service: String = "sts",
        declaredHash: String? = nil
    ) -> Response {
        let body = Array(
            params.sorted { $0.key < $1.key }.map {
                uriEncode($0.key, encodeSlash: true) + "=" + uriEncode($0.value, encodeSlash: true)
            }
            .joined(separator: "&").utf8)
        var headers = [("content-type", "application/x-www-form-urlencoded; charset=utf-8")]
        if let declaredHash { headers.append(("x-amz-content-sha256", declaredHash)) }
        return send(
            "POST", "/", body: body, key: key, service: service, headers: headers, sign: sign,
            payloadHash: declaredHash ?? hexEncode(Digest.hash(.sha256, body)))
    }

    /// A request signed in the Authorization header; S3 requests declare their payload hash.
    func send(
        _ method: String, _ uri: String, body: [UInt8] = [], key: Key = root, service: String = "s3",
        headers extra: [(String, String)] = [], sign: Bool = true, payloadHash: String? = nil
    ) -> Response {
        let hash = payloadHash ?? hexEncode(Digest.hash(.sha256, body))
        var headers: [(name: String, value: String)] = [("host", host), ("x-amz-date", amzDate)]
        if service == "s3" { headers.append(("x-amz-content-sha256", hash)) }
        if let token = key.token { headers.append(("x-amz-security-token", token)) }
        headers += extra.map { (name: $0.0, value: $0.1) }
        var params = ["REQUEST_METHOD": method, "REQUEST_URI": uri]
        if sign {
            params["HTTP_AUTHORIZATION"] =
                Signer.sign(
                    method: method, rawURI: uri, headers: headers, payloadHash: hash, accessKey: key.accessKey,
                    secretKey: key.secret, region: "us-east-1", service: service, amzDate: amzDate
                ).authorization
        }
        for h in headers { params["HTTP_" + h.name.uppercased().replacingOccurrences(of: "-", with: "_")] = h.value }
        if !body.isEmpty { params["CONTENT_LENGTH"] = String(body.count) }
        return deliver(params, body)
    }

    /// A request as is (presigned URLs carry their own signature).
    func raw(_ method: String, _ uri: String) -> Response {
        deliver(["REQUEST_METHOD": method, "REQUEST_URI": uri, "HTTP_HOST": host], [])
    }

    private func deliver(_ params: [String: String], _ body: [UInt8]) -> Response {
        let recorder = TestGateway.Recorder()
        gateway.handle(params: params, body: MemorySource(body), response: recorder)
        return Response(status: recorder.status, headers: recorder.headers, body: recorder.body)
    }
}

extension TestGateway.Response {
    /// The text of the first `<name>` element.
    func value(_ name: String) -> String? {
        guard let start = text.range(of: "<\(name)>"),
            let end = text.range(of: "</\(name)>", range: start.upperBound..<text.endIndex)
        else { return nil }
        return String(text[start.upperBound..<end.lowerBound])
    }

    /// The credentials of a GetSessionToken or AssumeRole answer.
    var session: STSGateway.Session? {
        guard let ak = value("AccessKeyId"), let sk = value("SecretAccessKey"), let token = value("SessionToken")
        else { return nil }
        return STSGateway.Session(accessKey: ak, secret: sk, token: token)
    }

    /// Type, Code and Message of an STS ErrorResponse.
    var stsError: (type: String, code: String, message: String)? {
        guard text.contains("<ErrorResponse"), let t = value("Type"), let c = value("Code") else { return nil }
        return (t, c, value("Message") ?? "")
    }
}
