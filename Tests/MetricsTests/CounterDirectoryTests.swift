import Foundation
import Synchronization
import XCTest

@testable import Metrics

/// The counter files as the processes share them: adds from many threads, sums over files,
/// finished processes' files folded once, live gauges only from running processes.
final class CounterDirectoryTests: XCTestCase {
    var dir: CounterDirectory!
    var root: String!

    override func setUp() {
        root = NSTemporaryDirectory() + "metrics-\(UUID().uuidString)"
        dir = CounterDirectory(path: root)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func names() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted() }

    func requests(_ snapshot: MetricsSnapshot, _ op: String, _ status: String) -> Double {
        snapshot.total("s3gw_requests_total", matching: ["operation": op, "status": status])
    }

    func testAddsFromManyThreadsAllCount() throws {
        let file = try dir.create(kind: "worker")
        let recorder = MetricsRecorder(file: file)
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for _ in 0..<1000 { recorder.count(.requests, ["GetObject", i % 2 == 0 ? "200" : "404"]) }
        }
        let snapshot = MetricsSnapshot(counted: try dir.collect())
        XCTAssertEqual(requests(snapshot, "GetObject", "200"), 4000)
        XCTAssertEqual(requests(snapshot, "GetObject", "404"), 4000)
        withExtendedLifetime(file) {}
    }

    func testSumsOverProcessesAndKeepsAFinishedOnesValues() throws {
        let a = try dir.create(kind: "worker")
        var b: CounterFile? = try dir.create(kind: "worker")
        MetricsRecorder(file: a).count(.requests, ["PutObject", "200"], by: 3)
        MetricsRecorder(file: b!).count(.requests, ["PutObject", "200"], by: 4)
        XCTAssertEqual(requests(MetricsSnapshot(counted: try dir.collect()), "PutObject", "200"), 7)
        b = nil  // the process ends: its lock is gone, its values stay
        XCTAssertEqual(requests(MetricsSnapshot(counted: try dir.collect()), "PutObject", "200"), 7)
        withExtendedLifetime(a) {}
    }

    func testAFinishedFileIsFoldedExactlyOnce() throws {
        let live = try dir.create(kind: "worker")
        var dead: CounterFile? = try dir.create(kind: "worker")
        let deadName = (dead!.path as NSString).lastPathComponent
        MetricsRecorder(file: live).count(.requests, ["GetObject", "200"], by: 2)
        MetricsRecorder(file: dead!).count(.requests, ["GetObject", "200"], by: 5)
        dead = nil
        XCTAssertEqual(try dir.foldFinished(), 1)
        XCTAssertFalse(names().contains(deadName), "the folded file is removed")
        XCTAssertTrue(names().contains(CounterDirectory.retiredName))
        XCTAssertEqual(requests(MetricsSnapshot(counted: try dir.collect()), "GetObject", "200"), 7)
        // Folding again finds nothing new and adds nothing.
        XCTAssertEqual(try dir.foldFinished(), 0)
        XCTAssertEqual(requests(MetricsSnapshot(counted: try dir.collect()), "GetObject", "200"), 7)
        // A running process's file is never folded.
        XCTAssertTrue(names().contains((live.path as NSString).lastPathComponent))
    }

    /// A fold that died after replacing retired.m but before removing the file it folded: the
    /// file is named in retired.m, so a scrape skips it and the next fold removes it unadded.
    func testAFoldCutShortIsNotCountedTwice() throws {
        var dead: CounterFile? = try dir.create(kind: "agent")
        MetricsRecorder(file: dead!).count(.workerRestarts, by: 2)
        let path = dead!.path
        dead = nil
        let copy = root + "/kept.bin"
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        XCTAssertEqual(try dir.foldFinished(), 1)
        try FileManager.default.moveItem(atPath: copy, toPath: path)  // as if unlink never ran
        XCTAssertEqual(MetricsSnapshot(counted: try dir.collect()).total("s3gw_worker_restarts_total"), 2)
        XCTAssertEqual(try dir.foldFinished(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(MetricsSnapshot(counted: try dir.collect()).total("s3gw_worker_restarts_total"), 2)
    }

    func testLiveGaugesCountOnlyRunningProcesses() throws {
        let a = try dir.create(kind: "worker")
        var b: CounterFile? = try dir.create(kind: "worker")
        MetricsRecorder(file: a).adjust(.inFlight, by: 1)
        MetricsRecorder(file: b!).adjust(.inFlight, by: 1)
        MetricsRecorder(file: b!).adjust(.inFlight, by: 1)
        MetricsRecorder(file: b!).adjust(.inFlight, by: -1)
        XCTAssertEqual(MetricsSnapshot(counted: try dir.collect()).total("s3gw_requests_in_flight"), 2)
        b = nil  // killed while serving one: that request is in flight nowhere now
        XCTAssertEqual(MetricsSnapshot(counted: try dir.collect()).total("s3gw_requests_in_flight"), 1)
        try dir.foldFinished()
        XCTAssertEqual(MetricsSnapshot(counted: try dir.collect()).total("s3gw_requests_in_flight"), 1)
        withExtendedLifetime(a) {}
    }

    func testAFullFileCountsWhatItDrops() throws {
        let file = try dir.create(kind: "worker", capacity: 3)  // entry 0 is the dropped counter
        let r = MetricsRecorder(file: file)
        r.count(.requests, ["A", "200"])
        r.count(.requests, ["B", "200"])
        r.count(.requests, ["C", "200"])
        r.count(.requests, ["D", "200"], by: 5)
        r.count(.requests, [String(repeating: "x", count: 200), "200"])  // too long a key
        let s = MetricsSnapshot(counted: try dir.collect())
        XCTAssertEqual(s.total("s3gw_requests_total"), 2)
        XCTAssertEqual(s.total("s3gw_metrics_series_dropped_total"), 3)
    }

    func testHistogramsSumOverFiles() throws {
        let a = try dir.create(kind: "worker")
        let b = try dir.create(kind: "agent")
        MetricsRecorder(file: a).observe(.requestDuration, ["GetObject"], 0.003)
        MetricsRecorder(file: b).observe(.requestDuration, ["GetObject"], 0.003)
        MetricsRecorder(file: b).observe(.requestDuration, ["GetObject"], 1000)
        let h = try XCTUnwrap(MetricsSnapshot(counted: try dir.collect()).histogram("s3gw_request_duration_seconds"))
        XCTAssertEqual(h.count, 3)
        XCTAssertEqual(h.buckets[2], 2)  // 0.003 ≤ 0.005
        XCTAssertEqual(h.buckets.last, 1)  // over the last bound: +Inf
        XCTAssertEqual(h.sum, 1000.006, accuracy: 1e-6)
        withExtendedLifetime((a, b)) {}
    }

    /// A scrape runs while threads keep appending new series: every series' value, and so every
    /// total, only grows from one scrape to the next.
    func testCollectWhileSeriesAreAppendedNeverGoesDown() throws {
        let file = try dir.create(kind: "worker")
        let recorder = MetricsRecorder(file: file)
        let done = Atomic<Bool>(false)
        let writers = DispatchGroup()
        for t in 0..<4 {
            DispatchQueue.global().async(group: writers) {
                for i in 0..<600 { recorder.count(.requests, ["Op\(t)-\(i)", "200"]) }
            }
        }
        writers.notify(queue: .global()) { done.store(true, ordering: .relaxed) }
        var last: [String: UInt64] = [:]
        var scrapes = 0
        while !done.load(ordering: .relaxed) || scrapes < 2 {
            let now = try dir.collect()
            for (key, value) in last { XCTAssertGreaterThanOrEqual(now[key] ?? 0, value, key) }
            XCTAssertGreaterThanOrEqual(now.values.reduce(0, &+), last.values.reduce(0, &+))
            last = now
            scrapes += 1
        }
        XCTAssertEqual(MetricsSnapshot(counted: try dir.collect()).total("s3gw_requests_total"), 2400)
        withExtendedLifetime(file) {}
    }

    /// A retired.m that is not what a fold writes is never read as empty (the next fold would
    /// replace it and lose its counts silently): scrapes fail, a fold moves it aside and says so.
    func testACorruptRetiredFileIsNeitherReadAsEmptyNorOverwritten() throws {
        var dead: CounterFile? = try dir.create(kind: "worker")
        MetricsRecorder(file: dead!).count(.workerRestarts, by: 4)
        dead = nil
        try dir.foldFinished()
        let retired = root + "/" + CounterDirectory.retiredName
        let good = try String(contentsOfFile: retired, encoding: .utf8)
        try (good.replacingOccurrences(of: "s3gw-retired 2", with: "s3gw-retired 9")).write(
            toFile: retired, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try dir.collect())
        XCTAssertThrowsError(try dir.foldFinished())
        XCTAssertEqual(try String(contentsOfFile: retired + ".bad", encoding: .utf8).count, good.count)
        XCTAssertEqual(try dir.collect().count, 0)  // a fresh start, which Prometheus reads as a reset
        // Cut short (no final newline): corrupt too.
        try String(good.dropLast(3)).write(toFile: retired, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try dir.collect())
    }

    /// A finished process's file that is no counter file is not folded as zeros and removed:
    /// it is renamed `.bad` and stays out of the sums.
    func testAnUnreadableFileIsKeptAsBadNotFoldedAsZero() throws {
        var dead: CounterFile? = try dir.create(kind: "worker")
        MetricsRecorder(file: dead!).count(.workerRestarts, by: 3)
        let path = dead!.path
        dead = nil
        let fd = open(path, O_WRONLY)
        XCTAssertEqual(pwrite(fd, "XXXXXXXX", 8, 0), 8)  // its magic overwritten
        close(fd)
        XCTAssertEqual(try dir.foldFinished(), 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path + ".bad"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// Only a missing directory reads as "nothing counted yet"; one that cannot be read is an
    /// error (the CLI must not print zeros and exit 0). As root, EACCES cannot be made with
    /// permissions: a path through a plain file (ENOTDIR) stands for it.
    func testOnlyAMissingDirectoryReadsAsEmpty() throws {
        XCTAssertEqual(try dir.collect().count, 0)
        FileManager.default.createFile(atPath: root, contents: Data("x".utf8))
        XCTAssertThrowsError(try CounterDirectory(path: root + "/metrics").collect())
    }

    /// A creator holds `.lock` shared from open(O_EXCL) to its file's final name, so a fold never
    /// removes a temporary in progress; one left by a process that died is removed.
    func testAFoldRemovesOnlyAbandonedTemporaries() throws {
        let file = try dir.create(kind: "worker")
        let abandoned = root + "/.worker-1-2-3.m.new"
        FileManager.default.createFile(atPath: abandoned, contents: Data())
        try dir.foldFinished()
        XCTAssertFalse(FileManager.default.fileExists(atPath: abandoned))
        XCTAssertTrue(FileManager.default.fileExists(atPath: file.path))
        XCTAssertFalse(names().contains { $0.hasSuffix(".new") })
    }
}
