import GatewayCore

/// Told about every request once its response is out: the operations log and the metrics.
/// Called on the request's thread, so it must not block for long (a slow disk is the
/// observer's to absorb, not the client's).
public protocol RequestObserver: Sendable {
    /// The request's trace is made (before authentication): only origin, method and client are known.
    func requestStarted(_ trace: RequestTrace)
    func requestFinished(_ trace: RequestTrace)
}

extension RequestObserver {
    public func requestStarted(_ trace: RequestTrace) {}
}
