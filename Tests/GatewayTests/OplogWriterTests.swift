import Foundation
import GatewayCore
import Logging
import Metrics
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

    /// A disk that stalls (here: the log is a FIFO nobody reads, so the writer hangs in open)
    /// costs one request the bounded wait; the next ones see the writer stuck and do not wait;
    /// the queue fills and drops; once the disk is back, what was queued is written.
    func testAStalledDiskCostsRequestsAtMostTheBoundedWait() throws {
        let s = settings()
        try FileManager.default.createDirectory(atPath: dir + "/log", withIntermediateDirectories: true)
        XCTAssertEqual(mkfifo(s.path, 0o600), 0)
        let writer = OplogWriter(settings: s, logger: Logger(label: "test"), queueRecords: 50, durableWait: 0.2)
        writer.start()
        let started = Date()
        for i in 0..<100 { writer.requestFinished(Self.trace("R\(i)")) }
        let took = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(took, 0.2, "the first request waited for its record")
        XCTAssertLessThan(took, 1.5, "the others did not wait on a stuck writer")
        // The writer holds the first record, the queue 50 more, the rest are dropped.
        XCTAssertEqual(writer.dropped, 49)

        let reader = open(s.path, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }
        var received: [UInt8] = []
        let deadline = Date(timeIntervalSinceNow: 10)
        while received.filter({ $0 == 0x0A }).count < 51 && Date() < deadline {
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = read(reader, &buf, buf.count)
            if n > 0 { received += buf[0..<n] } else { usleep(10_000) }
        }
        writer.stop()
        let ids = try String(decoding: received, as: UTF8.self).split(separator: "\n").map { line in
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["request_id"]
                as? String
        }
        XCTAssertEqual(ids, (0..<51).map { "R\($0)" })
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
        let present = s.allPaths.filter { FileManager.default.fileExists(atPath: $0) }
        XCTAssertGreaterThan(present.count, 3, "rotated several times")
        var all: [String] = []
        for path in present {
            let ids = try requestIds(path)
            all += ids
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            // Past the bound by at most what the writers queued while one of them rotated.
            XCTAssertLessThan(size, 64 << 10, path)
        }
        XCTAssertEqual(all.count, 1200)
        XCTAssertEqual(Set(all).count, 1200)
        // Each writer's records in its own order across the files, oldest file first.
        for n in 0..<4 {
            XCTAssertEqual(all.filter { $0.hasPrefix("W\(n)-") }, (0..<300).map { "W\(n)-\($0)" })
        }
        XCTAssertEqual(writers.map(\.dropped), [0, 0, 0, 0])
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
}
