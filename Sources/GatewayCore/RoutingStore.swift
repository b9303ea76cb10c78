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

    /// What `kind` names, `name` → tenant; the tenant must exist (`noSuchEntity`).
    func putEntry(_ kind: RouteKind, name: String, tenant: String) throws(StoreError)
    func deleteEntry(_ kind: RouteKind, name: String) throws(StoreError)
    func entries(_ kind: RouteKind, tenant: String?) throws(StoreError) -> [RouteEntry]

    /// The region serving what `kind` names: entry → tenant → region; nil when any link is
    /// missing.
    func resolve(_ kind: RouteKind, name: String) throws(StoreError) -> RouteRegion?
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

    /// Whether `s` is an absolute http(s) URL of a host (letters, digits, `.-:[]`), without path,
    /// query or credentials.
    public static func isValidEndpoint(_ s: String) -> Bool {
        guard s.hasPrefix("https://") || s.hasPrefix("http://") else { return false }
        let host = RouteRegion(name: "", endpoint: s).host
        let afterScheme = s.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        // Host name or address and port only: the value goes into every redirect's Location.
        let allowed = host.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x3A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                || $0 == 0x2E || $0 == 0x2D || $0 == 0x5B || $0 == 0x5D
        }
        return !host.isEmpty && allowed && afterScheme.count == 3 && afterScheme[2] == Substring(host)
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
