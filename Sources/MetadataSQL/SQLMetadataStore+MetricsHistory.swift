import GatewayCore

/// The metrics history (`metrics_history`, migrations 18 and 19): the agent's samples for the dashboard.
extension SQLMetadataStore {
    private static let sampleColumns = """
        time, replication_pending, replication_running, replication_dead, oldest_pending_seconds, replicated,
        replication_failed, requests_total, errors_total, lag_buckets, lag_p95_seconds
        """

    private static func sample(_ r: any SQLRow) -> MetricsSample {
        MetricsSample(
            time: r.int(0), replicationPending: Int(r.int(1)), replicationRunning: Int(r.int(2)),
            replicationDead: Int(r.int(3)), oldestPendingSeconds: r.real(4), replicated: Int(r.int(5)),
            replicationFailed: Int(r.int(6)), requestsTotal: r.isNull(7) ? nil : r.int(7),
            errorsTotal: r.isNull(8) ? nil : r.int(8), lagBuckets: r.isNull(9) ? nil : buckets(r.text(9)),
            lagP95Seconds: r.isNull(10) ? nil : r.real(10))
    }

    /// The lag buckets as a row holds them: the counts, comma-separated.
    private static func buckets(_ text: String) -> [Int64]? {
        let counts = text.split(separator: ",").compactMap { Int64($0) }
        return counts.isEmpty ? nil : counts
    }

    public func recordMetricsSample(_ s: MetricsSample) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("DELETE FROM metrics_history WHERE time < ?", [.int(s.time - MetricsSample.keepSeconds)])
                // The slot is the key: a second agent sampling the same slot changes nothing.
                try db.query(
                    """
                    INSERT INTO metrics_history (\(Self.sampleColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT DO NOTHING
                    """,
                    [
                        .int(s.time), .int(Int64(s.replicationPending)), .int(Int64(s.replicationRunning)),
                        .int(Int64(s.replicationDead)), .real(s.oldestPendingSeconds), .int(Int64(s.replicated)),
                        .int(Int64(s.replicationFailed)), s.requestsTotal.map { .int($0) } ?? .null,
                        s.errorsTotal.map { .int($0) } ?? .null,
                        s.lagBuckets.map { .text($0.map(String.init).joined(separator: ",")) } ?? .null,
                        s.lagP95Seconds.map { .real($0) } ?? .null,
                    ])
                return db.changes > 0
            }
        }
    }

    public func metricsSamples(since: Int64) throws(StoreError) -> [MetricsSample] {
        try withConnection { db throws(StoreError) in
            var out: [MetricsSample] = []
            try db.query(
                "SELECT \(Self.sampleColumns) FROM metrics_history WHERE time >= ? ORDER BY time", [.int(since)]
            ) { r in out.append(Self.sample(r)) }
            return out
        }
    }

    public func metricsSample(before time: Int64) throws(StoreError) -> MetricsSample? {
        try withConnection { db throws(StoreError) in
            var out: MetricsSample?
            try db.query(
                "SELECT \(Self.sampleColumns) FROM metrics_history WHERE time < ? ORDER BY time DESC LIMIT 1",
                [.int(time)]
            ) { r in out = Self.sample(r) }
            return out
        }
    }

    public func jobCounts(minutes: Range<Int64>) throws(StoreError) -> (finished: Int, failed: Int) {
        try withConnection { db throws(StoreError) in
            var out = (finished: 0, failed: 0)
            try db.query(
                "SELECT COALESCE(SUM(finished), 0), COALESCE(SUM(failed), 0) FROM job_counts WHERE minute >= ? AND minute < ?",
                [.int(minutes.lowerBound), .int(minutes.upperBound)]
            ) { r in out = (Int(r.int(0)), Int(r.int(1))) }
            return out
        }
    }
}
