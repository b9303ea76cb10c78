import GatewayCore

/// The agent's samples of the last minutes, for the dashboard's charts:
/// `GET /admin/metrics/history?minutes=60` (docs/OBSERVABILITY.md, "Metrics").
extension AdminAPI {
    public struct MetricsSampleView: Codable, Sendable, Equatable {
        /// The sampling slot's start.
        public var time: String
        /// Seconds since the previous sample; absent for the first one kept.
        public var seconds: Double?
        /// Requests answered, and those answered with a status of 400 or more, since the
        /// previous sample; absent when the gateway's request counters were not read.
        public var requests: Int64?
        public var errors: Int64?
        public var replicationPending: Int
        public var replicationRunning: Int
        public var replicationDead: Int
        public var replicationOldestPendingSeconds: Double
        /// The 95th percentile of write → verified replica lag over the replicas verified since
        /// the previous sample; absent when none was (or the counters were not read).
        public var replicationLagP95Seconds: Double?
        /// Jobs finished and attempts failed in the whole minutes since the previous sample.
        public var replicated: Int
        public var replicationFailed: Int

        init(_ p: MetricsHistory.Point) {
            time = HTTPDate.iso8601(Double(p.sample.time))
            seconds = p.seconds
            requests = p.requests
            errors = p.errors
            replicationPending = p.sample.replicationPending
            replicationRunning = p.sample.replicationRunning
            replicationDead = p.sample.replicationDead
            replicationOldestPendingSeconds = p.sample.oldestPendingSeconds
            replicationLagP95Seconds = p.sample.lagP95Seconds
            replicated = p.sample.replicated
            replicationFailed = p.sample.replicationFailed
        }
    }

    public struct MetricsHistoryView: Codable, Sendable, Equatable {
        /// The gateway's time of the answer: the end of the window the samples were taken in, by
        /// the clock that timed them (a browser's may be off).
        public var now: String
        public var samples: [MetricsSampleView]
    }

    /// What `minutes` may ask: up to the day the samples are kept.
    static let historyMinutes = 1...Int(MetricsSample.keepSeconds / 60)

    static let metricsHistoryRoutes: [Route] = [
        Route("GET", "metrics/history", "admin:GetMetrics", .gateway) { r, _, ctx throws(AdminError) in
            var minutes = 60
            if let m = r.query["minutes"] {
                guard let n = Int(m), historyMinutes.contains(n) else {
                    throw .invalid("minutes must be \(historyMinutes.lowerBound) to \(historyMinutes.upperBound)")
                }
                minutes = n
            }
            let points = try store { () throws(StoreError) in
                try MetricsHistory.points(ctx.metadata, minutes: minutes, now: r.now)
            }
            return .json(
                MetricsHistoryView(
                    now: HTTPDate.iso8601(r.now),
                    samples: MetricsHistory.downsample(points).map(MetricsSampleView.init)))
        }
    ]
}
