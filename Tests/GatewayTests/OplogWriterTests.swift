import Foundation
import GatewayCore
import Logging
import Metrics
import Synchronization
import XCTest

@testable import Gateway

/// The writer: every record of an answered request reaches the file, one line each, without the
/// request thread waiting; a full queue drops and counts; several writers (the workers) share
/// one file and its rotation without losing or tearing a line.
final class OplogWriterTests: XCTestCase {
    var dir: String!

    override func setUp() {
        dir = NSTemporaryDirectory() + "oplog-\(UUID().uuidString)"
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func settings(maxBytes: Int = 64 << 20, files: Int = 8) -> OplogSettings {
        OplogSettings(path: dir + "/log/oplog.jsonl", maxBytes: maxBytes, files: files)
    }

    static func trace(_ id: String, bucket: String = "b", started: Double = 1_700_000_000) -> RequestTrace {
        let t = RequestTrace(requestId: id, origin: .s3, started: started)
        t.operation = "PutObject"
        t.bucket = bucket
        t.key = "k"
        t.status = 200
        t.finished = started + 0.001
        return t
    }

    func lines(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    func requestIds(_ path: String) throws -> [String] {
        try lines(path).map { line in
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], line)
            return try XCTUnwrap(o["request_id"] as? String)
        }
    }

    /// `[oplog] enabled = false`: the worker gets no writer and nothing appears on disk; the
    /// same settings enabled write the file (so the check can fail).
    func testADisabledOplogCreatesNoFile() throws {
        var off = settings()
        off.enabled = false
        XCTAssertNil(OplogWriter.started(off, stateDir: dir, logger: Logger(label: "t"), metrics: nil))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir), "something was created under \(dir!)")

        let on = try XCTUnwrap(OplogWriter.started(settings(), stateDir: dir, logger: Logger(label: "t"), metrics: nil))
        on.requestFinished(Self.trace("r1"))
        on.stop()
        XCTAssertEqual(try requestIds(dir + "/log/oplog.jsonl"), ["r1"])
    }

    func testEveryRecordIsOneLineInAFileOnlyItsOwnerMayWrite() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<500 { writer.requestFinished(Self.trace("R\(i)")) }
        XCTAssertTrue(writer.flush())
        XCTAssertEqual(try requestIds(s.path), (0..<500).map { "R\($0)" })
        let attributes = try FileManager.default.attributesOfItem(atPath: s.path)
        let mode = try XCTUnwrap(attributes[.posixPermissions] as? Int)
        XCTAssertEqual(mode & 0o137, 0, "at most 0640: \(String(mode, radix: 8))")
        writer.stop()
        XCTAssertEqual(writer.dropped, 0)
    }

    /// The record of an answered request is on the kernel's side before the observer returns
    /// (before the response's end goes out): a SIGKILL right after loses nothing answered.
    func testARecordIsWrittenBeforeTheObserverReturns() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 30)
        writer.start()
        defer { writer.stop() }
        for i in 0..<100 {
            writer.requestFinished(Self.trace("R\(i)"))
            XCTAssertEqual(try requestIds(s.path).last, "R\(i)")
        }
    }

    /// Holds `<path>.lock` exclusively, as a rotation does: every writer waits for it before it
    /// writes, so this is a disk that stalls (no FIFO: the writer refuses one).
    func stall(_ s: OplogSettings) throws -> Int32 {
        try FileManager.default.createDirectory(
            atPath: (s.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let lock = open(s.path + ".lock", O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(lock, 0)
        XCTAssertEqual(flock(lock, LOCK_EX), 0)
        return lock
    }

    /// A disk that stalls costs one request the bounded wait; the next ones see the writer stuck
    /// and do not wait; the queue fills and drops; once the disk is back, what was queued is written.
    func testAStalledDiskCostsRequestsAtMostTheBoundedWait() throws {
        let s = settings()
        let lock = try stall(s)
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), queueRecords: 50, durableWait: 0.2)
        writer.start()
        let started = Date()
        for i in 0..<100 { writer.requestFinished(Self.trace("R\(i)")) }
        let took = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(took, 0.15, "the first request waited for its record")
        XCTAssertLessThan(took, 5, "the others did not wait on a stuck writer (each would cost 0.2 s)")
        // The writer holds the first record (unless it had not taken it yet), the queue 50 more,
        // the rest are dropped.
        XCTAssertTrue((49...50).contains(writer.dropped), "\(writer.dropped)")
        let kept = 100 - writer.dropped
        XCTAssertEqual(flock(lock, LOCK_UN), 0)
        close(lock)
        XCTAssertTrue(writer.flush())
        writer.stop()
        XCTAssertEqual(try requestIds(s.path), (0..<kept).map { "R\($0)" })
    }

    /// A FIFO (or any file that is not a regular one) in the log's place is refused at once:
    /// the writer neither hangs on it nor feeds it; its records are counted as dropped.
    func testAPathThatIsNotARegularFileIsRefused() throws {
        let s = settings()
        try FileManager.default.createDirectory(atPath: dir + "/log", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(s.path, 0o600), 0)
        let reader = open(s.path, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 5)
        writer.start()
        let started = Date()
        for i in 0..<3 { writer.requestFinished(Self.trace("R\(i)")) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 4, "no request waited on it")
        XCTAssertTrue(writer.flush())
        writer.stop()
        XCTAssertEqual(writer.dropped, 3)
        var buf = [UInt8](repeating: 0, count: 100)
        XCTAssertLessThanOrEqual(read(reader, &buf, buf.count), 0, "nothing went into the FIFO")
    }

    /// A stop that times out on a stuck writer counts what it leaves queued as dropped.
    func testRecordsLeftQueuedByAStopThatTimesOutAreCounted() throws {
        let s = settings()
        let lock = try stall(s)
        defer { close(lock) }
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 0)
        writer.start()
        writer.requestFinished(Self.trace("R0"))
        // The writer takes R0 and hangs on the lock; the others stay queued.
        try waitUntilWriting(writer)
        for i in 1..<10 { writer.requestFinished(Self.trace("R\(i)")) }
        writer.stop(timeout: 0.2)
        XCTAssertEqual(writer.dropped, 9)
        XCTAssertEqual(flock(lock, LOCK_UN), 0)
        XCTAssertTrue(writer.flush())
        XCTAssertEqual(try requestIds(s.path), ["R0"])
    }

    /// A write the disk takes only part of (here: a file size limit) is not continued (another
    /// process's batch may follow it already): its whole records stay, the others are counted
    /// as lost, and the next batch starts on a line of its own.
    func testAShortWriteCountsOnlyTheRecordsItLost() throws {
        let s = settings()
        let line = OplogLine.encode(Self.trace("R0"))
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 0)
        writer.start()
        defer { writer.stop() }
        writer.requestFinished(Self.trace("R0"))
        XCTAssertTrue(writer.flush())
        // R1 alone, then R2…R6 in one batch: the writer takes R1 and waits for the lock.
        let lock = try stall(s)
        writer.requestFinished(Self.trace("R1"))
        try waitUntilWriting(writer)
        for i in 2..<7 { writer.requestFinished(Self.trace("R\(i)")) }
        // Room for R0…R3 and half of R4.
        signal(SIGXFSZ, SIG_IGN)
        var old = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &old)
        var limit = old
        limit.rlim_cur = rlim_t(line.count * 4 + line.count / 2)
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit), 0)
        XCTAssertEqual(flock(lock, LOCK_UN), 0)
        close(lock)
        XCTAssertTrue(writer.flush())
        XCTAssertEqual(setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &old), 0)
        XCTAssertEqual(writer.dropped, 3, "R4 (torn), R5 and R6")
        writer.requestFinished(Self.trace("R7"))
        XCTAssertTrue(writer.flush())
        let all = lines(s.path)
        XCTAssertEqual(all.count, 6, "R0…R3, the torn R4, R7 on a line of its own: \(all)")
        let page = try OplogReader.read(OplogSettings(path: s.path), OplogQuery(limit: 100))
        XCTAssertEqual(page.records.map(\.requestId), ["R0", "R1", "R2", "R3", "R7"])
    }

    func waitUntilWriting(_ writer: OplogWriter) throws {
        let deadline = Date(timeIntervalSinceNow: 10)
        while !writer.isWriting && Date() < deadline { usleep(1000) }
        XCTAssertTrue(writer.isWriting, "the writer took its batch")
    }

    func testStopWritesEverythingQueuedFirst() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<2000 { writer.requestFinished(Self.trace("R\(i)")) }
        writer.stop()
        XCTAssertEqual(try requestIds(s.path).count, 2000)
        // After the stop nothing is written, and nothing waits.
        writer.requestFinished(Self.trace("late"))
        XCTAssertEqual(writer.dropped, 1)
        XCTAssertEqual(try requestIds(s.path).count, 2000)
    }

    /// A stalled disk is a writer thread that does not drain: the queue fills, the requests go on
    /// at once, and what did not fit is counted (the process-wide count too, for the metrics).
    func testAFullQueueDropsAndCountsWithoutWaiting() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), queueRecords: 10)
        let before = OplogWriter.droppedTotal
        let started = Date()
        for i in 0..<25 { writer.requestFinished(Self.trace("R\(i)")) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "the request threads never waited")
        XCTAssertEqual(writer.dropped, 15)
        XCTAssertGreaterThanOrEqual(OplogWriter.droppedTotal - before, 15)
        // The disk is back: what was queued is written, nothing else.
        writer.start()
        XCTAssertTrue(writer.flush())
        XCTAssertEqual(try requestIds(s.path), (0..<10).map { "R\($0)" })
        writer.stop()

        let counters = CounterDirectory(path: dir + "/metrics")
        let metered = OplogWriter(
            settings: s, logger: Logger(label: "test"),
            metrics: MetricsRecorder(file: try counters.create(kind: "worker")),
            queueRecords: 2)
        for i in 0..<7 { metered.requestFinished(Self.trace("M\(i)")) }
        XCTAssertEqual(MetricsSnapshot(counted: try counters.collect()).total("s3gw_oplog_dropped_total"), 5)

        let bytes = OplogWriter(settings: s, logger: Logger(label: "test"), queueBytes: 1000)
        for i in 0..<20 { bytes.requestFinished(Self.trace("B\(i)")) }
        XCTAssertGreaterThan(bytes.dropped, 10, "a byte bound holds too")
    }

    func testAWriteThatFailsCountsItsRecordsAsDropped() throws {
        // The log's directory is a file: nothing can be written.
        FileManager.default.createFile(atPath: dir, contents: Data())
        let writer = OplogWriter(settings: OplogSettings(path: dir + "/oplog.jsonl"), logger: Logger(label: "test"))
        writer.start()
        for i in 0..<5 { writer.requestFinished(Self.trace("R\(i)")) }
        XCTAssertTrue(writer.flush())
        XCTAssertEqual(writer.dropped, 5)
        writer.stop()
    }

    /// Four writers (as four workers) on one file with a tiny max_bytes: the file rotates many
    /// times; every record is in exactly one file, whole; rotated files keep their order
    /// (`.N` oldest); no file grows far past the bound.
    func testSeveralWritersShareTheFileAndItsRotation() throws {
        let s = settings(maxBytes: 4096, files: 500)
        let writers = (0..<4).map { _ in OplogWriter(settings: s, logger: Logger(label: "test")) }
        for w in writers { w.start() }
        DispatchQueue.concurrentPerform(iterations: 4) { n in
            for i in 0..<300 {
                writers[n].requestFinished(Self.trace("W\(n)-\(i)"))
                if i % 50 == 0 { usleep(1000) }
            }
        }
        for w in writers { w.stop() }
        try assertEveryRecordOnceInOrder(s, files: 3)
        XCTAssertEqual(writers.map(\.dropped), [0, 0, 0, 0])
    }

    /// The log's files (more than `files`) hold W0-0…W3-299 each exactly once, each `Wn`'s in its
    /// order across the files, oldest file first; no file grew far past the bound.
    func assertEveryRecordOnceInOrder(_ s: OplogSettings, files: Int) throws {
        let present = s.allPaths.filter { FileManager.default.fileExists(atPath: $0) }
        XCTAssertGreaterThan(present.count, files, "rotated several times")
        var all: [String] = []
        for path in present {
            all += try requestIds(path)
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            // Past the bound by at most what the writers queued while one of them rotated.
            XCTAssertLessThan(size, 64 << 10, path)
        }
        XCTAssertEqual(all.count, 1200)
        XCTAssertEqual(Set(all).count, 1200)
        for n in 0..<4 {
            XCTAssertEqual(all.filter { $0.hasPrefix("W\(n)-") }, (0..<300).map { "W\(n)-\($0)" })
        }
    }

    /// Two writers (as two workers) across many rotations, and a follower passing `next` back as
    /// `after` all along: it sees every record. No writer appends to a file after it was rotated
    /// away, behind the follower's back (or, with few files kept, into one already deleted).
    func testAFollowerSeesEveryRecordOfTwoWritersAcrossRotations() throws {
        let s = settings(maxBytes: 2048, files: 100)
        let writers = (0..<2).map { _ in OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 0) }
        for w in writers { w.start() }
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            DispatchQueue.concurrentPerform(iterations: 2) { n in
                for i in 0..<300 {
                    writers[n].requestFinished(Self.trace("W\(n)-\(i)"))
                    if i % 3 == 0 { usleep(200) }
                }
                writers[n].flush()
            }
            done.leave()
        }
        var after = OplogCursor(inode: 0, offset: 1, fingerprint: 0)
        var followed: [String] = []
        var finished = false
        while !finished {
            finished = done.wait(timeout: .now() + 0.002) == .success
            let page = try OplogReader.read(s, OplogQuery(limit: 1000, after: after))
            followed += page.records.compactMap(\.requestId)
            after = page.next ?? after
        }
        for w in writers { w.stop() }
        followed += try OplogReader.read(s, OplogQuery(limit: 1000, after: after)).records.compactMap(\.requestId)
        XCTAssertGreaterThan(s.allPaths.filter { FileManager.default.fileExists(atPath: $0) }.count, 5, "rotated")
        XCTAssertEqual(followed.count, 600)
        XCTAssertEqual(Set(followed).count, 600)
        for n in 0..<2 {
            XCTAssertEqual(followed.filter { $0.hasPrefix("W\(n)-") }, (0..<300).map { "W\(n)-\($0)" })
        }
    }

    /// Two processes' files, step by step: once one rotated the log, the other's next batch goes
    /// into the new file — not into the one rotated away behind a follower's cursor, nor (with
    /// one file kept and a second rotation) into one already deleted.
    func testAWriterNeverAppendsToAFileRotatedAway() throws {
        let s = settings(maxBytes: 1024, files: 1)
        let a = OplogFile(settings: s, stateDir: nil)
        let b = OplogFile(settings: s, stateDir: nil)
        try b.append(line("B0"))
        _ = try fill(a, "A")
        try a.append(line("A-new"))
        let cursor = try XCTUnwrap(try OplogReader.read(s, OplogQuery(limit: 1)).next)
        try b.append(line("B1"))
        XCTAssertEqual(try requestIds(s.path), ["A-new", "B1"])
        _ = try fill(a, "C")
        try b.append(line("B2"))
        XCTAssertEqual(try requestIds(s.path), ["B2"])
        let followed = try OplogReader.read(s, OplogQuery(limit: 1000, after: cursor)).records.compactMap(\.requestId)
        XCTAssertEqual(followed.filter { $0.hasPrefix("B") }, ["B1", "B2"])
    }

    /// A lock file replaced under the writers (removed by hand, made again by another process):
    /// a writer holding the old one reopens it at its next look (`lookInterval` later at most),
    /// so the lock excludes a rotation again; before that look it does not wait for the new lock.
    func testAReplacedLockFileIsReopened() throws {
        let s = settings()
        let clock = ManualClock()
        // Used by one thread at a time: here, then the one below.
        nonisolated(unsafe) let a = OplogFile(settings: s, stateDir: nil)
        a.clock = clock.now
        try a.append(OplogLine.encode(Self.trace("R0")))
        XCTAssertEqual(unlink(s.path + ".lock"), 0)
        // Another process's lock file now, held exclusively (a rotation under way).
        let lock = try stall(s)
        try a.append(OplogLine.encode(Self.trace("R1")))
        clock.advance(a.lookInterval)
        let written = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? a.append(OplogLine.encode(Self.trace("R2")))
            written.signal()
        }
        XCTAssertEqual(written.wait(timeout: .now() + 0.3), .timedOut, "the writer waits for the new lock")
        XCTAssertEqual(try requestIds(s.path), ["R0", "R1"])
        XCTAssertEqual(flock(lock, LOCK_UN), 0)
        close(lock)
        XCTAssertEqual(written.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(try requestIds(s.path), ["R0", "R1", "R2"])
    }

    /// Two processes' files: once one rotated the log, the other's next append goes into the new
    /// file having looked at nothing (no `stat`): the rotation generation in the lock file told
    /// it. The rotated file holds nothing written after the rotation.
    func testAnotherProcesssRotationIsSeenThroughTheGenerationAlone() throws {
        let s = settings(maxBytes: 1024, files: 3)
        let a = OplogFile(settings: s, stateDir: nil)
        let b = OplogFile(settings: s, stateDir: nil)
        // A clock that stands still: no look for changes by hand falls due after the first.
        b.clock = ManualClock().now
        try b.append(line("B0"))
        XCTAssertEqual(b.generation, 0)
        let looks = b.looks
        let filled = try fill(a, "A")
        try b.append(line("B1"))
        try b.append(line("B2"))
        XCTAssertEqual(b.looks, looks, "no look at the path or the lock file")
        XCTAssertEqual(b.generation, 1)
        XCTAssertEqual(a.generation, nil, "the rotating process reopens at its next append")
        XCTAssertEqual(try requestIds(s.path), ["B1", "B2"])
        XCTAssertEqual(try requestIds(s.path + ".1"), ["B0"] + filled)
        try a.append(line("A-new"))
        XCTAssertEqual(a.generation, 1)
        XCTAssertEqual(try requestIds(s.path), ["B1", "B2", "A-new"])
    }

    /// The lock file removed by hand and made again by another process, which then rotates under
    /// it: a writer still on the old lock file sees none of that until its next look, which puts
    /// its batches back into the current file, counting the new lock file's rotations.
    func testALockFileReplacedByHandIsNoticedWithinTheBound() throws {
        let s = settings(maxBytes: 1024, files: 3)
        let clock = ManualClock()
        let a = OplogFile(settings: s, stateDir: nil)
        a.clock = clock.now
        try a.append(line("A0"))
        XCTAssertEqual(unlink(s.path + ".lock"), 0)
        let b = OplogFile(settings: s, stateDir: nil)
        let filled = try fill(b, "B")
        // Within the bound: on the old lock file, into the file rotated away.
        try a.append(line("A1"))
        XCTAssertEqual(try requestIds(s.path + ".1"), ["A0"] + filled + ["A1"])
        clock.advance(a.lookInterval)
        try a.append(line("A2"))
        XCTAssertEqual(try requestIds(s.path), ["A2"])
        // Back on the lock file the others use: their next rotation needs no look.
        let refilled = try fill(b, "C")
        try a.append(line("A3"))
        XCTAssertEqual(try requestIds(s.path), ["A3"])
        XCTAssertEqual(try requestIds(s.path + ".1"), ["A2"] + refilled)
    }

    /// The log file removed (or moved) by hand, no rotation: the writer notices at its next look
    /// and goes on in a new file at the path; before it, its batches go to the removed file.
    func testALogFileRemovedByHandIsNoticedWithinTheBound() throws {
        let s = settings()
        let clock = ManualClock()
        let a = OplogFile(settings: s, stateDir: nil)
        a.clock = clock.now
        try a.append(line("R0"))
        XCTAssertEqual(rename(s.path, dir + "/moved.jsonl"), 0)
        try a.append(line("R1"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.path))
        clock.advance(a.lookInterval / 2)
        try a.append(line("R2"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.path), "no look yet")
        clock.advance(a.lookInterval / 2)
        try a.append(line("R3"))
        XCTAssertEqual(try requestIds(s.path), ["R3"])
        XCTAssertEqual(try requestIds(dir + "/moved.jsonl"), ["R0", "R1", "R2"])
        XCTAssertEqual(unlink(s.path), 0)
        clock.advance(a.lookInterval)
        try a.append(line("R4"))
        XCTAssertEqual(try requestIds(s.path), ["R4"])
    }

    /// A lock file as an older gateway left it (empty, or shorter than the counter) reads as
    /// generation 0, and rotations count in it as in a new one; one truncated by hand (a
    /// `copytruncate` of `oplog*`) costs no process anything (it is read, not mapped): the
    /// writers see the generation change and reopen the path.
    func testAShortOrTruncatedLockFileReadsAsGenerationZero() throws {
        for legacy in [[], [UInt8]("ab".utf8)] {
            let s = settings(maxBytes: 1024, files: 3)
            try FileManager.default.createDirectory(atPath: dir + "/log", withIntermediateDirectories: true)
            XCTAssertTrue(FileManager.default.createFile(atPath: s.path + ".lock", contents: Data(legacy)))
            let a = OplogFile(settings: s, stateDir: nil)
            let b = OplogFile(settings: s, stateDir: nil)
            b.clock = ManualClock().now
            try b.append(line("B0"))
            XCTAssertEqual(b.generation, 0)
            _ = try fill(a, "A")
            try b.append(line("B1"))
            XCTAssertEqual(b.generation, 1)
            XCTAssertEqual(try requestIds(s.path), ["B1"])
            XCTAssertFalse(try requestIds(s.path + ".1").contains("B1"))
            let counted = try XCTUnwrap(FileManager.default.contents(atPath: s.path + ".lock"))
            XCTAssertEqual(counted.count, 8)
            XCTAssertEqual(counted.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }, 1)
            // Truncated by hand: generation 0 again, which b answers by reopening (still the
            // current file), and the next rotation counts from there.
            XCTAssertEqual(truncate(s.path + ".lock", 0), 0)
            try b.append(line("B2"))
            XCTAssertEqual(b.generation, 0)
            XCTAssertEqual(try requestIds(s.path), ["B1", "B2"])
            _ = try fill(a, "C")
            try b.append(line("B3"))
            XCTAssertEqual(b.generation, 1)
            XCTAssertEqual(try requestIds(s.path), ["B3"])
            try FileManager.default.removeItem(atPath: dir)
        }
    }

    func line(_ id: String) -> [UInt8] { OplogLine.encode(Self.trace(id)) }

    /// Appends `<tag>0`, `<tag>1`… with `file` until the log reaches its size, then rotates it:
    /// the ids appended.
    func fill(_ file: OplogFile, _ tag: String) throws -> [String] {
        let s = file.settings
        var ids: [String] = []
        while ((try? FileManager.default.attributesOfItem(atPath: s.path)[.size] as? Int) ?? 0) < s.maxBytes {
            ids.append("\(tag)\(ids.count)")
            try file.append(line(ids.last!))
        }
        try file.rotate()
        XCTAssertFalse(FileManager.default.fileExists(atPath: s.path), "rotated")
        return ids
    }

    func testRotationKeepsOnlyTheConfiguredFiles() throws {
        let s = settings(maxBytes: 2048, files: 2)
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"))
        writer.start()
        for i in 0..<200 {
            writer.requestFinished(Self.trace("R\(i)"))
            if i % 5 == 0 { writer.flush() }
        }
        writer.stop()
        let fm = FileManager.default
        XCTAssertTrue(fm.fileExists(atPath: s.path + ".1"))
        XCTAssertTrue(fm.fileExists(atPath: s.path + ".2"))
        XCTAssertFalse(fm.fileExists(atPath: s.path + ".3"))
        let kept = try s.allPaths.flatMap { try requestIds($0) }
        // The newest records are kept, in order, up to the last one.
        XCTAssertEqual(kept.last, "R199")
        XCTAssertEqual(kept, (200 - kept.count..<200).map { "R\($0)" })
    }

    /// With nothing queued, a request's thread writes its own line (no handoff to the writer
    /// thread), in order, and it is in the file when the observer returns.
    func testAnUncontendedRequestWritesItsOwnLineBeforeReturning() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 30)
        let writers = Mutex<[pthread_t]>([])
        writer.file.beforeWrite = { writers.withLock { $0.append(pthread_self()) } }
        writer.start()
        defer { writer.stop() }
        for i in 0..<100 {
            writer.requestFinished(Self.trace("R\(i)"))
            XCTAssertEqual(try requestIds(s.path), (0...i).map { "R\($0)" })
        }
        XCTAssertEqual(
            writers.withLock { $0 }, Array(repeating: pthread_self(), count: 100), "every line by its own thread")
        XCTAssertEqual(writer.dropped, 0)
        XCTAssertEqual(writer.handedOff.load(ordering: .relaxed), 0, "no line handed to the writer thread")
        XCTAssertEqual(writer.waitedForFile.load(ordering: .relaxed), 0, "nobody waited for the file")
    }

    /// Many request threads on one writer: whole lines, never interleaved, each record exactly
    /// once, each thread's records in its order.
    func testConcurrentRequestsWriteWholeLinesEachExactlyOnce() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 30)
        writer.start()
        DispatchQueue.concurrentPerform(iterations: 8) { n in
            for i in 0..<400 { writer.requestFinished(Self.trace("T\(n)-\(i)")) }
        }
        writer.stop()
        let ids = try requestIds(s.path)
        XCTAssertEqual(ids.count, 3200)
        XCTAssertEqual(Set(ids).count, 3200)
        for n in 0..<8 {
            XCTAssertEqual(ids.filter { $0.hasPrefix("T\(n)-") }, (0..<400).map { "T\(n)-\($0)" })
        }
        XCTAssertEqual(writer.dropped, 0)
    }

    /// Request threads contending for the file: each writes its own line — no handoff to the
    /// writer thread, which writes nothing — and it is in the file when `requestFinished`
    /// returns (the file's size, read by the thread right after the call, covers its line);
    /// lines whole, each exactly once, each thread's in its order.
    func testContendingRequestsWriteTheirOwnLinesBeforeReturning() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 30)
        let byWriterThread = Atomic(0)
        writer.file.beforeWrite = { if Thread.current.name == "oplog" { byWriterThread.add(1, ordering: .relaxed) } }
        writer.start()
        let threads = 8
        let each = 2000
        let sizeAfter = Mutex<[String: Int]>([:])
        DispatchQueue.concurrentPerform(iterations: threads) { n in
            var sizes: [String: Int] = [:]
            for i in 0..<each {
                let id = "T\(n)-\(i)"
                writer.requestFinished(Self.trace(id))
                var st = stat()
                sizes[id] = stat(s.path, &st) == 0 ? Int(st.st_size) : 0
            }
            sizeAfter.withLock { $0.merge(sizes) { a, _ in a } }
        }
        writer.stop()
        XCTAssertEqual(writer.handedOff.load(ordering: .relaxed), 0)
        XCTAssertEqual(byWriterThread.load(ordering: .relaxed), 0)
        XCTAssertEqual(writer.dropped, 0)
        let data = try XCTUnwrap(FileManager.default.contents(atPath: s.path))
        XCTAssertEqual(data.last, 0x0A)
        var ids: [String] = []
        var end = 0
        var late: [String] = []
        for line in data.split(separator: 0x0A) {
            end += line.count + 1
            let o = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
            let id = try XCTUnwrap(o["request_id"] as? String)
            ids.append(id)
            if end > sizeAfter.withLock({ $0[id] ?? 0 }) { late.append(id) }
        }
        XCTAssertEqual(late, [], "lines not yet in the file when their requestFinished returned")
        XCTAssertEqual(ids.count, threads * each)
        XCTAssertEqual(Set(ids).count, threads * each)
        for n in 0..<threads {
            XCTAssertEqual(ids.filter { $0.hasPrefix("T\(n)-") }, (0..<each).map { "T\(n)-\($0)" })
        }
    }

    /// A request thread stuck inside its own write (a stalled disk) holds only itself: the
    /// requests after it queue, wait at most `durableWait` once, then not at all; when the disk
    /// is back everything is written, in order.
    func testARequestStuckInItsOwnWriteCostsTheOthersAtMostTheBoundedWait() throws {
        let s = settings()
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), durableWait: 0.2)
        let disk = DispatchSemaphore(value: 0)
        let calls = Mutex(0)
        writer.file.beforeWrite = {
            if calls.withLock({ n in
                n += 1
                return n == 1
            }) {
                disk.wait()
            }
        }
        writer.start()
        let stuck = DispatchGroup()
        stuck.enter()
        Thread.detachNewThread {
            writer.requestFinished(Self.trace("R0"))
            stuck.leave()
        }
        try waitUntilWriting(writer)
        let started = Date()
        for i in 1..<20 { writer.requestFinished(Self.trace("R\(i)")) }
        let took = Date().timeIntervalSince(started)
        XCTAssertLessThan(took, 1.5, "one bounded wait, not one per request (19 × 0.2 s)")
        XCTAssertEqual(stuck.wait(timeout: .now()), .timedOut, "R0 still in its write")
        XCTAssertEqual(try requestIds(s.path), [], "nothing written past the stuck write")
        disk.signal()
        XCTAssertEqual(stuck.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(writer.flush())
        writer.stop()
        XCTAssertEqual(try requestIds(s.path), (0..<20).map { "R\($0)" })
        XCTAssertEqual(writer.dropped, 0)
    }

    /// Request threads writing their own lines into a file that rotates every few lines: every
    /// record lands in exactly one file, each thread's in order; the files stay near the bound.
    func testRotationDuringOwnWritesLosesNothing() throws {
        let s = settings(maxBytes: 2048, files: 1000)
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"))
        let own = Atomic(0)
        writer.file.beforeWrite = { if Thread.current.name != "oplog" { own.add(1, ordering: .relaxed) } }
        writer.start()
        DispatchQueue.concurrentPerform(iterations: 4) { n in
            for i in 0..<300 {
                writer.requestFinished(Self.trace("W\(n)-\(i)"))
                if i % 20 == 0 { usleep(500) }
            }
        }
        writer.stop()
        XCTAssertGreaterThan(own.load(ordering: .relaxed), 0, "request threads wrote their own lines")
        try assertEveryRecordOnceInOrder(s, files: 10)
        XCTAssertEqual(writer.dropped, 0)
    }

    /// A clock the test moves (seconds).
    final class ManualClock: Sendable {
        private let seconds = Mutex(0.0)
        func now() -> Double { seconds.withLock { $0 } }
        func advance(_ by: Double) { seconds.withLock { $0 += by } }
    }
}
