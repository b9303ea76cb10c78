/// How long an accept thread waits after consecutive failures: 1 ms, doubling up to 1 s; one
/// success starts over. A single failure costs nothing noticeable, a persistent one no CPU.
struct AcceptBackoff {
    private(set) var failures = 0
    static let first = 0.001
    static let limit = 1.0

    /// Records a failure; returns the seconds to wait before the next accept.
    mutating func failed() -> Double {
        failures += 1
        var delay = Self.first
        for _ in 1..<min(failures, 20) { delay *= 2 }
        return min(delay, Self.limit)
    }

    mutating func succeeded() { failures = 0 }
}
