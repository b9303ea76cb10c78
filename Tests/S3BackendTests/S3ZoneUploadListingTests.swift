import GatewayCore
import SigV4
import XCTest

@testable import S3Backend

/// The provider's open multipart uploads (ListMultipartUploads) for the stray-upload sweep:
/// signed, paged with key-marker/upload-id-marker, parsed whole or refused.
final class S3ZoneUploadListingTests: XCTestCase {
    static func uploads(
        _ entries: [(key: String, id: String)], truncated: Bool = false, next: (String, String)? = nil,
        encoded: Bool = true
    ) -> FakeProvider.Answer {
        let body = entries.map {
            "<Upload><Key>\($0.key)</Key><UploadId>\($0.id)</UploadId>"
                + "<Initiator><ID>x</ID></Initiator><StorageClass>STANDARD</StorageClass>"
                + "<Initiated>2024-05-06T07:08:09.000Z</Initiated></Upload>"
        }.joined()
        return .reply(
            200,
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                + "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<Bucket>\(backendBucket)</Bucket>" + (encoded ? "<EncodingType>url</EncodingType>" : "")
                + "<MaxUploads>1000</MaxUploads><IsTruncated>\(truncated)</IsTruncated>"
                + (next.map { "<NextKeyMarker>\($0.0)</NextKeyMarker><NextUploadIdMarker>\($0.1)</NextUploadIdMarker>" }
                    ?? "") + body + "</ListMultipartUploadsResult>")
    }

    func testUploadsArePagedWithMarkersAndParsed() throws {
        let provider = FakeProvider([
            Self.uploads([(blobId, "up/1+="), ("a%20b", "up-2")], truncated: true, next: ("a%20b", "up-2")),
            Self.uploads([("z", "up-3")]),
        ])
        let list = try makeZone(provider).listZoneUploads(backendBucket: backendBucket)
        XCTAssertEqual(
            provider.sent,
            [
                "GET /\(backendBucket)?uploads&max-uploads=1000&encoding-type=url",
                "GET /\(backendBucket)?uploads&max-uploads=1000&encoding-type=url&key-marker=a%20b&upload-id-marker=up-2",
            ])
        XCTAssertEqual(list.map(\.key), [blobId, "a b", "z"])
        XCTAssertEqual(list.map(\.uploadId), ["up/1+=", "up-2", "up-3"])
        // The handle is what beginMultipart returned and abortMultipart takes.
        XCTAssertEqual(list[0].handle, blobId + " up/1+=")
        XCTAssertEqual(list[0].initiated, 1_714_979_289)
        for e in provider.exchanges {
            let head = RequestHead(method: e.method, rawURI: e.uri, headers: e.request.headers)
            XCTAssertNoThrow(
                try Verifier(credentials: S3ZoneRequestTests.Keys()).authenticate(head, now: exampleNow), e.uri)
            XCTAssertTrue(e.closed || e.aborted)
        }
    }

    func testAListedUploadIsAbortedByItsHandle() throws {
        let provider = FakeProvider([Self.uploads([(blobId, "up-1")]), .reply(204)])
        let zone = try makeZone(provider)
        let upload = try XCTUnwrap(zone.listZoneUploads(backendBucket: backendBucket).first)
        try zone.abortMultipart(backendBucket: backendBucket, multipart: upload.handle)
        XCTAssertEqual(provider.sent.last, "DELETE /\(backendBucket)/\(blobId)?uploadId=up-1")
    }

    func testMissingBackendBucketHasNoUploads() throws {
        let provider = FakeProvider([.reply(404, body: errorDocument("NoSuchBucket"))])
        XCTAssertEqual(try makeZone(provider).listZoneUploads(backendBucket: backendBucket), [])
    }

    func testBadListingsAreRefused() throws {
        let dtd = """
            <?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>\
            <ListMultipartUploadsResult><Upload><Key>&lol2;</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>
            """
        let huge =
            "<ListMultipartUploadsResult>" + String(repeating: " ", count: S3Zone.listingLimit)
            + "</ListMultipartUploadsResult>"
        let cases: [(String, [FakeProvider.Answer], String)] = [
            ("entity expansion", [.reply(200, body: dtd)], "not an upload listing"),
            ("larger than the limit", [.reply(200, body: huge)], "larger than \(S3Zone.listingLimit) bytes"),
            ("cut short", [.reply(200, body: "<ListMultipartUploadsResult><Upload>")], "not an upload listing"),
            ("another document", [.reply(200, body: errorDocument("InternalError"))], "not an upload listing"),
            ("no upload id", [Self.uploads([("a", "")])], "without a valid Key and UploadId"),
            ("bad encoding", [Self.uploads([("a%zz", "u")])], "without a valid Key and UploadId"),
            ("truncated without a marker", [Self.uploads([("a", "u")], truncated: true)], "without a NextKeyMarker"),
            (
                "the same markers again",
                [
                    Self.uploads([("a", "u")], truncated: true, next: ("a", "u")),
                    Self.uploads([("a", "u")], truncated: true, next: ("a", "u")),
                ], "the same markers twice"
            ),
        ]
        for (name, answers, why) in cases {
            let provider = FakeProvider(answers)
            let error = storeError { _ = try makeZone(provider).listZoneUploads(backendBucket: backendBucket) }
            guard case .internalFailure(let text)? = error else {
                XCTFail("\(name): \(String(describing: error))")
                continue
            }
            XCTAssertTrue(text.hasPrefix("zone fi-hel-st-1: "), "\(name): \(text)")
            XCTAssertTrue(text.contains(why), "\(name): \(text)")
            XCTAssertEqual(provider.unused, 0, name)
        }
    }

    func testEndlessEmptyPagesAreRefused() throws {
        let provider = FakeProvider((0..<12).map { Self.uploads([], truncated: true, next: ("k\($0)", "u")) })
        guard
            case .internalFailure(let text)? = storeError({
                _ = try makeZone(provider).listZoneUploads(backendBucket: backendBucket)
            })
        else { return XCTFail() }
        XCTAssertTrue(text.contains("empty pages that never end"), text)
        XCTAssertEqual(provider.exchanges.count, 11)
    }

    func testListingFailuresTranslateLikeEveryOtherRequest() throws {
        let slow = FakeProvider([
            .reply(503, body: errorDocument("SlowDown")), .reply(503, body: errorDocument("SlowDown")),
        ])
        guard
            case .zoneUnavailable? = storeError({ _ = try makeZone(slow).listZoneUploads(backendBucket: backendBucket) }
            )
        else { return XCTFail() }
        let hung = FakeProvider([.hang])
        guard
            case .zoneUnavailable? = storeError({ _ = try makeZone(hung).listZoneUploads(backendBucket: backendBucket) }
            )
        else { return XCTFail() }
    }
}
