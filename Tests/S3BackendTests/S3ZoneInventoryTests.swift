import GatewayCore
import SigV4
import XCTest

@testable import S3Backend

/// What a provider zone holds, read from the provider: ListObjectsV2 paged with continuation
/// tokens, HeadObject, ListBuckets. Requests are signed and paged as S3 specifies; answers are
/// parsed whole or refused, whatever the provider sends.
final class S3ZoneInventoryTests: XCTestCase {
    static func listing(
        _ entries: [(key: String, size: Int)], truncated: Bool = false, token: String? = nil, encoded: Bool = true
    ) -> FakeProvider.Answer {
        let contents = entries.map {
            "<Contents><Key>\($0.key)</Key><LastModified>2024-05-06T07:08:09.000Z</LastModified>"
                + "<ETag>&quot;\(String(repeating: "e", count: 31))\($0.size % 10)&quot;</ETag><Size>\($0.size)</Size>"
                + "<StorageClass>STANDARD</StorageClass></Contents>"
        }.joined()
        return .reply(
            200,
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                + "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>\(backendBucket)</Name>"
                + (encoded ? "<EncodingType>url</EncodingType>" : "") + "<KeyCount>\(entries.count)</KeyCount>"
                + "<IsTruncated>\(truncated)</IsTruncated>"
                + (token.map { "<NextContinuationToken>\($0)</NextContinuationToken>" } ?? "") + contents
                + "</ListBucketResult>")
    }

    func assertSigned(_ provider: FakeProvider, file: StaticString = #filePath, line: UInt = #line) {
        for e in provider.exchanges {
            let head = RequestHead(method: e.method, rawURI: e.uri, headers: e.request.headers)
            XCTAssertNoThrow(
                try Verifier(credentials: S3ZoneRequestTests.Keys()).authenticate(head, now: exampleNow),
                "\(e.method) \(e.uri)", file: file, line: line)
            XCTAssertTrue(e.closed || e.aborted, "\(e.method) \(e.uri) left open", file: file, line: line)
        }
    }

    // MARK: ListObjectsV2

    func testBlobsArePagedWithContinuationTokens() throws {
        let a = "0a" + String(repeating: "1", count: 30)
        let b = "0b" + String(repeating: "2", count: 30)
        let c = "fe" + String(repeating: "3", count: 30)
        // The provider may answer fewer keys than asked for; the zone keeps asking.
        let provider = FakeProvider([
            Self.listing([(a, 10), (b, 0)], truncated: true, token: "tok/1+="),
            Self.listing([(c, 5_000_000_000)], truncated: true, token: "tok-2"),
        ])
        let zone = try makeZone(provider)
        let page = try zone.listBlobs(backendBucket: backendBucket, after: "", limit: 3)
        XCTAssertEqual(
            provider.sent,
            [
                "GET /\(backendBucket)?list-type=2&max-keys=3&encoding-type=url",
                "GET /\(backendBucket)?list-type=2&max-keys=1&encoding-type=url&continuation-token=tok%2F1%2B%3D",
            ])
        XCTAssertEqual(page.map(\.id), [a, b, c])
        XCTAssertEqual(page.map(\.size), [10, 0, 5_000_000_000])
        XCTAssertEqual(page[0].etag, String(repeating: "e", count: 31) + "0")
        XCTAssertEqual(page[0].lastModified, 1_714_979_289)
        assertSigned(provider)
    }

    func testNextPageStartsAfterTheLastIdAndKeysAreDecoded() throws {
        let provider = FakeProvider([
            Self.listing([("dir/a+b%2Bc%C3%A4", 1), ("zz", 2)]), Self.listing([("plain", 3)], encoded: false),
        ])
        let zone = try makeZone(provider)
        let page = try zone.listBlobs(backendBucket: backendBucket, after: "dir/a b", limit: 1000)
        XCTAssertEqual(page.map(\.id), ["dir/a b+cä", "zz"])
        XCTAssertEqual(
            provider.sent, ["GET /\(backendBucket)?list-type=2&max-keys=1000&encoding-type=url&start-after=dir%2Fa%20b"]
        )
        // A provider that ignores encoding-type sends keys as they are.
        XCTAssertEqual(try zone.listBlobs(backendBucket: backendBucket, after: "", limit: 10).map(\.id), ["plain"])
        assertSigned(provider)
    }

    func testMissingBackendBucketIsEmpty() throws {
        let provider = FakeProvider([.reply(404, body: errorDocument("NoSuchBucket"))])
        XCTAssertEqual(try makeZone(provider).listBlobs(backendBucket: backendBucket, after: "", limit: 10), [])
        XCTAssertEqual(provider.exchanges.count, 1)
    }

    /// Hostile or broken listings: each refused cleanly as the zone's failure after one request
    /// (never parsed in part, never paged forever, never expanding an entity).
    func testBadListingsAreRefused() throws {
        let dtd = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>\
            <ListBucketResult><Contents><Key>&lol2;</Key><Size>1</Size></Contents></ListBucketResult>
            """
        let external = """
            <?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\
            <ListBucketResult><Contents><Key>&xxe;</Key><Size>1</Size></Contents></ListBucketResult>
            """
        let huge = "<ListBucketResult>" + String(repeating: " ", count: S3Zone.listingLimit) + "</ListBucketResult>"
        let cases: [(String, FakeProvider.Answer, String)] = [
            ("entity expansion", .reply(200, body: dtd), "not a listing"),
            ("external entity", .reply(200, body: external), "not a listing"),
            ("larger than the limit", .reply(200, body: huge), "larger than \(S3Zone.listingLimit) bytes"),
            ("cut short", .reply(200, body: "<ListBucketResult><Contents><Key>a</Key>"), "not a listing"),
            ("another document", .reply(200, body: errorDocument("InternalError")), "not a listing"),
            (
                "no size", .reply(200, body: "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>"),
                "without a valid Key and Size"
            ),
            ("negative size", Self.listing([("a", -1)]), "without a valid Key and Size"),
            ("bad encoding", Self.listing([("a%zz", 1)]), "without a valid Key and Size"),
            ("out of order", Self.listing([("b", 1), ("a", 1)]), "keys out of order"),
            ("not after start-after", Self.listing([("0", 1)]), "keys out of order"),
            ("truncated without a token", Self.listing([("a", 1)], truncated: true), "without a continuation token"),
        ]
        for (name, answer, why) in cases {
            let provider = FakeProvider([answer])
            let error = storeError {
                _ = try makeZone(provider).listBlobs(backendBucket: backendBucket, after: "0", limit: 10)
            }
            guard case .internalFailure(let text)? = error else {
                XCTFail("\(name): \(String(describing: error))")
                continue
            }
            XCTAssertTrue(text.hasPrefix("zone fi-hel-st-1: "), "\(name): \(text)")
            XCTAssertTrue(text.contains(why), "\(name): \(text)")
            XCTAssertFalse(text.contains("root:"), "\(name): \(text)")
            XCTAssertEqual(provider.exchanges.count, 1, name)
        }
    }

    func testEndlessEmptyPagesAreRefused() throws {
        let provider = FakeProvider((0..<12).map { Self.listing([], truncated: true, token: "t\($0)") })
        guard
            case .internalFailure(let text)? = storeError({
                _ = try makeZone(provider).listBlobs(backendBucket: backendBucket, after: "", limit: 10)
            })
        else { return XCTFail() }
        XCTAssertTrue(text.contains("empty pages that never end"), text)
        XCTAssertEqual(provider.exchanges.count, 11)
    }

    func testListingFailuresTranslateLikeEveryOtherRequest() throws {
        let retried = FakeProvider([.unreachable, Self.listing([("a", 1)])])
        XCTAssertEqual(try makeZone(retried).listBlobs(backendBucket: backendBucket, after: "", limit: 10).count, 1)
        let slow = FakeProvider([.reply(503, body: errorDocument("SlowDown"))])
        guard
            case .zoneUnavailable? = storeError({
                _ = try makeZone(slow).listBlobs(backendBucket: backendBucket, after: "", limit: 10)
            })
        else { return XCTFail() }
        let denied = FakeProvider([.reply(403, body: errorDocument("AccessDenied"))])
        guard
            case .internalFailure? = storeError({
                _ = try makeZone(denied).listBlobs(backendBucket: backendBucket, after: "", limit: 10)
            })
        else { return XCTFail() }
        let hung = FakeProvider([.hang])
        guard
            case .zoneUnavailable? = storeError({
                _ = try makeZone(hung).listBlobs(backendBucket: backendBucket, after: "", limit: 10)
            })
        else { return XCTFail() }
        XCTAssertEqual(hung.exchanges.count, 1)
    }

    // MARK: HeadObject

    func testBlobInfoIsAHeadObject() throws {
        let provider = FakeProvider([
            .reply(
                200,
                headers: [
                    ("Content-Length", "1234"), ("ETag", "\"0123456789abcdef0123456789abcdef-3\""),
                    ("Last-Modified", "Mon, 06 May 2024 07:08:09 GMT"),
                ]),
            .reply(404), .reply(403, body: errorDocument("AccessDenied")), .reply(200),
        ])
        let zone = try makeZone(provider)
        XCTAssertEqual(
            try zone.blobInfo(backendBucket: backendBucket, blob: blobId),
            StoredBlob(
                id: blobId, size: 1234, etag: "0123456789abcdef0123456789abcdef-3", lastModified: 1_714_979_289))
        XCTAssertNil(try zone.blobInfo(backendBucket: backendBucket, blob: blobId))
        guard case .internalFailure? = storeError({ _ = try zone.blobInfo(backendBucket: backendBucket, blob: blobId) })
        else { return XCTFail("403 was not a failure") }
        guard
            case .internalFailure(let text)? = storeError({
                _ = try zone.blobInfo(backendBucket: backendBucket, blob: blobId)
            })
        else { return XCTFail("an answer without a length was believed") }
        XCTAssertTrue(text.contains("no Content-Length"), text)
        XCTAssertEqual(provider.sent, Array(repeating: "HEAD /\(backendBucket)/\(blobId)", count: 4))
        assertSigned(provider)
    }

    // MARK: ListBuckets

    static func buckets(_ names: [String], token: String? = nil) -> FakeProvider.Answer {
        .reply(
            200,
            body: "<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>o</ID></Owner>"
                + "<Buckets>"
                + names.map {
                    "<Bucket><Name>\($0)</Name><CreationDate>2024-01-01T00:00:00.000Z</CreationDate></Bucket>"
                }.joined()
                + "</Buckets>" + (token.map { "<ContinuationToken>\($0)</ContinuationToken>" } ?? "")
                + "</ListAllMyBucketsResult>")
    }

    func testBackendBucketsAreTheProvidersS3gwBuckets() throws {
        let provider = FakeProvider([
            Self.buckets(["s3gw-b", "someone-elses", "s3gw-a"], token: "next/1"),
            Self.buckets(["s3gw-c", "s3gwx-not-ours"]),
        ])
        XCTAssertEqual(try makeZone(provider).listBackendBuckets(), ["s3gw-a", "s3gw-b", "s3gw-c"])
        XCTAssertEqual(provider.sent, ["GET /", "GET /?continuation-token=next%2F1"])
        assertSigned(provider)

        let looping = FakeProvider([Self.buckets(["s3gw-a"], token: "t"), Self.buckets(["s3gw-a"], token: "t")])
        guard case .internalFailure(let text)? = storeError({ _ = try makeZone(looping).listBackendBuckets() }) else {
            return XCTFail("a repeated token was followed")
        }
        XCTAssertTrue(text.contains("a continuation token twice"), text)
        let hostile = FakeProvider([.reply(200, body: "<!DOCTYPE x [<!ENTITY a \"b\">]><ListAllMyBucketsResult/>")])
        guard case .internalFailure? = storeError({ _ = try makeZone(hostile).listBackendBuckets() }) else {
            return XCTFail("a DTD was parsed")
        }
    }
}
