import Foundation
import GatewayCore
import MetadataSQL
import Synchronization
import XCTest

@testable import MetadataSQLite

/// Every commit waits for a sync of the log before its statement or transaction returns, with
/// the process's writer gate let go (so the next writer can commit into the same sync); reads
/// wait for none; a failed sync fails the write that waited for it.
final class SQLiteWALSyncTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "wal-sync-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A sync double: counts its runs, notes whether the writer gate was free during each, and
    /// fails while `failing` is set.
    final class Syncs: @unchecked Sendable {
        let state = Mutex<(runs: Int, gateHeld: Int, failing: Bool)>((0, 0, false))
        var runs: Int { state.withLock { $0.runs } }
    }

    private func connection(_ syncs: Syncs) throws -> (SQLiteConnection, String) {
        let path = dir + "/t.db"
        let group = GroupSync(what: "fdatasync test-wal") {
            let gateFree = SQLiteWriterGate.of(path).lock(waiting: 0)
            if gateFree { SQLiteWriterGate.of(path).unlock() }
            return syncs.state.withLock { s in
                s.runs += 1
                if !gateFree { s.gateHeld += 1 }
                return s.failing ? EIO : 0
            }
        }
        let db = try SQLiteConnection(path: path, readOnly: false, checkpoints: true, walGroup: group)
        return (db, path)
    }

    func testEveryCommitWaitsForOneSyncAndReadsForNone() throws {
        let syncs = Syncs()
        let (db, _) = try connection(syncs)
        try db.exec("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        XCTAssertEqual(syncs.runs, 1, "a schema change is a commit")
        try db.query("INSERT INTO c (id, n) VALUES (1, 0)", []) { _ in }
        XCTAssertEqual(syncs.runs, 2, "a statement committing on its own")
        try db.transaction { () throws(StoreError) in
            try db.query("UPDATE c SET n = 1 WHERE id = 1", []) { _ in }
            try db.query("UPDATE c SET n = 2 WHERE id = 1", []) { _ in }
            XCTAssertEqual(syncs.runs, 2, "nothing synced before the commit")
        }
        XCTAssertEqual(syncs.runs, 3, "one sync per transaction")
        var n: Int64 = -1
        try db.query("SELECT n FROM c WHERE id = 1", []) { r in n = r.int(0) }
        try db.readTransaction { () throws(StoreError) in
            try db.query("SELECT n FROM c WHERE id = 1", []) { _ in }
        }
        XCTAssertEqual(n, 2)
        XCTAssertEqual(syncs.runs, 3, "reads sync nothing")
        XCTAssertEqual(syncs.state.withLock { $0.gateHeld }, 0, "no sync ran with the writer gate held")
    }

    /// The sync failed: the process stops (here the failure is recorded instead), so no
    /// request is answered for that commit, neither as durable nor as failed (an error would
    /// have its handler clean up after a commit that stands).
    func testAFailedSyncStopsTheProcess() throws {
        let stops = Mutex<[String]>([])
        let stop = SQLiteWALSync.failed
        SQLiteWALSync.failed = { error in stops.withLock { $0.append("\(error)") } }
        defer { SQLiteWALSync.failed = stop }
        let syncs = Syncs()
        let (db, _) = try connection(syncs)
        try db.exec("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        syncs.state.withLock { $0.failing = true }
        XCTAssertThrowsError(
            try db.transaction { () throws(StoreError) in
                try db.query("INSERT INTO c (id, n) VALUES (1, 1)", []) { _ in }
            }
        ) { XCTAssertTrue("\($0)".contains("fdatasync test-wal"), "\($0)") }
        XCTAssertThrowsError(try db.query("INSERT INTO c (id, n) VALUES (2, 2)", []) { _ in })
        XCTAssertEqual(stops.withLock { $0.count }, 2)
        XCTAssertTrue(stops.withLock { $0 }.allSatisfy { $0.contains("fdatasync test-wal") })
        syncs.state.withLock { $0.failing = false }
        try db.query("INSERT INTO c (id, n) VALUES (3, 3)", []) { _ in }
        var count: Int64 = 0
        try db.query("SELECT count(*) FROM c", []) { r in count = r.int(0) }
        XCTAssertEqual(count, 3)
        XCTAssertEqual(syncs.runs, 4)
    }

    /// The hook keeps SQLite's automatic checkpoint where the connection checkpoints (the log
    /// starts over instead of growing), and never checkpoints where it must not (continuous
    /// backup ships the frames first): 12 MB written in 30 commits.
    func testAutomaticCheckpointsOnlyWhereAllowed() throws {
        for checkpoints in [true, false] {
            let path = dir + "/cp-\(checkpoints).db"
            let db = try SQLiteConnection(path: path, checkpoints: checkpoints)
            try db.exec("CREATE TABLE c (id INTEGER PRIMARY KEY, v BLOB)")
            for t in 0..<30 {
                try db.transaction { () throws(StoreError) in
                    for i in 0..<100 {
                        try db.query("INSERT INTO c (id, v) VALUES (?, zeroblob(4000))", [.int(Int64(t * 100 + i))]) {
                            _ in
                        }
                    }
                }
            }
            let wal = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            if checkpoints {
                XCTAssertLessThan(wal, 8 << 20, "the log started over after checkpoints")
            } else {
                XCTAssertGreaterThan(wal, 12 << 20, "no checkpoint: every frame is still in the log")
            }
        }
    }

    /// The real sync: the database's own group, which opens the log and syncs it.
    func testTheDatabasesGroupSyncsItsLog() throws {
        let path = dir + "/real.db"
        let db = try SQLiteConnection(path: path)
        let group = SQLiteWALSync.group(wal: path + "-wal")
        let before = group.syncsBegun
        try db.exec("CREATE TABLE c (id INTEGER PRIMARY KEY)")
        try db.query("INSERT INTO c (id) VALUES (1)", []) { _ in }
        XCTAssertEqual(group.syncsBegun, before + 2)
    }

    /// A database reached through a symlink has its log beside the real file (SQLite's rule):
    /// that is the file synced, and writes succeed.
    func testASymlinkedDatabaseSyncsTheRealLog() throws {
        try FileManager.default.createDirectory(atPath: dir + "/real", withIntermediateDirectories: true)
        let db = try SQLiteConnection(path: dir + "/real/m.db")
        try db.exec("CREATE TABLE c (id INTEGER PRIMARY KEY)")
        try FileManager.default.createSymbolicLink(atPath: dir + "/link.db", withDestinationPath: dir + "/real/m.db")
        let linked = try SQLiteConnection(path: dir + "/link.db")
        let group = SQLiteWALSync.group(wal: dir + "/real/m.db-wal")
        let before = group.syncsBegun
        try linked.query("INSERT INTO c (id) VALUES (1)", []) { _ in }
        XCTAssertEqual(group.syncsBegun, before + 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/link.db-wal"))
    }
}
