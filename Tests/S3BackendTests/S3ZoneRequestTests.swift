import GatewayCore
import GatewayTesting
import SigV4
import XCTest

@testable import S3Backend

/// What S3Zone puts on the wire for each StorageZone call: method, path (the backend bucket the
/// gateway hashed, the blob id), query, headers, body, and a SigV4 signature the provider accepts.
final class S3ZoneRequestTests: XCTestCase {
    struct Case: Sendable {
        let name: String
        var pathStyle = true
        var region = "fi-hel"
        var storageClass: String?
        let answers: [FakeProvider.Answer]
        let call: @Sendable (S3Zone) throws -> Void
        /// "METHOD /path?query" of each request, in order.
        let sent: [String]
        /// Headers of the first request (lowercase name → value).
        var headers: [String: String] = [:]
        /// Body of the first request.
        var body = ""
    }

    static let createBucketBody =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>fi-hel</LocationConstraint></CreateBucketConfiguration>"

    static let initiated = FakeProvider.Answer.reply(
        200, body: "<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>")

    static let cases: [Case] = [
        Case(
            name: "CreateBucket names the zone's region", answers: [.reply(200)],
            call: { try $0.createBucket(backendBucket) }, sent: ["PUT /\(backendBucket)"],
            body: createBucketBody),
        Case(
            name: "CreateBucket in us-east-1 has no body", region: "us-east-1", answers: [.reply(200)],
            call: { try $0.createBucket(backendBucket) }, sent: ["PUT /\(backendBucket)"]),
        Case(
            name: "DeleteObject", answers: [.reply(204)],
            call: { try $0.deleteBlob(backendBucket: backendBucket, blob: blobId) },
            sent: ["DELETE /\(backendBucket)/\(blobId)"]),
        Case(
            name: "DeleteObject, virtual-hosted style", pathStyle: false, answers: [.reply(204)],
            call: { try $0.deleteBlob(backendBucket: backendBucket, blob: blobId) }, sent: ["DELETE /\(blobId)"],
            headers: ["host": "\(backendBucket).objects.example.net"]),
        Case(
            name: "GetObject, whole blob", answers: [.reply(200, headers: [("Content-Length", "0")])],
            call: { _ = try $0.open(backendBucket: backendBucket, blob: blobId, offset: 0, length: nil) },
            sent: ["GET /\(backendBucket)/\(blobId)"], headers: ["host": "objects.example.net"]),
        Case(
            name: "GetObject, a range", answers: [.reply(206, body: String(repeating: "r", count: 100))],
            call: { _ = try $0.open(backendBucket: backendBucket, blob: blobId, offset: 100, length: 100) },
            sent: ["GET /\(backendBucket)/\(blobId)"], headers: ["range": "bytes=100-199"]),
        Case(
            name: "GetObject, from an offset to the end", answers: [.reply(206)],
            call: { _ = try $0.open(backendBucket: backendBucket, blob: blobId, offset: 100, length: nil) },
            sent: ["GET /\(backendBucket)/\(blobId)"], headers: ["range": "bytes=100-"]),
        Case(
            name: "an empty range asks nothing", answers: [],
            call: { _ = try $0.open(backendBucket: backendBucket, blob: blobId, offset: 5, length: 0) }, sent: []),
        Case(
            name: "CreateMultipartUpload checks the bucket once, with the storage class", storageClass: "STANDARD_IA",
            answers: [.reply(200), initiated, initiated],
            call: {
                _ = try $0.beginMultipart(backendBucket: backendBucket)
                _ = try $0.beginMultipart(backendBucket: backendBucket)
            },
            sent: [
                "HEAD /\(backendBucket)", "POST /\(backendBucket)/<id>?uploads", "POST /\(backendBucket)/<id>?uploads",
            ]),
        Case(
            name: "CompleteMultipartUpload lists the parts' ETags, escaped",
            answers: [
                .reply(200, body: "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>")
            ],
            call: {
                let id = try $0.completeMultipart(
                    backendBucket: backendBucket, multipart: "\(blobId) 2~abc/def+ghi=",
                    parts: [(1, "\"e1\""), (2, "\"e2\"")])
                XCTAssertEqual(id, blobId)
            },
            sent: ["POST /\(backendBucket)/\(blobId)?uploadId=2~abc%2Fdef%2Bghi%3D"],
            headers: ["content-type": "application/xml"],
            body:
                "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part></CompleteMultipartUpload>"
        ),
        Case(
            name: "AbortMultipartUpload", answers: [.reply(204)],
            call: { try $0.abortMultipart(backendBucket: backendBucket, multipart: "\(blobId) 2~abc/def+ghi=") },
            sent: ["DELETE /\(backendBucket)/\(blobId)?uploadId=2~abc%2Fdef%2Bghi%3D"]),
        Case(
            name: "probe is ListBuckets", answers: [.reply(200, body: "<ListAllMyBucketsResult/>")],
            call: { XCTAssertEqual(try $0.probe(), 0) }, sent: ["GET /"]),
        Case(
            name: "DeleteBucket aborts leftover uploads and removes leftover objects first",
            answers: [
                .reply(
                    200,
                    body:
                        "<ListMultipartUploadsResult><Upload><Key>\(blobId)</Key><UploadId>u/1</UploadId></Upload></ListMultipartUploadsResult>"
                ),
                .reply(204),
                // Keys come URL-encoded as S3 does it: a space as "+", a plus as "%2B".
                .reply(
                    200,
                    body:
                        "<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>dir/a+b%2Bc</Key><Size>3</Size></Contents></ListBucketResult>"
                ),
                .reply(204),
                .reply(200, body: "<ListBucketResult></ListBucketResult>"),
                .reply(204),
            ],
            call: { try $0.deleteBucket(backendBucket) },
            sent: [
                "GET /\(backendBucket)?uploads", "DELETE /\(backendBucket)/\(blobId)?uploadId=u%2F1",
                "GET /\(backendBucket)?list-type=2&max-keys=1000&encoding-type=url",
                "DELETE /\(backendBucket)/dir/a%20b%2Bc",
                "GET /\(backendBucket)?list-type=2&max-keys=1000&encoding-type=url", "DELETE /\(backendBucket)",
            ]),
    ]

    func testRequestsPerOperation() throws {
        for c in Self.cases {
            let provider = FakeProvider(c.answers)
            let zone = try makeZone(provider, pathStyle: c.pathStyle, region: c.region, storageClass: c.storageClass)
            XCTAssertNoThrow(try c.call(zone), c.name)
            // Blob ids S3Zone makes up are random: compare them as "<id>".
            let sent = provider.sent.map {
                $0.replacingOccurrences(
                    of: #"/[0-9a-f]{32}\?uploads"#, with: "/<id>?uploads", options: .regularExpression)
            }
            XCTAssertEqual(sent, c.sent, c.name)
            XCTAssertEqual(provider.unused, 0, c.name)
            guard let first = provider.exchanges.first else { continue }
            for (name, value) in c.headers {
                XCTAssertEqual(first.header(request: name), value, "\(c.name): \(name)")
            }
            XCTAssertEqual(String(decoding: first.body, as: UTF8.self), c.body, c.name)
            for e in provider.exchanges {
                if let sc = c.storageClass, e.method == "POST" {
                    XCTAssertEqual(e.header(request: "x-amz-storage-class"), sc, c.name)
                }
                XCTAssertTrue(e.closed || e.aborted, "\(c.name): \(e.method) \(e.uri) left open")
                assertVerifies(e, c.name)
            }
        }
    }

    /// Every request carries a signature the provider (here SigV4's own verifier, holding the
    /// zone's credentials) accepts at the pinned time.
    func assertVerifies(_ e: FakeProvider.Exchange, _ name: String, file: StaticString = #filePath, line: UInt = #line)
    {
        let head = RequestHead(method: e.method, rawURI: e.uri, headers: e.request.headers)
        let verifier = Verifier(credentials: Keys())
        XCTAssertNoThrow(try verifier.authenticate(head, now: exampleNow), name, file: file, line: line)
        XCTAssertEqual(e.header(request: "x-amz-date"), "20130524T000000Z", name, file: file, line: line)
    }

    struct Keys: CredentialLookup {
        func secretKey(forAccessKey key: String) -> String? { key == exampleAccessKey ? exampleSecret : nil }
    }

    // MARK: - Exact Authorization headers
    // Expected values computed independently with botocore 1.43 (SigV4Auth, payload
    // UNSIGNED-PAYLOAD, time pinned to 20130524T000000Z) over the same method, URL and headers.

    func testRangeGetAuthorization() throws {
        let provider = FakeProvider([.reply(206, body: "0123456789")])
        let zone = try makeZone(provider)
        let reader = try zone.open(backendBucket: backendBucket, blob: blobId, offset: 100, length: 100)
        XCTAssertEqual(reader.size, 100)
        let request = provider.exchanges[0].request
        XCTAssertEqual(request.url, "https://objects.example.net/\(backendBucket)/\(blobId)")
        XCTAssertEqual(
            Signer.canonicalRequest(
                method: "GET", rawURI: provider.exchanges[0].uri,
                headers: request.headers.filter { $0.name != "Authorization" }, payloadHash: "UNSIGNED-PAYLOAD"
            ).canonicalRequest,
            """
            GET
            /s3gw-5d41402abc4b2a76b9719d911017c592/0123456789abcdef0123456789abcdef

            host:objects.example.net
            range:bytes=100-199
            x-amz-content-sha256:UNSIGNED-PAYLOAD
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            UNSIGNED-PAYLOAD
            """)
        XCTAssertEqual(
            request.header("authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/fi-hel/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=c69a4b61f89b202aef3c36a154dca31a7b9e62bb99985c30da7bb23dccf279a1"
        )
    }

    func testUploadPartAuthorization() throws {
        let provider = FakeProvider([.reply(200, headers: [("ETag", "\"p2\"")])])
        let zone = try makeZone(provider)
        let writer = try zone.beginPartWrite(
            backendBucket: backendBucket, multipart: "\(blobId) 2~abc/def+ghi=", partNumber: 2, length: 11)
        try writer.write(Array("hello world".utf8))
        XCTAssertEqual(try writer.commit(), "\"p2\"")
        let e = provider.exchanges[0]
        XCTAssertEqual(e.uri, "/\(backendBucket)/\(blobId)?partNumber=2&uploadId=2~abc%2Fdef%2Bghi%3D")
        XCTAssertEqual(e.request.bodyLength, 11)
        XCTAssertEqual(e.body, Array("hello world".utf8))
        XCTAssertEqual(
            e.header(request: "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/fi-hel/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=8e39b2143179223d317eea8ef001e8a5bcd9583e7d73c141e8c15b7b8b3f1ebe"
        )
    }

    func testCreateMultipartUploadAuthorization() throws {
        let provider = FakeProvider([
            .reply(200, body: "<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>")
        ])
        let zone = try makeZone(provider, storageClass: "STANDARD_IA")
        XCTAssertEqual(try zone.createUpload(backendBucket, blobId), "u-1")
        XCTAssertEqual(
            provider.exchanges[0].header(request: "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/fi-hel/s3/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, Signature=9cb860a198226c3c90055467b9573cc46ad4efd46ff98a9b921b649c2e60b699"
        )
    }

    func testVirtualHostedDeleteAuthorization() throws {
        let provider = FakeProvider([.reply(204)])
        let zone = try makeZone(provider, pathStyle: false)
        try zone.deleteBlob(backendBucket: backendBucket, blob: blobId)
        let request = provider.exchanges[0].request
        XCTAssertEqual(request.url, "https://\(backendBucket).objects.example.net/\(blobId)")
        XCTAssertEqual(
            request.header("authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/fi-hel/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=1f646e26e4d659f9bbb05075e67e69d565461d0cdc031605b6e7cdf524a9998d"
        )
    }

    /// The signing date follows the injected clock (never the machine's time).
    func testSigningDateComesFromTheClock() throws {
        let provider = FakeProvider([.reply(204)])
        let zone = try S3Zone(
            S3Zone.Config(
                name: "z", endpoint: "http://127.0.0.1:9000", region: "us-east-1", accessKey: exampleAccessKey,
                secretKey: exampleSecret),
            transport: provider, clock: FixedClock(1_700_000_000.75), retryPause: 0)
        try zone.deleteBlob(backendBucket: backendBucket, blob: blobId)
        let request = provider.exchanges[0].request
        XCTAssertEqual(request.url, "http://127.0.0.1:9000/\(backendBucket)/\(blobId)")
        XCTAssertEqual(request.header("x-amz-date"), "20231114T221320Z")
        XCTAssertTrue(
            request.header("authorization")?.contains("Credential=AKIAIOSFODNN7EXAMPLE/20231114/us-east-1/s3/") ?? false
        )
    }

    func testRangeReaderStreamsTheBody() throws {
        let provider = FakeProvider([.reply(206, body: "0123456789")])
        let zone = try makeZone(provider)
        let reader = try zone.open(backendBucket: backendBucket, blob: blobId, offset: 5, length: 10)
        XCTAssertEqual(try readAll(reader), Array("0123456789".utf8))
    }

    /// A provider that ends a body early must not pass for a complete object.
    func testShortBodyIsAnError() throws {
        let provider = FakeProvider([.reply(200, headers: [("Content-Length", "10")], body: "01234")])
        let zone = try makeZone(provider)
        let reader = try zone.open(backendBucket: backendBucket, blob: blobId, offset: 0, length: nil)
        XCTAssertEqual(reader.size, 10)
        guard case .zoneUnavailable = storeError({ _ = try readAll(reader) }) else {
            return XCTFail("a short body was accepted")
        }
    }
}
