import GatewayCore

/// The metrics history (`metrics_history`, migration 18): the agent's samples for the dashboard.
extension SQLiteMetadataStore {
    private static let sampleColumns = """
        time, replication_pending, replication_running, replication_dead, oldest_pending_seconds, replicated,
        replication_failed, requests_total, errors_total
        """

    private static func sample(_ r: Row) -> MetricsSample {
        MetricsSample(
            time: r.int(0), replicationPending: Int(r.int(1)), replicationRunning: Int(r.int(2)),
            replicationDead: Int(r.int(3)), oldestPendingSeconds: r.real(4), replicated: Int(r.int(5)),
            replicationFailed: Int(r.int(6)), requestsTotal: r.isNull(7) ? nil : r.int(7),
            errorsTotal: r.isNull(8) ? nil : r.int(8))
    }

    public func recordMetricsSample(_ s: MetricsSample) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("DELETE FROM metrics_history WHERE time < ?", [.int(s.time - MetricsSample.keepSeconds)])
                // The slot is the key: a second agent sampling the same slot changes nothing.
                try db.query(
                    "INSERT OR IGNORE INTO metrics_history (\(Self.sampleColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        .int(s.time), .int(Int64(s.replicationPending)), .int(Int64(s.replicationRunning)),
                        .int(Int64(s.replicationDead)), .real(s.oldestPendingSeconds), .int(Int64(s.replicated)),
                        .int(Int64(s.replicationFailed)), s.requestsTotal.map { .int($0) } ?? .null,
                        s.errorsTotal.map { .int($0) } ?? .null,
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
