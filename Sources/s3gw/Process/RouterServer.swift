import FastCGI
import Foundation
import Gateway
import GatewayCore
import Logging
import MetadataSQLite

#if canImport(Glibc)
    import Glibc
#endif

/// `s3gw serve` of the global router (docs/ROUTER.md): one process, no workers to supervise
/// and no agent. Each request is one lookup in a small table, so the process model of the
/// gateway (workers isolating crashes, draining, reloads) buys nothing here; SIGTERM drains the
/// in-flight requests, and SIGHUP is ignored (the routing table changes through the admin API,
/// which needs no reload).
enum RouterServer {
    static func run(config: GatewayConfig, settings: RouterSettings, pidFile: String?, logger: Logger) throws -> Int32 {
        disableCoreDumps()
        blockSignals([SIGTERM, SIGHUP, SIGINT])
        signal(SIGPIPE, SIG_IGN)
        try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true)
        // The operator's own credential for the admin API: no customer's secret is ever here.
        let root = try RootCredentials.resolve(config: config, createIfMissing: true, announce: true)
        let storePath = settings.storePath(stateDir: config.stateDir)
        let store = try SQLiteRoutingStore(path: storePath)
        let router = GlobalRouter(
            store: store, settings: settings, operatorAccessKey: root.accessKey, operatorSecretKey: root.secretKey,
            baseDomains: config.baseDomains, maxClockSkew: Double(config.maxClockSkew), clock: SystemClock(),
            logger: logger)
        let fd = try bindUnixSocket(path: config.socket, mode: config.socketMode)
        if let pidFile { try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8) }
        let server = FastCGIServer(threads: config.threads, listenFD: fd)
        server.start { exchange in router.handle(params: exchange.params, body: exchange, response: exchange) }
        logger.notice("s3gw router serving on \(config.socket) (routing table \(storePath))")
        while true {
            if let s = waitForSignal([SIGTERM, SIGINT, SIGHUP], timeout: 1), s != SIGHUP { break }
        }
        server.beginDrain()
        server.settle(timeout: 30)
        unlink(config.socket)
        if let pidFile { unlink(pidFile) }
        logger.notice("s3gw router stopped")
        return 0
    }
}
