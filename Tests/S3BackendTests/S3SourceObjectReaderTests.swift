import Foundation
import GatewayCore
import Synchronization
import XCTest

@testable import S3Backend

#if canImport(Glibc)
    import Glibc
#endif

/// GetObject from a source: the head a copy needs (size, ETag, dates, the headers S3 keeps,
/// checksums), the body streamed as it is read, and a transfer that ends when told to — over
/// scripted answers and over the real curl transport against a local socket.
final class S3SourceObjectReaderTests: XCTestCase {
    override func setUp() { CurlGlobal.initializeOnce() }

    func testTheHeadSaysWhatTheBytesAre() throws {
        let provider = FakeProvider([
            .reply(
                200,
                headers: [
                    ("Content-Length", "11"), ("ETag", "\"0123456789abcdef0123456789abcdef-2\""),
                    ("Last-Modified", "Mon, 06 May 2024 07:08:09 GMT"), ("Content-Type", "text/plain"),
                    ("Cache-Control", "max-age=60"), ("Content-Disposition", "attachment; filename=\"a.txt\""),
                    ("Content-Encoding", "gzip"), ("Content-Language", "fi"),
                    ("Expires", "Tue, 07 May 2024 07:08:09 GMT"), ("x-amz-meta-Color", "blue"),
                    ("x-amz-meta-empty", ""), ("x-amz-checksum-crc32", "DUoRhQ=="),
                    ("x-amz-checksum-sha256", "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
                    ("x-amz-checksum-type", "FULL_OBJECT"), ("x-amz-request-id", "R1"), ("Server", "AmazonS3"),
                    ("x-amz-server-side-encryption", "AES256"),
                ], body: "hello world")
        ])
        let source = try makeSource(provider)
        let reader = try source.open(bucket: "photos", region: "eu-west-1", key: "a.txt")
        XCTAssertEqual(
            reader.head,
            SourceObjectHead(
                size: 11, etag: "0123456789abcdef0123456789abcdef-2", lastModified: 1_714_979_289,
                contentType: "text/plain",
                headers: [
                    "cache-control": "max-age=60", "content-disposition": "attachment; filename=\"a.txt\"",
                    "content-encoding": "gzip", "content-language": "fi", "expires": "Tue, 07 May 2024 07:08:09 GMT",
                    "x-amz-meta-color": "blue", "x-amz-meta-empty": "", "x-amz-server-side-encryption": "AES256",
                ],
                checksums: ["crc32": "DUoRhQ==", "sha256": "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="]))
        XCTAssertEqual(reader.size, 11)
        XCTAssertEqual(try readAll(reader), Array("hello world".utf8))
        reader.close()
        XCTAssertFalse(provider.exchanges[0].aborted, "a body read to its end keeps its connection")
    }

    func testAShortBodyIsAnError() throws {
        let provider = FakeProvider([.reply(200, headers: [("Content-Length", "10")], body: "01234")])
        let reader = try makeSource(provider).open(bucket: "photos", region: "eu-west-1", key: "k")
        XCTAssertEqual(
            sourceError { _ = try readAll(reader) }, .unreachable("the object's body ended 5 bytes early"))
    }

    func testAnAnswerWithoutALengthIsRefused() throws {
        let provider = FakeProvider([.reply(200, body: "01234")])
        XCTAssertEqual(
            sourceError { _ = try makeSource(provider).open(bucket: "photos", region: "eu-west-1", key: "k") },
            .unreachable("GetObject photos answered without a Content-Length"))
        XCTAssertTrue(provider.exchanges[0].aborted)
    }

    func testCloseEndsTheTransfer() throws {
        let provider = FakeProvider([.reply(200, headers: [("Content-Length", "10")], body: "0123456789")])
        let reader = try makeSource(provider).open(bucket: "photos", region: "eu-west-1", key: "k")
        var four = [UInt8](repeating: 0, count: 4)
        XCTAssertEqual(try four.withUnsafeMutableBytes { try reader.read(into: $0) }, 4)
        reader.close()
        XCTAssertTrue(provider.exchanges[0].aborted)
        XCTAssertEqual(sourceError { _ = try readAll(reader) }, .unreachable("the transfer was closed"))
    }

    // MARK: the real transport

    func source(_ server: LocalServer, timeouts: ZoneTimeouts = S3SourceClient.defaultTimeouts) throws
        -> S3SourceClient
    {
        try S3SourceClient(
            SourceSpec(
                endpoint: server.url, region: "us-east-1",
                credentials: SourceCredentials(
                    accessKey: sourceAccessKey, secretKey: exampleSecret, sessionToken: sourceToken)),
            timeouts: timeouts)
    }

    /// The reader has the head and the first bytes while the source has not sent the rest: the
    /// body is pulled as it is read, never gathered first.
    func testTheBodyStreams() throws {
        let total = 16 << 20
        let first = 1 << 20
        let clientHasFirst = Atomic<Bool>(false)
        let head = Mutex("")
        let server = try LocalServer { c in
            head.withLock { $0 = c.readHead() }
            c.send("HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nETag: \"e\"\r\nx-amz-meta-k: v\r\n\r\n")
            c.send([UInt8](repeating: 1, count: first))
            let deadline = Date().addingTimeInterval(10)
            while !clientHasFirst.load(ordering: .acquiring) && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
            c.send([UInt8](repeating: 2, count: total - first))
        }
        defer { server.stop() }
        let reader = try source(server).open(bucket: "photos", region: "us-east-1", key: "big")
        XCTAssertEqual(reader.head.size, Int64(total))
        XCTAssertEqual(reader.head.headers, ["x-amz-meta-k": "v"])
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var got = 0
        var ones = 0
        while got < first {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            XCTAssertGreaterThan(n, 0)
            ones += buffer[0..<n].filter { $0 == 1 }.count
            got += n
        }
        XCTAssertEqual(ones, first, "bytes the source had not sent yet were read")
        clientHasFirst.store(true, ordering: .releasing)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            got += n
        }
        XCTAssertEqual(got, total)
        let request = head.withLock { $0 }
        XCTAssertTrue(request.hasPrefix("GET /photos/big HTTP/1.1\r\n"), request)
        XCTAssertTrue(request.lowercased().contains("x-amz-security-token: \(sourceToken.lowercased())"), request)
        XCTAssertTrue(request.lowercased().contains("x-amz-checksum-mode: enabled"), request)
    }

    /// close() drops the connection: the source sees it gone instead of sending on forever.
    func testCloseDropsTheConnection() throws {
        let sawClose = Atomic<Bool>(false)
        let server = try LocalServer { c in
            _ = c.readHead()
            c.send("HTTP/1.1 200 OK\r\nContent-Length: \(1 << 30)\r\n\r\n")
            let chunk = [UInt8](repeating: 7, count: 64 << 10)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                let n = chunk.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno != EAGAIN {
                    sawClose.store(true, ordering: .releasing)
                    return
                }
            }
        }
        defer { server.stop() }
        let reader = try source(server).open(bucket: "photos", region: "us-east-1", key: "huge")
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        _ = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
        reader.close()
        let deadline = Date().addingTimeInterval(8)
        while !sawClose.load(ordering: .acquiring) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertTrue(sawClose.load(ordering: .acquiring), "the source kept sending after close()")
    }

    /// The connector asks the allow-list first: a refused endpoint is never connected to.
    func testTheConnectorChecksTheEndpointFirst() throws {
        let contacted = Atomic<Bool>(false)
        let server = try LocalServer { c in
            contacted.store(true, ordering: .releasing)
            _ = c.readHead()
            let body = "<ListAllMyBucketsResult></ListAllMyBucketsResult>"
            c.send("HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n" + body)
        }
        defer { server.stop() }
        let allowed = server.url
        let connect = S3SourceClient.connector { (endpoint: String) throws(SourceError) -> String in
            guard endpoint.lowercased().hasPrefix(allowed) else { throw .endpointNotAllowed("elsewhere") }
            return allowed
        }
        let credentials = SourceCredentials(accessKey: sourceAccessKey, secretKey: exampleSecret)
        XCTAssertEqual(
            sourceError {
                _ = try connect(
                    SourceSpec(endpoint: "http://169.254.169.254", region: "us-east-1", credentials: credentials))
            },
            .endpointNotAllowed("elsewhere"))
        XCTAssertFalse(contacted.load(ordering: .acquiring))
        let account = try connect(
            SourceSpec(endpoint: allowed.uppercased(), region: "us-east-1", credentials: credentials))
        XCTAssertEqual(try account.listBuckets(), [])
        XCTAssertTrue(contacted.load(ordering: .acquiring))
    }

    func testNoConnectionIsUnreachable() throws {
        let server = try LocalServer()
        server.stop()  // its port is closed now
        let error = sourceError { _ = try self.source(server).listBuckets() }
        guard case .unreachable(let why) = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertFalse(why.contains("127.0.0.1"), why)
    }

    /// A source that accepts and never answers costs one bound, not a hung job.
    func testAHungSourceFailsWithinItsBound() throws {
        let server = try LocalServer()  // never accepts: the request waits in the kernel's queue
        defer { server.stop() }
        let t0 = monotonicSeconds()
        let error = sourceError {
            _ = try self.source(server, timeouts: ZoneTimeouts(connect: 1, response: 0.5, stall: 0.5))
                .listObjects(bucket: "photos", region: "us-east-1", continuation: nil)
        }
        XCTAssertEqual(error, .unreachable("no response headers within 0.5 s of the request"))
        XCTAssertLessThan(monotonicSeconds() - t0, 3)
    }
}
