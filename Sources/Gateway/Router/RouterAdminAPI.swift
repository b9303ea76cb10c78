import GatewayCore

/// The global router's admin API: its routing table under `/admin/routing/`, JSON in and out as
/// the gateway's admin API (docs/router-admin-api.yaml), SigV4-signed by the router's own
/// operator credential (the router has no users). The CLI (`s3gw routing …`) calls the same
/// routes, in-process on the router host or over HTTP.
public enum RouterAdminAPI {
    public typealias Handler =
        @Sendable (AdminRequest, [String: String], any RoutingStore) throws(AdminError) -> AdminResponse

    public struct Route: Sendable {
        public let method: String
        public let pattern: [String]
        let handler: Handler

        init(_ method: String, _ path: String, _ handler: @escaping Handler) {
            self.method = method
            pattern = path.split(separator: "/").map(String.init)
            self.handler = handler
        }

        func match(_ path: [String]) -> [String: String]? { AdminAPI.Route.match(pattern, path) }
    }

    public struct PutRegion: Codable, Sendable { public var endpoint: String }
    public struct PutTenant: Codable, Sendable { public var region: String }
    public struct PutEntry: Codable, Sendable { public var tenant: String }

    struct Items<T: Encodable>: Encodable { var items: [T] }

    public static let routes: [Route] =
        [
            Route("GET", "routing/regions") { _, _, store throws(AdminError) in
                .json(Items(items: try run { () throws(StoreError) in try store.regions() }))
            },
            Route("GET", "routing/regions/{region}") { _, p, store throws(AdminError) in
                let name = p["region"] ?? ""
                guard let r = try run({ () throws(StoreError) in try store.region(name) }) else {
                    throw .notFound("region \(name) does not exist")
                }
                return .json(r)
            },
            Route("PUT", "routing/regions/{region}") { r, p, store throws(AdminError) in
                let name = p["region"] ?? ""
                guard TenantRecord.isValidID(name) else {
                    throw .invalid("a region name is 1 to 32 lowercase letters, digits and dashes")
                }
                let body = try r.decode(PutRegion.self)
                guard RouteRegion.isValidEndpoint(body.endpoint) else {
                    throw .invalid(
                        "endpoint must be http(s)://host[:port] (port 1 to 65535), without path, query or user")
                }
                let region = RouteRegion(name: name, endpoint: body.endpoint)
                try run { () throws(StoreError) in try store.putRegion(region) }
                return .json(region)
            },
            Route("DELETE", "routing/regions/{region}") { _, p, store throws(AdminError) in
                try run { () throws(StoreError) in try store.deleteRegion(p["region"] ?? "") }
                return .noContent
            },
            Route("GET", "routing/tenants") { _, _, store throws(AdminError) in
                .json(Items(items: try run { () throws(StoreError) in try store.tenants() }))
            },
            Route("GET", "routing/tenants/{tenant}") { _, p, store throws(AdminError) in
                let id = p["tenant"] ?? ""
                guard let t = try run({ () throws(StoreError) in try store.tenant(id) }) else {
                    throw .notFound("tenant \(id) does not exist")
                }
                return .json(t)
            },
            Route("PUT", "routing/tenants/{tenant}") { r, p, store throws(AdminError) in
                let id = p["tenant"] ?? ""
                guard TenantRecord.isValidID(id) else {
                    throw .invalid("a tenant id is 1 to 32 lowercase letters, digits and dashes")
                }
                let t = RouteTenant(id: id, region: try r.decode(PutTenant.self).region)
                try run { () throws(StoreError) in try store.putTenant(t) }
                return .json(t)
            },
            Route("DELETE", "routing/tenants/{tenant}") { _, p, store throws(AdminError) in
                try run { () throws(StoreError) in try store.deleteTenant(p["tenant"] ?? "") }
                return .noContent
            },
        ] + entryRoutes(.accessKey, "access_key_id") + entryRoutes(.bucket, "bucket")

    /// GET (optionally `?tenant=`), PUT and DELETE of one kind of entry.
    static func entryRoutes(_ kind: RouteKind, _ param: String) -> [Route] {
        [
            Route("GET", "routing/\(kind.rawValue)") { r, _, store throws(AdminError) in
                let tenant = r.query["tenant"]
                return .json(Items(items: try run { () throws(StoreError) in try store.entries(kind, tenant: tenant) }))
            },
            Route("PUT", "routing/\(kind.rawValue)/{\(param)}") { r, p, store throws(AdminError) in
                let name = p[param] ?? ""
                guard isValidEntry(kind, name) else {
                    throw .invalid(
                        kind == .bucket
                            ? "a bucket is a bucket name, or tenant:bucket-name for a tenant's own bucket"
                            : "an access key id is 1 to 128 letters and digits")
                }
                let entry = RouteEntry(name: name, tenant: try r.decode(PutEntry.self).tenant)
                if kind == .bucket, let named = BucketAddress.split(name).tenant, named != entry.tenant {
                    throw .conflict("\(name) is tenant \(named)'s bucket, not tenant \(entry.tenant)'s")
                }
                // Moving a name routed to another tenant is asked for, never a side effect.
                let replace = r.query["replace"] == "true"
                try run { () throws(StoreError) in
                    try store.putEntry(kind, name: name, tenant: entry.tenant, replace: replace)
                }
                return .json(entry)
            },
            Route("DELETE", "routing/\(kind.rawValue)/{\(param)}") { _, p, store throws(AdminError) in
                try run { () throws(StoreError) in try store.deleteEntry(kind, name: p[param] ?? "") }
                return .noContent
            },
        ]
    }

    static func isValidEntry(_ kind: RouteKind, _ s: String) -> Bool {
        switch kind {
        case .accessKey:
            return (1...128).contains(s.utf8.count)
                && s.utf8.allSatisfy {
                    ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                }
        case .bucket:
            // `photos` (the default tenant's, or an explicit route) or `acme:photos`.
            let (tenant, name) = BucketAddress.split(s)
            return BucketName.isValid(name) && (tenant.map(TenantRecord.isValidID) ?? true)
        }
    }

    static func run<T>(_ body: () throws(StoreError) -> T) throws(AdminError) -> T {
        try AdminAPI.store(body)
    }

    /// The answer to `r` (path segments after `/admin/`): 404 for no such resource, 405 naming
    /// the methods a resource has.
    public static func dispatch(_ r: AdminRequest, store: any RoutingStore) -> AdminResponse {
        let matches = routes.compactMap { route in route.match(r.path).map { (route, $0) } }
        guard !matches.isEmpty else {
            return AdminResponse(
                status: 404, body: AdminError.notFound("no resource /admin/\(r.path.joined(separator: "/"))").json)
        }
        guard let (route, params) = matches.first(where: { $0.0.method == r.method }) else {
            let allowed = Set(matches.map(\.0.method)).sorted().joined(separator: ", ")
            return AdminResponse(status: 405, body: AdminError.methodNotAllowed.json, headers: [("Allow", allowed)])
        }
        do throws(AdminError) {
            return try route.handler(r, params, store)
        } catch {
            return AdminResponse(status: error.status, body: error.json)
        }
    }
}
