import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import S3Backend

// MARK: - fixtures

let sourceAccessKey = "ASIAIOSFODNN7EXAMPLE"
let sourceToken = "FwoGZXIvYXdzEJr//////////session+token/=="

func makeSource(
    _ provider: FakeProvider, endpoint: String = "https://s3.amazonaws.com", region: String = "us-east-1",
    token: String? = sourceToken, allow: @escaping S3SourceClient.Check = { (e: String) throws(SourceError) in e }
) throws -> S3SourceClient {
    try S3SourceClient(
        SourceSpec(
            endpoint: endpoint, region: region,
            credentials: SourceCredentials(accessKey: sourceAccessKey, secretKey: exampleSecret, sessionToken: token)),
        transport: provider, clock: FixedClock(exampleNow), retryPause: 0, allow: allow)
}

/// The SourceError `body` throws, or nil.
func sourceError(_ body: () throws -> Void) -> SourceError? {
    do {
        try body()
        return nil
    } catch let e as SourceError {
        return e
    } catch {
        return .unreachable("not a SourceError: \(error)")
    }
}

extension FakeProvider.Exchange {
    /// The region in the request's credential scope.
    var signingRegion: String? {
        guard let auth = header(request: "authorization"), let credential = auth.range(of: "Credential=") else {
            return nil
        }
        let scope = auth[credential.upperBound...].prefix { $0 != "," }.split(separator: "/")
        return scope.count == 5 ? String(scope[2]) : nil
    }
}

/// Where S3SourceClient sends each call and how it signs it: the session token, AWS's regional
/// endpoints (virtual-hosted, path-style for names with dots), S3-compatible endpoints
/// path-style, and answers that name another region.
final class S3SourceClientTests: XCTestCase {
    static func location(_ region: String) -> FakeProvider.Answer {
        .reply(
            200,
            body:
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\(region)</LocationConstraint>"
        )
    }
    static let emptyListing = FakeProvider.Answer.reply(
        200, body: "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>")

    // MARK: exact signatures
    // Expected values computed independently with botocore 1.43 (S3SigV4Auth, payload
    // UNSIGNED-PAYLOAD, time pinned to 20130524T000000Z, session token set) over the same
    // method, URL and headers.

    func testListBucketsSendsAndSignsTheSessionToken() throws {
        let provider = FakeProvider([
            .reply(
                200,
                body:
                    "<ListAllMyBucketsResult><Buckets><Bucket><Name>photos</Name><CreationDate>2024-05-06T07:08:09.000Z</CreationDate></Bucket><Bucket><Name>my.logs</Name></Bucket></Buckets></ListAllMyBucketsResult>"
            )
        ])
        // The global endpoint signs for us-east-1 whatever region was typed.
        let source = try makeSource(provider, region: "eu-central-1")
        XCTAssertEqual(
            try source.listBuckets(),
            [SourceBucket(name: "photos", creationDate: 1_714_979_289), SourceBucket(name: "my.logs")])
        let request = provider.exchanges[0].request
        XCTAssertEqual(request.url, "https://s3.amazonaws.com/")
        XCTAssertEqual(request.header("x-amz-security-token"), sourceToken)
        XCTAssertEqual(
            request.header("authorization"),
            "AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=74ec0e5a298ac021fd3d39ed9954647c25e77d2868f1e5c6eeae3fc0e1fbfef1"
        )
    }

    func testListObjectsGoesToTheBucketsRegionVirtualHosted() throws {
        let provider = FakeProvider([Self.emptyListing])
        let source = try makeSource(provider)
        _ = try source.listObjects(bucket: "photos", region: "eu-west-1", continuation: nil)
        let request = provider.exchanges[0].request
        XCTAssertEqual(
            request.url, "https://photos.s3.eu-west-1.amazonaws.com/?list-type=2&max-keys=1000&encoding-type=url")
        XCTAssertEqual(
            request.header("authorization"),
            "AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20130524/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=db12c61eb1334e4117f10644eb034cf0c7b37efad96c074575a664e6afc6e2a9"
        )
    }

    func testGetObjectOfADottedBucketIsPathStyleAndAsksForChecksums() throws {
        let provider = FakeProvider([.reply(200, headers: [("Content-Length", "0")])])
        let source = try makeSource(provider)
        let reader = try source.open(bucket: "my.photos", region: "eu-west-1", key: "dir/a b+c")
        XCTAssertEqual(reader.size, 0)
        let request = provider.exchanges[0].request
        XCTAssertEqual(request.url, "https://s3.eu-west-1.amazonaws.com/my.photos/dir/a%20b%2Bc")
        XCTAssertEqual(request.header("x-amz-checksum-mode"), "ENABLED")
        XCTAssertEqual(
            request.header("authorization"),
            "AWS4-HMAC-SHA256 Credential=ASIAIOSFODNN7EXAMPLE/20130524/eu-west-1/s3/aws4_request, SignedHeaders=host;x-amz-checksum-mode;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=4130d2a25a234798cf7d2dbd5f2f60b79dec2df243cc723f787d492b72536544"
        )
    }

    /// Without a session token no token header is sent, and SigV4's own verifier accepts what is.
    func testPermanentCredentialsSendNoToken() throws {
        let provider = FakeProvider([.reply(200, body: "<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>")])
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000", token: nil)
        XCTAssertEqual(try source.listBuckets(), [])
        let e = provider.exchanges[0]
        XCTAssertNil(e.header(request: "x-amz-security-token"))
        struct Keys: CredentialLookup {
            func secretKey(forAccessKey key: String) -> String? { key == sourceAccessKey ? exampleSecret : nil }
        }
        let head = RequestHead(method: e.method, rawURI: e.uri, headers: e.request.headers)
        XCTAssertNoThrow(try Verifier(credentials: Keys()).authenticate(head, now: exampleNow))
    }

    // MARK: routing

    struct Route: Sendable {
        let name: String
        var endpoint = "https://s3.amazonaws.com"
        var region = "us-east-1"
        let answers: [FakeProvider.Answer]
        let call: @Sendable (S3SourceClient) throws -> Void
        /// URL of each request and the region it is signed for.
        let sent: [(url: String, region: String)]
    }

    static let routes: [Route] = [
        Route(
            name: "AWS, a regional endpoint: ListBuckets signs for the region given",
            endpoint: "https://s3.eu-north-1.amazonaws.com", region: "eu-north-1",
            answers: [.reply(200, body: "<ListAllMyBucketsResult/>")], call: { _ = try $0.listBuckets() },
            sent: [("https://s3.eu-north-1.amazonaws.com/", "eu-north-1")]),
        Route(
            name: "AWS, a regional endpoint signs for its own region whatever was typed",
            endpoint: "https://s3.eu-north-1.amazonaws.com", region: "us-east-1",
            answers: [.reply(200, body: "<ListAllMyBucketsResult/>"), location("eu-north-1")],
            call: {
                _ = try $0.listBuckets()
                XCTAssertEqual(try $0.region(of: "photos"), "eu-north-1")
            },
            sent: [
                ("https://s3.eu-north-1.amazonaws.com/", "eu-north-1"),
                ("https://photos.s3.eu-north-1.amazonaws.com/?location", "eu-north-1"),
            ]),
        Route(
            name: "AWS, the dashed regional spelling: its region, its host for its buckets",
            endpoint: "https://s3-eu-west-1.amazonaws.com", region: "us-east-1",
            answers: [.reply(200, body: "<ListAllMyBucketsResult/>"), emptyListing, emptyListing],
            call: {
                _ = try $0.listBuckets()
                _ = try $0.listObjects(bucket: "photos", region: "eu-west-1", continuation: nil)
                _ = try $0.listObjects(bucket: "photos", region: "eu-west-2", continuation: nil)
            },
            sent: [
                ("https://s3-eu-west-1.amazonaws.com/", "eu-west-1"),
                ("https://photos.s3-eu-west-1.amazonaws.com/?list-type=2&max-keys=1000&encoding-type=url", "eu-west-1"),
                ("https://photos.s3.eu-west-2.amazonaws.com/?list-type=2&max-keys=1000&encoding-type=url", "eu-west-2"),
            ]),
        Route(
            name: "AWS: GetBucketLocation at the given endpoint, EU is eu-west-1", answers: [location("EU")],
            call: { XCTAssertEqual(try $0.region(of: "photos"), "eu-west-1") },
            sent: [("https://photos.s3.amazonaws.com/?location", "us-east-1")]),
        Route(
            name: "AWS: an empty location is us-east-1", region: "eu-central-1", answers: [location("")],
            call: { XCTAssertEqual(try $0.region(of: "photos"), "us-east-1") },
            sent: [("https://photos.s3.amazonaws.com/?location", "us-east-1")]),
        Route(
            name: "AWS: a dotted bucket's location, path-style", answers: [location("ap-south-1")],
            call: { XCTAssertEqual(try $0.region(of: "my.photos"), "ap-south-1") },
            sent: [("https://s3.amazonaws.com/my.photos?location", "us-east-1")]),
        Route(
            name: "AWS: a legacy name with capitals is path-style", answers: [emptyListing],
            call: { _ = try $0.listObjects(bucket: "Old_Bucket", region: "us-east-1", continuation: nil) },
            sent: [
                (
                    "https://s3.us-east-1.amazonaws.com/Old_Bucket?list-type=2&max-keys=1000&encoding-type=url",
                    "us-east-1"
                )
            ]),
        Route(
            name: "AWS: features at the bucket's regional endpoint",
            answers: Array(repeating: .reply(403, body: errorDocument("AccessDenied")), count: 7),
            call: { _ = $0.features(of: "photos", region: "eu-west-2") },
            sent: ["versioning", "encryption", "lifecycle", "replication", "object-lock", "policy", "policyStatus"].map
            {
                ("https://photos.s3.eu-west-2.amazonaws.com/?\($0)", "eu-west-2")
            }),
        Route(
            name: "MinIO: path-style on the endpoint, the bucket's region", endpoint: "http://127.0.0.1:9000",
            region: "us-east-1", answers: [.reply(200, headers: [("Content-Length", "0")])],
            call: { _ = try $0.open(bucket: "photos", region: "eu-de", key: "a/../b/./c") },
            sent: [("http://127.0.0.1:9000/photos/a/../b/./c", "eu-de")]),
        Route(
            name: "S3-compatible: an empty location is the region given", endpoint: "https://objects.example.net",
            region: "fsn1", answers: [location("")], call: { XCTAssertEqual(try $0.region(of: "photos"), "fsn1") },
            sent: [("https://objects.example.net/photos?location", "fsn1")]),
        Route(
            name: "S3-compatible: the location it names", endpoint: "https://objects.example.net", region: "fsn1",
            answers: [location("nbg1")], call: { XCTAssertEqual(try $0.region(of: "photos"), "nbg1") },
            sent: [("https://objects.example.net/photos?location", "fsn1")]),
        Route(
            name: "S3-compatible without GetBucketLocation: the region given", endpoint: "https://ceph.example.net",
            region: "default", answers: [.reply(501, body: errorDocument("NotImplemented"))],
            call: { XCTAssertEqual(try $0.region(of: "photos"), "default") },
            sent: [("https://ceph.example.net/photos?location", "default")]),
        Route(
            name: "AWS: GetBucketLocation refused, HeadBucket names the region",
            answers: [
                .reply(403, body: errorDocument("AccessDenied")),
                .reply(403, headers: [("x-amz-bucket-region", "eu-south-1")]),
            ],
            call: { XCTAssertEqual(try $0.region(of: "photos"), "eu-south-1") },
            sent: [
                ("https://photos.s3.amazonaws.com/?location", "us-east-1"),
                ("https://photos.s3.amazonaws.com/", "us-east-1"),
            ]),
        Route(
            name: "AWS: GetBucketLocation answered with a redirect naming the region",
            answers: [
                .reply(301, headers: [("x-amz-bucket-region", "me-south-1")], body: errorDocument("PermanentRedirect"))
            ],
            call: { XCTAssertEqual(try $0.region(of: "photos"), "me-south-1") },
            sent: [("https://photos.s3.amazonaws.com/?location", "us-east-1")]),
        Route(
            name: "a 301 with x-amz-bucket-region is asked again there, once",
            answers: [
                .reply(301, headers: [("x-amz-bucket-region", "eu-north-1")], body: errorDocument("PermanentRedirect")),
                emptyListing,
            ],
            call: { _ = try $0.listObjects(bucket: "photos", region: "us-east-1", continuation: nil) },
            sent: [
                ("https://photos.s3.us-east-1.amazonaws.com/?list-type=2&max-keys=1000&encoding-type=url", "us-east-1"),
                (
                    "https://photos.s3.eu-north-1.amazonaws.com/?list-type=2&max-keys=1000&encoding-type=url",
                    "eu-north-1"
                ),
            ]),
        Route(
            name: "AuthorizationHeaderMalformed naming the region is signed again for it",
            endpoint: "http://127.0.0.1:9000",
            answers: [
                .reply(
                    400,
                    body:
                        "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-central-1'</Message><Region>eu-central-1</Region></Error>"
                ),
                .reply(200, body: "<VersioningConfiguration/>"),
                .reply(404, body: errorDocument("ServerSideEncryptionConfigurationNotFoundError")),
                .reply(404, body: errorDocument("NoSuchLifecycleConfiguration")),
                .reply(404, body: errorDocument("ReplicationConfigurationNotFoundError")),
                .reply(404, body: errorDocument("ObjectLockConfigurationNotFoundError")),
                .reply(404, body: errorDocument("NoSuchBucketPolicy")),
            ],
            call: { XCTAssertEqual($0.features(of: "photos", region: "us-east-1").versioning, .disabled) },
            sent: [
                ("http://127.0.0.1:9000/photos?versioning", "us-east-1"),
                ("http://127.0.0.1:9000/photos?versioning", "eu-central-1"),
            ]
                + ["encryption", "lifecycle", "replication", "object-lock", "policy"].map {
                    ("http://127.0.0.1:9000/photos?\($0)", "us-east-1")
                }),
    ]

    func testRequestsGoWhereTheBucketLives() throws {
        for r in Self.routes {
            let provider = FakeProvider(r.answers)
            let source = try makeSource(provider, endpoint: r.endpoint, region: r.region)
            XCTAssertNoThrow(try r.call(source), r.name)
            XCTAssertEqual(provider.exchanges.map(\.request.url), r.sent.map(\.url), r.name)
            XCTAssertEqual(provider.exchanges.map(\.signingRegion), r.sent.map(\.region), r.name)
            XCTAssertEqual(provider.unused, 0, r.name)
            for e in provider.exchanges {
                XCTAssertEqual(e.header(request: "x-amz-security-token"), sourceToken, r.name)
                let host = e.header(request: "host") ?? "(none)"
                XCTAssertTrue(e.request.url.contains("://\(host)/"), "\(r.name): Host \(host)")
            }
        }
    }

    /// A region is followed once: a second redirect is the bucket's error, not a loop.
    func testASecondRedirectIsAnError() throws {
        let redirect = FakeProvider.Answer.reply(
            301, headers: [("x-amz-bucket-region", "eu-north-1")], body: errorDocument("PermanentRedirect"))
        let provider = FakeProvider([redirect, redirect])
        let source = try makeSource(provider)
        XCTAssertEqual(
            sourceError { _ = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: nil) },
            .failed(operation: "ListObjectsV2 photos", status: 301, code: "PermanentRedirect"))
        XCTAssertEqual(provider.exchanges.count, 2)
    }

    /// Names that could change a request's host or path are refused before anything is sent.
    func testHostileNamesAreNeverSent() throws {
        let provider = FakeProvider()
        let source = try makeSource(provider)
        XCTAssertEqual(
            sourceError {
                _ = try source.listObjects(bucket: "photos", region: "evil.example.com/x", continuation: nil)
            },
            .invalidAnswer("\"evil.example.com/x\" is not a region name"))
        XCTAssertEqual(
            sourceError { _ = try source.open(bucket: "a/b?c", region: "us-east-1", key: "k") }, .noSuchBucket("a/b?c"))
        // A redirect naming something that is no region is not followed.
        provider.answer(
            .reply(301, headers: [("x-amz-bucket-region", "x.evil.com")], body: errorDocument("PermanentRedirect")))
        XCTAssertEqual(
            sourceError { _ = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: nil) },
            .failed(operation: "ListObjectsV2 photos", status: 301, code: "PermanentRedirect"))
        XCTAssertEqual(provider.exchanges.map(\.request.url).count, 1)
    }

    func testEndpointsThatAreNotAnEndpointAreRefused() {
        for endpoint in [
            "ftp://s3.amazonaws.com", "https://user:pw@s3.amazonaws.com", "https://s3.amazonaws.com/path",
            "https://s3.amazonaws.com?x=1", "s3.amazonaws.com", "https://", "https://a b",
        ] {
            let spec = SourceSpec(
                endpoint: endpoint, region: "us-east-1",
                credentials: SourceCredentials(accessKey: sourceAccessKey, secretKey: exampleSecret))
            guard case .endpointNotAllowed(let shown) = sourceError({ _ = try S3SourceClient(spec) }) else {
                XCTFail("\(endpoint) was accepted")
                continue
            }
            XCTAssertEqual(shown, "", "a text that is no endpoint is not repeated")
        }
    }

    /// The region an AWS endpoint serves, from its name: the account-wide calls sign for it.
    func testTheRegionOfAnAWSEndpointComesFromItsName() {
        for (host, region) in [
            ("s3.eu-west-1.amazonaws.com", "eu-west-1"), ("s3-eu-west-1.amazonaws.com", "eu-west-1"),
            ("s3.dualstack.ap-south-1.amazonaws.com", "ap-south-1"), ("s3.amazonaws.com", nil),
            ("s3-external-1.amazonaws.com", nil), ("bucket.s3.eu-west-1.amazonaws.com", nil),
            ("s3.eu_west.amazonaws.com", nil), ("sts.amazonaws.com", nil),
        ] as [(String, String?)] {
            XCTAssertEqual(S3SourceClient.regionServed(by: host), region, host)
        }
    }

    /// AuthorizationHeaderMalformed names the region the endpoint expects — the endpoint's, not
    /// the bucket's: GetBucketLocation is asked again signed for it, and its answer counts.
    func testARegionHintOfAnErrorIsWhereToAskNotTheAnswer() throws {
        let provider = FakeProvider([
            .reply(
                400,
                body:
                    "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-1'</Message><Region>eu-west-1</Region></Error>"
            ),
            Self.location("eu-central-1"),
        ])
        let source = try makeSource(provider)
        XCTAssertEqual(try source.region(of: "photos"), "eu-central-1")
        XCTAssertEqual(provider.exchanges.map(\.signingRegion), ["us-east-1", "eu-west-1"])
        // A hint that leads nowhere new is no answer either.
        let twice = FakeProvider(
            Array(
                repeating: .reply(
                    400,
                    body:
                        "<Error><Code>AuthorizationHeaderMalformed</Code><Region>eu-west-1</Region></Error>"),
                count: 2))
        XCTAssertEqual(
            sourceError { _ = try makeSource(twice).region(of: "photos") },
            .failed(operation: "GetBucketLocation photos", status: 400, code: "AuthorizationHeaderMalformed"))
    }

    /// The regional endpoints the client derives pass the allow-list's check first: with only
    /// one regional endpoint listed, a bucket elsewhere is refused before any request.
    func testDerivedRegionalEndpointsPassTheAllowList() throws {
        let allowed: Set = ["https://s3.eu-west-1.amazonaws.com"]
        let check: S3SourceClient.Check = { (e: String) throws(SourceError) -> String in
            guard allowed.contains(e) else { throw .endpointNotAllowed(String(e.dropFirst("https://".count))) }
            return e
        }
        let provider = FakeProvider([Self.emptyListing, Self.emptyListing])
        let source = try makeSource(provider, endpoint: "https://s3.eu-west-1.amazonaws.com", allow: check)
        // Virtual-hosted or path-style alike.
        for (bucket, region) in [("photos", "us-west-2"), ("my.photos", "ap-south-1")] {
            let refused = sourceError { _ = try source.open(bucket: bucket, region: region, key: "k") }
            XCTAssertEqual(refused, .endpointNotAllowed("s3.\(region).amazonaws.com"), bucket)
        }
        XCTAssertEqual(source.features(of: "photos", region: "us-west-2"), SourceBucketFeatures())
        XCTAssertEqual(provider.exchanges.count, 0, "nothing sent off the list")
        _ = try source.listObjects(bucket: "photos", region: "eu-west-1", continuation: nil)
        _ = try source.listObjects(bucket: "my.photos", region: "eu-west-1", continuation: nil)
        XCTAssertEqual(
            provider.exchanges.map(\.request.url),
            [
                "https://photos.s3.eu-west-1.amazonaws.com/?list-type=2&max-keys=1000&encoding-type=url",
                "https://s3.eu-west-1.amazonaws.com/my.photos?list-type=2&max-keys=1000&encoding-type=url",
            ])
    }
}
