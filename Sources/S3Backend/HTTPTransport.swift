import GatewayCore

/// One request to a provider, signed and ready to send.
struct HTTPRequest {
    var method: String
    var url: String
    /// In the order they are sent, Host included.
    var headers: [(name: String, value: String)]
    /// The exact request body length; nil or 0 when there is no body.
    var bodyLength: Int64?
    /// The zone's bounds: the transport fails the exchange with `ProviderTimeout` when one runs out.
    var timeouts = ZoneTimeouts()

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// One HTTP exchange in flight, moved forward by a blocking caller at its own pace: push the
/// request body, close it, then pull the status, headers and response body. Errors are
/// StoreErrors (a provider that cannot be reached is `.zoneUnavailable`) or `ProviderTimeout`
/// when one of the request's `timeouts` ran out; no call blocks longer than those allow.
protocol HTTPExchange: AnyObject {
    /// Sends request body bytes (no more than the request's `bodyLength` in all).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Marks the end of the request body.
    func closeUpload() throws
    /// Runs until the final status line and headers are in; returns the status.
    func waitForResponse() throws -> Int
    /// A response header; `name` is lowercase.
    func header(_ name: String) -> String?
    /// All response headers, names lowercased, in the order received.
    var responseHeaders: [(String, String)] { get }
    /// Pulls response body bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Stops the exchange; the connection is not reused.
    func abort()
}

extension HTTPExchange {
    /// Runs to completion and returns the (small) remaining body, e.g. an error document,
    /// keeping at most `limit` bytes of it.
    func finish(limit: Int = 64 * 1024) throws -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            if out.count < limit { out.append(contentsOf: chunk[0..<min(n, limit - out.count)]) }
        }
    }
}

extension HTTPExchange {
    /// Reads the whole remaining body if it is at most `limit` bytes; nil (stopping early) if
    /// it is longer. For listings, which must be parsed whole or not at all.
    func readWhole(limit: Int) throws -> [UInt8]? {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if n == 0 { return out }
            if out.count + n > limit { return nil }
            out.append(contentsOf: chunk[0..<n])
        }
    }
}

/// How a zone reaches its provider: libcurl in production (`CurlTransport`), canned answers in
/// unit tests.
protocol HTTPTransport: Sendable {
    func start(_ request: HTTPRequest) throws(StoreError) -> any HTTPExchange
}

/// The production transport: each exchange is a `CurlTransfer` on this thread's warm handles.
struct CurlTransport: HTTPTransport {
    var options: CurlTransfer.Options

    func start(_ request: HTTPRequest) throws(StoreError) -> any HTTPExchange {
        try CurlTransfer(
            method: request.method, url: request.url, headers: request.headers, uploadLength: request.bodyLength,
            timeouts: request.timeouts, options: options)
    }
}
