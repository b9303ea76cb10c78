import Foundation
import GatewayCore
import Metrics

/// The agent's history of the gateway for the dashboard (docs/OBSERVABILITY.md, "Metrics"): a
/// sample per slot of `[metrics] history_interval` seconds in `metrics_history`, and the
/// samples of the last minutes with each one's own request and error counts.
public enum MetricsHistory {
    /// The gateway's cumulative request totals: all requests, and those answered with a status
    /// of 400 or more.
    public struct RequestTotals: Sendable, Equatable {
        public var requests: Int64
        public var errors: Int64
        public init(requests: Int64, errors: Int64) {
            self.requests = requests
            self.errors = errors
        }
    }

    /// A sample with what it counts on its own: requests and errors since the previous sample
    /// (nil when either total is unknown, or the counters went back, as after their files were
    /// removed), over `seconds` (nil for the first sample there is).
    public struct Point: Sendable, Equatable {
        public var sample: MetricsSample
        public var seconds: Double?
        public var requests: Int64?
        public var errors: Int64?
    }

    /// The totals in the gateway's counter files now (every process's, retired ones included);
    /// nil without metrics (`[metrics] enabled = false`) or when the files cannot be read.
    public static func requestTotals(_ metrics: GatewayMetrics?) -> RequestTotals? {
        counted(metrics).map(requestTotals)
    }

    /// What the gateway's counter files hold now (every process's, retired ones included); nil
    /// without metrics or when the files cannot be read.
    public static func counted(_ metrics: GatewayMetrics?) -> MetricsSnapshot? {
        guard let metrics, let counted = try? metrics.directory.collect() else { return nil }
        return MetricsSnapshot(counted: counted)
    }

    /// `s3gw_replication_lag_seconds` summed over its series: replicas verified per bucket since
    /// the metrics began.
    public static func lagBuckets(_ snapshot: MetricsSnapshot) -> [Int64] {
        let family = MetricFamily.replicationLag
        let h = snapshot.histogram(family.name) ?? .init(buckets: [], sum: 0)
        return (0...family.buckets.count).map { $0 < h.buckets.count ? Int64(clamping: h.buckets[$0]) : 0 }
    }

    /// The 95th percentile of the lag of the replicas verified between two samples' buckets
    /// (interpolated within its bucket, as PromQL's histogram_quantile); nil when none was, or
    /// the counts are unknown or went back (the counter files were removed).
    public static func lagP95(from before: [Int64]?, to after: [Int64]?) -> Double? {
        guard let before, let after, before.count == after.count else { return nil }
        var diff: [UInt64] = []
        for (b, a) in zip(before, after) {
            guard a >= b else { return nil }
            diff.append(UInt64(a - b))
        }
        return MetricsSnapshot.Histogram(buckets: diff, sum: 0).quantile(
            0.95, bounds: MetricFamily.replicationLag.buckets)
    }

    /// `s3gw_requests_total` summed, and over the series whose status is 400 or more; the admin
    /// API's operations (`admin:…`) left out: the dashboard reading the history and the metrics
    /// would otherwise count itself.
    public static func requestTotals(_ snapshot: MetricsSnapshot) -> RequestTotals {
        let family = MetricFamily.requests
        let status = family.labels.firstIndex(of: "status")
        let operation = family.labels.firstIndex(of: "operation")
        var totals = RequestTotals(requests: 0, errors: 0)
        for (labels, value) in snapshot.values[family.name] ?? [:] {
            if let operation, operation < labels.count, labels[operation].hasPrefix("admin:") { continue }
            let n = Int64(value)
            totals.requests += n
            if let status, status < labels.count, let code = Int(labels[status]), code >= 400 { totals.errors += n }
        }
        return totals
    }

    /// The start of the slot `now` falls in.
    public static func slot(_ now: Double, interval: Int) -> Int64 {
        let i = Int64(max(1, interval))
        return Int64(now.rounded(.down)) / i * i
    }

    /// Takes the sample of `now`'s slot unless another agent took it already. Its replication
    /// counts are those of the whole minutes ended since the previous sample (at most a day),
    /// its lag p95 that of the replicas verified since the previous sample (`lag`: the
    /// cumulative `lagBuckets`). Returns the sample written, nil when the slot had one.
    @discardableResult
    public static func sample(
        _ metadata: any MetadataStore, now: Double, interval: Int, requests: RequestTotals?, lag: [Int64]? = nil
    ) throws(StoreError) -> MetricsSample? {
        let time = slot(now, interval: interval)
        let minute = time / 60
        let previous = try metadata.metricsSample(before: time)
        let from = max(previous.map { $0.time / 60 } ?? minute - 1, minute - 1440)
        let jobs = from < minute ? try metadata.jobCounts(minutes: from..<minute) : (finished: 0, failed: 0)
        let queue = try metadata.queueStats(now: now)
        let sample = MetricsSample(
            time: time, replicationPending: queue.pending, replicationRunning: queue.running,
            replicationDead: queue.dead, oldestPendingSeconds: queue.oldestPendingAge, replicated: jobs.finished,
            replicationFailed: jobs.failed, requestsTotal: requests?.requests, errorsTotal: requests?.errors,
            lagBuckets: lag, lagP95Seconds: lagP95(from: previous?.lagBuckets, to: lag))
        return try metadata.recordMetricsSample(sample) ? sample : nil
    }

    /// The samples of the last `minutes` minutes, oldest first.
    public static func points(_ metadata: any MetadataStore, minutes: Int, now: Double) throws(StoreError) -> [Point] {
        let since = Int64(now.rounded(.down)) - Int64(minutes) * 60
        var previous = try metadata.metricsSample(before: since)
        var out: [Point] = []
        for s in try metadata.metricsSamples(since: since) {
            out.append(
                Point(
                    sample: s, seconds: previous.map { Double(s.time - $0.time) },
                    requests: delta(previous?.requestsTotal, s.requestsTotal),
                    errors: delta(previous?.errorsTotal, s.errorsTotal)))
            previous = s
        }
        return out
    }

    /// The most points an answer holds (a day of samples a second apart would be 86,400).
    public static let maxPoints = 360

    /// At most `limit` points: when there are more, those of each bucket of consecutive time
    /// (`⌈span / (limit − 2)⌉` seconds, aligned on the epoch) become one, at the bucket's last
    /// sample's time, with the counts summed (requests, errors, replicated, failed and the
    /// seconds they span) and the largest backlog, oldest pending age and lag p95. A gap stays a gap: the point after it
    /// spans it.
    public static func downsample(_ points: [Point], limit: Int = maxPoints) -> [Point] {
        guard points.count > limit, let first = points.first, let last = points.last else { return points }
        // Samples in [a, b] fall in fewer than (b - a) / width + 2 buckets.
        let slots = Int64(max(1, limit - 2))
        let width = max(1, (last.sample.time - first.sample.time + slots - 1) / slots)
        var out: [Point] = []
        var bucket: Int64?
        for p in points {
            let b = p.sample.time / width
            guard b == bucket, var merged = out.popLast() else {
                out.append(p)
                bucket = b
                continue
            }
            merged.seconds = sum(merged.seconds, p.seconds)
            merged.requests = sum(merged.requests, p.requests)
            merged.errors = sum(merged.errors, p.errors)
            var s = p.sample
            s.replicationPending = max(s.replicationPending, merged.sample.replicationPending)
            s.replicationRunning = max(s.replicationRunning, merged.sample.replicationRunning)
            s.replicationDead = max(s.replicationDead, merged.sample.replicationDead)
            s.oldestPendingSeconds = max(s.oldestPendingSeconds, merged.sample.oldestPendingSeconds)
            s.lagP95Seconds = larger(s.lagP95Seconds, merged.sample.lagP95Seconds)
            s.replicated += merged.sample.replicated
            s.replicationFailed += merged.sample.replicationFailed
            merged.sample = s
            out.append(merged)
        }
        return out
    }

    /// A sum of counts some of which may be unknown: the known ones (nil when none is).
    static func sum<T: AdditiveArithmetic>(_ a: T?, _ b: T?) -> T? {
        guard let a else { return b }
        guard let b else { return a }
        return a + b
    }

    /// The larger of two values some of which may be unknown.
    static func larger(_ a: Double?, _ b: Double?) -> Double? {
        guard let a else { return b }
        guard let b else { return a }
        return Swift.max(a, b)
    }

    static func delta(_ before: Int64?, _ after: Int64?) -> Int64? {
        guard let before, let after, after >= before else { return nil }
        return after - before
    }
}
