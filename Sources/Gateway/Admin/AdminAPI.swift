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
        /// The caller's own tenant, or the one `?tenant=` names (which only a default-tenant
        /// principal may): for paths without a tenant in them (`/api/…`). The handler finds it
        /// in the parameter `tenant`.
        case callerTenant
    }

    public struct Route: Sendable {
        let method: String
        /// Literal segments and `{name}` parameters.
        let pattern: [String]
        let action: String
        let scope: Scope
        /// Whether a presigned URL may call it (a download a browser follows as a link); every
        /// other route needs the Authorization header, so a URL never performs a change.
        let presigned: Bool
        let handler: Handler

        public init(
            _ method: String, _ path: String, _ action: String, _ scope: Scope, presigned: Bool = false,
            _ handler: @escaping Handler
        ) {
            self.method = method
            pattern = path.split(separator: "/").map(String.init)
            self.action = action
            self.scope = scope
            self.presigned = presigned
            self.handler = handler
        }

        /// How many segments are literal: of two routes matching a path, the one with more wins.
        var literals: Int { pattern.filter { !$0.hasPrefix("{") }.count }

        func match(_ path: [String]) -> [String: String]? { Self.match(pattern, path) }

        /// The `{name}` parameters of `path` when it has `pattern`'s shape (the router's admin
        /// routes match the same way).
        static func match(_ pattern: [String], _ path: [String]) -> [String: String]? {
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
        + placementRoutes + maintenanceRoutes + metricsRoutes + auditRoutes + metricsHistoryRoutes + oplogRoutes
        + kmsKeyRoutes

    /// Every admin permission name, for validating permission sets.
    public static var actions: Set<String> { Set(routes.map(\.action)) }

    static let table = RouteTable(routes: routes, root: "admin")

    public static func dispatch(_ r: AdminRequest, _ ctx: GatewayContext) -> AdminResponse {
        table.dispatch(r, ctx) { $0.json }
    }
}
