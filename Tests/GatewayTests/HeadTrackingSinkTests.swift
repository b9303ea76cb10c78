import GatewayCore
import Synchronization
import XCTest

@testable import Gateway

/// A client has its whole answer only once the request's observers ran (the operations log
/// wrote its record): the body's last byte waits for them, however large the body.
final class HeadTrackingSinkTests: XCTestCase {
    /// Records how much of the answer the client had when the request finished.
    final class Snooper: RequestObserver, @unchecked Sendable {
        let recorder = TestGateway.Recorder()
        let seen = Mutex<Int?>(nil)
        func requestFinished(_ trace: RequestTrace) { seen.withLock { $0 = recorder.body.count } }
    }

    func testTheBodysLastByteGoesOutAfterTheObserversRan() throws {
        let snooper = Snooper()
        let gw = TestGateway { $0.observers = [snooper] }
        // An anonymous request: answered with an error document of announced length.
        gw.gateway.handle(
            params: ["REQUEST_METHOD": "GET", "REQUEST_URI": "/photos/a", "HTTP_HOST": "127.0.0.1:8080"],
            body: MemorySource([]), response: snooper.recorder)
        let answer = snooper.recorder
        XCTAssertGreaterThanOrEqual(answer.status, 400)
        let length = try XCTUnwrap(answer.headers.first { $0.name.lowercased() == "content-length" }?.value)
        XCTAssertEqual(String(answer.body.count), length, "the whole body once handle returned")
        XCTAssertEqual(snooper.seen.withLock { $0 }, answer.body.count - 1, "the observer ran before the last byte")
    }

    func testALargeBodyGoesOutWholeButItsLastByte() throws {
        let inner = TestGateway.Recorder()
        let sink = HeadTrackingSink(inner)
        let body = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try sink.sendHead(status: 200, headers: [Header("Content-Length", String(body.count))])
        try body[..<4096].withUnsafeBytes { try sink.write($0) }
        try body[4096...].withUnsafeBytes { try sink.write($0) }
        XCTAssertEqual(inner.body, Array(body.dropLast()))
        XCTAssertEqual(sink.bytesSent, Int64(body.count), "counted as sent: it is the request's")
        sink.finish()
        XCTAssertEqual(inner.body, body)
        sink.finish()
        XCTAssertEqual(inner.body, body, "sent once")
    }

    func testABodyOfUnannouncedLengthIsNotHeld() throws {
        let inner = TestGateway.Recorder()
        let sink = HeadTrackingSink(inner)
        try sink.sendHead(status: 200, headers: [Header("Transfer-Encoding", "chunked")])
        try ([1, 2, 3] as [UInt8]).withUnsafeBytes { try sink.write($0) }
        XCTAssertEqual(inner.body, [1, 2, 3])
    }
}
