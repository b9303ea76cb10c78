import GatewayCore
import XCTest

@testable import S3Backend

/// A bucket's features, each read on its own: S3's "not configured" code of each is disabled,
/// a refusal or anything unexpected is unknown for that feature only — but an endpoint that
/// stops answering is not asked for the rest.
final class S3SourceFeatureTests: XCTestCase {
    static let order = ["versioning", "encryption", "lifecycle", "replication", "object-lock", "policy"]

    static let notConfigured: [FakeProvider.Answer] = [
        .reply(200, body: "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"),
        .reply(404, body: errorDocument("ServerSideEncryptionConfigurationNotFoundError")),
        .reply(404, body: errorDocument("NoSuchLifecycleConfiguration")),
        .reply(404, body: errorDocument("ReplicationConfigurationNotFoundError")),
        .reply(404, body: errorDocument("ObjectLockConfigurationNotFoundError")),
        .reply(404, body: errorDocument("NoSuchBucketPolicy")),
    ]

    static let configured: [FakeProvider.Answer] = [
        .reply(200, body: "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"),
        .reply(
            200,
            body:
                "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"
        ),
        .reply(
            200,
            body:
                "<LifecycleConfiguration><Rule><ID>old</ID><Status>Enabled</Status><Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>"
        ),
        .reply(
            200,
            body:
                "<ReplicationConfiguration><Role>arn:aws:iam::1:role/r</Role><Rule><Status>Enabled</Status></Rule></ReplicationConfiguration>"
        ),
        .reply(
            200,
            body: "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"),
        .reply(200, body: "{\"Version\":\"2012-10-17\",\"Statement\":[]}"),
    ]

    func features(_ answers: [FakeProvider.Answer]) throws -> (SourceBucketFeatures, FakeProvider) {
        let provider = FakeProvider(answers)
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
        let f = source.features(of: "photos", region: "us-east-1")
        XCTAssertEqual(provider.unused, 0)
        for e in provider.exchanges { XCTAssertTrue(e.closed || e.aborted) }
        return (f, provider)
    }

    func states(_ f: SourceBucketFeatures) -> [SourceFeatureState] {
        [f.versioning, f.encryption, f.lifecycle, f.replication, f.objectLock, f.policy]
    }

    func testNotConfiguredIsDisabled() throws {
        let (f, provider) = try features(Self.notConfigured)
        XCTAssertEqual(states(f), Array(repeating: .disabled, count: 6))
        XCTAssertEqual(provider.sent, Self.order.map { "GET /photos?\($0)" })
    }

    func testConfiguredIsEnabled() throws {
        XCTAssertEqual(states(try features(Self.configured).0), Array(repeating: .enabled, count: 6))
    }

    func testSuspendedVersioningAndAnUnlockedConfiguration() throws {
        var answers = Self.notConfigured
        answers[0] = .reply(200, body: "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>")
        answers[4] = .reply(200, body: "<ObjectLockConfiguration></ObjectLockConfiguration>")
        let (f, _) = try features(answers)
        XCTAssertEqual(f.versioning, .suspended)
        XCTAssertEqual(f.objectLock, .disabled)
    }

    /// Each feature, refused or not understood in turn, is unknown on its own: the others
    /// still say what they are.
    func testEachFeatureIsUnknownOnItsOwn() throws {
        let odd: [(String, FakeProvider.Answer)] = [
            ("AccessDenied", .reply(403, body: errorDocument("AccessDenied"))),
            ("403 without a document", .reply(403)),
            ("NotImplemented", .reply(501, body: errorDocument("NotImplemented"))),
            ("MethodNotAllowed", .reply(405, body: errorDocument("MethodNotAllowed"))),
            ("NoSuchBucket", .reply(404, body: errorDocument("NoSuchBucket"))),
            ("a 200 that is no configuration", .reply(200, body: "<html/>")),
            ("the wrong not-configured code", .reply(404, body: errorDocument("NoSuchTagSet"))),
        ]
        for (i, feature) in Self.order.enumerated() {
            for (what, answer) in odd {
                if feature == "policy" && what == "a 200 that is no configuration" { continue }  // a policy is JSON
                var answers = Self.notConfigured
                answers[i] = answer
                // Not readable: the policy's status is asked instead, here refused too.
                if feature == "policy" { answers.append(.reply(403, body: errorDocument("AccessDenied"))) }
                let (f, _) = try features(answers)
                var expected = Array(repeating: SourceFeatureState.disabled, count: 6)
                expected[i] = .unknown
                XCTAssertEqual(states(f), expected, "\(feature): \(what)")
            }
        }
    }

    /// Once a feature's request gets no answer at all (no connection, twice; no response within
    /// the bound), the features after it would only wait out the same bounds: they are unknown
    /// without a request, so a bucket costs one timeout, not seven, and a cancel is not held up.
    func testAnEndpointThatStopsAnsweringIsNotAskedForTheRest() throws {
        for (what, gone) in [
            ("unreachable", [FakeProvider.Answer.unreachable, .unreachable]), ("a hung source", [.hang]),
        ] {
            for i in Self.order.indices {
                // What the rest would answer, were they asked.
                let rest = Array(Self.notConfigured.dropFirst(i + 1))
                let provider = FakeProvider(Array(Self.notConfigured.prefix(i)) + gone + rest)
                let f = try makeSource(provider, endpoint: "http://127.0.0.1:9000").features(
                    of: "photos", region: "us-east-1")
                let expected = (0..<6).map { $0 < i ? SourceFeatureState.disabled : .unknown }
                XCTAssertEqual(states(f), expected, "\(Self.order[i]): \(what)")
                XCTAssertEqual(provider.unused, rest.count, "\(Self.order[i]): \(what): not asked")
            }
        }
    }

    func testPolicyStatusAnswersWhenThePolicyMayNotBeRead() throws {
        for (status, expected) in [
            (
                FakeProvider.Answer.reply(200, body: "<PolicyStatus><IsPublic>false</IsPublic></PolicyStatus>"),
                SourceFeatureState.enabled
            ),
            (.reply(404, body: errorDocument("NoSuchBucketPolicy")), .disabled),
        ] {
            let (f, provider) = try features(
                Array(Self.notConfigured.dropLast()) + [.reply(403, body: errorDocument("AccessDenied")), status])
            XCTAssertEqual(f.policy, expected)
            XCTAssertEqual(provider.sent.last, "GET /photos?policyStatus")
        }
    }

    func testAllRefusedIsAllUnknown() throws {
        let (f, _) = try features(Array(repeating: .reply(403, body: errorDocument("AccessDenied")), count: 7))
        XCTAssertEqual(states(f), Array(repeating: .unknown, count: 6))
    }
}
