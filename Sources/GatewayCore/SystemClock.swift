#if canImport(Glibc)
    import Glibc
#endif

/// The wall clock (CLOCK_REALTIME), for everything outside tests.
public struct SystemClock: Clock {
    public init() {}
    public func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// Seconds on CLOCK_MONOTONIC: for bounds and deadlines, which wall-clock jumps must not move.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// `deadline` (`monotonicSeconds`) as the pthread calls that wait on CLOCK_MONOTONIC take it.
public func monotonicTimespec(_ deadline: Double) -> timespec {
    var ts = timespec()
    ts.tv_sec = Int(deadline)
    ts.tv_nsec = Int((deadline - Double(Int(deadline))) * 1e9)
    return ts
}
