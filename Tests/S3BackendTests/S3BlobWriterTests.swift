import GatewayCore
import SigV4
import XCTest

@testable import S3Backend

/// Uploads to a provider: one streamed PUT when the length is known; 8 MiB parts of a provider
/// multipart upload when it is not; signed aws-chunks when the zone signs payloads.
final class S3BlobWriterTests: XCTestCase {
    static let part = S3BlobWriter.partSize
    static let uploadResult =
        "<InitiateMultipartUploadResult><UploadId>up/1+x</UploadId></InitiateMultipartUploadResult>"
    static let completeResult = "<CompleteMultipartUploadResult><ETag>\"m-2\"</ETag></CompleteMultipartUploadResult>"

    /// Distinct bytes in a 251-byte cycle, so a misplaced or dropped range shows.
    func bytes(_ count: Int) -> [UInt8] {
        let cycle = (0..<251).map { UInt8($0) }
        var out: [UInt8] = []
        out.reserveCapacity(count + 251)
        while out.count < count { out += cycle }
        return Array(out.prefix(count))
    }

    /// Writes `data` in uneven pieces, so part boundaries fall inside writes.
    func writeInPieces(_ writer: any BlobWriter, _ data: [UInt8]) throws {
        var offset = 0
        var step = 1
        while offset < data.count {
            let n = min(step, data.count - offset)
            try writer.write(Array(data[offset..<(offset + n)]))
            offset += n
            step = step * 7 + 3
        }
    }

    func testKnownLengthIsOneStreamedPut() throws {
        let provider = FakeProvider([.reply(200), .reply(200, headers: [("ETag", "\"e\"")])])
        let zone = try makeZone(provider, storageClass: "STANDARD_IA")
        let data = bytes(1000)
        let writer = try zone.beginWrite(backendBucket: backendBucket, length: 1000)
        try writeInPieces(writer, data)
        let id = try writer.commit()
        XCTAssertEqual(provider.sent, ["HEAD /\(backendBucket)", "PUT /\(backendBucket)/\(id)"])
        let put = provider.exchanges[1]
        XCTAssertEqual(put.request.bodyLength, 1000)
        XCTAssertEqual(put.body, data)
        XCTAssertEqual(put.header(request: "content-type"), "application/octet-stream")
        XCTAssertEqual(put.header(request: "x-amz-storage-class"), "STANDARD_IA")
        XCTAssertEqual(put.header(request: "x-amz-content-sha256"), "UNSIGNED-PAYLOAD")
        XCTAssertEqual(put.header(request: "expect"), nil)
    }

    func testUnknownLengthThatFitsOnePartIsOnePut() throws {
        let provider = FakeProvider([.reply(200), .reply(200)])
        let zone = try makeZone(provider)
        let writer = try zone.beginWrite(backendBucket: backendBucket, length: nil)
        try writer.write(Array("hello".utf8))
        let id = try writer.commit()
        XCTAssertEqual(provider.sent, ["HEAD /\(backendBucket)", "PUT /\(backendBucket)/\(id)"])
        XCTAssertEqual(provider.exchanges[1].request.bodyLength, 5)
        XCTAssertEqual(provider.exchanges[1].body, Array("hello".utf8))
    }

    func testUnknownLengthGoesIn8MiBParts() throws {
        for extra in [100, 0] {
            let count = 2 * Self.part + extra
            let partCount = extra > 0 ? 3 : 2
            let provider = FakeProvider([.reply(200), .reply(200, body: Self.uploadResult)])
            for n in 1...partCount { provider.answer(.reply(200, headers: [("ETag", "\"p\(n)\"")])) }
            provider.answer(.reply(200, body: Self.completeResult))
            let zone = try makeZone(provider)
            let data = bytes(count)
            let writer = try zone.beginWrite(backendBucket: backendBucket, length: nil)
            try writeInPieces(writer, data)
            let id = try writer.commit()

            let upload = "uploadId=up%2F1%2Bx"
            XCTAssertEqual(
                provider.sent,
                ["HEAD /\(backendBucket)", "POST /\(backendBucket)/\(id)?uploads"]
                    + (1...partCount).map { "PUT /\(backendBucket)/\(id)?partNumber=\($0)&\(upload)" }
                    + ["POST /\(backendBucket)/\(id)?\(upload)"], "extra \(extra)")
            let parts = provider.exchanges[2..<(2 + partCount)]
            XCTAssertEqual(parts.map { $0.body.count }, [Self.part, Self.part] + (extra > 0 ? [extra] : []))
            XCTAssertEqual(parts.map { $0.request.bodyLength }, parts.map { Int64($0.body.count) })
            XCTAssertEqual(parts.flatMap(\.body), data, "the parts hold the bytes in order")
            let complete = (1...partCount).map {
                "<Part><PartNumber>\($0)</PartNumber><ETag>&quot;p\($0)&quot;</ETag></Part>"
            }
            XCTAssertEqual(
                String(decoding: provider.exchanges.last!.body, as: UTF8.self),
                "<CompleteMultipartUpload>\(complete.joined())</CompleteMultipartUpload>")
        }
    }

    /// A writer given up after its first part aborts the provider upload: no parts are left
    /// behind to be billed.
    func testAbortedUnknownLengthUploadIsAbortedAtTheProvider() throws {
        let provider = FakeProvider([
            .reply(200), .reply(200, body: Self.uploadResult), .reply(200, headers: [("ETag", "\"p1\"")]), .reply(204),
        ])
        let zone = try makeZone(provider)
        let writer = try zone.beginWrite(backendBucket: backendBucket, length: nil)
        try writer.write(bytes(Self.part + 10))
        writer.abort()
        let id = String(provider.exchanges[1].uri.dropFirst(backendBucket.count + 2).prefix(32))
        XCTAssertEqual(provider.sent.last, "DELETE /\(backendBucket)/\(id)?uploadId=up%2F1%2Bx")
        XCTAssertEqual(provider.unused, 0)
    }

    func testFailedPartAbortsTheProviderUpload() throws {
        let provider = FakeProvider([
            .reply(200), .reply(200, body: Self.uploadResult), .reply(200, headers: [("ETag", "\"p1\"")]),
            .reply(503, body: errorDocument("SlowDown")), .reply(204),
        ])
        let zone = try makeZone(provider)
        let writer = try zone.beginWrite(backendBucket: backendBucket, length: nil)
        try writer.write(bytes(Self.part + 10))
        guard case .zoneUnavailable? = storeError({ _ = try writer.commit() }) else { return XCTFail() }
        XCTAssertTrue(provider.sent.last?.hasPrefix("DELETE ") ?? false, "\(provider.sent)")
        XCTAssertTrue(provider.sent.last?.hasSuffix("?uploadId=up%2F1%2Bx") ?? false, "\(provider.sent)")
    }

    // MARK: - payload signing

    /// With payload signing the PUT is aws-chunked with signed chunks, and the provider (here
    /// SigV4's own verifier and chunk decoder) accepts every signature and gets the bytes back.
    func testSignedPayloadUploadVerifies() throws {
        for length in [0, 1, 66_560, 3 * ChunkSigner.defaultChunkSize] {
            let provider = FakeProvider([.reply(200), .reply(200)])
            let zone = try makeZone(provider, payloadSigning: true)
            let data = bytes(length)
            let writer = try zone.beginWrite(backendBucket: backendBucket, length: Int64(length))
            try writeInPieces(writer, data)
            _ = try writer.commit()
            let put = provider.exchanges[1]
            XCTAssertEqual(put.header(request: "content-encoding"), "aws-chunked")
            XCTAssertEqual(put.header(request: "x-amz-decoded-content-length"), String(length))
            XCTAssertEqual(put.header(request: "content-length"), String(put.body.count))
            XCTAssertEqual(put.request.bodyLength, Int64(put.body.count))
            XCTAssertEqual(put.header(request: "x-amz-content-sha256"), "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
            XCTAssertEqual(try decodeVerified(put), data, "length \(length)")
        }
        // AWS's example sizes: 66560 bytes frame to 66824.
        XCTAssertEqual(ChunkSigner.encodedLength(66_560), 66_824)
    }

    func testSignedPayloadPartsVerify() throws {
        let provider = FakeProvider([
            .reply(200), .reply(200, body: Self.uploadResult), .reply(200, headers: [("ETag", "\"p1\"")]),
            .reply(200, headers: [("ETag", "\"p2\"")]), .reply(200, body: Self.completeResult),
        ])
        let zone = try makeZone(provider, payloadSigning: true)
        let data = bytes(Self.part + 5000)
        let writer = try zone.beginWrite(backendBucket: backendBucket, length: nil)
        try writeInPieces(writer, data)
        _ = try writer.commit()
        let parts = provider.exchanges[2...3]
        XCTAssertEqual(try parts.flatMap { try decodeVerified($0) }, data)
    }

    func decodeVerified(_ e: FakeProvider.Exchange) throws -> [UInt8] {
        let head = RequestHead(method: e.method, rawURI: e.uri, headers: e.request.headers)
        let auth = try Verifier(credentials: S3ZoneRequestTests.Keys()).authenticate(head, now: exampleNow)
        let body = try VerifiedBody(source: MemorySource(e.body), head: head, auth: auth)
        return try body.readAll(limit: 1 << 30) ?? []
    }
}
