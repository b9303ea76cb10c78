/// What the health checker last saw of a zone.
public struct ZoneHealth: Sendable, Equatable {
    public enum State: String, Sendable { case healthy, degraded, down }
    public var zone: String
    public var state: State
    public var lastError: String
    /// Seconds; 0 when the last probe failed.
    public var latency: Double
    public var checkedAt: Double
    public var consecutiveFailures: Int

    public init(
        zone: String, state: State, lastError: String, latency: Double, checkedAt: Double, consecutiveFailures: Int
    ) {
        self.zone = zone
        self.state = state
        self.lastError = lastError
        self.latency = latency
        self.checkedAt = checkedAt
        self.consecutiveFailures = consecutiveFailures
    }

    /// Folds one probe result into the previous state: one failure degrades, three in a row
    /// mark the zone down; a slow answer (over 2 s) is degraded.
    public static func next(
        after previous: ZoneHealth?, zone: String, result: Result<Double, StoreError>, at time: Double
    ) -> ZoneHealth {
        switch result {
        case .success(let latency):
            return ZoneHealth(
                zone: zone, state: latency > 2 ? .degraded : .healthy, lastError: previous?.lastError ?? "",
                latency: latency, checkedAt: time, consecutiveFailures: 0)
        case .failure(let error):
            let failures = (previous?.consecutiveFailures ?? 0) + 1
            let text: String
            switch error {
            case .zoneUnavailable(let m), .internalFailure(let m): text = m
            default: text = "\(error)"
            }
            return ZoneHealth(
                zone: zone, state: failures >= 3 ? .down : .degraded, lastError: text, latency: 0, checkedAt: time,
                consecutiveFailures: failures)
        }
    }
}
