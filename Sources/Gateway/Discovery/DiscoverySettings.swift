/// `[discovery]` settings beside the endpoint allow-list.
public struct DiscoverySettings: Sendable {
    /// Jobs one worker process runs at once; a start beyond them is refused (503).
    public var maxJobs = 2
    /// Seconds a stopping worker waits for its jobs before it interrupts them.
    public var drainTimeout: Double = 20

    public init(maxJobs: Int = 2, drainTimeout: Double = 20) {
        self.maxJobs = maxJobs
        self.drainTimeout = drainTimeout
    }
}
