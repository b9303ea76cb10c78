import Foundation
import GatewayCore
import MetadataSQL
import Synchronization
import XCTest

@testable import MetadataSQLite

/// Write transactions of one process queue on the database's writer gate instead of polling
/// SQLite's lock; other processes' writers meet at SQLite's lock through the short busy wait.
final class SQLiteWriterGateTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "writer-gate-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// 8 threads, each with its own connection, 200 read-modify-write transactions each: every
    /// one commits (none fails as locked), and no increment is lost. Half of them name the file
    /// differently, so they hold another gate and meet the first half at SQLite's lock, as
    /// another process's writers would (the busy wait).
    func testConcurrentWritersOfOneFileAllCommitInTurn() throws {
        let (path, otherSpelling) = (dir + "/t.db", dir + "/./t.db")
        let setup = try SQLiteConnection(path: path)
        try setup.exec("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        try setup.exec("INSERT INTO c (id, n) VALUES (1, 0)")
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                let db = try SQLiteConnection(path: i % 2 == 0 ? path : otherSpelling)
                for _ in 0..<200 {
                    try db.transaction { () throws(StoreError) in
                        var n: Int64 = 0
                        try db.query("SELECT n FROM c WHERE id = 1", []) { r in n = r.int(0) }
                        try db.query("UPDATE c SET n = ? WHERE id = 1", [.int(n + 1)]) { _ in }
                    }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(failures.withLock { $0 }, [])
        var n: Int64 = -1
        try setup.query("SELECT n FROM c WHERE id = 1", []) { r in n = r.int(0) }
        XCTAssertEqual(n, 1600)
    }

    /// A transaction begun inside another on the same connection is SQLite's error at once; the
    /// connection does not wait on the gate it holds itself.
    func testATransactionInsideAnotherOnTheSameConnectionFailsWithSQLitesError() throws {
        let db = try SQLiteConnection(path: dir + "/t.db")
        try db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)")
        var inner: StoreError?
        try db.transaction { () throws(StoreError) in
            do throws(StoreError) {
                try db.transaction { () throws(StoreError) in try db.exec("INSERT INTO t (k) VALUES (1)") }
            } catch {
                inner = error
            }
        }
        guard case .internalFailure(let message) = inner else { return XCTFail("\(String(describing: inner))") }
        XCTAssertTrue(message.contains("within a transaction"), message)
        // The outer transaction ended and released the gate: the next one begins.
        try db.transaction { () throws(StoreError) in try db.exec("INSERT INTO t (k) VALUES (2)") }
    }

    /// A gate held past the wait is refused, not waited on for ever; free again, it is taken.
    func testTheGateIsRefusedAfterItsWaitAndTakenOnceFree() {
        let gate = SQLiteWriterGate.of(dir + "/g.db")
        XCTAssertTrue(gate === SQLiteWriterGate.of(dir + "/g.db"))
        XCTAssertFalse(gate === SQLiteWriterGate.of(dir + "/other.db"))
        XCTAssertTrue(gate.lock(waiting: 1))
        let refused = Mutex<Bool?>(nil)
        let other = Thread { refused.withLock { $0 = !gate.lock(waiting: 0.05) } }
        other.start()
        let deadline = Date().addingTimeInterval(10)
        while refused.withLock({ $0 }) == nil && Date() < deadline { usleep(1000) }
        XCTAssertEqual(refused.withLock { $0 }, true)
        gate.unlock()
        XCTAssertTrue(gate.lock(waiting: 1))
        gate.unlock()
    }

    /// The busy wait's schedule: short pauses first, then 1 ms, and no retry past the timeout.
    func testBusyWaitRetriesQuicklyThenBacksOffAndStopsAtTheTimeout() {
        let table: [(count: Int32, pause: UInt32)] = [
            (0, 50), (19, 50), (20, 200), (39, 200), (40, 1000), (5000, 1000),
        ]
        for row in table { XCTAssertEqual(SQLiteBusyWait.pause(row.count), row.pause, "\(row.count)") }
        XCTAssertEqual(SQLiteBusyWait.slept(0), 0)
        XCTAssertEqual(SQLiteBusyWait.slept(20), 1000)
        XCTAssertEqual(SQLiteBusyWait.slept(40), 5000)
        XCTAssertEqual(SQLiteBusyWait.slept(41), 6000)
        XCTAssertTrue(SQLiteBusyWait.retries(0))
        // 40 pauses make 5 ms, then one per ms: 30 s is reached after 29,995 more.
        XCTAssertTrue(SQLiteBusyWait.retries(40 + 29_994))
        XCTAssertFalse(SQLiteBusyWait.retries(40 + 29_995))
        XCTAssertFalse(SQLiteBusyWait.retries(Int32.max))
    }
}
