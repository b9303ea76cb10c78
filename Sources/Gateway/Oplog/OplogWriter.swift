import Foundation
import GatewayCore
import Logging
import Synchronization

/// A process's operations log writer: a `RequestObserver` that turns each finished request into
/// its line on the request's thread and hands it to one writer thread over a bounded queue. The
/// request thread never waits for the disk: when the queue is full (the disk stalls), the record
/// is dropped and counted (`dropped`, exported as `s3gw_oplog_dropped_total`). The writer thread
/// takes everything queued at once and appends it with one `write(2)`, so a busy worker writes
/// big batches and an idle one writes each line as it comes — and a crash loses only what was
/// queued in its last moments.
public final class OplogWriter: RequestObserver, @unchecked Sendable {
    public let settings: OplogSettings
    /// The queue's bounds: records and bytes waiting for the writer thread.
    public let queueRecords: Int
    public let queueBytes: Int
    private let logger: Logger
    private let file: OplogFile

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var pending: [UInt8] = []
    private var pendingRecords = 0
    /// Records accepted into the queue, and records the writer thread is done with (written or,
    /// when the write failed, dropped): `flush` waits for the one to reach the other.
    private var accepted = 0
    private var handled = 0
    private var stopping = false
    private var running = false

    private let droppedRecords = Atomic<Int>(0)
    private static let droppedInProcess = Atomic<Int>(0)
    private let lastFailureLog = Mutex<Double>(-.infinity)

    /// Records this writer dropped: queue full, or a write that failed (a full disk).
    public var dropped: Int { droppedRecords.load(ordering: .relaxed) }
    /// Records every writer of this process dropped: the process's `s3gw_oplog_dropped_total`.
    public static var droppedTotal: Int { droppedInProcess.load(ordering: .relaxed) }

    /// A writer of `settings.path` (which must be resolved); `stateDir` is where the log's
    /// directory is created as state directories are. `start()` starts its thread.
    public init(
        settings: OplogSettings, stateDir: String? = nil, logger: Logger, queueRecords: Int = 65_536,
        queueBytes: Int = 8 << 20
    ) {
        self.settings = settings
        self.logger = logger
        self.queueRecords = queueRecords
        self.queueBytes = queueBytes
        file = OplogFile(settings: settings, stateDir: stateDir)
    }

    public func start() {
        condition.withLock { running = true }
        let t = Thread { [self] in writeLoop() }
        t.name = "oplog"
        t.start()
    }

    public func requestFinished(_ trace: RequestTrace) {
        append(OplogLine.encode(trace))
    }

    /// Queues one line (no waiting beyond the queue's lock); drops it when the queue is full or
    /// the writer has stopped.
    func append(_ line: [UInt8]) {
        let queued = condition.withLock { () -> Bool in
            guard !stopping, pendingRecords < queueRecords, pending.count + line.count <= queueBytes else {
                return false
            }
            pending.append(contentsOf: line)
            pendingRecords += 1
            accepted += 1
            condition.signal()
            return true
        }
        if !queued { drop(1) }
    }

    /// Waits until every record queued before the call is written (or dropped); false when
    /// `timeout` seconds passed first.
    @discardableResult
    public func flush(timeout: Double = 10) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        return condition.withLock {
            let target = accepted
            while handled < target {
                if !condition.wait(until: deadline) { return handled >= target }
            }
            return true
        }
    }

    /// Writes what is queued, then ends the writer thread (a worker's clean stop: nothing its
    /// answered requests left is lost). Records arriving later are dropped.
    public func stop(timeout: Double = 10) {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.withLock {
            stopping = true
            condition.broadcast()
            while running {
                if !condition.wait(until: deadline) { break }
            }
        }
    }

    private func writeLoop() {
        var batch: [UInt8] = []
        condition.lock()
        while true {
            while pendingRecords == 0 && !stopping { condition.wait() }
            if pendingRecords == 0 { break }
            swap(&batch, &pending)
            let records = pendingRecords
            pendingRecords = 0
            condition.unlock()
            do {
                try file.append(batch)
            } catch {
                drop(records)
                logFailure("operations log: \(records) records lost: \(error)")
            }
            // A burst's big buffer is not kept for ever.
            if batch.capacity > 1 << 20 { batch = [] } else { batch.removeAll(keepingCapacity: true) }
            condition.lock()
            handled += records
            condition.broadcast()
        }
        running = false
        file.close()
        condition.broadcast()
        condition.unlock()
    }

    private func drop(_ n: Int) {
        droppedRecords.add(n, ordering: .relaxed)
        Self.droppedInProcess.add(n, ordering: .relaxed)
    }

    /// A failing disk is logged once a minute, not once a batch.
    private func logFailure(_ message: String) {
        let now = OplogFile.monotonic()
        let due = lastFailureLog.withLock { last in
            guard now - last >= 60 else { return false }
            last = now
            return true
        }
        if due { logger.error("\(message)") }
    }
}
