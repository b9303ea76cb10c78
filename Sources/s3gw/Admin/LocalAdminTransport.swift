import Foundation
import Gateway
import GatewayCore
import Logging
import S3Backend

/// Admin calls on the gateway host, dispatched in-process against the configuration's metadata
/// store: the operator who can read the configuration and the state directory is trusted as
/// `sqlite3` on the database file would be, so no credentials are asked for.
struct LocalAdminTransport: AdminTransport {
    let context: GatewayContext
    let principal: Principal

    init(configPath: String) throws(AdminFailure) {
        let config: GatewayConfig
        do {
            config = try GatewayConfig.load(path: configPath)
        } catch {
            throw AdminFailure(code: "InvalidConfiguration", message: "\(error)")
        }
        CurlGlobal.initializeOnce()
        // The CLI's own diagnostics are its stderr lines; the gateway's debug chatter is not.
        var logger = Logger(label: "s3gw.admin")
        logger.logLevel = .warning
        do {
            context = try Worker.makeContext(config: config, logger: logger, serving: false)
        } catch {
            throw AdminFailure(
                code: "GatewayStateUnavailable",
                message: "cannot open the gateway's state in \(config.stateDir) (has `s3gw serve` run there?): \(error)"
            )
        }
        principal = Self.operatorPrincipal(context)
    }

    /// The default tenant's root user with root permissions: what the operator on the host may
    /// do anyway. The stored root user lends its canonical id (owner of what the operator
    /// creates); before any bootstrap a stand-in with a fresh id does.
    static func operatorPrincipal(_ ctx: GatewayContext) -> Principal {
        let stored = try? (ctx.metadata as? any IdentityStore)?.user(
            tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser)
        var user =
            stored
            ?? UserRecord(
                tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser, id: CanonicalID.make(),
                permissions: IdentityBootstrap.rootPermissions, createdAt: Date().timeIntervalSince1970)
        user.permissions = IdentityBootstrap.rootPermissions
        return Principal(tenant: TenantRecord.defaultID, user: user, accessKey: "")
    }

    func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
        let answer = AdminAPI.dispatch(
            AdminRequest(
                method: call.method, path: call.path, query: call.query, body: call.body, principal: principal,
                now: Date().timeIntervalSince1970),
            context)
        return AdminReply(status: answer.status, body: answer.body)
    }
}
