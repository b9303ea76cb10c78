import FileSystemBackend
import Foundation
import Gateway
import GatewayCore
import Logging
import SigV4
import Synchronization
import XCTest

@testable import MetadataSQLite

final class TestClock: Clock {
    let time = Mutex<Double>(1_800_000_000)
    func now() -> Double { time.withLock { $0 } }
    func advance(_ s: Double) { time.withLock { $0 += s } }
}

/// Ship a live database to a filesystem zone while it is written, restore it elsewhere, compare.
final class BackupRoundTripTests: XCTestCase {
    var dir = ""
    let installation = "6b1f0c2e-1111-4222-8333-944455556666"
    let master = MasterKey.generate()
    var sealing: BackupSealing { BackupSealing(master: master, installation: installation) }

    override func setUp() {
        dir = NSTemporaryDirectory() + "backup-\(UUID().uuidString)"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func rows(_ path: String) throws -> [String: String] {
        let db = try SQLiteConnection(path: path, readOnly: true)
        var out: [String: String] = [:]
        try db.query("SELECT k, v FROM t", []) { r in out[r.text(0)] = r.text(1) }
        return out
    }

    func restore(_ zone: FileSystemZone, at: Double?, to name: String) throws -> String {
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        let plan = try XCTUnwrap(catalog.plan(at: at))
        let path = dir + "/" + name
        _ = try MetadataRestore.rebuild(
            plan, into: path, zone: zone, bucket: "backups", installation: installation,
            keys: [sealing], replay: { try SQLiteRestore(databasePath: $0, snapshotPosition: $1) })
        return path
    }

    /// A live database with table `t`, its writer, and a backup of it into a filesystem zone.
    func live(
        checkpointBytes: Int = 4 << 20, snapshotInterval: Int = 86400, retention: Int = 86400,
        segmentBytes: Int = 64 << 20
    ) throws -> (
        writer: SQLiteConnection, source: SQLiteWALSource, backup: MetadataBackup, zone: FileSystemZone,
        clock: TestClock
    ) {
        let path = dir + "/live.sqlite"
        let writer = try SQLiteConnection(path: path, checkpoints: false)
        try writer.exec("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        let zone = try FileSystemZone(name: "backup", root: dir + "/zone")
        var settings = BackupSettings(zone: "backup", bucket: "backups")
        settings.checkpointBytes = checkpointBytes
        settings.snapshotInterval = snapshotInterval
        settings.retention = retention
        let clock = TestClock()
        let source = try SQLiteWALSource(
            path: path, checkpointBytes: Int64(checkpointBytes), segmentBytes: segmentBytes)
        let backup = MetadataBackup(
            source: source, zone: zone, settings: settings, installation: installation, sealing: sealing,
            tempDir: dir + "/tmp",
            clock: clock, logger: Logger(label: "test"))
        return (writer, source, backup, zone, clock)
    }

    func testRestoresTheLatestStateAndAPointBeforeADelete() throws {
        let (writer, _, backup, zone, clock) = try live(checkpointBytes: 64 * 1024)
        let path = dir + "/live.sqlite"
        var n = 0
        for _ in 0..<12 {
            for _ in 0..<40 {
                try writer.query(
                    "INSERT INTO t VALUES (?, ?)", [.text("key-\(n)"), .text(String(repeating: "v", count: n % 700))])
                n += 1
            }
            clock.advance(1)
            try backup.step()
        }
        // One transaction larger than the shipper's 1 MiB read window.
        try writer.query("INSERT INTO t VALUES ('big', ?)", [.text(String(repeating: "b", count: 2_500_000))])
        clock.advance(1)
        try backup.step()
        let beforeDelete = clock.now()
        let kept = try rows(path)
        clock.advance(1)
        try writer.query("DELETE FROM t WHERE k LIKE 'key-1%'", [])
        try writer.query("UPDATE t SET v = 'changed' WHERE k = 'key-0'", [])
        clock.advance(1)
        try backup.step()
        XCTAssertGreaterThan(backup.stats.segments, 10)

        // The WAL was checkpointed and restarted on the way, and the chain followed it.
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        XCTAssertEqual(catalog.generations.count, 1)
        XCTAssertGreaterThan(catalog.generations[0].segments.map(\.segment.index).max() ?? 0, 1)

        let latest = try restore(zone, at: nil, to: "latest.sqlite")
        XCTAssertEqual(try rows(latest), try rows(path))
        XCTAssertEqual(try rows(latest)["key-0"], "changed")

        let earlier = try restore(zone, at: beforeDelete, to: "earlier.sqlite")
        XCTAssertEqual(try rows(earlier), kept)
        XCTAssertNotNil(try rows(earlier)["key-10"])

        // Without the end markers nothing vouches that a WAL ended where its last segment did:
        // the next WAL is refused rather than taken as following it.
        let markers = catalog.generations[0].segments.filter(\.segment.end)
        XCTAssertGreaterThan(markers.count, 1)
        for m in markers { try FileManager.default.removeItem(atPath: dir + "/zone/buckets/backups/" + m.name) }
        XCTAssertThrowsError(try restore(zone, at: nil, to: "unmarked.sqlite")) { error in
            XCTAssertTrue("\(error)".contains("gap"), "\(error)")
        }
    }

    /// Every object in the bucket is ciphertext: no key, no value of the database shows in it;
    /// another master key opens nothing.
    func testTheBucketHoldsOnlyCiphertext() throws {
        let (writer, _, backup, zone, clock) = try live(checkpointBytes: 64 * 1024)
        try writer.query("INSERT INTO t VALUES ('marker-key-in-clear', 'marker-value-in-clear')", [])
        try backup.step()
        for i in 0..<100 { try writer.query("INSERT INTO t VALUES (?, 'marker-value-in-clear')", [.text("k\(i)")]) }
        clock.advance(1)
        try backup.step()
        let files = try XCTUnwrap(FileManager.default.subpathsOfDirectory(atPath: dir + "/zone/buckets/backups"))
        var objects = 0
        for f in files {
            guard let data = FileManager.default.contents(atPath: dir + "/zone/buckets/backups/" + f), !data.isEmpty
            else { continue }
            objects += 1
            for marker in ["marker-key-in-clear", "marker-value-in-clear", "SQLite format 3", installation] {
                XCTAssertNil(data.range(of: Data(marker.utf8)), "\(marker) in \(f)")
            }
        }
        XCTAssertGreaterThan(objects, 3)
        XCTAssertEqual(
            try rows(try restore(zone, at: nil, to: "ok.sqlite"))["marker-key-in-clear"], "marker-value-in-clear")
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        let other = BackupSealing(master: MasterKey.generate(), installation: installation)
        XCTAssertThrowsError(
            try MetadataRestore.rebuild(
                try XCTUnwrap(catalog.plan(at: nil)), into: dir + "/wrong.sqlite", zone: zone, bucket: "backups",
                installation: installation, keys: [other],
                replay: { try SQLiteRestore(databasePath: $0, snapshotPosition: $1) })
        ) { error in XCTAssertTrue("\(error)".contains("no master key"), "\(error)") }
    }

    /// Segments end at the first commit past `segmentBytes`: a round's (and a checkpoint's)
    /// transactions go up as several segments, which restore as one chain.
    func testLargeRoundsAreCutIntoSegments() throws {
        let (writer, _, backup, zone, clock) = try live(checkpointBytes: 256 * 1024, segmentBytes: 32 * 1024)
        try backup.step()
        for round in 0..<4 {
            for i in 0..<60 {
                try writer.query(
                    "INSERT INTO t VALUES (?, ?)",
                    [.text("r\(round)-\(i)"), .text(String(repeating: "v", count: 1500))])
            }
            clock.advance(1)
            try backup.step()
        }
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        let data = catalog.generations[0].segments.filter { !$0.segment.end }
        // 4 rounds of ≈ 100 KiB each, in ≈ 32 KiB segments.
        XCTAssertGreaterThan(data.count, 8)
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "cut.sqlite")), try rows(dir + "/live.sqlite"))
    }

    /// A generation begins on a WAL already larger than a segment (a backup switched on, or an
    /// agent started, after heavy writes): its end is found however far it is.
    func testAGenerationBeginsOnAWALLargerThanASegment() throws {
        let (writer, _, backup, zone, _) = try live(checkpointBytes: 1 << 20, segmentBytes: 32 * 1024)
        for i in 0..<100 {
            try writer.query(
                "INSERT INTO t VALUES (?, ?)", [.text("k\(i)"), .text(String(repeating: "v", count: 1500))])
        }
        try backup.step()
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "big.sqlite")), try rows(dir + "/live.sqlite"))
    }

    func testAGapOrADamagedSegmentIsRefused() throws {
        let (writer, _, backup, zone, clock) = try live()
        try backup.step()
        for round in 0..<3 {
            try writer.query("INSERT INTO t VALUES (?, 'x')", [.text("k\(round)")])
            clock.advance(1)
            try backup.step()
        }
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        let segments = catalog.generations[0].segments.filter { !$0.segment.end }
        XCTAssertEqual(segments.count, 3)
        // The middle segment gone: the third does not follow the first.
        let middle = dir + "/zone/buckets/backups/" + segments[1].name
        let saved = try Data(contentsOf: URL(fileURLWithPath: middle))
        try FileManager.default.removeItem(atPath: middle)
        XCTAssertThrowsError(try restore(zone, at: nil, to: "gap.sqlite")) { error in
            XCTAssertTrue("\(error)".contains("gap"), "\(error)")
        }
        // Back, but one byte changed: its SHA-256 no longer matches its name.
        var damaged = saved
        damaged[damaged.count - 10] ^= 1
        try damaged.write(to: URL(fileURLWithPath: middle))
        XCTAssertThrowsError(try restore(zone, at: nil, to: "damaged.sqlite")) { error in
            XCTAssertTrue("\(error)".contains("SHA-256"), "\(error)")
        }
        try saved.write(to: URL(fileURLWithPath: middle))
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "ok.sqlite")).count, 3)
    }

    /// Snapshots every 100 s, retention 300 s, 20 minutes of writes: the generations left cover
    /// the last 300 s (and no more than one generation before them), and a point 280 s back restores.
    func testRetentionKeepsTheWindowRestorable() throws {
        let (writer, _, backup, zone, clock) = try live(snapshotInterval: 100, retention: 300)
        var written: [(time: Double, count: Int)] = []
        for i in 0..<120 {
            try writer.query("INSERT INTO t VALUES (?, 'x')", [.text("k\(i)")])
            clock.advance(10)
            try backup.step()
            written.append((clock.now(), i + 1))
        }
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        XCTAssertLessThanOrEqual(catalog.generations.count, 6)
        XCTAssertGreaterThanOrEqual(catalog.generations.count, 3)
        // The oldest one left begins before the window; the next within it (retention runs
        // once a minute, so up to a minute late).
        XCTAssertLessThanOrEqual(catalog.generations[0].time, clock.now() - 300)
        XCTAssertGreaterThan(catalog.generations[1].time, clock.now() - 360)
        XCTAssertNil(catalog.plan(at: clock.now() - 700))
        let target = try XCTUnwrap(written.last { $0.time <= clock.now() - 280 })
        XCTAssertEqual(try rows(try restore(zone, at: target.time, to: "window.sqlite")).count, target.count)
    }

    /// A backup of `live.sqlite` as a new process would make it, keeping its resume point in `resume.json`.
    func process(_ zone: FileSystemZone, _ clock: TestClock, checkpointBytes: Int = 64 * 1024) throws -> MetadataBackup
    {
        var settings = BackupSettings(zone: "backup", bucket: "backups")
        settings.checkpointBytes = checkpointBytes
        return MetadataBackup(
            source: try SQLiteWALSource(path: dir + "/live.sqlite", checkpointBytes: Int64(checkpointBytes)),
            zone: zone, settings: settings, installation: installation, sealing: sealing, tempDir: dir + "/tmp",
            clock: clock,
            logger: Logger(label: "test"), resumeFile: dir + "/resume.json")
    }

    /// The agent replaced (reload): the next process goes on with the generation, no new
    /// snapshot, and the chain stays whole across the change, WAL restarts included.
    func testANewProcessGoesOnWithTheGeneration() throws {
        let (writer, _, _, zone, clock) = try live()
        let write = Inserter(writer).write
        var first: String?
        for _ in 0..<3 {
            let backup = try process(zone, clock)
            for _ in 0..<4 {
                try write(30)
                clock.advance(1)
                try backup.step()
            }
            // A round into the WAL the last checkpoint restarted: a point after a restart the
            // next process would have to take on trust is never resumed.
            try write(1)
            clock.advance(1)
            try backup.step()
            first = first ?? backup.generation
            XCTAssertEqual(backup.generation, first)
        }
        let catalog = try BackupCatalog.load(zone: zone, bucket: "backups", installation: installation)
        XCTAssertEqual(catalog.generations.count, 1)
        XCTAssertGreaterThan(catalog.generations[0].segments.map(\.segment.index).max() ?? 0, 1)
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "resumed.sqlite")), try rows(dir + "/live.sqlite"))

        // A segment uploaded after the point was recorded (a process killed between the two): the
        // next process cannot know where it stands and starts a new generation.
        try write(5)
        let last = try process(zone, clock)
        clock.advance(1)
        try last.step()
        try FileManager.default.removeItem(atPath: dir + "/resume.json")
        try write(5)
        clock.advance(1)
        try last.step()  // records a point naming its new last segment
        let stale = try Data(contentsOf: URL(fileURLWithPath: dir + "/resume.json"))
        try write(5)
        clock.advance(1)
        try last.step()
        try stale.write(to: URL(fileURLWithPath: dir + "/resume.json"))
        let next = try process(zone, clock)
        try write(5)
        clock.advance(1)
        try next.step()
        XCTAssertNotEqual(next.generation, first)
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "after.sqlite")), try rows(dir + "/live.sqlite"))
    }

    /// A round that read frames, checkpointed (the WAL then starts over) and could not upload
    /// leaves no resume point: the next process takes a new snapshot instead of going on past
    /// frames nobody shipped.
    func testAFailedUploadLeavesNoResumePoint() throws {
        let (writer, _, _, zone, clock) = try live()
        let backup = try process(zone, clock)
        let write = Inserter(writer).write
        try write(5)
        clock.advance(1)
        try backup.step()
        let first = try XCTUnwrap(backup.generation)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/resume.json"))
        // The generation's segment directory becomes a file: every upload fails.
        let segments = dir + "/zone/buckets/backups/" + BackupLayout.wal(installation) + first
        try FileManager.default.moveItem(atPath: segments, toPath: segments + ".away")
        FileManager.default.createFile(atPath: segments, contents: Data())
        try write(100)  // past 64 KiB: this round checkpoints
        clock.advance(1)
        XCTAssertThrowsError(try backup.step())
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/resume.json"))
        try write(5)  // into the restarted WAL
        try FileManager.default.removeItem(atPath: segments)
        try FileManager.default.moveItem(atPath: segments + ".away", toPath: segments)
        let next = try process(zone, clock)
        clock.advance(1)
        try next.step()
        XCTAssertNotEqual(next.generation, first)
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "after.sqlite")), try rows(dir + "/live.sqlite"))
    }

    /// A checkpoint the backup did not make (and the WAL restart after it) ends the generation:
    /// the next step takes a new snapshot rather than leaving a gap.
    func testAForeignCheckpointStartsANewGeneration() throws {
        let (writer, source, backup, zone, clock) = try live()
        try writer.query("INSERT INTO t VALUES ('a', 'x')", [])
        clock.advance(1)
        try backup.step()
        let first = backup.generation
        // Another connection checkpoints and restarts the WAL behind the backup's back; the
        // backup's read transaction is ended first (else the restart could not happen).
        try writer.query("INSERT INTO t VALUES ('b', 'x')", [])
        source.endRead()
        try writer.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        try writer.query("INSERT INTO t VALUES ('c', 'x')", [])
        clock.advance(1)
        try backup.step()
        clock.advance(1)
        try backup.step()
        XCTAssertNotEqual(backup.generation, first)
        XCTAssertEqual(try rows(try restore(zone, at: nil, to: "after.sqlite")).count, 3)
    }
}

/// Inserts rows `k<n>` of 900 bytes, numbered on from call to call.
final class Inserter {
    let writer: SQLiteConnection
    var n = 0
    init(_ writer: SQLiteConnection) { self.writer = writer }
    func write(_ count: Int) throws {
        for _ in 0..<count {
            try writer.query(
                "INSERT INTO t VALUES (?, ?)", [.text("k\(n)"), .text(String(repeating: "v", count: 900))])
            n += 1
        }
    }
}
