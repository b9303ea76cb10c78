import Foundation
import GatewayCore
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The discovery jobs of one worker process, and what every worker needs to answer for any job:
/// the job rows, the snapshot files and the connector to source accounts.
///
/// A job runs on a thread of its own in the process whose worker received the POST: the pasted
/// credentials exist only inside the `SourceAccount` that thread holds, and go when it ends.
/// Its progress goes to the job's row after every listing page, so any worker answers `GET`;
/// a cancel from any worker sets the row's flag, which the thread reads with that same write.
public final class DiscoveryJobs: Sendable {
    public let store: any DiscoveryJobStore
    public let files: SnapshotFiles
    /// Opens a source account; refuses endpoints outside the allow-list before connecting.
    public let connector: SourceConnector
    public let settings: DiscoverySettings
    let clock: any Clock
    let logger: Logger
    /// `host:pid`, the row's owner.
    let owner: String

    /// The jobs this process runs: id → whether the process asked it to stop (a drain).
    private let running = Mutex<[String: Bool]>([:])
    private let tickerStarted = Atomic<Bool>(false)

    public init(
        store: any DiscoveryJobStore, files: SnapshotFiles, connector: @escaping SourceConnector,
        settings: DiscoverySettings = DiscoverySettings(), clock: any Clock, logger: Logger
    ) {
        self.store = store
        self.files = files
        self.connector = connector
        self.settings = settings
        self.clock = clock
        self.logger = logger
        owner = "\(HostIdentity.current):\(getpid())"
    }

    /// What a start asks for besides the credentials.
    public struct Request: Sendable {
        public var tenant: String
        public var user: String
        public var sanitization: SanitizationLevel
        public var prefixDepth: Int

        public init(tenant: String, user: String, sanitization: SanitizationLevel, prefixDepth: Int) {
            self.tenant = tenant
            self.user = user
            self.sanitization = sanitization
            self.prefixDepth = prefixDepth
        }
    }

    /// Why a job was not started. None of them carries the credentials.
    public enum Refusal: Error, Equatable {
        /// `maxJobs` already run in this process.
        case busy
        case source(SourceError)
        case store(StoreError)
        /// The snapshot directory cannot be written.
        case files
    }

    /// Ids of the jobs running in this process.
    public var runningIDs: [String] { running.withLock { Array($0.keys) } }

    /// Starts a job: the endpoint is checked (the connector refuses what the allow-list does
    /// not name, before any connection), the row written, the thread started. Returns the row.
    public func start(_ spec: SourceSpec, _ request: Request) throws(Refusal) -> DiscoveryJob {
        // Not repeated: a text that is no endpoint URL may hold a secret.
        guard let source = SnapshotV1.Source(endpoint: spec.endpoint, region: spec.region) else {
            throw .source(.endpointNotAllowed(""))
        }
        let account: any SourceAccount
        do {
            account = try connector(spec)
        } catch {
            throw .source(error)
        }
        let id = RandomID.make()
        let claimed = running.withLock { jobs in
            guard jobs.count < settings.maxJobs else { return false }
            jobs[id] = false
            return true
        }
        guard claimed else { throw .busy }
        let now = clock.now()
        let job = DiscoveryJob(
            id: id, tenant: request.tenant, user: request.user, createdAt: now, endpointHost: source.endpointHost,
            region: spec.region, sanitization: request.sanitization.rawValue, prefixDepth: request.prefixDepth,
            owner: owner)
        // The row before any file: from here on a sweep of another process sees the job running.
        do {
            try store.createDiscoveryJob(job)
        } catch {
            _ = running.withLock { $0.removeValue(forKey: id) }
            throw .store(error)
        }
        let writer: SnapshotWriter
        do {
            try files.prepare(tenant: request.tenant)
            sweep(tenant: request.tenant, now: now)
            writer = try SnapshotWriter(
                to: files.snapshot(tenant: request.tenant, id: id), id: id,
                createdAt: Date(timeIntervalSince1970: now), source: source,
                sanitizer: Sanitizer(level: request.sanitization),
                options: InventoryAggregator.Options(prefixDepth: request.prefixDepth),
                summaryURL: files.summary(tenant: request.tenant, id: id))
        } catch {
            _ = try? store.deleteDiscoveryJob(id: id)
            _ = running.withLock { $0.removeValue(forKey: id) }
            logger.error("discovery \(id): cannot write into \(files.directory(tenant: request.tenant).path): \(error)")
            throw .files
        }
        startTicker()
        let credentials = spec.credentials
        let handoff = Handoff(writer)
        let thread = Thread { [self] in
            run(job, account: account, writer: handoff.value, fallbackRegion: spec.region, credentials: credentials)
        }
        thread.name = "discovery"
        thread.start()
        logger.info("discovery \(id) started for tenant \(request.tenant) on \(source.endpointHost)")
        return job
    }

    /// What jobs of `tenant` whose process died left behind: their rows (still `running`, no
    /// beat for `DiscoveryJob.staleAfter`) become `interrupted`, and their `.partial` files go.
    /// A file stays while its job runs in this process, while its row reads as running, while
    /// the store cannot say (an error is no proof of death), and while it was written to within
    /// `staleAfter`: a job of another process may be writing it.
    func sweep(tenant: String, now: Double) {
        do {
            let ended = try store.interruptStaleDiscoveryJobs(
                tenant: tenant, beatBefore: now - DiscoveryJob.staleAfter, error: Self.diedMessage, now: now)
            for id in ended { logger.warning("discovery \(id) had stopped beating: its process died; interrupted") }
        } catch {
            logger.warning("discovery: stale jobs not swept: \(error)")
        }
        files.sweepPartials(tenant: tenant, untouchedFor: DiscoveryJob.staleAfter) { [self] id in
            if running.withLock({ $0[id] != nil }) { return true }
            do {
                return try store.discoveryJob(id: id)?.observed(at: now).state == .running
            } catch {
                return true
            }
        }
    }

    static let diedMessage = "the gateway process running the discovery stopped before it finished"

    /// The job's thread: the inventory, then the row's final state. `credentials` serve only to
    /// scrub an error text that might echo them (a source's answer quoting a request).
    private func run(
        _ job: DiscoveryJob, account: any SourceAccount, writer: SnapshotWriter, fallbackRegion: String,
        credentials: SourceCredentials
    ) {
        let id = job.id
        let runner = InventoryRunner(source: account, writer: writer, fallbackRegion: fallbackRegion)
        var state = DiscoveryJob.State.done
        var message = ""
        var hasSnapshot = true
        do {
            let outcome = try runner.run { [self] progress in
                let cancel: Bool
                do throws(StoreError) {
                    cancel = try store.recordDiscoveryProgress(id: id, progress, now: clock.now())
                } catch {
                    // The row is gone (the snapshot was deleted meanwhile): nobody waits for it.
                    if case .noSuchEntity = error { return true }
                    logger.warning("discovery \(id): progress not recorded: \(error)")
                    cancel = false
                }
                return cancel || running.withLock { $0[id] ?? true }
            }
            switch outcome {
            case .done:
                state = .done
            case .stopped:
                if running.withLock({ $0[id] ?? false }) {
                    state = .interrupted
                    message = Self.interruptedMessage
                } else {
                    state = .cancelled
                }
            case .failed(let e):
                state = .failed
                message = e.message
            }
        } catch let e as SourceError {
            state = .failed
            message = e.message
            hasSnapshot = false
        } catch {
            state = .failed
            message = "the snapshot could not be written"
            hasSnapshot = false
            logger.error("discovery \(id): \(error)")
        }
        message = credentials.scrub(message)
        do {
            try store.finishDiscoveryJob(
                id: id, state: state, progress: runner.progress, error: message, hasSnapshot: hasSnapshot,
                now: clock.now())
        } catch {
            logger.error("discovery \(id): final state not recorded: \(error)")
        }
        _ = running.withLock { $0.removeValue(forKey: id) }
        logger.info(
            "discovery \(id) \(state.rawValue): \(runner.progress.bucketsDone)/\(runner.progress.bucketsTotal) buckets, \(runner.progress.objects) objects"
        )
    }

    static let interruptedMessage =
        "the gateway stopped (a reload or shutdown) before the discovery finished; the snapshot holds what was listed"

    /// Every few seconds, a sign of life for this process's jobs: a page that takes long must
    /// not make a live job read as interrupted.
    private func startTicker() {
        guard !tickerStarted.exchange(true, ordering: .relaxed) else { return }
        // Weak: the ticker ends with the jobs object (tests make many).
        let t = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: DiscoveryJob.heartbeatInterval)
                guard let self else { return }
                heartbeat()
            }
        }
        t.name = "discovery-heartbeat"
        t.start()
    }

    /// One sign of life for every job this process runs.
    public func heartbeat() {
        let ids = runningIDs
        guard !ids.isEmpty else { return }
        do {
            try store.touchDiscoveryJobs(ids: ids, now: clock.now())
        } catch {
            logger.warning("discovery heartbeat not recorded: \(error)")
        }
    }

    /// A stopping worker's last duty: wait up to `timeout` seconds for its jobs to finish, then
    /// ask them to stop (each ends within a page, its snapshot keeping what was listed, its state
    /// `interrupted`); a job stuck in a request past a few more seconds is marked interrupted
    /// here and dies with the process. Bounded, so a stop never hangs on a discovery.
    public func drain(timeout: Double) {
        func waitForJobs(_ seconds: Double) -> Bool {
            let deadline = Date().timeIntervalSince1970 + seconds
            while !runningIDs.isEmpty {
                if Date().timeIntervalSince1970 >= deadline { return false }
                usleep(50_000)
            }
            return true
        }
        if runningIDs.isEmpty { return }
        logger.notice("waiting up to \(Int(timeout))s for \(runningIDs.count) discovery jobs")
        if waitForJobs(timeout) { return }
        running.withLock { jobs in
            for id in jobs.keys { jobs[id] = true }
        }
        if waitForJobs(5) { return }
        for id in runningIDs {
            guard let job = try? store.discoveryJob(id: id) else { continue }
            let progress = DiscoveryProgress(
                bucketsTotal: job.bucketsTotal, bucketsDone: job.bucketsDone, objects: job.objects, bytes: job.bytes)
            try? store.finishDiscoveryJob(
                id: id, state: .interrupted, progress: progress,
                error:
                    "the gateway stopped (a reload or shutdown) while the discovery waited on its source; nothing was saved",
                hasSnapshot: false, now: clock.now())
            logger.warning("discovery \(id) interrupted while waiting on its source")
        }
    }
}

/// A value made on one thread and from then on used by exactly one other (the job's writer, made
/// in the request so its failure is the request's, then written by the job's thread only).
private final class Handoff<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
