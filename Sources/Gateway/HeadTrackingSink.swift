import GatewayCore

/// Remembers whether the response head went out, so a failure after it is not answered twice.
final class HeadTrackingSink: ResponseSink {
    private let inner: any ResponseSink
    private(set) var headSent = false

    init(_ inner: any ResponseSink) { self.inner = inner }

    func sendHead(status: Int, headers: [Header]) throws {
        headSent = true
        try inner.sendHead(status: status, headers: headers)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try inner.write(bytes) }
}
