/// One row of the metrics history (`metrics_history`): what the agent saw of the gateway at the
/// start of one sampling slot (a minute by default, `[metrics] history_interval`). The
/// dashboard draws the last hour of them; docs/OBSERVABILITY.md, "Metrics".
public struct MetricsSample: Sendable, Equatable {
    /// The slot's start, Unix seconds (a multiple of the interval): the row's key, so agents
    /// sampling the same slot write one row.
    public var time: Int64
    /// The replication queue at sampling time.
    public var replicationPending: Int
    public var replicationRunning: Int
    public var replicationDead: Int
    /// Seconds the oldest pending job had waited (0 when none): how far replicas lag behind.
    public var oldestPendingSeconds: Double
    /// Replication jobs finished, and attempts failed, in the whole minutes that ended since the
    /// previous sample (the queue counts them per minute).
    public var replicated: Int
    public var replicationFailed: Int
    /// Requests the gateway answered since its metrics began, and those answered with a status of
    /// 400 or more: cumulative, so a sample's own count is the difference with the previous one.
    /// Nil when the gateway's request counters could not be read.
    public var requestsTotal: Int64?
    public var errorsTotal: Int64?
    /// `s3gw_replication_lag_seconds` (write → verified replica) summed over the processes: per
    /// bucket (the family's bounds, then +Inf) the replicas verified since the metrics began,
    /// cumulative in time like the request totals; nil when the counters could not be read.
    public var lagBuckets: [Int64]?
    /// The 95th percentile of that lag over the replicas verified since the previous sample (the
    /// difference of the two samples' buckets); nil when none was, or either sample's buckets
    /// are unknown or went back.
    public var lagP95Seconds: Double?

    public init(
        time: Int64, replicationPending: Int = 0, replicationRunning: Int = 0, replicationDead: Int = 0,
        oldestPendingSeconds: Double = 0, replicated: Int = 0, replicationFailed: Int = 0, requestsTotal: Int64? = nil,
        errorsTotal: Int64? = nil, lagBuckets: [Int64]? = nil, lagP95Seconds: Double? = nil
    ) {
        self.time = time
        self.replicationPending = replicationPending
        self.replicationRunning = replicationRunning
        self.replicationDead = replicationDead
        self.oldestPendingSeconds = oldestPendingSeconds
        self.replicated = replicated
        self.replicationFailed = replicationFailed
        self.requestsTotal = requestsTotal
        self.errorsTotal = errorsTotal
        self.lagBuckets = lagBuckets
        self.lagP95Seconds = lagP95Seconds
    }

    /// How long samples are kept.
    public static let keepSeconds: Int64 = 24 * 3600
}
