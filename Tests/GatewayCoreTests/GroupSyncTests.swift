import Foundation
import GatewayCore
import Synchronization
import XCTest

/// Group commit: a caller returns only after a sync that began after its call, callers that
/// arrive during a sync share the next one, and a failed sync fails exactly the callers it was
/// to cover.
final class GroupSyncTests: XCTestCase {
    /// Polls `condition` until it holds, for 10 s at most.
    private func waitUntil(_ what: String, _ condition: () -> Bool) {
        let deadline = Date().addingTimeInterval(10)
        while !condition() {
            guard Date() < deadline else { return XCTFail("timed out waiting for \(what)") }
            usleep(1000)
        }
    }

    /// Runs `body` on a thread of its own (GCD's pool would run only a few blocked callers at once).
    private func spawn(_ group: DispatchGroup, _ body: @escaping @Sendable () -> Void) {
        group.enter()
        Thread {
            body()
            group.leave()
        }.start()
    }

    /// A sync double: each run records its number and blocks until the test lets it go.
    final class Gate: @unchecked Sendable {
        let state = Mutex<(runs: Int, released: Int, failing: Set<Int>)>((0, 0, []))
        func run() -> Int32 {
            let n = state.withLock { s -> Int in
                s.runs += 1
                return s.runs
            }
            while state.withLock({ $0.released < n }) { usleep(200) }
            return state.withLock { $0.failing.contains(n) } ? EIO : 0
        }
        func release(_ n: Int) { state.withLock { $0.released = n } }
        var runs: Int { state.withLock { $0.runs } }
    }

    /// Nine callers arrive while the first caller's sync runs: they do not return with it, and
    /// one more sync covers all nine.
    func testCallersArrivingDuringASyncShareTheNextOne() throws {
        let gate = Gate()
        let group = GroupSync(what: "test") { gate.run() }
        let returned = Mutex<[Int]>([])
        let done = DispatchGroup()
        spawn(done) {
            try? group.sync()
            returned.withLock { $0.append(0) }
        }
        waitUntil("the first sync") { gate.runs == 1 }
        for i in 1...9 {
            spawn(done) {
                do { try group.sync() } catch { return }
                returned.withLock { $0.append(i) }
            }
        }
        waitUntil("nine waiting callers") { group.callersWaiting == 10 }
        gate.release(1)
        waitUntil("the first caller") { returned.withLock { $0 } == [0] }
        waitUntil("the second sync") { gate.runs == 2 }
        XCTAssertEqual(returned.withLock { $0 }, [0], "nobody but the first caller returned after sync 1")
        gate.release(2)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(gate.runs, 2)
        XCTAssertEqual(Set(returned.withLock { $0 }), Set(0...9))
        XCTAssertEqual(group.callersWaiting, 0)
    }

    /// A failed sync fails the callers it covered; the next callers get a fresh sync.
    func testAFailedSyncFailsItsCallersOnly() throws {
        let gate = Gate()
        gate.state.withLock { $0.failing = [2] }
        let group = GroupSync(what: "syncfs /z") { gate.run() }
        let failures = Mutex<[String]>([])
        let done = DispatchGroup()
        let first = Mutex<String?>(nil)
        spawn(done) {
            do { try group.sync() } catch { first.withLock { $0 = "\(error)" } }
        }
        waitUntil("the first sync") { gate.runs == 1 }
        for _ in 0..<4 {
            spawn(done) {
                do { try group.sync() } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        waitUntil("four waiting callers") { group.callersWaiting == 5 }
        gate.release(3)
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertNil(first.withLock { $0 }, "sync 1 succeeded")
        let failed = failures.withLock { $0 }
        XCTAssertEqual(failed.count, 4)
        XCTAssertTrue(failed.allSatisfy { $0.contains("syncfs /z") }, "\(failed)")
        XCTAssertNoThrow(try group.sync())
        XCTAssertEqual(gate.runs, 3)
    }

    /// A lone caller finds nothing running and syncs at once, each time.
    func testALoneCallerSyncsAtOnce() throws {
        let runs = Mutex(0)
        let group = GroupSync(what: "test") {
            runs.withLock { $0 += 1 }
            return 0
        }
        for _ in 0..<3 { try group.sync() }
        XCTAssertEqual(runs.withLock { $0 }, 3)
    }
}
