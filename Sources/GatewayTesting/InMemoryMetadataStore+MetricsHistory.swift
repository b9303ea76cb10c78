import GatewayCore

/// The metrics history as the SQLite store keeps it: one sample per slot, a day of them.
extension InMemoryMetadataStore {
    public func recordMetricsSample(_ sample: MetricsSample) throws(StoreError) -> Bool {
        history.withLock { h in
            h = h.filter { $0.key >= sample.time - MetricsSample.keepSeconds }
            guard h[sample.time] == nil else { return false }
            h[sample.time] = sample
            return true
        }
    }

    public func metricsSamples(since: Int64) throws(StoreError) -> [MetricsSample] {
        history.withLock { h in h.values.filter { $0.time >= since }.sorted { $0.time < $1.time } }
    }

    public func metricsSample(before time: Int64) throws(StoreError) -> MetricsSample? {
        history.withLock { h in h.values.filter { $0.time < time }.max { $0.time < $1.time } }
    }
}
