import Foundation
import Gateway
import GatewayCore
import MetadataSQLite

/// Admin calls on the router host (`-c` a configuration with `[router]`): dispatched in-process
/// against the routing table's file, as `LocalAdminTransport` does for a gateway's state.
struct LocalRouterTransport: AdminTransport {
    let store: any RoutingStore

    /// The transport for `config` when it configures a router; nil for a gateway's.
    static func forRouter(config: GatewayConfig) throws(AdminFailure) -> LocalRouterTransport? {
        guard let settings = config.router else { return nil }
        let path = settings.storePath(stateDir: config.stateDir)
        guard FileManager.default.fileExists(atPath: path) else {
            throw AdminFailure(
                code: "RouterStateUnavailable", message: "no routing table at \(path) (has `s3gw serve` run there?)")
        }
        do {
            return LocalRouterTransport(store: try SQLiteRoutingStore(path: path))
        } catch {
            throw AdminFailure(code: "RouterStateUnavailable", message: "cannot open \(path): \(error)")
        }
    }

    func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
        let answer = RouterAdminAPI.dispatch(
            AdminRequest(
                method: call.method, path: call.path, query: call.query, body: call.body,
                principal: GlobalRouter.operatorPrincipal(""), now: Date().timeIntervalSince1970),
            store: store)
        return AdminReply(status: answer.status, body: answer.body)
    }
}
