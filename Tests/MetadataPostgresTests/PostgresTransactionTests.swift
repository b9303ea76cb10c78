import Foundation
import GatewayCore
import MetadataPostgres
import MetadataSQL
import XCTest

final class PostgresTransactionTests: PostgresTestCase {
    func testTransactionCommitsOrRollsBackWhenTheBodyThrows() throws {
        let c = try connect()
        try c.exec("CREATE TABLE v (k TEXT)")
        let n = try c.transaction { () throws(StoreError) -> Int in
            try c.query("INSERT INTO v (k) VALUES (?)", [.text("kept")])
            return c.changes
        }
        XCTAssertEqual(n, 1)
        XCTAssertThrowsError(
            try c.transaction { () throws(StoreError) in
                try c.query("INSERT INTO v (k) VALUES (?)", [.text("gone")])
                throw StoreError.noSuchKey
            }
        ) { XCTAssertEqual($0 as? StoreError, .noSuchKey) }
        XCTAssertEqual(try rows(try connect(), "SELECT k FROM v"), [["kept"]])
        // The connection is usable afterwards, outside any transaction.
        try c.query("INSERT INTO v (k) VALUES (?)", [.text("next")])
        XCTAssertEqual(try rows(c, "SELECT count(*) FROM v"), [["2"]])
    }

    func testANestedTransactionIsRefusedAndNothingCommitsEarly() throws {
        let c = try connect()
        let other = try connect()
        try c.exec("CREATE TABLE v (k TEXT)")
        XCTAssertThrowsError(
            try c.transaction { () throws(StoreError) in
                try c.query("INSERT INTO v (k) VALUES ('outer')", [])
                try c.transaction { () throws(StoreError) in try c.query("INSERT INTO v (k) VALUES ('inner')", []) }
            }
        ) { XCTAssertTrue("\($0)".contains("already open"), "\($0)") }
        XCTAssertEqual(try rows(other, "SELECT count(*) FROM v"), [["0"]])
        // The session is usable afterwards.
        try c.transaction { () throws(StoreError) in try c.query("INSERT INTO v (k) VALUES ('later')", []) }
        XCTAssertEqual(try rows(other, "SELECT k FROM v"), [["later"]])
    }

    func testWriteTransactionsOfTwoConnectionsSerialize() throws {
        let a = try connect()
        let b = try connect()
        try a.exec("CREATE TABLE events (n BIGSERIAL PRIMARY KEY, what TEXT)")
        let aInside = DispatchSemaphore(value: 0)
        let bDone = DispatchSemaphore(value: 0)
        let bWaited = Box<TimeInterval>(0)
        let bError = Box<String?>(nil)
        let bConnection = Box(b)
        Thread {
            aInside.wait()
            let started = Date()
            do {
                let b = bConnection.get
                try b.transaction { () throws(StoreError) in
                    try b.query("INSERT INTO events (what) VALUES (?)", [.text("b")])
                }
            } catch { bError.with { $0 = "\(error)" } }
            bWaited.with { $0 = Date().timeIntervalSince(started) }
            bDone.signal()
        }.start()
        try a.transaction { () throws(StoreError) in
            try a.query("INSERT INTO events (what) VALUES (?)", [.text("a-first")])
            aInside.signal()
            // b's transaction starts now and must wait for this one.
            Thread.sleep(forTimeInterval: 0.6)
            try a.query("INSERT INTO events (what) VALUES (?)", [.text("a-second")])
        }
        XCTAssertEqual(bDone.wait(timeout: .now() + 30), .success)
        XCTAssertNil(bError.get)
        XCTAssertGreaterThan(bWaited.get, 0.4, "b's write transaction did not wait for a's")
        XCTAssertEqual(try rows(a, "SELECT what FROM events ORDER BY n"), [["a-first"], ["a-second"], ["b"]])
    }

    func testReadTransactionDoesNotWaitForAWriter() throws {
        let a = try connect()
        let b = try connect()
        try a.exec("CREATE TABLE v (k TEXT)")
        try a.query("INSERT INTO v (k) VALUES ('old')", [])
        try a.transaction { () throws(StoreError) in
            try a.query("INSERT INTO v (k) VALUES ('new')", [])
            let started = Date()
            var seen: [String] = []
            try b.readTransaction { () throws(StoreError) in
                try b.query("SELECT k FROM v", []) { (r: any SQLRow) throws(StoreError) in seen.append(r.text(0)) }
            }
            XCTAssertEqual(seen, ["old"])
            XCTAssertLessThan(Date().timeIntervalSince(started), 2)
        }
    }

    func testSkipLockedClaimsOfTwoConnectionsAreDisjoint() throws {
        let a = try connect()
        let b = try connect()
        try a.exec("CREATE TABLE jobs (id BIGINT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '')")
        for id in 1...10 { try a.query("INSERT INTO jobs (id) VALUES (?)", [.int(Int64(id))]) }
        let claim = "SELECT id FROM jobs WHERE owner = '' ORDER BY id LIMIT 4 FOR UPDATE SKIP LOCKED"
        @Sendable func take(_ c: PostgresConnection, _ owner: String) throws(StoreError) -> [Int64] {
            var ids: [Int64] = []
            try c.query(claim, []) { (r: any SQLRow) throws(StoreError) in ids.append(r.int(0)) }
            for id in ids { try c.query("UPDATE jobs SET owner = ? WHERE id = ?", [.text(owner), .int(id)]) }
            return ids
        }
        let aClaimed = DispatchSemaphore(value: 0)
        let bDone = DispatchSemaphore(value: 0)
        let bIDs = Box<[Int64]>([])
        let bConnection = Box(b)
        Thread {
            aClaimed.wait()
            let b = bConnection.get
            let ids = try? b.concurrentTransaction { () throws(StoreError) in try take(b, "b") }
            bIDs.with { $0 = ids ?? [-1] }
            bDone.signal()
        }.start()
        let aIDs = try a.concurrentTransaction { () throws(StoreError) -> [Int64] in
            let ids = try take(a, "a")
            aClaimed.signal()
            // b claims while a's rows are still locked: it skips them instead of waiting.
            XCTAssertEqual(bDone.wait(timeout: .now() + 10), .success, "b waited for a's locked rows")
            return ids
        }
        XCTAssertEqual(aIDs, [1, 2, 3, 4])
        XCTAssertEqual(bIDs.get, [5, 6, 7, 8])
        XCTAssertEqual(
            try rows(a, "SELECT owner, count(*) FROM jobs GROUP BY owner ORDER BY owner", columns: 2),
            [["", "2"], ["a", "4"], ["b", "4"]])
    }

    func testTransactionRunsAgainWhenTheConnectionIsLostBeforeCommit() throws {
        let c = try connect()
        let admin = try connect()
        try c.exec("CREATE TABLE v (k TEXT)")
        var runs = 0
        try c.transaction { () throws(StoreError) in
            runs += 1
            try c.query("INSERT INTO v (k) VALUES (?)", [.text("once")])
            if runs == 1 {
                var pid: Int64 = 0
                try c.query("SELECT pg_backend_pid()", []) { (r: any SQLRow) throws(StoreError) in pid = r.int(0) }
                try admin.query("SELECT pg_terminate_backend(CAST(? AS INTEGER))", [.int(pid)])
                // The next statement finds the session gone; the body throws and runs again.
                try c.query("INSERT INTO v (k) VALUES (?)", [.text("lost")])
            }
        }
        XCTAssertEqual(runs, 2)
        XCTAssertEqual(try rows(admin, "SELECT k FROM v"), [["once"]])
    }

    func testTransactionLostTwiceFails() throws {
        let c = try connect()
        let admin = try connect()
        try c.exec("CREATE TABLE v (k TEXT)")
        var runs = 0
        XCTAssertThrowsError(
            try c.transaction { () throws(StoreError) in
                runs += 1
                try admin.query("SELECT pg_terminate_backend(CAST(? AS INTEGER))", [.int(try self.backendPID(c))])
                try c.query("INSERT INTO v (k) VALUES (?)", [.text("never")])
            })
        XCTAssertEqual(runs, 2)
        XCTAssertEqual(try rows(admin, "SELECT count(*) FROM v"), [["0"]])
        // And the connection recovers for the next caller.
        try c.query("INSERT INTO v (k) VALUES (?)", [.text("later")])
        XCTAssertEqual(try rows(admin, "SELECT k FROM v"), [["later"]])
    }
}
