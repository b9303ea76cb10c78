/// The gateway's series at one moment, summed over its processes, plus the gauges computed at
/// scrape time: what the exposition renders, and what other code reads (the dashboard's
/// per-minute history) through `total` and `histogram`.
public struct MetricsSnapshot: Sendable {
    /// A histogram series: per bucket (the family's bounds, then +Inf) the observations that fell
    /// in it (not cumulative), and the sum of the observed values.
    public struct Histogram: Sendable, Equatable {
        public var buckets: [UInt64]
        public var sum: Double
        public var count: UInt64 { buckets.reduce(0, &+) }

        public init(buckets: [UInt64], sum: Double) {
            self.buckets = buckets
            self.sum = sum
        }

        /// The value at quantile `q` (0…1), interpolated within its bucket as PromQL's
        /// `histogram_quantile` does; nil without observations.
        public func quantile(_ q: Double, bounds: [Double]) -> Double? {
            let total = Double(count)
            guard total > 0 else { return nil }
            let rank = q * total
            var seen = 0.0
            for (i, n) in buckets.enumerated() {
                let before = seen
                seen += Double(n)
                guard seen >= rank, n > 0 else { continue }
                guard i < bounds.count else { return bounds.last ?? 0 }  // +Inf bucket: its lower bound
                let lower = i == 0 ? 0 : bounds[i - 1]
                return lower + (bounds[i] - lower) * (rank - before) / Double(n)
            }
            return bounds.last
        }
    }

    /// Family name → label values (in the family's label order) → value.
    public private(set) var values: [String: [[String]: Double]] = [:]
    public private(set) var histograms: [String: [[String]: Histogram]] = [:]

    public init() {}

    /// From the counter files' summed entries (`CounterDirectory.collect`); keys of families this
    /// build does not know are left out.
    public init(counted: [String: UInt64]) {
        for (key, raw) in counted {
            guard let (family, labels, part) = SeriesKey.parse(key) else { continue }
            switch family.kind {
            case .counter:
                values[family.name, default: [:]][labels, default: 0] += Double(raw)
            case .gauge:
                values[family.name, default: [:]][labels, default: 0] += Double(Int64(bitPattern: raw))
            case .histogram:
                var h =
                    histograms[family.name]?[labels]
                    ?? Histogram(buckets: Array(repeating: 0, count: family.buckets.count + 1), sum: 0)
                if part == "s" {
                    h.sum += Double(raw) / 1e6
                } else if let i = part.flatMap({ SeriesKey.bucket(family, $0) }), h.buckets.indices.contains(i) {
                    h.buckets[i] &+= raw
                } else {
                    continue
                }
                histograms[family.name, default: [:]][labels] = h
            }
        }
    }

    /// Sets a gauge computed at scrape time.
    public mutating func set(_ family: MetricFamily, _ labels: [String] = [], _ value: Double) {
        values[family.name, default: [:]][labels] = value
    }

    /// The family's value summed over its series whose labels match `matching` (label name →
    /// value); 0 when it has none.
    public func total(_ name: String, matching: [String: String] = [:]) -> Double {
        guard let family = MetricFamily.byName[name] else { return 0 }
        return (values[name] ?? [:]).filter { Self.matches(family, $0.key, matching) }.values.reduce(0, +)
    }

    /// The family's histogram summed over its series whose labels match `matching`.
    public func histogram(_ name: String, matching: [String: String] = [:]) -> Histogram? {
        guard let family = MetricFamily.byName[name], family.kind == .histogram else { return nil }
        var out = Histogram(buckets: Array(repeating: 0, count: family.buckets.count + 1), sum: 0)
        for (labels, h) in histograms[name] ?? [:] where Self.matches(family, labels, matching) {
            for i in out.buckets.indices where i < h.buckets.count { out.buckets[i] &+= h.buckets[i] }
            out.sum += h.sum
        }
        return out
    }

    private static func matches(_ family: MetricFamily, _ labels: [String], _ wanted: [String: String]) -> Bool {
        wanted.allSatisfy { name, value in family.labels.firstIndex(of: name).map { labels[$0] == value } ?? false }
    }
}
