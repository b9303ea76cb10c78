import GatewayCore
import Logging

/// The admin API: JSON under `/admin/`, SigV4-signed by credentials with `admin:` permissions.
/// One route table; each route names its permission and whether it acts on one tenant (the
/// `{tenant}` path parameter) or on the whole gateway, and `Authorization` decides before the
/// handler runs. The CLI dispatches the same requests in-process on the gateway host.
public enum AdminAPI {
    public typealias Handler =
        @Sendable (AdminRequest, [String: String], GatewayContext) throws(AdminError)
        -> AdminResponse

    public enum Scope: Sendable {
        /// Gateway-wide: needs a default-tenant principal and the pattern `*`.
        case gateway
        /// One tenant, named by the path parameter `{tenant}`.
        case tenant
    }

    public struct Route: Sendable {
        let method: String
        /// Literal segments and `{name}` parameters.
        let pattern: [String]
        let action: String
        let scope: Scope
        let handler: Handler

        public init(_ method: String, _ path: String, _ action: String, _ scope: Scope, _ handler: @escaping Handler) {
            self.method = method
            pattern = path.split(separator: "/").map(String.init)
            self.action = action
            self.scope = scope
            self.handler = handler
        }

        /// How many segments are literal: of two routes matching a path, the one with more wins.
        var literals: Int { pattern.filter { !$0.hasPrefix("{") }.count }

        func match(_ path: [String]) -> [String: String]? {
            guard path.count == pattern.count else { return nil }
            var params: [String: String] = [:]
            for (p, s) in zip(pattern, path) {
                if p.hasPrefix("{") && p.hasSuffix("}") {
                    params[String(p.dropFirst().dropLast())] = s
                } else if p != s {
                    return nil
                }
            }
            return params
        }
    }

    /// Every route; each area adds its own list (`AdminRoutes+Tenants.swift`…).
    static let routes: [Route] =
        tenantRoutes + userRoutes + bucketRoutes + zoneRoutes + providerRoutes + replicationRoutes + processRoutes
        + placementRoutes + maintenanceRoutes

    /// Every admin permission name, for validating permission sets.
    public static var actions: Set<String> { Set(routes.map(\.action)) }

    public static func dispatch(_ r: AdminRequest, _ ctx: GatewayContext) -> AdminResponse {
        do throws(AdminError) {
            let matches = routes.compactMap { route in route.match(r.path).map { (route, $0) } }
            // A literal segment beats a parameter: `zones/sweep-uploads` is that resource, not
            // the zone `{zone}` named so (and its 405 names only its own methods).
            let literals = matches.map(\.0.literals).max() ?? 0
            let candidates = matches.filter { $0.0.literals == literals }
            guard !candidates.isEmpty else {
                throw .notFound("no admin resource /admin/\(r.path.joined(separator: "/"))")
            }
            guard let (route, params) = candidates.first(where: { $0.0.method == r.method }) else {
                // RFC 9110: a 405 names the methods the resource has.
                let allowed = Set(candidates.map(\.0.method)).sorted().joined(separator: ", ")
                let e = AdminError.methodNotAllowed
                return AdminResponse(status: e.status, body: e.json, headers: [("Allow", allowed)])
            }
            let resource: PermissionSet.Resource =
                switch route.scope {
                case .gateway: .gateway
                case .tenant: .tenant(params["tenant"] ?? "")
                }
            guard r.principal.allows(route.action, on: resource) else { throw .accessDenied }
            return try route.handler(r, params, ctx)
        } catch {
            return AdminResponse(status: error.status, body: error.json)
        }
    }
}
