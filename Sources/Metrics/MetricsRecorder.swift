#if canImport(Glibc)
    import Glibc
#endif

/// What the request path, the zone wrapper, the agent and the supervisor count with: typed
/// adds into this process's counter file. Each is one or two relaxed atomic adds after a lookup
/// in the thread's own cache; nothing here takes a lock once a series exists.
public struct MetricsRecorder: Sendable {
    public let file: CounterFile

    public init(file: CounterFile) { self.file = file }

    public func count(_ family: MetricFamily, _ labels: [String] = [], by n: Int64 = 1) {
        guard n > 0 else { return }
        file.add(family, labels, part: nil, UInt64(n))
    }

    /// A live gauge's change (+1 when a request starts, -1 when it ends).
    public func adjust(_ family: MetricFamily, _ labels: [String] = [], by delta: Int64) {
        file.add(family, labels, part: nil, UInt64(bitPattern: delta))
    }

    /// One histogram observation: its bucket (the first bound at or above it, else +Inf) and the
    /// sum (in microseconds, an integer so it adds atomically). `_count` is rendered from the
    /// buckets, so a scrape racing an observation never sees them disagree.
    public func observe(_ family: MetricFamily, _ labels: [String] = [], _ value: Double) {
        let v = value.isFinite ? max(0, value) : 0
        let bucket = family.buckets.firstIndex { v <= $0 } ?? family.buckets.count
        file.add(family, labels, part: bucket, 1)
        file.add(family, labels, part: CounterFile.sumPart, UInt64(min(v * 1e6, 1.8e19)))
    }
}

/// Seconds from an arbitrary fixed point, never going back: for durations.
public enum MonotonicClock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
