/// A unit of the agent's durable work, kept in the metadata store: copy an object's bytes to a
/// zone, or remove a blob no metadata references any more (a replica of an overwritten or
/// deleted object, or a surplus copy after replica-count went down).
public struct ReplicationJob: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case replicate
        case removeBlob = "remove"
    }

    public enum State: String, Sendable {
        case pending, running
        /// Out of attempts: waits for `s3gw replication retry`.
        case dead
    }

    public var id: Int64
    public var kind: Kind
    public var bucket: String
    public var key: String
    /// The version written (`ObjectRecord.generation`): the one to copy (`replicate`), or the one
    /// whose copy is removed (`removeBlob`; "" in jobs queued before versions existed).
    public var generation: String
    /// The zone written to (`replicate`) or removed from (`removeBlob`).
    public var zone: String
    /// `removeBlob`: what to remove and where.
    public var backendBucket: String
    public var blob: String
    public var state: State
    /// Higher runs first among due jobs (`ReplicationJob.Priority`).
    public var priority: Int
    public var attempts: Int
    /// Not to be tried before this time (backoff after a failure).
    public var notBefore: Double
    public var createdAt: Double
    /// Who holds the job while it runs, and until when; an expired lease makes it claimable.
    public var leaseOwner: String
    public var leaseUntil: Double
    public var lastError: String

    /// `lastError` of a removal job deferred while the version it names is locked.
    public static let deferredNote = "deferred: its version is locked (Object Lock)"

    public init(
        id: Int64 = 0, kind: Kind, bucket: String, key: String, generation: String = "", zone: String,
        backendBucket: String = "", blob: String = "", state: State = .pending, priority: Int = 0, attempts: Int = 0,
        notBefore: Double = 0, createdAt: Double = 0, leaseOwner: String = "", leaseUntil: Double = 0,
        lastError: String = ""
    ) {
        self.id = id
        self.kind = kind
        self.bucket = bucket
        self.key = key
        self.generation = generation
        self.zone = zone
        self.backendBucket = backendBucket
        self.blob = blob
        self.state = state
        self.priority = priority
        self.attempts = attempts
        self.notBefore = notBefore
        self.createdAt = createdAt
        self.leaseOwner = leaseOwner
        self.leaseUntil = leaseUntil
        self.lastError = lastError
    }
}

extension ReplicationJob {
    /// Copies that restore lost redundancy come first, then new copies, then removals (a late
    /// removal costs space, a late copy costs safety).
    public enum Priority {
        public static let repair = 20
        public static let replicate = 10
        public static let remove = 0
    }
}

/// The replication queue at a glance: what `s3gw replication status` and metrics show.
public struct QueueStats: Sendable, Equatable {
    public var pending: Int
    public var running: Int
    public var dead: Int
    /// Seconds the oldest pending job has waited (0 when none).
    public var oldestPendingAge: Double
    /// Pending jobs that failed before and wait for their retry.
    public var retrying: Int
    /// Jobs finished, and attempts failed, per minute over the last `window` minutes.
    public var finishedPerMinute: Double
    public var failedPerMinute: Double
    public static let window = 5

    public init(
        pending: Int, running: Int, dead: Int, oldestPendingAge: Double, retrying: Int = 0,
        finishedPerMinute: Double = 0, failedPerMinute: Double = 0
    ) {
        self.pending = pending
        self.running = running
        self.dead = dead
        self.oldestPendingAge = oldestPendingAge
        self.retrying = retrying
        self.finishedPerMinute = finishedPerMinute
        self.failedPerMinute = failedPerMinute
    }
}
