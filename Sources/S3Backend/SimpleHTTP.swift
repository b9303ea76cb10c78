import GatewayCore

/// One small HTTP exchange, whole body in and whole answer out: for callers outside the zone
/// code (the admin CLI talking to a remote gateway) that need libcurl without its C types.
public enum SimpleHTTP {
    public struct Response: Sendable {
        public var status: Int
        /// Names lowercased, in the order received.
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]

        public func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }
    }

    /// Why an exchange failed before an answer came: no connection, TLS refused, a bound ran out.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Sends one request and waits for its whole answer. `timeout` bounds the connection and
    /// each wait for the server (never the whole exchange, which keeps moving); answers longer
    /// than `maxResponse` bytes fail.
    public static func send(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8] = [],
        caBundle: String? = nil, verifyTLS: Bool = true, timeout: Double = 30, maxResponse: Int = 64 << 20
    ) throws(Failure) -> Response {
        try receive(
            method: method, url: url, headers: headers, body: body, caBundle: caBundle, verifyTLS: verifyTLS,
            timeout: timeout, maxResponse: maxResponse
        ) { _ in nil }
    }

    /// As `send`, for a long answer (a download): once the status is known, `destination` says
    /// where a body goes — a sink it is streamed into chunk by chunk, never held whole, or nil to
    /// collect it in `Response.body` (an error document; at most `maxResponse` bytes).
    public static func receive(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8] = [],
        caBundle: String? = nil, verifyTLS: Bool = true, timeout: Double = 30, maxResponse: Int = 1 << 20,
        destination: (Int) -> (any ByteSink)?
    ) throws(Failure) -> Response {
        CurlGlobal.initializeOnce()
        let bounds = ZoneTimeouts(connect: timeout, response: timeout, stall: timeout, assembly: timeout)
        do {
            let exchange = try CurlTransfer(
                method: method, url: url, headers: headers, uploadLength: Int64(body.count), timeouts: bounds,
                options: CurlTransfer.Options(verifyTLS: verifyTLS, caBundle: caBundle))
            if !body.isEmpty { try body.withUnsafeBytes { try exchange.write($0) } }
            try exchange.closeUpload()
            let status = try exchange.waitForResponse()
            let received = exchange.responseHeaders.map { (name: $0.0, value: $0.1) }
            guard let sink = destination(status) else {
                guard let answer = try exchange.readWhole(limit: maxResponse) else {
                    exchange.abort()
                    throw Failure(description: "the answer is longer than \(maxResponse) bytes")
                }
                return Response(status: status, headers: received, body: answer)
            }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let n = try exchange.read(into: buffer)
                if n == 0 { break }
                try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
            return Response(status: status, headers: received, body: [])
        } catch let f as Failure {
            throw f
        } catch let StoreError.zoneUnavailable(m), let StoreError.internalFailure(m) {
            throw Failure(description: m)
        } catch {
            throw Failure(description: "\(error)")
        }
    }
}
