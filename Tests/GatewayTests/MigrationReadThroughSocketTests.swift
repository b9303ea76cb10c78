import Foundation
import GatewayCore
import Logging
import Synchronization
import XCTest

@testable import Gateway

#if canImport(Glibc)
    import Glibc
#endif

/// The read-through socket between a worker and a run, against the ends that misbehave: a run
/// that is stopped (its listen queue full), a client that trickles bytes, a second run of the
/// same plan, a run whose socket path another run took over.
final class MigrationReadThroughSocketTests: XCTestCase {
    var dir: String!
    var fds: [Int32] = []

    override func setUpWithError() throws {
        // Short: a unix socket path has ~100 bytes.
        dir = "/tmp/rts-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for fd in fds { close(fd) }
        try? FileManager.default.removeItem(atPath: dir)
    }

    func route(_ path: String) -> ReadThroughRoute { ReadThroughRoute(bucket: "b", runId: "r", socket: path) }

    /// A socket at `path` that listens and never accepts, its queue already full: what a
    /// stopped (SIGSTOP) or wedged run looks like from a worker.
    func fullQueue(at path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let l = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        fds.append(l)
        var addr = try XCTUnwrap(UnixSocket.address(path))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(l, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(l, 0), 0)
        var full = false
        for _ in 0..<64 where !full {
            let c = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            fds.append(c)
            _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
            let r = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(c, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            full = r != 0 && errno == EAGAIN
        }
        XCTAssertTrue(full, "the listen queue fills")
    }

    func testAWorkerDoesNotWaitForeverOnARunThatTakesNoConnection() throws {
        let path = dir + "/stopped.sock"
        try fullQueue(at: path)
        let worker = UnixSocketReadThrough(timeout: 0.5)
        let answer = Mutex<ReadThroughAnswer?>(nil)
        let done = DispatchSemaphore(value: 0)
        let route = self.route(path)
        let started = Date()
        Thread {
            let a = worker.fetch(route, key: "k")
            answer.withLock { $0 = a }
            done.signal()
        }.start()
        // Were the connect unbounded, closing the listener (tearDown) is what would free the thread.
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success, "the connect is bounded by the worker's timeout")
        XCTAssertEqual(answer.withLock { $0 }, .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testAClientTricklingBytesIsCutOffAtTheReadDeadline() throws {
        let asked = Atomic<Int>(0)
        let server = try ReadThroughServer(
            stateDir: dir, runId: "trickle", logger: Logger(label: "t"), readTimeout: 0.5
        ) { _, _ in
            asked.add(1, ordering: .relaxed)
            return .copied
        }
        defer { server.stop() }
        let c = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(c) }
        XCTAssertEqual(UnixSocket.connect(c, path: server.path, deadline: Date().addingTimeInterval(2)), .connected)
        let started = Date()
        var cutOff: Double?
        // A byte every 100 ms, never a newline: each read returns well within any per-read timeout.
        while Date().timeIntervalSince(started) < 5 {
            var byte: UInt8 = 0x7B
            if send(c, &byte, 1, Int32(MSG_NOSIGNAL)) != 1 {
                cutOff = Date().timeIntervalSince(started)
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let elapsed = try XCTUnwrap(cutOff, "the server never closed the connection")
        XCTAssertLessThan(elapsed, 2.5, "closed at the 0.5 s deadline, not after it")
        XCTAssertEqual(asked.load(ordering: .relaxed), 0)
    }

    func testASecondRunOfThePlanDoesNotTakeOverALiveSocket() throws {
        let first = try ReadThroughServer(stateDir: dir, runId: "plan-1", logger: Logger(label: "t")) { _, _ in .copied
        }
        defer { first.stop() }
        XCTAssertThrowsError(
            try ReadThroughServer(stateDir: dir, runId: "plan-1", logger: Logger(label: "t")) { _, _ in .absent }
        ) {
            XCTAssertEqual(($0 as? MigrationError)?.code, .conflict, "\($0)")
        }
        XCTAssertEqual(
            UnixSocketReadThrough(timeout: 2).fetch(route(first.path), key: "k"), .copied, "the first still answers")
    }

    func testAStoppedRunsSocketIsNotTakenOverEither() throws {
        try fullQueue(at: ReadThroughServer.path(stateDir: dir, runId: "plan-2"))
        let started = Date()
        XCTAssertThrowsError(
            try ReadThroughServer(stateDir: dir, runId: "plan-2", logger: Logger(label: "t")) { _, _ in .absent }
        ) {
            XCTAssertEqual(($0 as? MigrationError)?.code, .conflict, "\($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testASocketNobodyListensOnIsReplaced() throws {
        let path = ReadThroughServer.path(stateDir: dir, runId: "plan-3")
        try FileManager.default.createDirectory(atPath: dir + "/migration", withIntermediateDirectories: true)
        // What a killed run leaves: a socket file, no listener.
        let dead = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = try XCTUnwrap(UnixSocket.address(path))
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(dead, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(dead)
        let server = try ReadThroughServer(stateDir: dir, runId: "plan-3", logger: Logger(label: "t")) { _, _ in .copied
        }
        defer { server.stop() }
        XCTAssertEqual(UnixSocketReadThrough(timeout: 2).fetch(route(path), key: "k"), .copied)
    }

    func testStopRemovesOnlyItsOwnSocket() throws {
        let old = try ReadThroughServer(stateDir: dir, runId: "plan-4", logger: Logger(label: "t")) { _, _ in .absent }
        // Its file removed (by hand, or a run that wrongly took the path), and a new run bound there.
        unlink(old.path)
        let new = try ReadThroughServer(stateDir: dir, runId: "plan-4", logger: Logger(label: "t")) { _, _ in .copied }
        defer { new.stop() }
        old.stop()
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: new.path), "the old run's stop leaves the new one's socket")
        XCTAssertEqual(UnixSocketReadThrough(timeout: 2).fetch(route(new.path), key: "k"), .copied)
        new.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: new.path))
    }
}
