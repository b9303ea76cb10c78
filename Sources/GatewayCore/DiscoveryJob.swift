/// One discovery (the inventory of a source account into a snapshot) as the metadata store keeps
/// it, so that any worker can answer for it. Nothing secret: the pasted credentials live only in
/// the memory of the thread that runs the job; the row holds where and what, never with what.
public struct DiscoveryJob: Sendable, Equatable {
    public enum State: String, Sendable, Equatable, CaseIterable {
        case running, done, cancelled, failed
        /// The process running it stopped or died before it finished.
        case interrupted
    }

    /// Also the snapshot's id (`<state_dir>/snapshots/<tenant>/<id>.json`).
    public var id: String
    public var tenant: String
    /// The name of the user who started it.
    public var user: String
    public var state: State
    public var createdAt: Double
    public var updatedAt: Double
    public var finishedAt: Double?
    /// Host (and port) of the source endpoint, never its URL.
    public var endpointHost: String
    public var region: String
    /// A `SanitizationLevel` raw value.
    public var sanitization: String
    public var prefixDepth: Int
    public var bucketsTotal: Int
    public var bucketsDone: Int
    public var objects: Int64
    public var bytes: Int64
    /// The bucket being listed, "" when none.
    public var currentBucket: String
    /// Why it failed or stopped, in words without credentials; "" when none.
    public var error: String
    /// Whether the snapshot file was written (a job that failed before listing has none).
    public var hasSnapshot: Bool
    /// Set by a cancel from any worker; the running thread sees it after its next page.
    public var cancelRequested: Bool
    /// `host:pid` of the process running it.
    public var owner: String
    /// The last sign of life of that process's job thread.
    public var heartbeatAt: Double

    public init(
        id: String, tenant: String, user: String, state: State = .running, createdAt: Double,
        endpointHost: String, region: String, sanitization: String, prefixDepth: Int, owner: String
    ) {
        self.id = id
        self.tenant = tenant
        self.user = user
        self.state = state
        self.createdAt = createdAt
        updatedAt = createdAt
        finishedAt = nil
        self.endpointHost = endpointHost
        self.region = region
        self.sanitization = sanitization
        self.prefixDepth = prefixDepth
        bucketsTotal = 0
        bucketsDone = 0
        objects = 0
        bytes = 0
        currentBucket = ""
        error = ""
        hasSnapshot = false
        cancelRequested = false
        self.owner = owner
        heartbeatAt = createdAt
    }

    /// A running job's thread proves it is alive at least this often (after every listing page,
    /// and from a ticker while a page takes long).
    public static let heartbeatInterval: Double = 5
    /// A `running` row without a sign of life for this long belongs to a process that died.
    public static let staleAfter: Double = 30
    /// The error of a job whose process died.
    public static let diedMessage = "the gateway process running the discovery stopped before it finished"

    /// Where a page of jobs (newest first) ends: the next page starts after it. Opaque to
    /// clients (`next_marker`), exact (the time's bits), and valid after its job is deleted.
    public struct Marker: Sendable, Equatable {
        public var createdAt: Double
        public var id: String

        /// Where a page ending with `job` ends.
        public init(after job: DiscoveryJob) {
            createdAt = job.createdAt
            id = job.id
        }

        public init?(_ text: String) {
            let parts = text.split(separator: "-", maxSplits: 1)
            guard parts.count == 2, let bits = UInt64(parts[0], radix: 16), !parts[1].isEmpty else { return nil }
            createdAt = Double(bitPattern: bits)
            id = String(parts[1])
        }

        public var text: String { String(createdAt.bitPattern, radix: 16) + "-" + id }
    }

    /// The job as a reader should see it at `now`: a `running` row whose process stopped
    /// beating reads as `interrupted`.
    public func observed(at now: Double) -> DiscoveryJob {
        guard state == .running, now - heartbeatAt > Self.staleAfter else { return self }
        var j = self
        j.state = .interrupted
        if j.error.isEmpty { j.error = Self.diedMessage }
        j.currentBucket = ""
        return j
    }
}

/// What a running job reports after each listing page.
public struct DiscoveryProgress: Sendable, Equatable {
    public var bucketsTotal: Int
    public var bucketsDone: Int
    public var objects: Int64
    public var bytes: Int64
    public var currentBucket: String

    public init(
        bucketsTotal: Int = 0, bucketsDone: Int = 0, objects: Int64 = 0, bytes: Int64 = 0, currentBucket: String = ""
    ) {
        self.bucketsTotal = bucketsTotal
        self.bucketsDone = bucketsDone
        self.objects = objects
        self.bytes = bytes
        self.currentBucket = currentBucket
    }
}

/// Discovery jobs in the metadata store (same database as everything else), behind their own
/// protocol so the discovery code sees only this part.
public protocol DiscoveryJobStore: Sendable {
    /// `.entityExists` when the id is taken.
    func createDiscoveryJob(_ job: DiscoveryJob) throws(StoreError)
    func discoveryJob(id: String) throws(StoreError) -> DiscoveryJob?
    /// The tenant's jobs, newest first (ties by id), after `marker`, at most `limit`.
    func discoveryJobs(tenant: String, after marker: DiscoveryJob.Marker?, limit: Int) throws(StoreError)
        -> [DiscoveryJob]
    /// Records progress of a job still `running` (heartbeat included) and returns whether it is
    /// to stop: a cancel was requested, or the row is no longer `running` (someone took it for
    /// dead); `.noSuchEntity` when the row is gone.
    func recordDiscoveryProgress(id: String, _ progress: DiscoveryProgress, now: Double) throws(StoreError) -> Bool
    /// A sign of life for each of `ids` that is still `running`.
    func touchDiscoveryJobs(ids: [String], now: Double) throws(StoreError)
    /// Ends a running job: its final state, error and whether a snapshot was written.
    func finishDiscoveryJob(
        id: String, state: DiscoveryJob.State, progress: DiscoveryProgress, error: String, hasSnapshot: Bool,
        now: Double) throws(StoreError)
    /// Ends the tenant's `running` jobs whose last sign of life is before `beatBefore` (their
    /// process died) as `interrupted` with `error`, no snapshot; returns their ids.
    func interruptStaleDiscoveryJobs(tenant: String, beatBefore: Double, error: String, now: Double)
        throws(StoreError) -> [String]
    /// Sets the cancel flag of a `running` job; returns the job as it is then (nil when gone).
    func requestDiscoveryCancel(id: String, now: Double) throws(StoreError) -> DiscoveryJob?
    /// Removes the row; false when there was none.
    func deleteDiscoveryJob(id: String) throws(StoreError) -> Bool
}

extension DiscoveryJobStore {
    /// The tenant's newest jobs, at most `limit`.
    public func discoveryJobs(tenant: String, limit: Int) throws(StoreError) -> [DiscoveryJob] {
        try discoveryJobs(tenant: tenant, after: nil, limit: limit)
    }
}
