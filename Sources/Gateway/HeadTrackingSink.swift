import GatewayCore

/// Remembers whether the response head went out, so a failure after it is not answered twice,
/// and counts the body bytes sent into the request's trace.
final class HeadTrackingSink: ResponseSink {
    private let inner: any ResponseSink
    private let trace: RequestTrace?
    private(set) var headSent = false
    private(set) var bytesSent: Int64 = 0

    init(_ inner: any ResponseSink, _ trace: RequestTrace? = nil) {
        self.inner = inner
        self.trace = trace
    }

    func sendHead(status: Int, headers: [Header]) throws {
        headSent = true
        try inner.sendHead(status: status, headers: headers)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try inner.write(bytes)
        bytesSent += Int64(bytes.count)
        trace?.bytesOut = bytesSent
    }
}
