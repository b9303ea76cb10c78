/// An S3 endpoint URL taken apart: nothing but scheme, host and port. The one parser of the
/// endpoints people type (discovery's allow-list and its patterns, the source client, snapshot
/// metadata), strict so that nothing a URL could hide — user info, a path, a query — survives.
///
/// A refused text is never echoed: it may hold a pasted secret (user info, a signed query).
public struct EndpointURL: Sendable, Equatable {
    public var scheme: String
    /// Lowercased; a bracketed IPv6 address keeps its brackets.
    public var host: String
    public var port: Int
    /// The host is an IP address (canonical dotted quad or a bracketed IPv6 address).
    public var isAddress: Bool

    /// Why a text is not an endpoint, in words that never quote it.
    public struct Refusal: Error, Sendable, Equatable {
        public let why: String
    }

    public var labels: [String] { isAddress ? [host] : host.split(separator: ".").map(String.init) }
    /// `host` or `host:port`, the default port left out.
    public var hostPort: String { host + (port == Self.defaultPort(scheme) ? "" : ":\(port)") }
    /// `scheme://host[:port]`, lowercase, the default port left out.
    public var normalized: String { "\(scheme)://\(hostPort)" }

    public init(scheme: String, host: String, port: Int, isAddress: Bool) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.isAddress = isAddress
    }

    public static func defaultPort(_ scheme: String) -> Int? {
        switch scheme {
        case "https": 443
        case "http": 80
        default: nil
        }
    }

    /// `http(s)://host[:port]` with at most a trailing "/". `wildcards`: a label may hold one
    /// `*` (allow-list patterns).
    public static func parse(_ text: String, wildcards: Bool = false) throws(Refusal) -> EndpointURL {
        guard text.utf8.count <= 2048, let separator = text.firstRange(of: "://") else {
            throw Refusal(why: "not scheme://host[:port]")
        }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard let port = defaultPort(scheme) else { throw Refusal(why: "not http or https") }
        var authority = text[separator.upperBound...]
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        if authority.contains(where: { "/?#\\".contains($0) }) {
            throw Refusal(why: "a path, query or fragment after the host")
        }
        if authority.contains("@") { throw Refusal(why: "user info before the host") }
        var host = Substring(authority)
        var explicitPort: Int?
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw Refusal(why: "an unterminated IPv6 address") }
            let rest = host[host.index(after: close)...]
            host = host[...close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw Refusal(why: "text after the IPv6 address") }
                explicitPort = try parsePort(rest.dropFirst())
            }
        } else if let colon = host.lastIndex(of: ":") {
            explicitPort = try parsePort(host[host.index(after: colon)...])
            host = host[..<colon]
        }
        let name = host.lowercased()
        let endpoint = EndpointURL(
            scheme: scheme, host: name, port: explicitPort ?? port, isAddress: name.hasPrefix("["))
        if endpoint.isAddress {
            let inner = name.dropFirst().dropLast()
            guard !inner.isEmpty, inner.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw Refusal(why: "not an IPv6 address")
            }
            return endpoint
        }
        return try endpoint.checkedName(wildcards: wildcards)
    }

    private static func parsePort(_ text: Substring) throws(Refusal) -> Int {
        guard (1...5).contains(text.count), text.allSatisfy(\.isASCIIDigit), let port = Int(text),
            (1...65535).contains(port)
        else { throw Refusal(why: "not a port") }
        return port
    }

    /// A DNS name of letters, digits and inner hyphens — or a canonical dotted quad, which
    /// only a literal pattern matches. Whatever else a resolver would read as an address
    /// (a decimal, hex or octal number, a short form) is refused.
    private func checkedName(wildcards: Bool) throws(Refusal) -> EndpointURL {
        guard (1...253).contains(host.utf8.count) else { throw Refusal(why: "not a host name") }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard (1...63).contains(label.utf8.count),
                label.utf8.allSatisfy({ Self.isLowerAlnum($0) || $0 == UInt8(ascii: "-") || (wildcards && $0 == 42) })
            else { throw Refusal(why: "not a host name") }
            if wildcards && label.filter({ $0 == "*" }).count > 1 {
                throw Refusal(why: "more than one * in a label")
            }
        }
        // The URL standard reads a host whose last label is a number as an IPv4 address.
        if let last = labels.last, Self.isNumber(last) {
            guard labels.count == 4, labels.allSatisfy(Self.isCanonicalOctet) else {
                throw Refusal(why: "an IP address in another form than a.b.c.d")
            }
            var address = self
            address.isAddress = true
            return address
        }
        if wildcards, labels.suffix(2).contains(where: { $0.contains("*") }) {
            throw Refusal(why: "a * in the last two labels would allow nearly any host")
        }
        return self
    }

    private static func isNumber(_ label: Substring) -> Bool {
        let lower = label.lowercased()
        if lower.hasPrefix("0x") { return lower.dropFirst(2).allSatisfy(\.isHexDigit) }
        return lower.allSatisfy(\.isASCIIDigit)
    }

    private static func isCanonicalOctet(_ label: Substring) -> Bool {
        guard label.allSatisfy(\.isASCIIDigit), let value = Int(label), value <= 255 else { return false }
        return label == "0" || !label.hasPrefix("0")
    }

    private static func isLowerAlnum(_ c: UInt8) -> Bool { (97...122).contains(c) || (48...57).contains(c) }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
