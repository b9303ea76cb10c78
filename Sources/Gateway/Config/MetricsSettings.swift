#if canImport(Glibc)
    import Glibc
#endif

/// `[metrics]`: whether the processes count (and `/metrics` answers), and who may scrape
/// `/metrics` without a signature. nginx's `geo $s3gw_metrics_client` lists the same addresses;
/// the worker checks `REMOTE_ADDR` again, so a proxy configured without it still refuses. Either
/// check protects only while `$remote_addr` is the real client: behind a load balancer or proxy
/// whose address is on the list (and without nginx's realip module set up for it), every client
/// passes.
public struct MetricsSettings: Sendable {
    public var enabled = true
    public var allow: [AddressRange] = ["127.0.0.1", "::1"].compactMap(AddressRange.init)
    /// `history_interval`: seconds between the agent's samples for the dashboard's history
    /// (`MetricsHistory`); a minute, shorter only for tests.
    public var historyInterval = 60

    public init() {}

    public func allows(_ address: String) -> Bool { allow.contains { $0.contains(address) } }
}

/// An address or a CIDR range, IPv4 or IPv6 (`127.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`).
/// IPv4 is kept as its IPv4-mapped IPv6 form, so `::ffff:127.0.0.1` matches `127.0.0.1`.
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefixLength: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        let isV4 = !parts[0].contains(":")
        let width = isV4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            // Digits only: Int("+8") is 8.
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ ("0"..."9").contains($0) }),
                let n = Int(parts[1]), (0...width).contains(n)
            else { return nil }
            length = n
        }
        prefixLength = isV4 ? length + 96 : length
        bytes = Self.masked(address, prefixLength)
        description = text
    }

    /// Whether `address` (as nginx writes `$remote_addr`) is in the range; anything that is not
    /// an address (a Unix socket's `unix:`) is not.
    public func contains(_ address: String) -> Bool {
        guard let a = Self.parse(address) else { return false }
        return Self.masked(a, prefixLength) == bytes
    }

    /// 16 bytes; IPv4 mapped into `::ffff:0:0/96`.
    static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") {
            var a6 = in6_addr()
            guard inet_pton(AF_INET6, text, &a6) == 1 else { return nil }
            return withUnsafeBytes(of: &a6) { Array($0) }
        }
        var a4 = in_addr()
        guard inet_pton(AF_INET, text, &a4) == 1 else { return nil }
        return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF] + withUnsafeBytes(of: &a4) { Array($0) }
    }

    static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let bits = max(0, min(8, length - i * 8))
            return bits == 8 ? b : b & ~(UInt8(0xFF) >> UInt8(bits))
        }
    }
}
