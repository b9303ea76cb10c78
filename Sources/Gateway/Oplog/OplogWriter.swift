import Foundation
import GatewayCore
import Logging
import Metrics
import Synchronization

/// A process's operations log writer: a `RequestObserver` that turns each finished request into
/// its line on the request's thread and hands it to one writer thread over a bounded queue. The
/// writer thread takes everything queued at once and appends it with one `write(2)`, so a busy
/// worker writes big batches (group commit) and an idle one each line as it comes.
///
/// The request's thread then waits until the batch holding its record is written — microseconds
/// on a healthy disk — because the observer runs before the response's end goes out: so a crash
/// (SIGKILL) loses no record of a request whose client got its answer, only those in flight. The
/// wait is bounded by `durableWait`, and once the writer has been stuck in a write longer than
/// that (a stalled disk) requests stop waiting at all; when the queue is full the record is
/// dropped and counted (`dropped`, exported as `s3gw_oplog_dropped_total`). A slow disk costs a
/// request at most `durableWait`, never more.
///
/// The uncontended case skips the handoff (two context switches a request): when nothing is
/// queued and nothing is being written, the request's thread writes its own line with one
/// `write(2)` (`writeOwnLine`), marked as "writing" as the writer thread's batches are, so the
/// requests queuing meanwhile wait for it as for a batch and stop waiting once it is stuck. It
/// takes the file's lock only if free (never waits on a rotation) and leaves rotations to the
/// writer thread. The one exception to the bound: a request thread already inside its
/// `write(2)` when the disk stalls waits as long as the disk does — at most one thread per
/// worker, since no other enters while it writes. Lines stay whole and in the order their
/// records were accepted: the own write runs only with the queue empty, and a line that finds
/// the lock taken goes first in the queue.
public final class OplogWriter: RequestObserver, @unchecked Sendable {
    public let settings: OplogSettings
    /// The queue's bounds: records and bytes waiting for the writer thread.
    public let queueRecords: Int
    public let queueBytes: Int
    /// Seconds a request waits at most for its record to be written (0: never waits).
    public let durableWait: Double
    private let logger: Logger
    /// Internal for tests (its `beforeWrite` hook).
    let file: OplogFile
    /// Where dropped records are counted for the metrics (`s3gw_oplog_dropped_total`).
    private let metrics: MetricsRecorder?

    // Guarded by `monitor`.
    private let monitor = OplogMonitor()
    private var pending: [UInt8] = []
    private var pendingRecords = 0
    /// Records accepted into the queue, and records the writer thread is done with (written or,
    /// when the write failed, dropped): `flush` waits for the one to reach the other.
    private var accepted = 0
    private var handled = 0
    private var stopping = false
    private var running = false
    /// When (monotonic) the write in progress began (the writer thread's, or a request thread's
    /// own line): the file is theirs until then. Nil between writes.
    private var writingSince: Double?
    /// A request thread wrote its own line and found the file full: the writer thread rotates (a
    /// rotation waits on the other processes' writes; a request must not).
    private var rotationWanted = false

    private let droppedRecords = Atomic<Int>(0)
    private static let droppedInProcess = Atomic<Int>(0)
    private let lastFailureLog = Mutex<Double>(-.infinity)

    /// Records this writer dropped: queue full, or a write that failed (a full disk).
    public var dropped: Int { droppedRecords.load(ordering: .relaxed) }
    /// Whether the writer thread is in a write (tests: it took its batch).
    var isWriting: Bool { monitor.withLock { writingSince != nil } }
    /// Records every writer of this process dropped.
    public static var droppedTotal: Int { droppedInProcess.load(ordering: .relaxed) }

    /// A writer of `settings.path` (which must be resolved); `stateDir` is where the log's
    /// directory is created as state directories are; `metrics` counts what it drops.
    /// `start()` starts its thread.
    public init(
        settings: OplogSettings, stateDir: String? = nil, logger: Logger, metrics: MetricsRecorder? = nil,
        queueRecords: Int = 65_536, queueBytes: Int = 8 << 20, durableWait: Double = 0.02
    ) {
        self.settings = settings
        self.metrics = metrics
        self.durableWait = durableWait
        self.logger = logger
        self.queueRecords = queueRecords
        self.queueBytes = queueBytes
        file = OplogFile(settings: settings, stateDir: stateDir)
    }

    /// The worker's writer, started, or nil when `[oplog] enabled = false`: then nothing is
    /// created (no directory, no file) and no request waits on it.
    public static func started(
        _ settings: OplogSettings, stateDir: String?, logger: Logger, metrics: MetricsRecorder?
    ) -> OplogWriter? {
        guard settings.enabled else { return nil }
        let writer = OplogWriter(settings: settings, stateDir: stateDir, logger: logger, metrics: metrics)
        writer.start()
        return writer
    }

    public func start() {
        monitor.withLock { running = true }
        let t = Thread { [self] in writeLoop() }
        t.name = "oplog"
        t.start()
    }

    public func requestFinished(_ trace: RequestTrace) {
        let line = OplogLine.encode(trace)
        if writeOwnLine(line) { return }
        guard let record = append(line) else { return }
        waitWritten(record)
    }

    /// Writes `line` on this thread when the file is free (nothing queued, no write in progress,
    /// the lock not held by a rotation); false when it is not, and nothing was done.
    private func writeOwnLine(_ line: [UInt8]) -> Bool {
        let record = monitor.withLock { () -> Int? in
            // A rotation wanted goes first: lines queue meanwhile, or the file would grow past its bound.
            guard running, !stopping, pendingRecords == 0, writingSince == nil, !rotationWanted else { return nil }
            writingSince = OplogMonitor.now()
            accepted += 1
            return accepted
        }
        guard let record else { return false }
        var wrote = true
        do {
            wrote = try file.append(line, waitingForLock: false)
        } catch {
            // One line, one write: a failure (or a short write) leaves no whole record.
            drop(1)
            logFailure("operations log: 1 record lost: \(error)")
        }
        let full = wrote && file.isFull()
        monitor.withLock {
            if wrote {
                handled += 1
            } else {
                // The lock is taken: the line goes first in the queue, ahead of those accepted after it.
                pending.insert(contentsOf: line, at: 0)
                pendingRecords += 1
            }
            writingSince = nil
            rotationWanted = rotationWanted || full
            if pendingRecords > 0 || rotationWanted || stopping { monitor.workQueued() }
            monitor.batchDone()
        }
        if !wrote { waitWritten(record) }
        return true
    }

    /// Queues one line; its sequence number, or nil when it was dropped (the queue is full or
    /// the writer has stopped).
    func append(_ line: [UInt8]) -> Int? {
        let queued = monitor.withLock { () -> Int? in
            guard !stopping, pendingRecords < queueRecords, pending.count + line.count <= queueBytes else {
                return nil
            }
            pending.append(contentsOf: line)
            pendingRecords += 1
            accepted += 1
            monitor.workQueued()
            return accepted
        }
        if queued == nil { drop(1) }
        return queued
    }

    /// Waits until record `n` is written: at most `durableWait`, and not at all while the writer
    /// is stuck in a write longer than that (or not running).
    private func waitWritten(_ n: Int) {
        guard durableWait > 0 else { return }
        let deadline = OplogMonitor.now() + durableWait
        monitor.withLock {
            while handled < n && running {
                if let since = writingSince, OplogMonitor.now() - since > durableWait { return }
                if !monitor.waitForDone(until: deadline) { return }
            }
        }
    }

    /// Waits until every record queued before the call is written (or dropped); false when
    /// `timeout` seconds passed first.
    @discardableResult
    public func flush(timeout: Double = 10) -> Bool {
        let deadline = OplogMonitor.now() + timeout
        return monitor.withLock {
            let target = accepted
            while handled < target {
                if !monitor.waitForDone(until: deadline) { return handled >= target }
            }
            return true
        }
    }

    /// Writes what is queued, then ends the writer thread (a worker's clean stop: nothing its
    /// answered requests left is lost). Records arriving later are dropped.
    public func stop(timeout: Double = 10) {
        let deadline = OplogMonitor.now() + timeout
        monitor.withLock {
            stopping = true
            monitor.workQueued()
            while running {
                if !monitor.waitForDone(until: deadline) { break }
            }
            // The writer is stuck (a stalled disk): what it has not taken yet will not be written.
            if running && pendingRecords > 0 {
                drop(pendingRecords)
                handled += pendingRecords
                pendingRecords = 0
                pending = []
                monitor.batchDone()
            }
        }
    }

    private func writeLoop() {
        var batch: [UInt8] = []
        monitor.lock()
        while true {
            // A request thread writing its own line has the file until it is done.
            while writingSince != nil || (pendingRecords == 0 && !rotationWanted && !stopping) {
                monitor.waitForWork()
            }
            if pendingRecords == 0 && !rotationWanted { break }
            swap(&batch, &pending)
            let records = pendingRecords
            pendingRecords = 0
            let full = rotationWanted
            rotationWanted = false
            writingSince = OplogMonitor.now()
            monitor.unlock()
            if records > 0 {
                do {
                    try file.append(batch)
                } catch {
                    // The records before the failure are in the file: only the others are lost.
                    let lost = records - batch[..<error.written].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                    drop(lost)
                    logFailure("operations log: \(lost) records lost: \(error)")
                }
                // The batch's requests go on; a rotation (still "writing" for the stall check) is not theirs to wait for.
                monitor.withLock {
                    handled += records
                    monitor.batchDone()
                }
            }
            do {
                if full { try file.rotate() }
                try file.rotateIfFull()
            } catch {
                logFailure("operations log: rotating \(settings.path) failed (writing on in it): \(error)")
            }
            // A burst's big buffer is not kept for ever.
            if batch.capacity > 1 << 20 { batch = [] } else { batch.removeAll(keepingCapacity: true) }
            monitor.lock()
            writingSince = nil
        }
        running = false
        file.close()
        monitor.batchDone()
        monitor.unlock()
    }

    private func drop(_ n: Int) {
        droppedRecords.add(n, ordering: .relaxed)
        Self.droppedInProcess.add(n, ordering: .relaxed)
        metrics?.count(.oplogDropped, by: Int64(n))
    }

    /// A failing disk is logged once a minute, not once a batch.
    private func logFailure(_ message: String) {
        let now = OplogMonitor.now()
        let due = lastFailureLog.withLock { last in
            guard now - last >= 60 else { return false }
            last = now
            return true
        }
        if due { logger.error("\(message)") }
    }
}
