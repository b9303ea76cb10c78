import GatewayCore

/// Which S3 endpoints discovery and migration may connect to (`[discovery] endpoints`). The
/// endpoint is typed by whoever starts a job, so without this list the gateway would send
/// requests anywhere a caller names, internal addresses included (server-side request forgery).
///
/// A pattern is `scheme://host[:port]`. A `*` stands for the characters of exactly one DNS label
/// (`https://s3.*.amazonaws.com`, `https://s3-*.amazonaws.com`), never a dot, and not in the last
/// two labels. Matching is on scheme, host and port (443 and 80 are implied), case-insensitive.
/// Endpoints with user info, a path, a query or a fragment are refused, and so are IP addresses
/// unless a pattern lists the same address literally: `http://2130706433`, `http://0x7f.1` or
/// `http://127.1` never pass for `127.0.0.1`.
public struct EndpointAllowList: Sendable, Equatable {
    /// AWS S3: the global endpoint and the regional ones in both spellings.
    public static let awsPatterns = [
        "https://s3.amazonaws.com", "https://s3.*.amazonaws.com", "https://s3-*.amazonaws.com",
    ]

    struct Pattern: Sendable, Equatable {
        var scheme: String
        /// Lowercased labels; a label may hold one `*`. An IP literal is one label.
        var labels: [String]
        var port: Int
    }

    let patterns: [Pattern]
    /// The patterns as configured, for `s3gw config check` and the docs.
    public let sources: [String]

    /// Patterns that do not parse are dropped (they would match nothing); configuration
    /// checks them with `problem(with:)` first.
    public init(patterns: [String]) {
        sources = patterns
        self.patterns = patterns.compactMap { try? Self.parsePattern($0) }
    }

    /// The configured list, or by default AWS S3 plus every provider zone's endpoint.
    public init(config: GatewayConfig) {
        self.init(
            patterns: config.discoveryEndpoints
                ?? Self.awsPatterns + config.zones.filter { $0.kind == "s3" }.map(\.endpoint))
    }

    /// Why `pattern` is not a usable pattern; nil when it is.
    public static func problem(with pattern: String) -> String? {
        do {
            _ = try parsePattern(pattern)
            return nil
        } catch {
            return error.why
        }
    }

    /// The endpoint, normalized (`https://host` or `http://host:port`, lowercase, default ports
    /// left out), when a pattern allows it; `.endpointNotAllowed` naming its host only otherwise.
    public func check(_ endpoint: String) throws(SourceError) -> String {
        let url: Endpoint
        do {
            url = try Endpoint.parse(endpoint)
        } catch {
            throw .endpointNotAllowed(Self.displayHost(endpoint))
        }
        guard patterns.contains(where: { $0.matches(url) }) else { throw .endpointNotAllowed(url.host) }
        return url.normalized
    }

    // MARK: parsing

    struct Refusal: Error {
        let why: String
    }

    /// An endpoint URL taken apart: nothing but scheme, host and port.
    struct Endpoint {
        var scheme: String
        var host: String
        var port: Int
        /// The host is an IP address (canonical dotted quad or a bracketed IPv6 address).
        var isAddress: Bool

        var labels: [String] { isAddress ? [host] : host.split(separator: ".").map(String.init) }
        var normalized: String {
            "\(scheme)://\(host)" + (port == EndpointAllowList.defaultPort(scheme) ? "" : ":\(port)")
        }

        static func parse(_ text: String, wildcards: Bool = false) throws(Refusal) -> Endpoint {
            guard text.utf8.count <= 2048, let separator = text.range(of: "://") else {
                throw Refusal(why: "not scheme://host[:port]")
            }
            let scheme = text[..<separator.lowerBound].lowercased()
            guard let port = EndpointAllowList.defaultPort(scheme) else { throw Refusal(why: "not http or https") }
            var authority = text[separator.upperBound...]
            if authority.hasSuffix("/") { authority = authority.dropLast() }
            if authority.contains(where: { "/?#".contains($0) }) {
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
            let endpoint = Endpoint(
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
        private func checkedName(wildcards: Bool) throws(Refusal) -> Endpoint {
            guard (1...253).contains(host.utf8.count) else { throw Refusal(why: "not a host name") }
            let labels = host.split(separator: ".", omittingEmptySubsequences: false)
            for label in labels {
                guard (1...63).contains(label.utf8.count),
                    label.utf8.allSatisfy({ isLowerAlnum($0) || $0 == UInt8(ascii: "-") || (wildcards && $0 == 42) })
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
    }

    static func parsePattern(_ text: String) throws(Refusal) -> Pattern {
        let endpoint = try Endpoint.parse(text, wildcards: true)
        return Pattern(scheme: endpoint.scheme, labels: endpoint.labels, port: endpoint.port)
    }

    static func defaultPort(_ scheme: String) -> Int? {
        switch scheme {
        case "https": 443
        case "http": 80
        default: nil
        }
    }

    /// The host of a refused endpoint as a message may show it: no user info, path or query.
    static func displayHost(_ endpoint: String) -> String {
        var rest = Substring(endpoint)
        if let separator = rest.range(of: "://") { rest = rest[separator.upperBound...] }
        if let end = rest.firstIndex(where: { "/?#\\".contains($0) }) { rest = rest[..<end] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") { rest = rest[..<colon] }
        let host = String(rest.prefix(253).filter { $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 32 })
        return host.isEmpty ? "(no host)" : host
    }
}

extension EndpointAllowList.Pattern {
    func matches(_ endpoint: EndpointAllowList.Endpoint) -> Bool {
        guard scheme == endpoint.scheme, port == endpoint.port else { return false }
        let hostLabels = endpoint.labels
        guard hostLabels.count == labels.count else { return false }
        // An address matches only its own literal: a wildcard never reaches one.
        if endpoint.isAddress { return labels == hostLabels }
        return zip(labels, hostLabels).allSatisfy { pattern, label in
            guard let star = pattern.firstIndex(of: "*") else { return pattern == label }
            let prefix = pattern[..<star]
            let suffix = pattern[pattern.index(after: star)...]
            return label.count > prefix.count + suffix.count && label.hasPrefix(prefix) && label.hasSuffix(suffix)
        }
    }
}

private func isLowerAlnum(_ c: UInt8) -> Bool { (97...122).contains(c) || (48...57).contains(c) }

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
