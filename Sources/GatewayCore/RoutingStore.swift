/// The global router's table (docs/ROUTER.md): which region serves which tenant, and which
/// tenant an access key id or a bucket name belongs to. Routing data only: no secret, no
/// object, nothing a customer stored; the regional gateways hold all of that.
public protocol RoutingStore: Sendable {
    func putRegion(_ r: RouteRegion) throws(StoreError)
    func region(_ name: String) throws(StoreError) -> RouteRegion?
    func regions() throws(StoreError) -> [RouteRegion]
    /// Refused (`entityInUse`) while a tenant is routed there.
    func deleteRegion(_ name: String) throws(StoreError)

    /// The region must exist (`noSuchEntity`).
    func putTenant(_ t: RouteTenant) throws(StoreError)
    func tenant(_ id: String) throws(StoreError) -> RouteTenant?
    func tenants() throws(StoreError) -> [RouteTenant]
    /// Removes the tenant's access keys and buckets with it.
    func deleteTenant(_ id: String) throws(StoreError)

    /// What `kind` names, `name` → tenant; the tenant must exist (`noSuchEntity`). A name routed
    /// to another tenant is refused (`entityInUse`) unless `replace`: a bucket name is not
    /// taken over silently.
    func putEntry(_ kind: RouteKind, name: String, tenant: String, replace: Bool) throws(StoreError)
    func deleteEntry(_ kind: RouteKind, name: String) throws(StoreError)
    func entries(_ kind: RouteKind, tenant: String?) throws(StoreError) -> [RouteEntry]

    /// The tenant and region serving what `kind` names: entry → tenant → region; nil when any
    /// link is missing.
    func resolve(_ kind: RouteKind, name: String) throws(StoreError) -> ResolvedRoute?
}

/// Where a routing entry leads: its tenant, and that tenant's region.
public struct ResolvedRoute: Sendable, Equatable {
    public var tenant: String
    public var region: RouteRegion

    public init(tenant: String, region: RouteRegion) {
        self.tenant = tenant
        self.region = region
    }
}

/// A regional gateway: its name (`fi`) and the base URL clients are sent to.
public struct RouteRegion: Sendable, Equatable, Codable {
    public var name: String
    /// `https://fi.s3.example[:port]`: scheme, host and port, no path.
    public var endpoint: String

    public init(name: String, endpoint: String) {
        self.name = name
        self.endpoint = endpoint
    }

    /// `host[:port]` of the endpoint, as S3's `<Endpoint>` names it.
    public var host: String {
        let parts = endpoint.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false)
        // "https:", "", "host:port"[, path]
        return parts.count >= 3 && parts[0].hasSuffix(":") && parts[1].isEmpty ? String(parts[2]) : ""
    }

    /// Whether `s` is an absolute http(s) URL of a host — a DNS name, an IPv4 address or a
    /// bracketed IPv6 address — with an optional port 1…65535, and nothing else (no path, query
    /// or credentials): the value goes into every redirect's Location.
    public static func isValidEndpoint(_ s: String) -> Bool {
        guard s.hasPrefix("https://") || s.hasPrefix("http://") else { return false }
        let authority = String(s.dropFirst(s.hasPrefix("https://") ? 8 : 7))
        guard let (host, port) = splitAuthority(authority) else { return false }
        if let port {
            guard !port.isEmpty, port.utf8.count <= 5, port.first != "0",
                port.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let n = Int(port), (1...65535).contains(n)
            else { return false }
        }
        if host.hasPrefix("[") {
            // An IPv6 address: hex digits, colons and dots (an embedded IPv4) between brackets.
            let inner = host.dropFirst().dropLast()
            guard host.hasSuffix("]"), inner.contains(":") else { return false }
            return inner.utf8.allSatisfy(isIPv6Byte)
        }
        // A DNS name (an IPv4 address is one too): dot-separated labels of letters, digits and
        // inner dashes.
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy(isDNSLabel)
    }

    static func isIPv6Byte(_ b: UInt8) -> Bool {
        let digit = b >= 0x30 && b <= 0x39
        let hex = (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
        return digit || hex || b == 0x3A || b == 0x2E
    }

    static func isDNSLabel(_ label: Substring) -> Bool {
        guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
        return label.utf8.allSatisfy { b in
            let digit = b >= 0x30 && b <= 0x39
            let letter = (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
            return digit || letter || b == 0x2D
        }
    }

    /// `host` and the port after it (nil without a `:`), an IPv6 host keeping its brackets;
    /// nil when the authority is not `host[:port]`.
    static func splitAuthority(_ authority: String) -> (host: String, port: String?)? {
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[...close])
            let rest = authority[authority.index(after: close)...]
            if rest.isEmpty { return (host, nil) }
            guard rest.first == ":" else { return nil }
            return (host, String(rest.dropFirst()))
        }
        let parts = authority.split(separator: ":", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return (authority, nil)
        case 2: return (String(parts[0]), String(parts[1]))
        default: return nil
        }
    }

    /// Whether the endpoint's host is an IP address (IPv4 or IPv6), which cannot carry a
    /// virtual-hosted bucket label in front of it.
    public var hostIsIPAddress: Bool {
        guard let (host, _) = Self.splitAuthority(host) else { return false }
        if host.hasPrefix("[") { return true }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count == 4 && labels.allSatisfy { UInt8($0) != nil }
    }
}

public struct RouteTenant: Sendable, Equatable, Codable {
    public var id: String
    public var region: String

    public init(id: String, region: String) {
        self.id = id
        self.region = region
    }
}

/// What a routing entry is keyed by.
public enum RouteKind: String, Sendable, CaseIterable {
    /// An access key id (permanent or an STS session's): signed and presigned requests.
    case accessKey = "access-keys"
    /// A bucket name: anonymous requests (public objects, browser POST forms).
    case bucket = "buckets"
}

public struct RouteEntry: Sendable, Equatable, Codable {
    public var name: String
    public var tenant: String

    public init(name: String, tenant: String) {
        self.name = name
        self.tenant = tenant
    }
}
