/// `[replication]` in the configuration: how the agent keeps copies in other zones.
public struct ReplicationSettings: Sendable, Equatable {
    /// Copies of each object in a new bucket (`s3gw buckets replicas` changes one bucket).
    public var defaultReplicaCount = 1
    /// Transfers the agent runs at once.
    public var workers = 2
    /// Attempts before a job is dead-lettered.
    public var maxAttempts = 8
    /// Seconds before the first retry; doubles each attempt (with jitter) up to `retryMax`.
    public var retryBase = 2.0
    public var retryMax = 600.0
    /// Seconds a claimed job stays with its agent without renewal; a dead agent's jobs are
    /// taken over after it.
    public var lease = 60.0
    /// Bytes per second the agent's copies may write into one zone, and copy for one tenant
    /// (bucket owner); 0: unlimited.
    public var zoneRate = 0.0
    public var tenantRate = 0.0
    /// Who moves a bucket's primary when its zone fails: the agent (`auto`), or an operator with
    /// `s3gw failover promote` (`manual`).
    public var failover = FailoverMode.auto
    /// Consecutive failed health checks of a bucket's primary zone before the agent promotes the
    /// next allowed healthy zone of its placement.
    public var failoverAfter = 3
    /// Objects the agent's scrub compares with what their zones hold, per hour (0: no scrub).
    public var scrubPerHour = 10_000
    /// Seconds an unreferenced blob must have existed before the orphan sweep removes it: a
    /// blob just committed whose metadata row is a moment away is not an orphan.
    public var orphanGrace = 86400.0
    /// Seconds between the agent's orphan sweeps (a residency audit that removes old orphans);
    /// 0: never.
    public var orphanInterval = 3600.0

    public enum FailoverMode: String, Sendable { case auto, manual }

    public init() {}

    /// Seconds to wait after failed attempt number `attempts` (1-based): exponential, with
    /// ±50 % jitter so a zone that comes back is not hit by every job at once.
    public func retryDelay(afterAttempt attempts: Int, jitter: Double) -> Double {
        var d = retryBase
        for _ in 1..<max(1, min(attempts, 30)) { d *= 2 }
        return min(d, retryMax) * (0.5 + jitter)
    }
}
