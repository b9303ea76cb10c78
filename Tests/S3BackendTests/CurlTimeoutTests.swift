import GatewayCore
import XCTest

@testable import S3Backend

/// The real curl transport against providers that misbehave in time: one that accepts and never
/// answers (a stopped process), one that stops mid-body in either direction, and slow ones that
/// keep moving. Every wait ends after its bound; nothing that makes progress is cut.
final class CurlTimeoutTests: XCTestCase {
    override func setUp() { CurlGlobal.initialize() }

    let bounds = ZoneTimeouts(connect: 1, response: 0.5, stall: 0.5)
    let transport = CurlTransport(options: .init())

    func request(_ server: LocalServer, _ method: String = "GET", length: Int64? = nil) -> HTTPRequest {
        HTTPRequest(
            method: method, url: server.url + "/b/k", headers: [("Host", "127.0.0.1")], bodyLength: length,
            timeouts: bounds)
    }

    /// The error `body` throws and how long it took to throw it.
    func timed(_ body: () throws -> Void) -> (error: (any Error)?, seconds: Double) {
        let t0 = monotonicSeconds()
        do {
            try body()
            return (nil, monotonicSeconds() - t0)
        } catch {
            return (error, monotonicSeconds() - t0)
        }
    }

    func assertTimeout(
        _ result: (error: (any Error)?, seconds: Double), after bound: Double, saying text: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        guard let timeout = result.error as? ProviderTimeout else {
            return XCTFail(
                "expected a ProviderTimeout, got \(String(describing: result.error))", file: file, line: line)
        }
        XCTAssertTrue(timeout.description.contains(text), timeout.description, file: file, line: line)
        XCTAssertGreaterThanOrEqual(result.seconds, bound * 0.9, file: file, line: line)
        XCTAssertLessThan(result.seconds, bound + 1, "waited far longer than the bound", file: file, line: line)
    }

    func testProviderThatNeverAnswersFailsAfterTheResponseBound() throws {
        let server = try LocalServer()  // never accepts: the kernel queues the request, nobody reads it
        defer { server.stop() }
        let exchange = try transport.start(request(server))
        try exchange.closeUpload()
        assertTimeout(timed { _ = try exchange.waitForResponse() }, after: 0.5, saying: "no response headers within")
    }

    func testStatusLineAloneDoesNotEndTheWaitForHeaders() throws {
        let server = try LocalServer { c in
            _ = c.readHead()
            c.send("HTTP/1.1 200 OK\r\nContent-Le")
            c.hang()
        }
        defer { server.stop() }
        let exchange = try transport.start(request(server))
        try exchange.closeUpload()
        assertTimeout(timed { _ = try exchange.waitForResponse() }, after: 0.5, saying: "no response headers within")
    }

    func testBodyThatStopsMidwayFailsAfterTheStallBound() throws {
        let server = try LocalServer { c in
            _ = c.readHead()
            c.send("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + String(repeating: "x", count: 1000))
            c.hang()
        }
        defer { server.stop() }
        let exchange = try transport.start(request(server))
        try exchange.closeUpload()
        XCTAssertEqual(try exchange.waitForResponse(), 200)
        var got = 0
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        let t0 = monotonicSeconds()
        let result = timed {
            while true {
                let n = try buffer.withUnsafeMutableBytes { try exchange.read(into: $0) }
                if n == 0 { break }
                got += n
            }
        }
        XCTAssertEqual(got, 1000, "the bytes that did come are delivered first")
        assertTimeout((result.error, monotonicSeconds() - t0), after: 0.5, saying: "the response body stalled")
    }

    func testSlowButMovingBodyIsNotCut() throws {
        // 30 chunks 0.1 s apart: three seconds in all, six times the stall bound.
        let server = try LocalServer { c in
            _ = c.readHead()
            c.send("HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n")
            for _ in 0..<30 {
                Thread.sleep(forTimeInterval: 0.1)
                c.send(String(repeating: "s", count: 100))
            }
            c.hang(upTo: 1)
        }
        defer { server.stop() }
        let exchange = try transport.start(request(server))
        try exchange.closeUpload()
        XCTAssertEqual(try exchange.waitForResponse(), 200)
        let t0 = monotonicSeconds()
        XCTAssertEqual(try exchange.finish(limit: 10_000), Array(String(repeating: "s", count: 3000).utf8))
        XCTAssertGreaterThan(monotonicSeconds() - t0, 2.5)
    }

    func testCallerThatReadsSlowlyIsNotAStall() throws {
        let body = [UInt8](repeating: 7, count: 4 << 20)
        let server = try LocalServer { c in
            _ = c.readHead()
            c.send("HTTP/1.1 200 OK\r\nContent-Length: \(body.count)\r\n\r\n")
            c.send(body)
            c.hang(upTo: 5)
        }
        defer { server.stop() }
        let exchange = try transport.start(request(server))
        try exchange.closeUpload()
        XCTAssertEqual(try exchange.waitForResponse(), 200)
        var got: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var pauses = 0
        while true {
            let n = try buffer.withUnsafeMutableBytes { try exchange.read(into: $0) }
            if n == 0 { break }
            got += buffer[0..<n]
            if pauses < 3 {
                // The client of the gateway is slow: twice the stall bound without asking for more.
                pauses += 1
                Thread.sleep(forTimeInterval: 1)
            }
        }
        XCTAssertEqual(got, body)
    }

    func testUploadToAProviderThatStopsReadingFailsAfterTheStallBound() throws {
        let server = try LocalServer { c in
            _ = c.readHead()
            c.hang()
        }
        defer { server.stop() }
        let total = 64 << 20
        let exchange = try transport.start(request(server, "PUT", length: Int64(total)))
        let chunk = [UInt8](repeating: 1, count: 1 << 20)
        var written = 0
        let result = timed {
            while written < total {
                try chunk.withUnsafeBytes { try exchange.write($0) }
                written += chunk.count
            }
            try exchange.closeUpload()
            _ = try exchange.waitForResponse()
        }
        XCTAssertLessThan(written, total, "the socket buffers cannot hold it all")
        // Filling the socket buffers takes milliseconds; then one stall bound.
        assertTimeout(result, after: 0.5, saying: "the request body stalled")
    }

    func testSlowButMovingUploadIsNotCutAndTheAnswerIsAwaitedAfterIt() throws {
        // The provider takes 64 KiB every 40 ms (about 1.6 MB/s): 4 MiB take over two seconds,
        // most of them after curl has handed the last byte to the kernel. Then it thinks for
        // 0.3 s (within the response bound) and answers.
        let total = 4 << 20
        let server = try LocalServer(receiveBuffer: 64 * 1024) { c in
            _ = c.readHead()
            let n = c.readBody(total, chunk: 64 * 1024, pause: 0.04)
            Thread.sleep(forTimeInterval: 0.3)
            c.send("HTTP/1.1 200 OK\r\nContent-Length: \(String(n).count)\r\n\r\n\(n)")
        }
        defer { server.stop() }
        let exchange = try transport.start(request(server, "PUT", length: Int64(total)))
        let chunk = [UInt8](repeating: 2, count: 256 * 1024)
        let t0 = monotonicSeconds()
        for _ in 0..<(total / chunk.count) { try chunk.withUnsafeBytes { try exchange.write($0) } }
        try exchange.closeUpload()
        XCTAssertEqual(try exchange.waitForResponse(), 200)
        XCTAssertEqual(String(decoding: try exchange.finish(), as: UTF8.self), String(total))
        XCTAssertGreaterThan(monotonicSeconds() - t0, 2, "the provider was meant to be slow")
    }

    /// Through S3Zone: the failure names the zone and what timed out, and it is not retried (a
    /// client waits one bound, not two).
    func testZoneOverAHungProviderFailsOnceWithinTheBound() throws {
        let server = try LocalServer()
        defer { server.stop() }
        let zone = try S3Zone(
            S3Zone.Config(
                name: "xx-hung-1", endpoint: server.url, region: "us-east-1", accessKey: "a", secretKey: "b",
                timeouts: bounds))
        let calls: [(String, () throws -> Void)] = [
            ("open", { _ = try zone.open(backendBucket: "s3gw-b", blob: "0123abcd", offset: 0, length: nil) }),
            ("deleteBlob", { try zone.deleteBlob(backendBucket: "s3gw-b", blob: "0123abcd") }),
            ("probe", { _ = try zone.probe() }),
            ("beginWrite", { _ = try zone.beginWrite(backendBucket: "s3gw-b", length: 3) }),
            ("listBlobs", { _ = try zone.listBlobs(backendBucket: "s3gw-b", after: "", limit: 10) }),
        ]
        for (name, call) in calls {
            let (error, seconds) = timed(call)
            guard case .zoneUnavailable(let text)? = error as? StoreError else {
                XCTFail("\(name): expected zoneUnavailable, got \(String(describing: error))")
                continue
            }
            XCTAssertTrue(text.hasPrefix("zone xx-hung-1: no response headers within 0.5 s"), "\(name): \(text)")
            XCTAssertLessThan(seconds, 0.5 + 0.2 + 0.4, "\(name) was retried or waited past its bound")
        }
    }
}
