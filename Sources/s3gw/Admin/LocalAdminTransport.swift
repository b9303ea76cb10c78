import Foundation
import Gateway
import GatewayCore
import Logging
import S3Backend

/// Admin calls on the gateway host, dispatched in-process against the configuration's metadata
/// store and zones: the operator who can read the configuration and the state directory is
/// trusted as `sqlite3` on the database file would be, so no credentials are asked for.
struct LocalAdminTransport: AdminTransport {
    let configPath: String
    let logger: Logger
    /// The gateway's state, or why it cannot be opened (before its first start there is none).
    let context: Result<GatewayContext, AdminFailure>

    /// `config`: the file at `configPath`, read once by the caller.
    init(config: GatewayConfig, configPath: String) throws(AdminFailure) {
        CurlGlobal.initializeOnce()
        self.configPath = configPath
        // The CLI's own diagnostics are its stderr lines; the gateway's debug chatter is not.
        var logger = Logger(label: "s3gw.admin")
        logger.logLevel = .warning
        self.logger = logger
        do {
            context = .success(
                try Worker.makeContext(config: config, configPath: configPath, logger: logger, serving: false))
        } catch {
            context = .failure(
                AdminFailure(
                    code: "GatewayStateUnavailable",
                    message:
                        "cannot open the gateway's state in \(config.stateDir) (has `s3gw serve` run there?): \(error)"
                ))
        }
    }

    /// The default tenant's root user with root permissions: what the operator on the host may
    /// do anyway. The stored root user lends its canonical id (owner of what the operator
    /// creates); before any bootstrap a stand-in with a fresh id does.
    static func operatorPrincipal(_ ctx: GatewayContext?) -> Principal {
        let stored = try? ctx?.identities.store.user(
            tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser)
        var user =
            stored
            ?? UserRecord(
                tenant: TenantRecord.defaultID, name: IdentityBootstrap.rootUser, id: CanonicalID.make(),
                permissions: IdentityBootstrap.rootPermissions, createdAt: Date().timeIntervalSince1970)
        user.permissions = IdentityBootstrap.rootPermissions
        return Principal(tenant: TenantRecord.defaultID, user: user, accessKey: "")
    }

    /// Runs the call as the CLI's own trace: the changes it makes are audited as origin `cli`.
    func send(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
        let trace = RequestTrace(requestId: RandomID.make(), origin: .cli, started: Date().timeIntervalSince1970)
        trace.operation =
            call.method + " /" + (call.api == .web ? "api" : "admin") + "/" + call.path.joined(separator: "/")
        trace.tenant = TenantRecord.defaultID
        // No access key signs a local call: the audit chain names the host user who ran it.
        trace.accessKey = "uid:\(getuid())"
        return try trace.run { () throws(AdminFailure) -> AdminReply in try sendTraced(call) }
    }

    private func sendTraced(_ call: AdminCall) throws(AdminFailure) -> AdminReply {
        func request(_ ctx: GatewayContext?) -> AdminRequest {
            AdminRequest(
                method: call.method, path: call.path, query: call.query, body: call.body,
                principal: Self.operatorPrincipal(ctx), now: Date().timeIntervalSince1970)
        }
        let answer: AdminResponse
        switch context {
        case .success(let ctx) where call.api == .web:
            answer = WebAPI.dispatch(request(ctx), ctx)
            if let file = answer.file {
                // A JSON document streamed over HTTP (a snapshot's summary) is read as the remote
                // transport reads an answer: whole, bounded. Anything else is for `download`.
                guard !file.gzip else {
                    throw AdminFailure(code: "InvalidCall", message: "this call answers a file: download it")
                }
                let collected = CollectingSink(limit: 64 << 20)
                try stream(file, into: collected)
                return AdminReply(status: answer.status, body: collected.bytes)
            }
        case .success(let ctx):
            answer = AdminAPI.dispatch(request(ctx), ctx)
        case .failure(let failure):
            // Provider zones can be imported into a configuration no gateway has run on yet.
            guard call.method == "POST" && call.path == ["providers", "import"] else { throw failure }
            do throws(AdminError) {
                answer = try AdminAPI.importProviders(request(nil), configPath: configPath, logger: logger)
            } catch {
                answer = AdminResponse(status: error.status, body: error.json)
            }
        }
        return AdminReply(status: answer.status, body: answer.body)
    }

    func download(_ call: AdminCall, into sink: any ByteSink) throws(AdminFailure) -> AdminReply {
        guard case .success(let ctx) = context, call.api == .web else {
            let reply = try send(call)
            return reply
        }
        let answer = WebAPI.dispatch(
            AdminRequest(
                method: call.method, path: call.path, query: call.query, body: call.body,
                principal: Self.operatorPrincipal(ctx), now: Date().timeIntervalSince1970), ctx)
        guard let file = answer.file else { return AdminReply(status: answer.status, body: answer.body) }
        try stream(file, into: sink)
        return AdminReply(status: answer.status, body: [])
    }

    /// A file answer as the HTTP transport would stream it.
    private func stream(_ file: AdminResponse.FileBody, into sink: any ByteSink) throws(AdminFailure) {
        guard let source = FileSource(path: file.path) else {
            throw AdminFailure(code: "NotFound", message: "the snapshot is gone")
        }
        do {
            try source.copy(into: sink, gzip: file.gzip)
        } catch let failure as AdminFailure {
            throw failure
        } catch {
            throw AdminFailure(code: "WriteFailed", message: "\(error)")
        }
    }
}

/// An answer gathered in memory, refused past `limit` bytes.
private final class CollectingSink: ByteSink {
    let limit: Int
    private(set) var bytes: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        guard bytes.count + chunk.count <= limit else {
            throw AdminFailure(code: "InvalidAnswer", message: "the answer is longer than \(limit) bytes")
        }
        bytes.append(contentsOf: chunk)
    }
}
