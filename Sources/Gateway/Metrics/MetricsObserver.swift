import GatewayCore
import Metrics

/// Counts every request of a worker into its counter file, from the request's trace: requests
/// by operation and status, latency, body bytes, requests in flight, authentication failures.
/// Label values come from bounded sets only (the route tables' names, S3 error codes, HTTP
/// statuses), so a client cannot make up series: an operation not from a table is `Unknown`.
public struct MetricsObserver: RequestObserver {
    let recorder: MetricsRecorder

    public init(recorder: MetricsRecorder) { self.recorder = recorder }

    public func requestStarted(_ trace: RequestTrace) {
        recorder.adjust(.inFlight, by: 1)
    }

    public func requestFinished(_ trace: RequestTrace) {
        let operation = Self.operation(trace)
        recorder.count(.requests, [operation, String(trace.status)])
        recorder.observe(.requestDuration, [operation], trace.latency)
        recorder.count(.requestBytes, [operation], by: trace.bytesIn)
        recorder.count(.responseBytes, [operation], by: trace.bytesOut)
        if let reason = trace.authFailure { recorder.count(.authFailures, [reason]) }
        recorder.adjust(.inFlight, by: -1)
    }

    static let stsActions: Set<String> = ["GetSessionToken", "AssumeRole"]
    static let methods: Set<String> = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"]

    /// The trace's operation, or `Unknown` for a request refused before a route was found (an
    /// authentication failure, a malformed URI), an STS action the gateway does not have, or a
    /// JSON API path without a route under a method nobody uses (`BREW /admin/`).
    static func operation(_ trace: RequestTrace) -> String {
        let op = trace.operation
        if op.isEmpty { return "Unknown" }
        if trace.origin == .sts { return stsActions.contains(op) ? op : "Unknown" }
        if let space = op.utf8.firstIndex(of: UInt8(ascii: " ")), !methods.contains(String(op[..<space])) {
            return "Unknown"
        }
        return op
    }
}
