import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Token buckets of bytes per second, one per name (a zone, a tenant), shared by the agent's
/// replicator threads: replication must not saturate a provider's link or let one tenant's
/// backlog starve the others. A rate of 0 means unlimited.
public final class RateLimiter: Sendable {
    private let rate: Double
    private let clock: any Clock
    /// name → (tokens available, when last refilled).
    private let buckets = Mutex<[String: (tokens: Double, at: Double)]>([:])

    public init(bytesPerSecond: Double, clock: any Clock) {
        rate = bytesPerSecond
        self.clock = clock
    }

    /// Seconds the caller must wait before moving `bytes` for `name` (0: go now). The bytes are
    /// taken from the bucket either way, so waiters queue fairly behind each other.
    public func reserve(_ bytes: Int, for name: String) -> Double {
        guard rate > 0 else { return 0 }
        let now = clock.now()
        return buckets.withLock { b in
            var state = b[name] ?? (rate, now)
            // At most one second of burst.
            state.tokens = min(rate, state.tokens + (now - state.at) * rate)
            state.at = now
            state.tokens -= Double(bytes)
            b[name] = state
            return state.tokens >= 0 ? 0 : -state.tokens / rate
        }
    }
}

/// A sink that waits as the zone's and the tenant's limits require before passing bytes on.
final class RateLimitedSink: ByteSink {
    private let inner: any ByteSink
    private let limits: [(RateLimiter, String)]

    init(_ inner: any ByteSink, limits: [(RateLimiter, String)]) {
        self.inner = inner
        self.limits = limits
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let wait = limits.map { $0.0.reserve(bytes.count, for: $0.1) }.max() ?? 0
        if wait > 0 { usleep(UInt32(min(wait, 60) * 1_000_000)) }
        try inner.write(bytes)
    }
}
