import Dispatch
import Foundation
import GatewayCore
import Logging
import SigV4
import Synchronization

/// Carries out a migration plan: creates each target bucket with the plan's constraint and
/// replica-count, lists the source bucket page by page and copies every object through the
/// gateway's own write path (`GatewayWrites`), streaming and verified (`VerifyingSource`).
/// Resumable: each copy is recorded before it is committed (`MigratedObject`), and an object
/// whose gateway copy still carries the recorded ETag is not read again. The source is only read.
public final class MigrationRunner: Sendable {
    public struct Options: Sendable {
        /// Objects copied at once.
        public var parallel = 4
        /// Route reads of missing keys of the plan's buckets to this run (`socket` answers them).
        public var readThroughSocket: String?
        /// Larger objects go up as multipart uploads (S3's single-PUT limit).
        public var singlePutLimit: Int64 = Handlers.maxCopySize
        /// The part size of those uploads when the source's own cannot be learned.
        public var partSize: Int64 = 64 << 20
        /// Attempts per object when the source or a zone fails for a moment.
        public var attempts = 3
        /// Seconds between progress writes to the metadata store.
        public var saveInterval: Double = 1
        /// A run started through the API acts for its caller only while the caller may: nil, the
        /// principal is the run's for good (`s3gw migrate run` on the gateway host).
        public var caller: Caller?
        /// Whose the run's writes are in the audit chain: `web` for a run started through the
        /// API, `cli` for `s3gw migrate run`.
        public var origin: RequestTrace.Origin = .cli

        public init() {}
    }

    /// How a run checks its caller again: the credential looked up afresh (with the session
    /// token the start request carried) before each listing page and every `interval` seconds.
    /// A credential deleted, deactivated or expired, or a caller who may no longer start
    /// migrations or write to the target, fails the run.
    public struct Caller: Sendable {
        public var sessionToken: String?
        public var interval: Double

        public init(sessionToken: String?, interval: Double = 30) {
            self.sessionToken = sessionToken
            self.interval = interval
        }
    }

    /// One object's outcome, for a per-object report (`s3gw migrate run --report`).
    public struct ObjectEvent: Sendable, Codable, Equatable {
        public var bucket: String
        public var key: String
        public var size: Int64
        /// "copied", "present", "skipped", "read-through".
        public var outcome: String
        public var verification: String?
        public var reason: String?
    }

    public let plan: MigrationPlanV1
    public let runId: String
    let source: any SourceAccount
    /// Who the run acts as: the caller as last looked up (`Options.caller`).
    private let principal: Mutex<Principal>
    let ctx: GatewayContext
    let options: Options
    let logger: Logger
    let onObject: @Sendable (ObjectEvent) -> Void

    private let status: Mutex<MigrationRunStatus>
    /// What the totals are made of: per plan bucket, the estimate and what its listing found.
    private let listed:
        Mutex<[(estimateObjects: Int64, estimateBytes: Int64, objects: Int64, bytes: Int64, done: Bool)]>
    private let stopping = Atomic<Bool>(false)
    /// Why the run stops as failed although nothing went wrong with the source (the caller's
    /// credential no longer works).
    private let callerFailure = Mutex<String?>(nil)
    /// `interrupt` stopped the run.
    private let interrupted = Atomic<Bool>(false)
    /// `finish` ran: the row holds the final state.
    private let ended = Atomic<Bool>(false)
    /// Keys being copied ("bucket\0key"): the run and read-through never copy one twice at once.
    private let inFlight = Mutex<Set<String>>([])
    private let lastSave = Mutex<Double>(0)
    private let started: Double

    public init(
        plan: MigrationPlanV1, source: any SourceAccount, principal: Principal, ctx: GatewayContext,
        options: Options = Options(), logger: Logger, onObject: @escaping @Sendable (ObjectEvent) -> Void = { _ in }
    ) {
        self.plan = plan
        runId = plan.plan.id
        self.source = source
        self.ctx = ctx
        self.options = options
        self.logger = logger
        self.onObject = onObject
        self.principal = Mutex(principal)
        started = ctx.clock.now()
        let now = Date(timeIntervalSince1970: started)
        status = Mutex(
            MigrationRunStatus(
                id: plan.plan.id, planId: plan.plan.id, tenant: principal.tenant, state: .running,
                readThrough: options.readThroughSocket != nil, owner: MigrationRunStatus.thisProcess, createdAt: now,
                updatedAt: now, finishedAt: nil,
                objectsTotal: plan.buckets.reduce(0) { $0 + $1.objects + $1.archivedObjects },
                bytesTotal: plan.buckets.reduce(0) { $0 + $1.bytes + $1.archivedBytes }, objectsDone: 0, bytesDone: 0,
                objectsCopied: 0, bytesCopied: 0, objectsPresent: 0, objectsSkipped: 0, bytesSkipped: 0,
                objectsReadThrough: 0, bytesReadThrough: 0, verification: [:], rateBytesPerSecond: 0, etaSeconds: nil,
                currentBucket: nil,
                buckets: plan.buckets.map {
                    .init(
                        sourceBucket: $0.sourceBucket, targetBucket: $0.targetBucket, state: "pending",
                        objectsCopied: 0,
                        objectsPresent: 0, objectsSkipped: 0, bytesCopied: 0, error: nil, notes: $0.notes)
                }, skipped: [], skippedTruncated: false, error: nil))
        listed = Mutex(
            plan.buckets.map {
                ($0.objects + $0.archivedObjects, $0.bytes + $0.archivedBytes, 0, 0, false)
            })
    }

    /// The run's writes, as its principal now.
    var writes: GatewayWrites {
        GatewayWrites(ctx: ctx, principal: principal.withLock { $0 }, origin: options.origin, logger: logger)
    }

    /// A trace for the run's own work on a thread that has none (the run's thread, a
    /// read-through request): what the store changes directly is recorded as the run's.
    func traced<T>(_ operation: String, _ body: () -> T) -> T {
        if RequestTrace.current != nil { return body() }
        let p = principal.withLock { $0 }
        let trace = RequestTrace(requestId: S3Gateway.newRequestId(), origin: options.origin, started: ctx.clock.now())
        trace.operation = operation
        trace.tenant = p.tenant
        trace.accessKey = p.accessKey
        return trace.run(body)
    }

    /// Where the run is (the same document the metadata store keeps).
    public var progress: MigrationRunStatus {
        status.withLock { s in
            var s = s
            let elapsed = max(0.001, ctx.clock.now() - started)
            s.rateBytesPerSecond = Double(s.bytesCopied) / elapsed
            let left = max(0, s.bytesTotal - s.bytesDone - s.bytesSkipped)
            s.etaSeconds = s.rateBytesPerSecond > 0 ? Double(left) / s.rateBytesPerSecond : nil
            return s
        }
    }

    /// Stops the run: no new object starts, copies under way are abandoned (nothing of them
    /// becomes visible), and `run` returns with state `cancelled`.
    public func cancel() { stopping.store(true, ordering: .relaxed) }

    /// Stops the run as `cancel` does, for a reason of the process (a worker draining), not of
    /// the person: `run` returns with state `interrupted`, which a start resumes.
    public func interrupt() {
        interrupted.store(true, ordering: .relaxed)
        cancel()
    }

    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    /// A run that is already going (its row updated within the last minute) is not started twice.
    public static func checkNotRunning(_ id: String, _ ctx: GatewayContext) throws {
        if let row = try ctx.metadata.migrationRun(id: id),
            let s = MigrationRunStatus(row: row, now: ctx.clock.now()), s.state == .running
        {
            throw MigrationError(
                .conflict, "run \(id) is already running (updated \(Int(ctx.clock.now() - row.updatedAt)) s ago)")
        }
    }

    /// Refuses at once a plan whose targets need a replica-count `principal` may not set
    /// (every such bucket would fail): a target that exists has its count, a new one gets the
    /// gateway's default for its placement, and raising either is a gateway administrator's
    /// right (a run never lowers one). Checked before any credential is asked for or any bucket
    /// is created.
    public static func checkReplicaCounts(_ plan: MigrationPlanV1, by principal: Principal, _ ctx: GatewayContext)
        throws
    {
        if principal.maySetReplicaCount(ofTenant: principal.tenant) { return }
        var changes: [String] = []
        var counts: Set<Int> = []
        for pb in plan.buckets {
            let current: Int
            let name = TenantRecord.qualifiedBucket(tenant: principal.tenant, name: pb.targetBucket)
            if let b = try ctx.metadata.bucket(named: name) {
                current = b.replicaCount
            } else if let placement = try? ctx.resolvePlacement(pb.constraint) {
                current = ctx.defaultReplicaCount(for: placement)
            } else {
                continue  // CreateBucket refuses the constraint: the bucket fails for that reason.
            }
            if current < pb.replicas {
                changes.append("\(pb.targetBucket) (\(current) → \(pb.replicas))")
                counts.insert(current)
            }
        }
        guard !changes.isEmpty else { return }
        let shown =
            changes.prefix(5).joined(separator: ", ") + (changes.count > 5 ? " and \(changes.count - 5) more" : "")
        let wanted = Set(plan.buckets.map(\.replicas)).sorted().map(String.init).joined(separator: ", ")
        throw MigrationError(
            .accessDenied,
            "the plan keeps \(wanted) cop\(wanted == "1" ? "y" : "ies") of each object, which needs a bucket "
                + "replica-count this caller may not set: \(shown). Setting a bucket's replica-count needs the "
                + "admin:UpdateBucket permission of a gateway administrator (a user of the default tenant). Run the "
                + "plan as an administrator, have one set the existing buckets' count first (s3gw buckets replicas "
                + "BUCKET N), or make the plan with --replicas \(counts.count == 1 ? String(counts.first!) : "1").")
    }

    /// The metadata note asking run `id` to stop: any worker may write it, the process running
    /// the run notices within `saveInterval`.
    static func cancelKey(_ id: String) -> String { "migration-cancel/" + id }

    /// Asks run `id`, wherever it runs, to stop.
    public static func requestCancel(_ id: String, _ ctx: GatewayContext) throws {
        try ctx.metadata.setAgentState(cancelKey(id), "1")
    }

    /// Runs the plan to its end (or until `cancel`) and returns the report.
    @discardableResult
    public func run() -> MigrationRunStatus { traced("Migrate") { runTraced() } }

    private func runTraced() -> MigrationRunStatus {
        try? ctx.metadata.setAgentState(Self.cancelKey(runId), nil)
        save(force: true)
        // Progress is written (and a cancel request looked for) on a beat, whatever the objects'
        // sizes: a row left unwritten for a minute reads as an interrupted run.
        let stopBeat = DispatchSemaphore(value: 0)
        let beatEnded = DispatchSemaphore(value: 0)
        let beat = Thread { [self] in
            defer { beatEnded.signal() }
            var checked = Date()
            while stopBeat.wait(timeout: .now() + min(1, options.saveInterval)) == .timedOut {
                save(force: false)
                if (try? ctx.metadata.agentState(Self.cancelKey(runId))) != nil { cancel() }
                if let caller = options.caller, Date().timeIntervalSince(checked) >= caller.interval {
                    checked = Date()
                    _ = callerMayGoOn()
                }
            }
        }
        beat.name = "migration beat"
        beat.start()
        // Routes a killed run of this plan left are stale either way.
        try? ctx.metadata.removeReadThrough(runId: runId)
        let (state, error) = carryOut()
        // The beat ends before the final write: a snapshot it took before the end, written
        // after it, would say the finished run is running again.
        stopBeat.signal()
        beatEnded.wait()
        finish(state, error: error)
        try? ctx.metadata.removeReadThrough(runId: runId)
        return progress
    }

    /// The plan's buckets, one after the other; the state the run ends in.
    private func carryOut() -> (MigrationRunStatus.State, String?) {
        do {
            // Every target first, so read-through serves all of the plan's buckets from the start.
            var ready: [Int: BucketRecord] = [:]
            for (i, pb) in plan.buckets.enumerated() {
                do {
                    let b = try writes.ensureBucket(pb.targetBucket, constraint: pb.constraint)
                    try writes.ensureReplicaCount(b, pb.replicas)
                    if b.replicaCount > pb.replicas {
                        status.withLock {
                            $0.buckets[i].notes.append(
                                "the bucket keeps its replica-count of \(b.replicaCount) (the plan asked for "
                                    + "\(pb.replicas)): a migration never lowers it")
                        }
                    }
                    ready[i] = b
                    if let socket = options.readThroughSocket {
                        try ctx.metadata.setReadThrough(ReadThroughRoute(bucket: b.name, runId: runId, socket: socket))
                    }
                } catch {
                    bucketFailed(i, Self.reason(error))
                }
            }
            for (i, pb) in plan.buckets.enumerated() {
                guard let b = ready[i] else { continue }
                if isStopping { break }
                try copyBucket(i, pb, b)
            }
            if let why = callerFailure.withLock({ $0 }) { return (.failed, why) }
            if isStopping { return (interrupted.load(ordering: .relaxed) ? .interrupted : .cancelled, nil) }
            if let why = nothingCopied() { return (.failed, why) }
            return (.done, nil)
        } catch {
            return (.failed, Self.reason(error))
        }
    }

    // MARK: - Read-through

    /// A worker's request (over `ReadThroughServer`) for a key of `bucket` (the store's name)
    /// the gateway lacks: copied now, unless the source lacks it too. The run's own copy of the
    /// key, if under way, is waited for instead of read twice.
    public func readThrough(bucket: String, key: String) -> ReadThroughAnswer {
        traced("MigrateReadThrough") { readThroughTraced(bucket: bucket, key: key) }
    }

    private func readThroughTraced(bucket: String, key: String) -> ReadThroughAnswer {
        guard let i = plan.buckets.firstIndex(where: { qualified($0.targetBucket) == bucket }) else { return .absent }
        let pb = plan.buckets[i]
        if isStopping { return .failed("the run is stopping") }
        do {
            guard let b = try ctx.metadata.bucket(named: bucket) else { return .absent }
            // Within the worker's wait: past it, nobody is left to answer.
            let waited = try exclusively(b.name, key, wait: 25) { () throws(SourceError) -> Outcome in
                switch try gatewaySide(b, key: key, listed: nil) {
                case .present: return .present(0)
                // A copy a client deleted stays deleted: the read answers NoSuchKey.
                case .keep: return .absent
                case .write(let condition): return try copy(pb, b, key: key, listed: nil, condition: condition)
                }
            }
            guard let outcome = waited else { return .failed("the key's copy is still under way") }
            switch outcome {
            case .copied(let v, let size):
                status.withLock {
                    // Counted apart: the listing finds the object present later.
                    $0.bytesCopied -= size
                    $0.objectsReadThrough += 1
                    $0.bytesReadThrough += size
                }
                onObject(
                    ObjectEvent(
                        bucket: pb.sourceBucket, key: key, size: size, outcome: "read-through", verification: v.name,
                        reason: nil))
                return .copied
            case .present: return .copied
            case .absent: return .absent
            case .skipped(let why): return .failed(why)
            case .abandoned: return .failed("the run is stopping")
            }
        } catch {
            return .failed(Self.reason(error))
        }
    }

    private func qualified(_ name: String) -> String {
        TenantRecord.qualifiedBucket(tenant: principal.withLock { $0.tenant }, name: name)
    }

    // MARK: - The caller

    /// Looks the caller up again (`Options.caller`) and acts as what it finds; false, with the
    /// run stopping as failed, when the credential no longer works or the caller may no longer
    /// start migrations or write `key` to `bucket`.
    func callerMayGoOn(writing bucket: String? = nil, key: String? = nil) -> Bool {
        guard let caller = options.caller else { return true }
        let was = principal.withLock { $0 }
        let why: String
        do {
            let p = try ctx.identities.principal(was.accessKey, token: caller.sessionToken, now: ctx.clock.now())
            if !p.allows("migration:StartMigration", on: .tenant(p.tenant)) {
                why = "the caller (\(was.accessKey)) may no longer start migrations (migration:StartMigration)"
            } else if let bucket, let key, !p.allows("s3:PutObject", on: .object(bucket: bucket, key: key)) {
                why = "the caller (\(was.accessKey)) may no longer write to \(bucket) (s3:PutObject)"
            } else {
                principal.withLock { $0 = p }
                return true
            }
        } catch {
            why =
                "the credential that started the run (\(was.accessKey)) no longer works (\(error.code.code): "
                + "deleted, deactivated or expired)"
        }
        logger.warning("run \(runId): \(why); the run stops")
        callerFailure.withLock { if $0 == nil { $0 = why + "; start the run again with a credential that may" } }
        cancel()
        return false
    }

    // MARK: - Buckets

    /// Failures worth another try: the connection, or the source's 5xx (SlowDown, InternalError).
    static func isTransient(_ e: SourceError) -> Bool {
        switch e {
        case .unreachable: true
        case .failed(_, let status, _): status >= 500
        default: false
        }
    }

    /// Source failures that no other bucket or object would get past.
    private static func isFatal(_ e: SourceError) -> Bool {
        switch e {
        case .invalidCredentials, .endpointNotAllowed: true
        default: false
        }
    }

    private func copyBucket(_ i: Int, _ pb: MigrationPlanV1.Bucket, _ b: BucketRecord) throws {
        status.withLock {
            $0.currentBucket = pb.sourceBucket
            $0.buckets[i].state = "copying"
        }
        var continuation: String?
        repeat {
            // Stopped: the bucket stays "copying" until `finish` says how the run ended.
            if isStopping { return }
            let page: SourcePage
            do {
                page = try retrying("ListObjectsV2 \(pb.sourceBucket)") { () throws(SourceError) in
                    try source.listObjects(bucket: pb.sourceBucket, region: pb.sourceRegion, continuation: continuation)
                }
            } catch {
                if Self.isFatal(error) { throw error }
                bucketFailed(i, error.message)
                return
            }
            if let first = page.objects.first, !callerMayGoOn(writing: pb.targetBucket, key: first.key) { return }
            listed.withLock {
                $0[i].objects += Int64(page.objects.count)
                $0[i].bytes += page.objects.reduce(0) { $0 + $1.size }
                if page.next == nil { $0[i].done = true }
            }
            updateTotals()
            let next = Atomic<Int>(0)
            let fatal = Mutex<SourceError?>(nil)
            Self.onThreads(max(1, min(options.parallel, page.objects.count))) { [self] in
                while !isStopping {
                    let n = next.add(1, ordering: .relaxed).oldValue
                    guard n < page.objects.count else { return }
                    do throws(SourceError) {
                        try object(i, pb, b, page.objects[n])
                    } catch {
                        fatal.withLock { $0 = error }
                        cancel()
                    }
                }
            }
            if let e = fatal.withLock({ $0 }) { throw e }
            continuation = page.next
        } while continuation != nil
        if !isStopping { status.withLock { $0.buckets[i].state = "done" } }
    }

    /// Runs `body` on `count` threads of its own at once and returns when every one has: each
    /// copy blocks on the network, so neither the CPU count (`concurrentPerform`'s limit) nor a
    /// shared pool may bound how many run.
    static func onThreads(_ count: Int, _ body: @Sendable () -> Void) {
        /// Holds `body` for the threads; emptied before returning, as a Thread keeps its closure
        /// (and so the box, not `body`) a moment after it ended.
        final class Job: Sendable {
            let body: Mutex<(@Sendable () -> Void)?>
            init(_ body: @escaping @Sendable () -> Void) { self.body = Mutex(body) }
        }
        withoutActuallyEscaping(body) { body in
            let job = Job(body)
            let ended = DispatchSemaphore(value: 0)
            for n in 0..<count {
                let t = Thread {
                    job.body.withLock { $0 }?()
                    ended.signal()
                }
                t.name = "migration copy \(n)"
                t.start()
            }
            for _ in 0..<count { ended.wait() }
            job.body.withLock { $0 = nil }
        }
    }

    /// Why the run as a whole failed although the source answered: every bucket of the plan
    /// failed (each with its reason in `buckets`), or the plan has none. nil when some bucket was
    /// gone through (`done`, with `failed_buckets` saying how many were not).
    private func nothingCopied() -> String? {
        let buckets = status.withLock { $0.buckets }
        if buckets.isEmpty {
            return "the plan has no bucket to copy (each source bucket is among its unplaceable ones)"
        }
        guard buckets.allSatisfy({ $0.state == "failed" }) else { return nil }
        let each = buckets.prefix(3).map { "\($0.sourceBucket): \($0.error ?? "failed")" }
        return "no bucket could be copied: " + each.joined(separator: "; ")
            + (buckets.count > 3 ? "; and \(buckets.count - 3) more (see buckets)" : "")
    }

    private func bucketFailed(_ i: Int, _ why: String) {
        logger.warning("bucket \(plan.buckets[i].sourceBucket): \(why)")
        status.withLock {
            $0.buckets[i].state = "failed"
            $0.buckets[i].error = why
        }
    }

    // MARK: - Objects

    enum Outcome {
        case copied(CopyVerification, Int64)
        case present(Int64)
        case skipped(String)
        case abandoned
        /// Read-through of a key the source does not have either.
        case absent
    }

    /// One listed object: already there, copied now, or skipped with its reason.
    private func object(_ i: Int, _ pb: MigrationPlanV1.Bucket, _ b: BucketRecord, _ o: SourceObject)
        throws(SourceError)
    {
        let outcome: Outcome
        if o.key.utf8.count > 1024 {
            outcome = .skipped("the key is longer than 1024 bytes")
        } else {
            outcome =
                try exclusively(b.name, o.key) { () throws(SourceError) -> Outcome in
                    switch try gatewaySide(b, key: o.key, listed: o) {
                    case .present: return .present(o.size)
                    case .keep(let why): return .skipped(why)
                    case .write(let condition): return try copy(pb, b, key: o.key, listed: o, condition: condition)
                    }
                } ?? (isStopping ? .abandoned : .skipped("a read-through copy of it did not end within the hour"))
        }
        record(i, pb, o.key, o.size, outcome)
    }

    /// What the gateway's side of a key asks of the run. Clients may use the gateway while the
    /// run lasts (read-through exists for that), so the run never replaces or revives what a
    /// client wrote or deleted there.
    enum GatewaySide: Equatable {
        /// The gateway holds the source object's bytes already.
        case present
        /// The gateway's object (or its absence) is a client's doing: left as it is, for this reason.
        case keep(String)
        /// Copy, on this condition: nothing there (`If-None-Match: *`), or still the copy this
        /// migration made of an older source version (`If-Match` its ETag). The write path checks
        /// it again when it commits, so a client's write in between wins.
        case write(WriteCondition)
    }

    static let changedInGateway =
        "changed in the gateway since: a client wrote it there (after the migration's copy, or before any); "
        + "the gateway's version is kept"
    static let deletedInGateway = "deleted in the gateway after it was copied: it is not copied again"

    /// Decides from the gateway's object and the copy record (`MigratedObject`). `listed` is the
    /// listing's entry (nil for read-through, where the source's version is not known yet).
    func gatewaySide(_ b: BucketRecord, key: String, listed: SourceObject?) throws(SourceError) -> GatewaySide {
        let current: ObjectRecord?
        let record: MigratedObject?
        do {
            current = try ctx.metadata.object(bucket: b.name, key: key)
            record = try ctx.metadata.migratedObject(bucket: b.name, key: key)
        } catch {
            throw .unreachable("the gateway's metadata store failed: \(error)")
        }
        guard let current else {
            // A committed copy that is gone was deleted by a client; a pending record's commit
            // never happened (a crash, a refused write) and proves nothing.
            if let record, record.committed { return .keep(Self.deletedInGateway) }
            return .write(.noneExists)
        }
        guard let listed else { return .present }
        if let record, record.gatewayETag == current.etag {
            if record.sourceETag == listed.etag && record.size == listed.size && current.size == listed.size {
                return .present
            }
            // The source changed since this migration copied it; the gateway's object is that copy.
            return .write(.etagMatches(current.etag))
        }
        // The same bytes, whoever wrote them (a single-part ETag is their MD5).
        if SourceETag.isPlainMD5(listed.etag) && current.etag == listed.etag && current.size == listed.size {
            return .present
        }
        return .keep(Self.changedInGateway)
    }

    /// Copies one object, retrying what fails for a moment. `listed` is the listing's entry:
    /// a source object that no longer matches it is left for a later run.
    func copy(
        _ pb: MigrationPlanV1.Bucket, _ b: BucketRecord, key: String, listed: SourceObject?, condition: WriteCondition
    ) throws(SourceError) -> Outcome {
        var attempt = 0
        while true {
            attempt += 1
            if isStopping { return .abandoned }
            do {
                return try copyOnce(pb, b, key: key, listed: listed, condition: condition)
            } catch let e as SourceError {
                if Self.isFatal(e) { throw e }
                if listed == nil, case .noSuchKey = e { return .absent }
                if Self.isTransient(e), attempt < options.attempts {
                    backoff(attempt)
                    continue
                }
                return .skipped(Self.reason(e))
            } catch CopyFailure.cancelled {
                return .abandoned
            } catch let e as S3Error where e.code == .preconditionFailed || e.code == .noSuchKey {
                // The condition failed when the write path checked it: a client wrote or deleted
                // the key meanwhile, and that write stands.
                return .skipped(Self.changedInGateway)
            } catch let e as S3Error where e.code == .serviceUnavailable && attempt < options.attempts {
                backoff(attempt)
            } catch {
                return .skipped(Self.reason(error))
            }
        }
    }

    private func backoff(_ attempt: Int) {
        Thread.sleep(forTimeInterval: min(5, 0.5 * Double(1 << (attempt - 1))))
    }

    private func copyOnce(
        _ pb: MigrationPlanV1.Bucket, _ b: BucketRecord, key: String, listed: SourceObject?, condition: WriteCondition
    ) throws -> Outcome {
        let reader = try source.open(bucket: pb.sourceBucket, region: pb.sourceRegion, key: key)
        defer { reader.close() }
        let head = reader.head
        // Closed unread (the defer): without the customer's key the bytes are ciphertext, if
        // the source sends any at all.
        if head.isCustomerKeyEncrypted { return .skipped(Self.customerKeyReason) }
        if let listed, listed.etag != head.etag || listed.size != head.size {
            return .skipped("changed at the source since it was listed; a later run copies the new version")
        }
        let (headers, checksum) = Self.storedHeaders(head)
        let multipart = head.size > options.singlePutLimit
        let check = ChecksumCheck(checksum, multipart: multipart)
        // Put back if this write fails: a pending record of a write that never happened would
        // hide the copy the gateway still holds.
        let previous = try ctx.metadata.migratedObject(bucket: b.name, key: key)
        let written = Mutex<MigratedObject?>(nil)
        let moved = Atomic<Int64>(0)
        let verified = Mutex<CopyVerification?>(nil)
        let body = VerifyingSource(
            reader: reader, size: head.size, etag: head.etag, etagIsDigest: head.etagHidingEncryption == nil,
            checksum: checksum?.algorithm, hashing: check.onTheWay,
            cancelled: { [self] in isStopping },
            progress: { [self] n in
                moved.add(Int64(n), ordering: .relaxed)
                status.withLock { $0.bytesCopied += Int64(n) }
            },
            // Only a single PUT's record needs the MD5 (its gateway ETag) before the commit.
            wantsMD5: !multipart,
            atEnd: { [self] v, md5 in
                verified.withLock { $0 = v }
                // Recorded before the write path commits: a crash right after the commit loses nothing.
                if !multipart {
                    written.withLock { $0 = nil }
                    let r = try remember(b, key, head, gatewayETag: md5, v)
                    written.withLock { $0 = r }
                }
            })
        do {
            if !multipart {
                let answered = try writes.putObject(
                    bucket: pb.targetBucket, key: key, size: head.size,
                    headers: headers + check.put + [Self.header(condition)], body: body)
                // The ETag the write answered, not the plaintext MD5 recorded while pending: an
                // object the bucket's default encrypts with SSE-KMS (or SSE-C) has its tag
                // digest, and a rerun compares the object's ETag with this one.
                if !answered.isEmpty { written.withLock { $0?.gatewayETag = answered } }
            } else {
                let partSize = Self.partSize(for: head, default: options.partSize)
                _ = try writes.multipartUpload(
                    bucket: pb.targetBucket, key: key, size: head.size, partSize: partSize,
                    headers: headers + check.create, completeHeaders: check.complete + [Self.header(condition)],
                    body: body
                ) { etag in
                    // The body's last read has run, and with it the checks.
                    let r = try remember(b, key, head, gatewayETag: etag, verified.withLock { $0 } ?? .size)
                    written.withLock { $0 = r }
                }
            }
            guard let v = verified.withLock({ $0 }), var r = written.withLock({ $0 }) else {
                throw MigrationError(.conflict, "the write ended before the source's bytes did")
            }
            r.committed = true
            try ctx.metadata.recordMigratedObject(r)
            return .copied(v, head.size)
        } catch {
            status.withLock { $0.bytesCopied -= moved.load(ordering: .relaxed) }
            if let previous, written.withLock({ $0 }) != nil { try? ctx.metadata.recordMigratedObject(previous) }
            throw error
        }
    }

    /// The write's condition as the write path reads it.
    static func header(_ c: WriteCondition) -> (name: String, value: String) {
        switch c {
        case .noneExists: ("if-none-match", "*")
        case .etagMatches(let etag): ("if-match", "\"\(etag)\"")
        }
    }

    /// The copy record of a write about to be committed (pending until it is).
    private func remember(
        _ b: BucketRecord, _ key: String, _ head: SourceObjectHead, gatewayETag: String, _ v: CopyVerification
    ) throws -> MigratedObject {
        let r = MigratedObject(
            bucket: b.name, key: key, sourceETag: head.etag, size: head.size, gatewayETag: gatewayETag,
            verification: v.name, runId: runId, updatedAt: ctx.clock.now())
        try ctx.metadata.recordMigratedObject(r)
        return r
    }

    /// The part size of a large object's upload: the likeliest of the sizes the source's ETag
    /// and size admit (the copy then keeps the source's ETag when the guess is right), else
    /// `default` grown so the object fits in 10000 parts.
    static func partSize(for head: SourceObjectHead, default d: Int64) -> Int64 {
        if let n = SourceETag.partCount(head.etag), n > 1,
            let p = SourceETag.partSizeCandidates(size: head.size, parts: n).first, p >= Handlers.minimumPartSize
        {
            return p
        }
        let mib: Int64 = 1 << 20
        return max(d, (head.size + 9999) / 10000 + mib - 1) / mib * mib
    }

    /// The headers the gateway stores with an object, as the source sent them, and the source's
    /// full-object checksum (a composite one, "…-N", says nothing of the whole object's bytes).
    /// The source's encryption headers are not among them: the copy is the gateway's, in plain
    /// bytes (and PutObject refuses SSE headers).
    static func storedHeaders(_ head: SourceObjectHead) -> (
        [(name: String, value: String)], (algorithm: ChecksumAlgorithm, value: String)?
    ) {
        var out: [(name: String, value: String)] = []
        if let ct = head.contentType { out.append(("content-type", ct)) }
        let kept: Set<String> = [
            "cache-control", "content-disposition", "content-encoding", "content-language", "expires",
        ]
        for (name, value) in head.headers.sorted(by: { $0.key < $1.key }) {
            let n = name.lowercased()
            if kept.contains(n) || n.hasPrefix("x-amz-meta-") { out.append((n, value)) }
        }
        for (alg, value) in head.checksums.sorted(by: { $0.key < $1.key }) {
            guard let a = ChecksumAlgorithm(algorithmName: alg), !value.contains("-"),
                let raw = base64Decode(value), raw.count == a.digestLength
            else { continue }
            return (out, (a, value))
        }
        return (out, nil)
    }

    /// How the source's full-object checksum is checked, and by whom: a PutObject's write path
    /// verifies (and keeps) it from its header; a multipart upload's Complete does for a CRC
    /// (created `FULL_OBJECT`, the value sent with the Complete); a SHA has no full-object form
    /// in a multipart upload, so the bytes are hashed on their way (`VerifyingSource`).
    struct ChecksumCheck {
        var put: [(name: String, value: String)] = []
        var create: [(name: String, value: String)] = []
        var complete: [(name: String, value: String)] = []
        var onTheWay: (algorithm: ChecksumAlgorithm, value: String)?

        init(_ checksum: (algorithm: ChecksumAlgorithm, value: String)?, multipart: Bool) {
            guard let (a, value) = checksum else { return }
            if !multipart {
                put = [(a.headerName, value)]
            } else if a.supports(.fullObject) {
                let type = ChecksumType.fullObject.rawValue
                create = [("x-amz-checksum-algorithm", a.algorithmName), ("x-amz-checksum-type", type)]
                complete = [(a.headerName, value), ("x-amz-checksum-type", type)]
            } else {
                onTheWay = (a, value)
            }
        }
    }

    /// Runs `body` while no one else copies the key; waits for whoever does, at most `wait`
    /// seconds and not past a cancel: nil then, and the key is left to the next run or the
    /// reader's retry.
    func exclusively<T>(_ bucket: String, _ key: String, wait: Double = 3600, _ body: () throws(SourceError) -> T)
        throws(SourceError) -> T?
    {
        let k = bucket + "\u{0}" + key
        let deadline = Date().addingTimeInterval(wait)
        while !inFlight.withLock({ $0.insert(k).inserted }) {
            guard Date() < deadline, !isStopping else { return nil }
            Thread.sleep(forTimeInterval: 0.01)
        }
        defer { _ = inFlight.withLock { $0.remove(k) } }
        return try body()
    }

    private func retrying<T>(_ what: String, _ body: () throws(SourceError) -> T) throws(SourceError) -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try body()
            } catch {
                guard Self.isTransient(error), attempt < options.attempts, !isStopping else { throw error }
                logger.warning("\(what): \(error.message); trying again")
                backoff(attempt)
            }
        }
    }

    // MARK: - Bookkeeping

    private func record(_ i: Int, _ pb: MigrationPlanV1.Bucket, _ key: String, _ size: Int64, _ outcome: Outcome) {
        var event = ObjectEvent(
            bucket: pb.sourceBucket, key: key, size: size, outcome: "", verification: nil, reason: nil)
        status.withLock { s in
            switch outcome {
            case .copied(let v, _):
                s.objectsCopied += 1
                s.objectsDone += 1
                s.bytesDone += size
                s.buckets[i].objectsCopied += 1
                s.buckets[i].bytesCopied += size
                s.verification[v.name, default: 0] += 1
                event.outcome = "copied"
                event.verification = v.name
            case .present:
                s.objectsPresent += 1
                s.objectsDone += 1
                s.bytesDone += size
                s.buckets[i].objectsPresent += 1
                event.outcome = "present"
            case .skipped(let reason):
                s.objectsSkipped += 1
                s.bytesSkipped += size
                s.buckets[i].objectsSkipped += 1
                if s.skipped.count < MigrationRunStatus.skippedLimit {
                    s.skipped.append(.init(bucket: pb.sourceBucket, key: key, reason: reason))
                } else {
                    s.skippedTruncated = true
                }
                event.outcome = "skipped"
                event.reason = reason
            case .abandoned, .absent:
                return
            }
        }
        if !event.outcome.isEmpty { onObject(event) }
        save(force: false)
    }

    private func updateTotals() {
        let (objects, bytes) = listed.withLock { rows in
            rows.reduce((Int64(0), Int64(0))) { acc, r in
                (
                    acc.0 + (r.done ? r.objects : max(r.objects, r.estimateObjects)),
                    acc.1 + (r.done ? r.bytes : max(r.bytes, r.estimateBytes))
                )
            }
        }
        status.withLock {
            $0.objectsTotal = objects
            $0.bytesTotal = bytes
        }
    }

    private func finish(_ state: MigrationRunStatus.State, error: String?) {
        ended.store(true, ordering: .relaxed)
        status.withLock {
            $0.state = state
            $0.error = error
            $0.currentBucket = nil
            $0.finishedAt = Date(timeIntervalSince1970: ctx.clock.now())
            // A stopped run's bucket under way ends as the run did; one it never reached is not
            // failed, cancelled or anything else that happened to it: it was not started.
            for i in $0.buckets.indices {
                switch $0.buckets[i].state {
                case "pending": $0.buckets[i].state = state == .done ? "done" : "not_started"
                case "copying": $0.buckets[i].state = state.rawValue
                default: break
                }
            }
        }
        save(force: true)
    }

    /// Writes the progress row, at most every `saveInterval` unless forced.
    func save(force: Bool) {
        // Only the final write comes after the end (read-through copies still count objects).
        if !force && ended.load(ordering: .relaxed) { return }
        let now = ctx.clock.now()
        let due = lastSave.withLock { last in
            guard force || now - last >= options.saveInterval else { return false }
            last = now
            return true
        }
        guard due else { return }
        var s = progress
        s.updatedAt = Date(timeIntervalSince1970: now)
        status.withLock { $0.updatedAt = s.updatedAt }
        do {
            try ctx.metadata.saveMigrationRun(s.row)
        } catch {
            logger.warning("run \(runId): cannot save progress: \(error)")
        }
    }

    static let customerKeyReason =
        "encrypted at the source with a customer-provided key (SSE-C): it cannot be read without that key, "
        + "which the migration does not have; copy it with a client that has the key"

    /// An error in words for the report: never a credential (SourceError and S3Error carry none).
    static func reason(_ error: any Error) -> String {
        switch error {
        case let e as SourceError:
            if case .failed(_, _, let code) = e, code == "InvalidObjectState" {
                return "in an archive storage class (GLACIER, DEEP_ARCHIVE): restore it at the source first"
            }
            if case .noSuchKey = e { return "deleted at the source since it was listed" }
            // What S3 answers a GetObject of an SSE-C object that does not carry the key.
            if case .failed(let op, 400, "InvalidRequest") = e, op.hasPrefix("GetObject") {
                return customerKeyReason + " (the source answered InvalidRequest)"
            }
            return e.message
        case let e as S3Error: return "the gateway refused it: \(e.code.code): \(e.message)"
        case let e as CopyFailure:
            switch e {
            case .cancelled: return "cancelled"
            case .mismatch(let m): return "verification failed: \(m)"
            }
        case let e as MigrationError: return e.message
        case let e as StoreError: return "the gateway's store failed: \(e)"
        default: return "\(error)"
        }
    }
}
