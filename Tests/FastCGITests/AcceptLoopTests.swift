import Foundation
import XCTest

@testable import FastCGI

final class AcceptLoopTests: XCTestCase {
    func testBackoffDoublesFromAMillisecondToASecondAndResets() {
        var b = AcceptBackoff()
        let delays = (0..<13).map { _ in b.failed() }
        XCTAssertEqual(delays, [0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1, 1, 1])
        b.succeeded()
        XCTAssertEqual(b.failed(), 0.001)
    }

    func testAPersistentAcceptFailureDoesNotSpin() throws {
        // Not a socket: every accept fails at once, forever.
        let fd = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let server = FastCGIServer(threads: 2, listenFD: fd)
        server.start { _ in XCTFail("nothing can be accepted") }
        let deadline = Date().addingTimeInterval(10)
        while server.acceptFailures.load(ordering: .relaxed) < 4 && Date() < deadline { usleep(10_000) }
        XCTAssertGreaterThanOrEqual(server.acceptFailures.load(ordering: .relaxed), 4, "the loop never retried")
        usleep(500_000)
        server.beginDrain()
        // 2 threads backing off from 1 ms: about 9 attempts each in 0.5 s; a spinning loop makes
        // hundreds of thousands.
        XCTAssertLessThan(server.acceptFailures.load(ordering: .relaxed), 40)
    }
}
