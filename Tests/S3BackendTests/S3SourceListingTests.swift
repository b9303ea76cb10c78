import GatewayCore
import XCTest

@testable import S3Backend

/// A source bucket's keys, page by page: continuation tokens passed on encoded, keys decoded,
/// and answers that would make a job loop forever or skip keys refused.
final class S3SourceListingTests: XCTestCase {
    struct Entry {
        var key: String
        var size = 1
        var storageClass: String? = "STANDARD"
    }

    static func listing(_ entries: [Entry], truncated: Bool = false, token: String? = nil) -> FakeProvider.Answer {
        let contents = entries.map { e in
            "<Contents><Key>\(e.key)</Key><LastModified>2024-05-06T07:08:09.000Z</LastModified>"
                + "<ETag>&quot;0123456789abcdef0123456789abcdef-2&quot;</ETag><Size>\(e.size)</Size>"
                + (e.storageClass.map { "<StorageClass>\($0)</StorageClass>" } ?? "") + "</Contents>"
        }.joined()
        return .reply(
            200,
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                + "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>photos</Name>"
                + "<EncodingType>url</EncodingType><KeyCount>\(entries.count)</KeyCount>"
                + "<IsTruncated>\(truncated)</IsTruncated>"
                + (token.map { "<NextContinuationToken>\($0)</NextContinuationToken>" } ?? "") + contents
                + "</ListBucketResult>")
    }

    func testPagesFollowContinuationTokensWithKeysDecoded() throws {
        let provider = FakeProvider([
            Self.listing(
                [
                    Entry(key: "a+b%2Bc", size: 10),
                    Entry(key: "caf%C3%A9/%0A", size: 5_000_000_000, storageClass: "GLACIER"),
                ],
                truncated: true, token: "tok/1+="),
            Self.listing([Entry(key: "z", storageClass: nil)]),
        ])
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
        let first = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: nil)
        XCTAssertEqual(
            first.objects,
            [
                SourceObject(
                    key: "a b+c", size: 10, etag: "0123456789abcdef0123456789abcdef-2", lastModified: 1_714_979_289,
                    storageClass: "STANDARD"),
                SourceObject(
                    key: "café/\n", size: 5_000_000_000, etag: "0123456789abcdef0123456789abcdef-2",
                    lastModified: 1_714_979_289, storageClass: "GLACIER"),
            ])
        XCTAssertEqual(first.next, "tok/1+=")
        let second = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: first.next)
        XCTAssertEqual(second.objects.map(\.key), ["z"])
        XCTAssertNil(second.objects[0].storageClass)
        XCTAssertNil(second.next)
        XCTAssertEqual(
            provider.sent,
            [
                "GET /photos?list-type=2&max-keys=1000&encoding-type=url",
                "GET /photos?list-type=2&max-keys=1000&encoding-type=url&continuation-token=tok%2F1%2B%3D",
            ])
    }

    /// Each answer that cannot be trusted, and what the person is told.
    func testHostileListingsAreRefused() throws {
        let cases: [(name: String, pages: [FakeProvider.Answer], why: String)] = [
            ("keys out of order in a page", [Self.listing([Entry(key: "b"), Entry(key: "a")])], "keys out of order"),
            ("a key twice", [Self.listing([Entry(key: "a"), Entry(key: "a")])], "keys out of order"),
            (
                "the next page starts before the last",
                [
                    Self.listing([Entry(key: "m")], truncated: true, token: "t1"), Self.listing([Entry(key: "c")]),
                ], "keys out of order"
            ),
            (
                "truncated without a token", [Self.listing([Entry(key: "a")], truncated: true)],
                "a truncated page without a continuation token"
            ),
            (
                "the same token again",
                [
                    Self.listing([Entry(key: "a")], truncated: true, token: "t1"),
                    Self.listing([Entry(key: "b")], truncated: true, token: "t1"),
                ], "the same continuation token again"
            ),
            ("not a listing", [.reply(200, body: "<html>hello</html>")], "not a listing"),
            ("a cut document", [.reply(200, body: "<ListBucketResult><Contents><Key>a</Key>")], "not a listing"),
            (
                "an entry without a size",
                [.reply(200, body: "<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>")],
                "an entry without a valid Key and Size"
            ),
            ("a broken escape", [Self.listing([Entry(key: "a%zz")])], "an entry without a valid Key and Size"),
            (
                "empty pages that never end",
                (0..<12).map { Self.listing([], truncated: true, token: "t\($0)") },
                "empty pages that never end"
            ),
        ]
        for c in cases {
            let provider = FakeProvider(c.pages)
            let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
            var token: String?
            var failure: SourceError?
            for _ in c.pages {
                do {
                    token = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: token).next
                } catch {
                    failure = error
                    break
                }
            }
            XCTAssertEqual(failure, .invalidAnswer("ListObjectsV2 photos answered with \(c.why)"), c.name)
        }
    }

    func testMoreKeysThanAskedForAreRefused() throws {
        let keys = (0..<1001).map { Entry(key: String(format: "k%05d", $0)) }
        let source = try makeSource(FakeProvider([Self.listing(keys)]), endpoint: "http://127.0.0.1:9000")
        XCTAssertEqual(
            sourceError { _ = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: nil) },
            .invalidAnswer("ListObjectsV2 photos answered with more keys than asked for"))
    }

    /// A page larger than any honest one is not read to its end, let alone parsed.
    func testAnOversizedAnswerIsRefused() throws {
        let huge =
            "<ListBucketResult>" + String(repeating: " ", count: S3SourceClient.listingLimit) + "</ListBucketResult>"
        let provider = FakeProvider([.reply(200, body: huge)])
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
        XCTAssertEqual(
            sourceError { _ = try source.listObjects(bucket: "photos", region: "us-east-1", continuation: nil) },
            .invalidAnswer("ListObjectsV2 photos answered with more than \(S3SourceClient.listingLimit) bytes"))
        XCTAssertTrue(provider.exchanges[0].aborted)
    }

    /// A job resumed with a token from another client (after a restart) still gets its page.
    func testATokenFromElsewhereIsAccepted() throws {
        let provider = FakeProvider([Self.listing([Entry(key: "b")])])
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
        XCTAssertEqual(
            try source.listObjects(bucket: "photos", region: "us-east-1", continuation: "saved").objects.map(\.key),
            ["b"])
    }

    func testListBucketsFollowsContinuationTokensAndRefusesALoop() throws {
        let page = { (names: [String], token: String?) -> FakeProvider.Answer in
            .reply(
                200,
                body: "<ListAllMyBucketsResult><Buckets>"
                    + names.map { "<Bucket><Name>\($0)</Name></Bucket>" }.joined() + "</Buckets>"
                    + (token.map { "<ContinuationToken>\($0)</ContinuationToken>" } ?? "") + "</ListAllMyBucketsResult>"
            )
        }
        let provider = FakeProvider([page(["a"], "t/1"), page(["b"], nil)])
        let source = try makeSource(provider, endpoint: "http://127.0.0.1:9000")
        XCTAssertEqual(try source.listBuckets().map(\.name), ["a", "b"])
        XCTAssertEqual(provider.sent, ["GET /", "GET /?continuation-token=t%2F1"])

        let looping = try makeSource(
            FakeProvider([page(["a"], "t"), page(["b"], "t")]), endpoint: "http://127.0.0.1:9000")
        XCTAssertEqual(
            sourceError { _ = try looping.listBuckets() },
            .invalidAnswer("ListBuckets answered with a continuation token twice"))
    }
}
