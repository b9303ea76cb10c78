import Foundation
import GatewayCore
import Logging
import Metrics
import Synchronization

/// A process's operations log writer: a `RequestObserver` that turns each finished request into
/// its line on the request's thread and appends it to the file before the response's end goes out
/// — so a crash (SIGKILL) loses no record of a request whose client got its answer, only those in
/// flight.
///
/// The request's thread writes its own line with one `write(2)`, holding the file's lock
/// (a `TimedMutex`, a plain mutex: taking it free costs no system call, letting it go wakes one
/// waiter, no broadcast). The common case — the file free, nothing queued, no rotation due —
/// takes no other lock, no condition variable and no context switch. A request that finds the file
/// taken waits for it (a spin, then a sleep until the holder lets go) and writes its line then;
/// anything queued goes first in the same `write(2)`, so lines stay whole and in the order their
/// records were accepted.
///
/// That wait is bounded by `durableWait`, and once the file's holder has had it longer than that
/// (a stalled disk) requests stop waiting at all: they hand their line to the writer thread over
/// a bounded queue, which it appends, everything queued at once, as soon as the file is free
/// again; when the queue is full the record is dropped and counted (`dropped`, exported as
/// `s3gw_oplog_dropped_total`). A slow disk costs a request at most `durableWait`, never more. The
/// one exception to the bound: a thread already inside its `write(2)` when the disk stalls waits
/// as long as the disk does — at most one thread per worker, since no other writes meanwhile.
///
/// A request takes the file's `flock` only if free (never waits on another process's rotation:
/// its line is queued instead, first, and it waits for it as for a batch). Rotations are left to
/// the writer thread: a request that finds the file full asks for one, and lines queue until it is
/// done (or the file would grow past its bound). `stop` writes everything queued.
public final class OplogWriter: RequestObserver, @unchecked Sendable {
    public let settings: OplogSettings
    /// The queue's bounds: records and bytes waiting for the writer thread.
    public let queueRecords: Int
    public let queueBytes: Int
    /// Seconds a request waits at most for its record to be written (0: never waits).
    public let durableWait: Double
    private let logger: Logger
    /// Internal for tests (its `beforeWrite` hook). Used only by the holder of `fileLock`.
    let file: OplogFile
    /// Where dropped records are counted for the metrics (`s3gw_oplog_dropped_total`).
    private let metrics: MetricsRecorder?

    /// Who may use `file`: a request thread writing its own line, or the writer thread.
    private let fileLock = TimedMutex()
    /// Guarded by `fileLock`: the writer thread closed the file (stopped).
    private var closed = false

    // Guarded by `monitor`: the queue.
    private let monitor = OplogMonitor()
    private var pending: [UInt8] = []
    private var pendingRecords = 0
    /// Records accepted into the queue, and records written (or, when the write failed, dropped)
    /// from it: `flush` waits for the one to reach the other.
    private var accepted = 0
    private var handled = 0
    private var stopping = false
    private var running = false

    // Read by request threads without a lock.
    /// Started and not stopping: request threads write their own lines.
    private let open = Atomic<Bool>(false)
    /// `pendingRecords`, set under `monitor`: the file's next holder takes the queue first.
    private let queued = Atomic<Int>(0)
    /// A request thread found the file full (set under `monitor`, which the writer thread waits
    /// on): the writer thread rotates (a rotation waits on the other processes' writes; a request
    /// must not), and lines queue until then.
    private let rotationWanted = Atomic<Bool>(false)
    /// When (`stamp`) the holder of `fileLock` took it: 0 when nobody holds it (or its holder has
    /// not stamped it yet).
    private let heldSinceStamp = Atomic<Int>(0)

    /// Tests: records queued for the writer thread, and requests that waited for the file.
    let handedOff = Atomic<Int>(0)
    let waitedForFile = Atomic<Int>(0)

    private let droppedRecords = Atomic<Int>(0)
    private static let droppedInProcess = Atomic<Int>(0)
    private let lastFailureLog = Mutex<Double>(-.infinity)

    /// Records this writer dropped: queue full, or a write that failed (a full disk).
    public var dropped: Int { droppedRecords.load(ordering: .relaxed) }
    /// Whether a thread holds the file (tests: the writer thread took its batch, or a request its
    /// own line).
    var isWriting: Bool { heldSince != nil }
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
        open.store(true, ordering: .relaxed)
        let t = Thread { [self] in writeLoop() }
        t.name = "oplog"
        t.start()
    }

    public func requestFinished(_ trace: RequestTrace) {
        let line = OplogLine.encode(trace)
        // Not started or stopping, or a rotation due: the line queues and waits as for a batch.
        guard open.load(ordering: .relaxed), !rotationWanted.load(ordering: .relaxed) else {
            if let record = append(line) { waitWritten(record) }
            return
        }
        if takeFile() {
            writeOwnLine(line)
        } else {
            // The file is stuck (or was not let go within `durableWait`): this request has waited
            // enough; the writer thread writes the line once the file is free.
            _ = append(line)
        }
    }

    /// Takes `fileLock` for this request thread: at once when free, else once its holder lets go,
    /// waiting `durableWait` at most and not at all when the holder has had it longer than that.
    private func takeFile() -> Bool {
        if fileLock.tryLock() { return true }
        guard durableWait > 0 else { return false }
        let now = monotonicSeconds()
        let deadline = (heldSince ?? now) + durableWait
        guard deadline > now else { return false }
        waitedForFile.add(1, ordering: .relaxed)
        return fileLock.lock(until: deadline)
    }

    /// Writes `line`, after anything queued, holding `fileLock`, and lets go of it. When another
    /// process holds the `flock` (a rotation) nothing is written: the lines go first in the queue,
    /// and the request waits for them as for a batch.
    private func writeOwnLine(_ line: [UInt8]) {
        heldSinceStamp.store(Self.stamp(), ordering: .relaxed)
        guard !closed else {
            heldSinceStamp.store(0, ordering: .relaxed)
            fileLock.unlock()
            drop(1)
            return
        }
        var batch = line
        var taken = 0
        if queued.load(ordering: .relaxed) > 0 {
            monitor.withLock {
                taken = pendingRecords
                batch = pending + line
                pending.removeAll(keepingCapacity: true)
                pendingRecords = 0
                queued.store(0, ordering: .relaxed)
            }
        }
        let wrote = write(batch, records: taken + 1, waitingForLock: false)
        let full = wrote && file.isFull()
        heldSinceStamp.store(0, ordering: .relaxed)
        var record: Int?
        if !wrote || taken > 0 || full {
            record = monitor.withLock { () -> Int? in
                if full {
                    rotationWanted.store(true, ordering: .relaxed)
                    monitor.workQueued()
                }
                guard !wrote else {
                    handled += taken
                    monitor.batchDone()
                    return nil
                }
                // Ahead of the lines queued meanwhile, which were accepted after these.
                pending.insert(contentsOf: batch, at: 0)
                pendingRecords += taken + 1
                queued.store(pendingRecords, ordering: .relaxed)
                handedOff.add(1, ordering: .relaxed)
                accepted += 1
                monitor.workQueued()
                return accepted
            }
        }
        fileLock.unlock()
        if let record { waitWritten(record) }
    }

    /// Appends `batch` (`records` whole lines), holding `fileLock`: false when `waitingForLock`
    /// is false and another process holds the `flock` exclusively (nothing was written). A write
    /// that fails drops and counts the records it did not write.
    private func write(_ batch: [UInt8], records: Int, waitingForLock: Bool) -> Bool {
        do {
            return try file.append(batch, waitingForLock: waitingForLock)
        } catch {
            // The records before the failure are in the file: only the others are lost.
            let lost = records - batch[..<error.written].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            drop(lost)
            logFailure("operations log: \(lost) records lost: \(error)")
            return true
        }
    }

    /// Monotonic nanoseconds, never 0 (what `heldSinceStamp` holds).
    private static func stamp() -> Int { max(1, Int(monotonicSeconds() * 1e9)) }

    /// When (monotonic seconds) the holder of the file took it; nil when nobody holds it.
    private var heldSince: Double? {
        let stamp = heldSinceStamp.load(ordering: .relaxed)
        return stamp == 0 ? nil : Double(stamp) / 1e9
    }

    /// Queues one line for the writer thread; its sequence number, or nil when it was dropped
    /// (the queue is full or the writer has stopped).
    func append(_ line: [UInt8]) -> Int? {
        let queued = monitor.withLock { () -> Int? in
            guard !stopping, pendingRecords < queueRecords, pending.count + line.count <= queueBytes else {
                return nil
            }
            pending.append(contentsOf: line)
            pendingRecords += 1
            self.queued.store(pendingRecords, ordering: .relaxed)
            accepted += 1
            monitor.workQueued()
            return accepted
        }
        if queued == nil { drop(1) } else { handedOff.add(1, ordering: .relaxed) }
        return queued
    }

    /// Waits until queued record `n` is written: at most `durableWait`, and not at all while the
    /// file's holder has had it longer than that (or the writer is not running).
    private func waitWritten(_ n: Int) {
        guard durableWait > 0 else { return }
        let deadline = monotonicSeconds() + durableWait
        monitor.withLock {
            while handled < n && running {
                if let since = heldSince, monotonicSeconds() - since > durableWait { return }
                if !monitor.waitForDone(until: deadline) { return }
            }
        }
    }

    /// Waits until every record queued before the call is written (or dropped); false when
    /// `timeout` seconds passed first.
    @discardableResult
    public func flush(timeout: Double = 10) -> Bool {
        let deadline = monotonicSeconds() + timeout
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
        open.store(false, ordering: .relaxed)
        let deadline = monotonicSeconds() + timeout
        monitor.withLock {
            stopping = true
            monitor.workQueued()
            while running {
                if !monitor.waitForDone(until: deadline) { break }
            }
            // The file is stuck (a stalled disk): what the writer has not taken yet will not be written.
            if running && pendingRecords > 0 {
                drop(pendingRecords)
                handled += pendingRecords
                pendingRecords = 0
                queued.store(0, ordering: .relaxed)
                pending = []
                monitor.batchDone()
            }
        }
    }

    /// The writer thread: writes what request threads queued (the file was stuck, or another
    /// process rotating it) and rotates the file when asked; closes it at the stop.
    private func writeLoop() {
        var batch: [UInt8] = []
        while true {
            monitor.withLock {
                while pendingRecords == 0 && !rotationWanted.load(ordering: .relaxed) && !stopping {
                    monitor.waitForWork()
                }
            }
            // As long as a request thread's own write takes (the queue fills meanwhile, bounded).
            fileLock.lock()
            heldSinceStamp.store(Self.stamp(), ordering: .relaxed)
            // A request thread that took the file meanwhile may have written the queue already.
            let (records, full, last) = monitor.withLock {
                swap(&batch, &pending)
                let records = pendingRecords
                pendingRecords = 0
                queued.store(0, ordering: .relaxed)
                let full = rotationWanted.exchange(false, ordering: .relaxed)
                return (records, full, stopping && records == 0 && !full)
            }
            if last { break }
            if records > 0 {
                _ = write(batch, records: records, waitingForLock: true)
                // The batch's requests go on; a rotation (still holding the file for the stall check) is not theirs to wait for.
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
            heldSinceStamp.store(0, ordering: .relaxed)
            fileLock.unlock()
        }
        closed = true
        file.close()
        heldSinceStamp.store(0, ordering: .relaxed)
        fileLock.unlock()
        monitor.withLock {
            running = false
            monitor.batchDone()
        }
    }

    private func drop(_ n: Int) {
        droppedRecords.add(n, ordering: .relaxed)
        Self.droppedInProcess.add(n, ordering: .relaxed)
        metrics?.count(.oplogDropped, by: Int64(n))
    }

    /// A failing disk is logged once a minute, not once a batch.
    private func logFailure(_ message: String) {
        let now = monotonicSeconds()
        let due = lastFailureLog.withLock { last in
            guard now - last >= 60 else { return false }
            last = now
            return true
        }
        if due { logger.error("\(message)") }
    }
}
