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

    /// The `ca_bundle` of each provider zone by its normalized endpoint: a source at a zone's
    /// endpoint is trusted the way the zone is (a private CA), never by turning verification off.
    public static func zoneCABundles(_ config: GatewayConfig) -> [String: String] {
        var bundles: [String: String] = [:]
        for z in config.zones where z.kind == "s3" {
            guard let bundle = z.caBundle, let url = try? EndpointURL.parse(z.endpoint) else { continue }
            bundles[url.normalized] = bundle
        }
        return bundles
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
    /// left out), when a pattern allows it. Otherwise `.endpointNotAllowed` naming its host when
    /// it parsed as one, or naming nothing: a text that is no URL may hold a pasted secret.
    public func check(_ endpoint: String) throws(SourceError) -> String {
        guard let url = try? EndpointURL.parse(endpoint) else { throw .endpointNotAllowed("") }
        guard patterns.contains(where: { $0.matches(url) }) else { throw .endpointNotAllowed(url.host) }
        return url.normalized
    }

    static func parsePattern(_ text: String) throws(EndpointURL.Refusal) -> Pattern {
        let endpoint = try EndpointURL.parse(text, wildcards: true)
        return Pattern(scheme: endpoint.scheme, labels: endpoint.labels, port: endpoint.port)
    }
}

extension EndpointAllowList.Pattern {
    func matches(_ endpoint: EndpointURL) -> Bool {
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
