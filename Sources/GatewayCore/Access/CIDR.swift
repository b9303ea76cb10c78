/// An IPv4 or IPv6 address range (RFC 4632 / RFC 4291 notation), as `aws:SourceIp` conditions
/// write them: `192.0.2.0/24`, `2001:db8::/32`, or a bare address (the whole address, /32 or
/// /128).
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, host bits cleared.
    public let address: [UInt8]
    public let prefix: Int

    public var isIPv4: Bool { address.count == 4 }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.parseAddress(String(parts[0])) else { return nil }
        let most = bytes.count * 8
        var prefix = most
        if parts.count == 2 {
            let p = parts[1]
            guard !p.isEmpty, p.count <= 3, p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(p), n <= most
            else { return nil }
            prefix = n
        }
        // A range inside ::ffff:0:0/96 is a range of IPv4 addresses (sources are compared as
        // IPv4 too, `contains`), and public-or-not judges it by its IPv4 prefix.
        if bytes.count == 16, prefix >= 96, Self.isMapped(bytes) {
            self.prefix = prefix - 96
            self.address = Self.masked(Array(bytes[12...]), prefix - 96)
        } else {
            self.prefix = prefix
            self.address = Self.masked(bytes, prefix)
        }
    }

    /// Whether 16 bytes are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
    static func isMapped(_ bytes: [UInt8]) -> Bool {
        bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    }

    public var description: String {
        (isIPv4 ? address.map(String.init).joined(separator: ".") : Self.ipv6Text(address)) + "/\(prefix)"
    }

    /// Whether `ip` (an address as a client's source address is written) lies in the range.
    /// An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts as its IPv4 address, on both
    /// sides.
    public func contains(_ ip: String) -> Bool {
        guard var bytes = Self.parseAddress(ip) else { return false }
        if bytes.count == 16, Self.isMapped(bytes) { bytes = Array(bytes[12...]) }
        guard bytes.count == address.count else { return false }
        return Self.masked(bytes, prefix) == address
    }

    static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        var out = bytes
        for i in 0..<out.count {
            let keep = max(0, min(8, prefix - i * 8))
            out[i] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        return out
    }

    /// 4 bytes for a dotted IPv4 address, 16 for an IPv6 one (`::` compression and a trailing
    /// dotted IPv4 part allowed); nil for anything else (zone ids, brackets, leading zeros in
    /// IPv4 octets, which some parsers read as octal).
    public static func parseAddress(_ text: String) -> [UInt8]? {
        if !text.contains(":") { return ipv4(Substring(text)) }
        return ipv6(text)
    }

    static func ipv4(_ text: Substring) -> [UInt8]? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var out: [UInt8] = []
        for o in octets {
            guard !o.isEmpty, o.count <= 3, o.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                o.count == 1 || o.first != "0", let v = Int(o), v <= 255
            else { return nil }
            out.append(UInt8(v))
        }
        return out
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        let halves = text.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String, allowIPv4: Bool) -> [UInt8]? {
            if s.isEmpty { return [] }
            let items = s.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt8] = []
            for (i, g) in items.enumerated() {
                if allowIPv4, i == items.count - 1, g.contains(".") {
                    guard let v4 = ipv4(g) else { return nil }
                    out += v4
                    continue
                }
                // Hex digits only (`UInt16(_:radix:)` would take a sign).
                guard !g.isEmpty, g.count <= 4, g.allSatisfy(\.isHexDigit), let v = UInt16(g, radix: 16) else {
                    return nil
                }
                out += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            return out
        }
        if halves.count == 1 {
            guard let all = groups(halves[0], allowIPv4: true), all.count == 16 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowIPv4: false), let tail = groups(halves[1], allowIPv4: true),
            head.count + tail.count <= 14
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    static func ipv6Text(_ b: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
