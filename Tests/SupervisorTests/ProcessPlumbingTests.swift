import Foundation
import GatewayCore
import XCTest

@testable import s3gw

/// The pieces the supervisor's reload relies on: a spawned child's fd 3 and a timed read.
final class ProcessPlumbingTests: XCTestCase {
    private func pipeEnds() throws -> (Int32, Int32) {
        var ends: [Int32] = [0, 0]
        try systemCall("pipe") { pipe(&ends) }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (ends[0], ends[1])
    }

    func testReadBytesStopsAtCountAtEndOfFileAndAtTheDeadline() throws {
        var (r, w) = try pipeEnds()
        XCTAssertEqual(write(w, "abc", 3), 3)
        XCTAssertEqual(readBytes(r, count: 2, timeout: 5), 2)
        close(w)
        XCTAssertEqual(readBytes(r, count: 5, timeout: 5), 1, "EOF ends the wait with what arrived")
        close(r)
        (r, w) = try pipeEnds()
        let started = Date()
        XCTAssertEqual(readBytes(r, count: 1, timeout: 0.3), 0)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 0.25)
        close(r)
        close(w)
    }

    func testASpawnedChildWritesItsReadyByteOnFd3AndNothingElseHoldsThePipe() throws {
        let (r, w) = try pipeEnds()
        let pid = try spawn(argv: ["/bin/sh", "-c", "printf R >&3"], listenFD: nil, readyFD: w)
        close(w)
        XCTAssertEqual(readBytes(r, count: 1, timeout: 10), 1)
        // Only the child had the write end (close-on-exec elsewhere): its exit is EOF.
        XCTAssertEqual(readBytes(r, count: 1, timeout: 10), 0)
        var status: Int32 = 0
        XCTAssertEqual(waitpid(pid, &status, 0), pid)
        close(r)
    }

    func testASpawnThatCannotExecuteFails() {
        XCTAssertThrowsError(try spawn(argv: ["/nonexistent/s3gw", "worker"], listenFD: nil))
    }

    /// Workers and the agent hold pasted and decrypted secrets: a crash must not write them to a
    /// core file, and the process must not be dumpable (ptrace, a piping core pattern).
    func testASecretHoldingProcessCannotDumpItsMemory() {
        XCTAssertTrue(coreDumpsPossible(), "a process starts dumpable")
        disableCoreDumps()
        XCTAssertFalse(coreDumpsPossible())
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
        XCTAssertEqual(limit.rlim_cur, 0)
        XCTAssertEqual(limit.rlim_max, 0)
    }
}
