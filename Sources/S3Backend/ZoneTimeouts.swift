import GatewayCore

#if canImport(Glibc)
    internal import Glibc
#endif

/// How long a provider may keep the gateway waiting. Each bound that runs out fails the request
/// as the zone being unavailable (clients get 503) instead of holding a worker thread and its
/// client for as long as a hung provider keeps the connection open.
public struct ZoneTimeouts: Sendable, Equatable {
    /// Seconds to establish a connection (TCP and TLS).
    public var connect: Double
    /// Seconds from the moment the request, body included, is sent until the response's status
    /// line and headers are in: how long a provider may think before it starts answering.
    public var response: Double
    /// Seconds a body, in either direction, may go without a single byte moving while the
    /// gateway waits on the provider. A transfer that keeps moving is never cut, however long.
    public var stall: Double
    /// Seconds a provider may take over CompleteMultipartUpload, as its response and its stall
    /// bound: it assembles the parts first. AWS sends its headers at once and then whitespace
    /// while it works; others (moto: some 12 s per GiB) answer only when done.
    public var assembly: Double

    public init(connect: Double = 3, response: Double = 3, stall: Double = 10, assembly: Double = 120) {
        self.connect = connect
        self.response = response
        self.stall = stall
        self.assembly = assembly
    }

    /// A provider may need time in proportion to a body it received before it answers (moto
    /// hashes and copies it: some 8 s per GiB), so the response bound grows by a second for each
    /// this many bytes of request body. A small request keeps the bare bound.
    static let bodyBytesPerExtraSecond: Int64 = 32 << 20

    /// The bounds of a request with a body of `bodyLength` bytes.
    func forRequest(bodyLength: Int64) -> ZoneTimeouts {
        var t = self
        t.response += Double(max(0, bodyLength) / Self.bodyBytesPerExtraSecond)
        return t
    }

    /// The bounds of a CompleteMultipartUpload.
    var forAssembly: ZoneTimeouts {
        var t = self
        t.response = max(response, assembly)
        t.stall = max(stall, assembly)
        return t
    }
}

/// A bound of `ZoneTimeouts` ran out. Transports throw it instead of a plain StoreError so the
/// zone can tell it apart: a provider that hung once is not waited for a second time (a retry
/// would double the client's wait), and the message says what timed out.
struct ProviderTimeout: Error, CustomStringConvertible {
    let description: String
}

/// Watches one wait on the provider for progress: it fails once `limit` seconds pass with the
/// byte count unchanged. Only time spent waiting counts: it starts when the wait starts, so a
/// caller that is slow itself (a client uploading at its own pace) never looks like a stall.
struct StallWatch {
    private let limit: Double
    private var lastCount: Int64
    private var since: Double

    init(limit: Double, count: Int64) {
        self.limit = limit
        lastCount = count
        since = monotonicSeconds()
    }

    /// Whether `limit` seconds passed since the count last changed.
    mutating func overdue(count: Int64) -> Bool {
        let now = monotonicSeconds()
        if count != lastCount {
            lastCount = count
            since = now
            return false
        }
        return now - since >= limit
    }
}

extension Double {
    /// "3 s", "0.25 s": a bound as a message shows it.
    var seconds: String {
        self == rounded() && abs(self) < 1e9 ? "\(Int(self)) s" : "\(self) s"
    }
}
