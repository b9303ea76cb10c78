import GatewayCore

/// Remembers whether the response head went out, so a failure after it is not answered twice,
/// and counts the body bytes sent (the request trace's bytes out).
///
/// It also holds back the last byte of a body whose length the head announced, until `finish()`
/// (which the gateway calls after the request's observers ran): the client cannot have its whole
/// answer before the operations log has the request's record, even when the body is large enough
/// to go straight out (a chunked body is safe as it is: its end goes out with the request's end).
final class HeadTrackingSink: ResponseSink {
    private let inner: any ResponseSink
    private(set) var headSent = false
    private(set) var bytesSent: Int64 = 0
    /// Body bytes the head's Content-Length still announces; nil when it named none.
    private var announced: Int64?
    /// The body's last byte, sent by `finish()`.
    private var held: UInt8?

    /// An `X-Accel-Redirect` head, sent by `finish()`: nginx starts sending the file as soon
    /// as it has it.
    private var heldHead: (status: Int, headers: [Header])?

    init(_ inner: any ResponseSink) { self.inner = inner }

    func sendHead(status: Int, headers: [Header]) throws {
        headSent = true
        announced = headers.first { $0.name == "Content-Length" }.flatMap { Int64($0.value) }
        if headers.first?.name == "X-Accel-Redirect" {
            // The answer as the worker gave it: its planned length counts as sent.
            heldHead = (status, headers)
            bytesSent = announced ?? 0
            announced = nil
            return
        }
        try inner.sendHead(status: status, headers: headers)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !bytes.isEmpty else { return }
        if held == nil, let left = announced, left == Int64(bytes.count) {
            // The body's end: all but its last byte now (no copy), the last one in `finish()`.
            if bytes.count > 1 { try inner.write(UnsafeRawBufferPointer(rebasing: bytes.dropLast())) }
            held = bytes[bytes.count - 1]
        } else {
            try inner.write(bytes)
        }
        announced = announced.map { $0 - Int64(bytes.count) }
        bytesSent += Int64(bytes.count)
    }

    /// Sends what was held back (a failure is the client's: its answer is already recorded).
    func finish() {
        if let h = heldHead {
            heldHead = nil
            try? inner.sendHead(status: h.status, headers: h.headers)
        }
        guard var b = held else { return }
        held = nil
        try? withUnsafeBytes(of: &b) { try inner.write($0) }
    }
}
