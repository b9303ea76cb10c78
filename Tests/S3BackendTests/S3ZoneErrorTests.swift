import GatewayCore
import XCTest

@testable import S3Backend

/// Provider answers become StoreErrors at the zone's edge: handlers only ever see those, and a
/// provider's own error text never travels further than the log.
final class S3ZoneErrorTests: XCTestCase {
    enum Expected: Equatable {
        case ok, zoneUnavailable, noSuchKey, internalFailure
    }

    struct Case: Sendable {
        let name: String
        let answers: [FakeProvider.Answer]
        let call: @Sendable (S3Zone) throws -> Void
        let expected: Expected
        /// How many requests reached the provider (2 when the one retry happened).
        let requests: Int
    }

    static let deleteBlob: @Sendable (S3Zone) throws -> Void = {
        try $0.deleteBlob(backendBucket: backendBucket, blob: blobId)
    }
    static let open: @Sendable (S3Zone) throws -> Void = {
        _ = try $0.open(backendBucket: backendBucket, blob: blobId, offset: 0, length: 10)
    }
    static let put: @Sendable (S3Zone) throws -> Void = {
        let w = try $0.beginWrite(backendBucket: backendBucket, length: 3)
        try w.write(Array("abc".utf8))
        _ = try w.commit()
    }
    static let ok = FakeProvider.Answer.reply(204)
    static func error(_ status: Int, _ code: String) -> FakeProvider.Answer {
        .reply(status, body: errorDocument(code))
    }

    static let cases: [Case] = [
        // Small requests: retried once when the provider could not be reached.
        Case(name: "delete, answered", answers: [ok], call: deleteBlob, expected: .ok, requests: 1),
        Case(
            name: "delete of a blob already gone", answers: [error(404, "NoSuchKey")], call: deleteBlob, expected: .ok,
            requests: 1),
        Case(
            name: "delete, unreachable once", answers: [.unreachable, ok], call: deleteBlob, expected: .ok, requests: 2),
        Case(
            name: "delete, unreachable twice", answers: [.unreachable, .unreachable], call: deleteBlob,
            expected: .zoneUnavailable, requests: 2),
        Case(
            name: "delete, 500", answers: [error(500, "InternalError")], call: deleteBlob, expected: .zoneUnavailable,
            requests: 1),
        Case(
            name: "delete, 503 SlowDown", answers: [error(503, "SlowDown")], call: deleteBlob,
            expected: .zoneUnavailable,
            requests: 1),
        Case(name: "delete, 429", answers: [.reply(429)], call: deleteBlob, expected: .zoneUnavailable, requests: 1),
        Case(
            name: "delete, SlowDown with a 400 status", answers: [error(400, "SlowDown")], call: deleteBlob,
            expected: .zoneUnavailable, requests: 1),
        Case(
            name: "delete, 403 AccessDenied", answers: [error(403, "AccessDenied")], call: deleteBlob,
            expected: .internalFailure, requests: 1),
        Case(
            name: "delete, 400 with no XML", answers: [.reply(400, body: "nope")], call: deleteBlob,
            expected: .internalFailure, requests: 1),

        // Reads: nothing has reached the client yet, so any transient failure is retried once.
        Case(name: "get, answered", answers: [.reply(206)], call: open, expected: .ok, requests: 1),
        Case(
            name: "get, 500 then answered", answers: [error(500, "InternalError"), .reply(206)], call: open,
            expected: .ok, requests: 2),
        Case(
            name: "get, 503 twice", answers: [error(503, "ServiceUnavailable"), error(503, "SlowDown")], call: open,
            expected: .zoneUnavailable, requests: 2),
        Case(
            name: "get, unreachable then answered", answers: [.unreachable, .reply(206)], call: open, expected: .ok,
            requests: 2),
        Case(
            name: "get, unreachable twice", answers: [.unreachable, .unreachable], call: open,
            expected: .zoneUnavailable,
            requests: 2),
        Case(name: "get, NoSuchKey", answers: [error(404, "NoSuchKey")], call: open, expected: .noSuchKey, requests: 1),
        Case(
            name: "get, NoSuchBucket", answers: [error(404, "NoSuchBucket")], call: open, expected: .noSuchKey,
            requests: 1),
        Case(
            name: "get, 403", answers: [error(403, "AccessDenied")], call: open, expected: .internalFailure, requests: 1
        ),

        // A provider that hung has cost the client one bound already: never waited for twice.
        Case(name: "delete, hung", answers: [.hang], call: deleteBlob, expected: .zoneUnavailable, requests: 1),
        Case(name: "get, hung", answers: [.hang], call: open, expected: .zoneUnavailable, requests: 1),
        Case(
            name: "put, HeadBucket hung", answers: [.hang], call: put, expected: .zoneUnavailable, requests: 1),
        Case(
            name: "put, hung after the body", answers: [.reply(200), .hang], call: put, expected: .zoneUnavailable,
            requests: 2),

        // A streamed upload cannot be replayed: never retried.
        Case(name: "put, answered", answers: [.reply(200), .reply(200)], call: put, expected: .ok, requests: 2),
        Case(
            name: "put, 503", answers: [.reply(200), error(503, "SlowDown")], call: put, expected: .zoneUnavailable,
            requests: 2),
        Case(
            name: "put, unreachable", answers: [.reply(200), .unreachable], call: put, expected: .zoneUnavailable,
            requests: 2),
        Case(
            name: "put, 400 InvalidArgument", answers: [.reply(200), error(400, "InvalidArgument")], call: put,
            expected: .internalFailure, requests: 2),
        Case(
            name: "put, HeadBucket 403", answers: [.reply(403)], call: put, expected: .internalFailure, requests: 1),

        // CompleteMultipartUpload may answer 200 with an error document.
        Case(
            name: "complete, 200 carrying InternalError", answers: [.reply(200, body: errorDocument("InternalError"))],
            call: {
                _ = try $0.completeMultipart(backendBucket: backendBucket, multipart: "\(blobId) u", parts: [(1, "e")])
            },
            expected: .zoneUnavailable, requests: 1),
        Case(
            name: "complete, InvalidPart", answers: [error(400, "InvalidPart")],
            call: {
                _ = try $0.completeMultipart(backendBucket: backendBucket, multipart: "\(blobId) u", parts: [(1, "e")])
            },
            expected: .internalFailure, requests: 1),
        Case(
            name: "create upload, 200 without an UploadId",
            answers: [.reply(200, body: "<InitiateMultipartUploadResult/>")],
            call: { _ = try $0.createUpload(backendBucket, blobId) }, expected: .internalFailure, requests: 1),
    ]

    func testErrorTranslation() throws {
        for c in Self.cases {
            let provider = FakeProvider(c.answers)
            let zone = try makeZone(provider)
            let error = storeError { try c.call(zone) }
            let got: Expected
            switch error {
            case nil: got = .ok
            case .zoneUnavailable?: got = .zoneUnavailable
            case .noSuchKey?: got = .noSuchKey
            case .internalFailure?: got = .internalFailure
            case let other?: return XCTFail("\(c.name): unexpected \(other)")
            }
            XCTAssertEqual(got, c.expected, "\(c.name): \(String(describing: error))")
            XCTAssertEqual(provider.exchanges.count, c.requests, "\(c.name): \(provider.sent)")
            // The provider's prose is not ours to repeat; the code is kept for the log.
            if case .internalFailure(let text)? = error {
                XCTAssertFalse(text.contains("provider says no"), "\(c.name): \(text)")
                XCTAssertTrue(text.hasPrefix("zone fi-hel-st-1: "), "\(c.name): \(text)")
            }
            // The log names the zone, and a timeout says which bound ran out.
            if case .zoneUnavailable(let text)? = error {
                XCTAssertTrue(text.hasPrefix("zone fi-hel-st-1: "), "\(c.name): \(text)")
                if c.answers.contains(where: { if case .hang = $0 { true } else { false } }) {
                    XCTAssertTrue(text.contains("no response headers within 3 s"), "\(c.name): \(text)")
                }
            }
            for e in provider.exchanges where !e.closed && !e.aborted {
                XCTFail("\(c.name): \(e.method) \(e.uri) left open")
            }
        }
    }

    /// A body that stops mid-way after the headers went out: the bytes that came are delivered,
    /// then the read fails as the zone being unavailable (the client's response ends short).
    func testBodyThatStallsEndsTheReadNamingTheZone() throws {
        let provider = FakeProvider([.stall(200, headers: [("Content-Length", "10")], body: "abcd")])
        let zone = try makeZone(provider, timeouts: ZoneTimeouts(connect: 1, response: 2, stall: 0.25))
        let reader = try zone.open(backendBucket: backendBucket, blob: blobId, offset: 0, length: nil)
        var buffer = [UInt8](repeating: 0, count: 16)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }, 4)
        let error = storeError { _ = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) } }
        XCTAssertEqual(
            error, .zoneUnavailable("zone fi-hel-st-1: the response body stalled: no byte came for 0.25 s"))
        XCTAssertTrue(provider.exchanges[0].aborted, "the stalled connection must not be reused")
        XCTAssertEqual(provider.exchanges.count, 1, "headers had gone out: nothing to retry")
    }

    /// Every request carries the zone's own bounds to the transport; a large body adds time to
    /// the response bound (a provider may work through it before answering), and assembling a
    /// multipart upload gets the assembly bound.
    func testTheZonesBoundsGoWithEveryRequest() throws {
        let bounds = ZoneTimeouts(connect: 2, response: 4, stall: 8, assembly: 90)
        let provider = FakeProvider([
            .reply(200), .reply(200), .reply(206, body: "x"), .reply(204),
            .reply(200, body: "<ListAllMyBucketsResult/>"),
            .reply(200), .reply(200, body: "<CompleteMultipartUploadResult/>"),
        ])
        let zone = try makeZone(provider, timeouts: bounds)
        try Self.put(zone)
        _ = try zone.open(backendBucket: backendBucket, blob: blobId, offset: 0, length: 1)
        try Self.deleteBlob(zone)
        _ = try zone.probe()
        XCTAssertEqual(provider.exchanges.count, 5)
        for e in provider.exchanges { XCTAssertEqual(e.request.timeouts, bounds, "\(e.method) \(e.uri)") }

        // A 1 GiB part: 32 seconds more to answer after it.
        let part = try zone.beginPartWrite(
            backendBucket: backendBucket, multipart: "\(blobId) u", partNumber: 1, length: 1 << 30)
        part.abort()
        XCTAssertEqual(
            provider.exchanges[5].request.timeouts, ZoneTimeouts(connect: 2, response: 36, stall: 8, assembly: 90))
        _ = try zone.completeMultipart(backendBucket: backendBucket, multipart: "\(blobId) u", parts: [(1, "e")])
        XCTAssertEqual(
            provider.exchanges[6].request.timeouts, ZoneTimeouts(connect: 2, response: 90, stall: 90, assembly: 90))
    }

    /// A backend bucket that vanished at the provider is forgotten by the failed write and
    /// created again by the next one: provider-side loss heals on demand.
    func testVanishedBucketIsRecreatedOnTheNextWrite() throws {
        let provider = FakeProvider([
            .reply(200),  // HeadBucket: exists
            .reply(404, body: errorDocument("NoSuchBucket")),  // PutObject: gone meanwhile
        ])
        let zone = try makeZone(provider)
        XCTAssertEqual(
            storeError { try Self.put(zone) }.map { if case .zoneUnavailable = $0 { true } else { false } }, true)

        provider.answer(.reply(404), .reply(200), .reply(200))
        try Self.put(zone)
        let sent = provider.sent.map {
            $0.replacingOccurrences(of: #"/[0-9a-f]{32}"#, with: "/<id>", options: .regularExpression)
        }
        XCTAssertEqual(
            sent,
            [
                "HEAD /\(backendBucket)", "PUT /\(backendBucket)/<id>",
                "HEAD /\(backendBucket)", "PUT /\(backendBucket)", "PUT /\(backendBucket)/<id>",
            ])
        XCTAssertEqual(
            String(decoding: provider.exchanges[3].body, as: UTF8.self),
            S3ZoneRequestTests.createBucketBody)
    }

    /// A bucket seen once is not checked again; one created concurrently by another worker is ours.
    func testBucketIsCheckedOnceAndACreateRaceIsFine() throws {
        let provider = FakeProvider([
            .reply(404), .reply(409, body: errorDocument("BucketAlreadyOwnedByYou")), .reply(200), .reply(200),
        ])
        let zone = try makeZone(provider)
        try Self.put(zone)
        try Self.put(zone)
        XCTAssertEqual(
            provider.sent.filter { !$0.contains("/\(backendBucket)/") },
            ["HEAD /\(backendBucket)", "PUT /\(backendBucket)"])
        XCTAssertEqual(provider.exchanges.count, 4)
    }

    func testBucketOwnedBySomeoneElseIsAFailure() throws {
        let provider = FakeProvider([.reply(404), .reply(409, body: errorDocument("BucketAlreadyExists"))])
        let zone = try makeZone(provider)
        guard case .internalFailure? = storeError({ try Self.put(zone) }) else { return XCTFail() }
    }
}
