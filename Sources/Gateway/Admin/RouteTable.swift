import GatewayCore

/// A table of JSON routes and how a request finds its own: the admin API (`/admin/`) and the web
/// API (`/api/`) each have one. A literal segment beats a parameter, a path without the method
/// asked is 405 naming the methods it has, and the route's permission is checked before its
/// handler runs.
struct RouteTable: Sendable {
    let routes: [AdminAPI.Route]
    /// The path's first segment, for messages: "admin", "api".
    let root: String

    /// The routes of the path with the most literal segments: `zones/sweep-uploads` is that
    /// resource, not the zone `{zone}` named so (and its 405 names only its own methods).
    func candidates(_ path: [String]) -> [(route: AdminAPI.Route, params: [String: String])] {
        let matches = routes.compactMap { route in route.match(path).map { (route: route, params: $0) } }
        let literals = matches.map(\.route.literals).max() ?? 0
        return matches.filter { $0.route.literals == literals }
    }

    /// The route answering `method` on `path`, if any.
    func route(_ method: String, _ path: [String]) -> AdminAPI.Route? {
        candidates(path).first { $0.route.method == method }?.route
    }

    /// The answer to `r`; errors are rendered by `errorBody`, each API in its own shape.
    func dispatch(_ r: AdminRequest, _ ctx: GatewayContext, errorBody: (AdminError) -> [UInt8]) -> AdminResponse {
        do throws(AdminError) {
            let candidates = candidates(r.path)
            guard !candidates.isEmpty else {
                throw .notFound("no resource /\(root)/\(r.path.joined(separator: "/"))")
            }
            guard var (route, params) = candidates.first(where: { $0.route.method == r.method }) else {
                // RFC 9110: a 405 names the methods the resource has.
                let allowed = Set(candidates.map(\.route.method)).sorted().joined(separator: ", ")
                let e = AdminError.methodNotAllowed
                RequestTrace.current?.errorCode = e.code
                return AdminResponse(status: e.status, body: errorBody(e), headers: [("Allow", allowed)])
            }
            let resource: PermissionSet.Resource
            switch route.scope {
            case .gateway:
                resource = .gateway
            case .tenant:
                resource = .tenant(params["tenant"] ?? "")
            case .callerTenant:
                let tenant = r.query["tenant"] ?? r.principal.tenant
                guard TenantRecord.isValidID(tenant) else { throw .invalid("tenant is not a valid tenant id") }
                params["tenant"] = tenant
                resource = .tenant(tenant)
            }
            guard r.principal.allows(route.action, on: resource) else { throw .accessDenied }
            return try route.handler(r, params, ctx)
        } catch {
            RequestTrace.current?.errorCode = error.code
            return AdminResponse(status: error.status, body: errorBody(error))
        }
    }
}
