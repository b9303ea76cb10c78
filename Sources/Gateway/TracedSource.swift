import GatewayCore

/// Counts the request body bytes read into the request's trace (what the operations log and the
/// metrics call bytes in), whichever API reads them.
final class TracedSource: ByteSource {
    private let inner: any ByteSource
    private let trace: RequestTrace

    init(_ inner: any ByteSource, _ trace: RequestTrace) {
        self.inner = inner
        self.trace = trace
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try inner.read(into: buffer)
        trace.bytesIn += Int64(n)
        return n
    }
}
