/// One family of the exposition: its name, type, help text, label names and (histograms) bucket
/// bounds. The catalog (`all`) is the one list: the exposition writes families in its order,
/// every one with HELP and TYPE, and the counter files name their series by it.
public struct MetricFamily: Sendable, Hashable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// Where the values come from.
    public enum Source: Sendable {
        /// Added up in the processes' counter files; summed over every process that ever ran
        /// (a process that ended leaves its final values).
        case counted
        /// Kept in the counter files too, but summed over the running processes only (what a
        /// process was doing ends with it: requests in flight).
        case live
        /// Computed at scrape time from the metadata store.
        case scraped
    }

    public let name: String
    public let kind: Kind
    public let help: String
    public let labels: [String]
    /// Upper bounds, ascending; `+Inf` is implied.
    public let buckets: [Double]
    public let source: Source

    init(
        _ name: String, _ kind: Kind, _ source: Source, labels: [String] = [], buckets: [Double] = [],
        _ help: String
    ) {
        self.name = name
        self.kind = kind
        self.source = source
        self.labels = labels
        self.buckets = buckets
        self.help = help
    }

    /// The name in the counter files (without the `s3gw_` every family has).
    var fileName: Substring { name.dropFirst(Self.prefix.count) }
    static let prefix = "s3gw_"

    /// Request latencies, from a cached small GET to a large upload over a slow link.
    public static let latencyBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
    ]
    /// Write → replica verified: seconds normally, hours while a zone is away.
    public static let lagBuckets: [Double] = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 21600, 86400]

    public static let requests = MetricFamily(
        "s3gw_requests_total", .counter, .counted, labels: ["operation", "status"],
        "Requests answered, by AWS operation name and HTTP status.")
    public static let requestDuration = MetricFamily(
        "s3gw_request_duration_seconds", .histogram, .counted, labels: ["operation"], buckets: latencyBuckets,
        "Time from the request's start to its last response byte.")
    public static let requestBytes = MetricFamily(
        "s3gw_request_bytes_total", .counter, .counted, labels: ["operation"], "Request body bytes read.")
    public static let responseBytes = MetricFamily(
        "s3gw_response_bytes_total", .counter, .counted, labels: ["operation"], "Response body bytes sent.")
    public static let inFlight = MetricFamily(
        "s3gw_requests_in_flight", .gauge, .live, "Requests being answered now, over every worker.")
    public static let authFailures = MetricFamily(
        "s3gw_auth_failures_total", .counter, .counted, labels: ["reason"],
        "Requests refused by authentication, by S3 error code.")
    public static let zoneDuration = MetricFamily(
        "s3gw_zone_request_duration_seconds", .histogram, .counted, labels: ["zone", "call"],
        buckets: latencyBuckets,
        "Time of one storage zone call (opening a read or write, committing a write; not the bytes between).")
    public static let zoneErrors = MetricFamily(
        "s3gw_zone_errors_total", .counter, .counted, labels: ["zone"],
        "Storage zone calls, reads, writes and commits that failed (the zone unavailable or failing; a missing blob is an answer)."
    )
    public static let zoneUp = MetricFamily(
        "s3gw_zone_up", .gauge, .scraped, labels: ["zone", "country"],
        "1 unless the health checker marked the zone down.")
    public static let zoneStoredBytes = MetricFamily(
        "s3gw_zone_stored_bytes", .gauge, .scraped, labels: ["zone"],
        "Bytes of the objects and verified replicas the zone holds, as the agent last added them up.")
    public static let replicationQueue = MetricFamily(
        "s3gw_replication_queue_length", .gauge, .scraped, labels: ["state"], "Replication jobs by state.")
    public static let replicationOldestPending = MetricFamily(
        "s3gw_replication_oldest_pending_seconds", .gauge, .scraped,
        "Age of the oldest pending replication job (0 when none).")
    public static let replicationLag = MetricFamily(
        "s3gw_replication_lag_seconds", .histogram, .counted, buckets: lagBuckets,
        "Time from a copy being queued (a write, a replica-count raise, a repair) to the replica verified.")
    public static let replicationDeadLetters = MetricFamily(
        "s3gw_replication_dead_letters", .gauge, .scraped,
        "Replication jobs that exhausted their retries (`s3gw replication retry` re-queues them).")
    public static let workerRestarts = MetricFamily(
        "s3gw_worker_restarts_total", .counter, .counted, "Workers the supervisor replaced after they died.")
    public static let agentUp = MetricFamily(
        "s3gw_agent_up", .gauge, .scraped, "1 when an agent's heartbeat is fresh (under 15 s old).")
    public static let agentHeartbeatAge = MetricFamily(
        "s3gw_agent_heartbeat_age_seconds", .gauge, .scraped, "Age of the freshest agent heartbeat.")
    public static let oplogDropped = MetricFamily(
        "s3gw_oplog_dropped_total", .counter, .counted,
        "Operations log records dropped: a full queue, a failed (or partial) write, or a stop that timed out.")
    public static let auditRecords = MetricFamily(
        "s3gw_audit_records_total", .counter, .scraped,
        "Records in the audit chain (its last sequence number: records are numbered 1, 2, … without gaps).")
    public static let auditLastDigestAge = MetricFamily(
        "s3gw_audit_last_digest_age_seconds", .gauge, .scraped,
        "Seconds since the end of the period the newest signed audit digest covers.")
    public static let seriesDropped = MetricFamily(
        "s3gw_metrics_series_dropped_total", .counter, .counted,
        "Observations not counted because a process's counter file was full or a series name too long.")

    /// Every family, in exposition order.
    public static let all: [MetricFamily] = [
        requests, requestDuration, requestBytes, responseBytes, inFlight, authFailures, zoneDuration, zoneErrors,
        zoneUp, zoneStoredBytes, replicationQueue, replicationOldestPending, replicationLag, replicationDeadLetters,
        workerRestarts, agentUp, agentHeartbeatAge, oplogDropped, auditRecords, auditLastDigestAge, seriesDropped,
    ]

    static let byFileName: [Substring: MetricFamily] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.fileName, $0) })
    public static let byName: [String: MetricFamily] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
