import FastCGI
import FileSystemBackend
import Foundation
import Gateway
import GatewayCore
import Logging
import MetadataSQL
import MetadataSQLite
import S3Backend
import SigV4
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A worker process: the listening socket is fd 0; K threads accept and serve; SIGTERM drains.
enum Worker {
    /// The fd on which a worker spawned by a reload reports that it serves: one byte, then close.
    /// The supervisor retires the old workers only once every new one has said so.
    static let readyFD: Int32 = 3

    static func run(configPath: String, logger: Logger, reportReady: Bool) throws -> Int32 {
        var (config, context) = try start(configPath: configPath, logger: logger, metricsKind: "worker")
        let oplog = OplogWriter.started(
            config.oplog, stateDir: config.stateDir, logger: logger, metrics: context.metrics?.recorder)
        if let oplog { context.observers.append(oplog) }
        let gateway = S3Gateway(context: context)
        let server = FastCGIServer(threads: config.threads)
        let served = Atomic<Int>(0)
        server.start { exchange in
            gateway.handle(params: exchange.params, body: exchange, response: exchange)
            served.add(1, ordering: .relaxed)
        }
        let heartbeat = HeartbeatWriter(role: .worker, metadata: context.metadata, clock: context.clock) {
            HeartbeatWriter.Snapshot(
                served: served.load(ordering: .relaxed), inFlight: server.inFlight.load(ordering: .relaxed))
        }
        heartbeat.start()
        defer { heartbeat.stop() }
        // Counts of authentication failures left out are recorded once their minute is over,
        // and whatever is left at shutdown.
        let auditFailures = context.observers.compactMap { $0 as? AuditFailureObserver }.first
        let clock = context.clock
        auditFailures?.startFlushing { clock.now() }
        defer { auditFailures?.close(now: clock.now()) }
        if reportReady {
            var one: UInt8 = 1
            _ = write(readyFD, &one, 1)
            close(readyFD)
        }
        while true {
            if let s = waitForSignal([SIGTERM, SIGINT, SIGHUP], timeout: 1), s != SIGHUP { break }
            // The supervisor died (we were re-parented): nothing else would ever stop us.
            if getppid() == 1 { break }
        }
        server.beginDrain()
        // Migrations this worker runs stop (a rerun resumes them) rather than die mid-object.
        context.migration.runs.stopAll(timeout: 10)
        // In-flight requests finish; then the process ends (accept threads die with it).
        server.settle()
        // Every answered request's record reaches the file before the process ends.
        oplog?.stop()
        // Discoveries this worker runs get a bounded while to finish, then are interrupted
        // (keeping what they listed): a stop or reload never hangs on one.
        context.discovery?.drain(timeout: context.discovery?.settings.drainTimeout ?? 0)
        return 0
    }

    /// What every spawned process (worker, agent) does first: no core dumps (secrets live in its
    /// memory), take SIGTERM/SIGHUP/SIGINT for sigwait only (before any thread exists, so all
    /// threads inherit the mask), ignore SIGPIPE, set up libcurl once, and build the gateway
    /// context from the configuration.
    /// `metricsKind` names the process's counter file (worker, agent).
    static func start(configPath: String, logger: Logger, metricsKind: String) throws -> (GatewayConfig, GatewayContext)
    {
        disableCoreDumps()
        CryptoLibrary.initializeForProcess()
        blockSignals([SIGTERM, SIGHUP, SIGINT])
        signal(SIGPIPE, SIG_IGN)
        let config = try GatewayConfig.load(path: configPath)
        CurlGlobal.initialize()
        return (
            config, try makeContext(config: config, configPath: configPath, logger: logger, metricsKind: metricsKind)
        )
    }

    /// `serving` false: an admin command's context on the gateway host (the master key must
    /// exist already: only `serve` creates it, with the owner the gateway runs as). `configPath` is the file the admin
    /// API's providers import rewrites.
    /// `metricsKind`: the process counts into a counter file of its own (nil: a CLI command,
    /// which counts nothing and only reads the files, for `s3gw metrics`).
    static func makeContext(
        config: GatewayConfig, configPath: String? = nil, logger: Logger, serving: Bool = true,
        metricsKind: String? = nil
    ) throws -> GatewayContext {
        HostSetup.adopt(config)
        let secret = try InstallationSecret.load(stateDir: config.stateDir, createIfMissing: false)
        let metadata = try MetadataStores.open(config, audits: config.audit.enabled)
        let stateDir = config.stateDir
        let identities = Identities(
            store: metadata, secretBox: try MasterKeys.load(stateDir: stateDir, createIfMissing: false),
            clock: SystemClock(),
            reloadKeys: { try? MasterKeys.load(stateDir: stateDir, createIfMissing: false) })
        let zones = try makeZones(config)
        let catalog = ZoneCatalog(config: config)
        let discovery = DiscoveryJobs(
            store: metadata, files: SnapshotFiles(stateDir: config.stateDir),
            connector: sourceConnector(config), settings: config.discovery, clock: SystemClock(), logger: logger)
        var context = GatewayContext(
            metadata: metadata, zones: zones, catalog: catalog, identities: identities,
            maxClockSkew: Double(config.maxClockSkew),
            clock: metricsKind == "agent"
                ? OffsetClock.fromEnvironment(
                    base: SystemClock(), configured: config.testClockOffsetFile, logger: logger) : SystemClock(),
            installationSecret: secret, logger: logger, baseDomains: config.baseDomains,
            replication: config.replication, sts: config.sts,
            admin: AdminSettings(configPath: configPath, multipartExpiry: Double(config.multipartExpiry)),
            discovery: discovery, metrics: GatewayMetrics.open(config, kind: metricsKind, logger: logger),
            signingHosts: config.signingHosts)
        if metricsKind == "worker", let recorder = context.metrics?.recorder {
            context.observers.append(MetricsObserver(recorder: recorder))
        }
        context.migration = MigrationEnvironment(config: config)
        if serving {
            // Authentication failures join the audit chain (changes are recorded by the store).
            context.observers.append(
                AuditFailureObserver(store: metadata, perMinute: config.audit.authFailuresPerMinute, logger: logger))
        }
        context.oplog = config.oplog
        context.accessDefaults = config.accessDefaults
        context.allowSSECOverHTTP = config.allowSSECOverHTTP
        context.accelRedirect = config.accelRedirect
        context.accelMinSize = config.accelMinSize
        LaneMD5.useLanes(config.md5Lanes)
        context.migration.connector = sourceConnector(config)
        return context
    }

    /// Source accounts for discovery and migration: the endpoint, and every regional endpoint
    /// a client derives, must be on the allow-list before any connection is made; a provider
    /// zone's endpoint is trusted with the zone's CA bundle.
    static func sourceConnector(_ config: GatewayConfig) -> SourceConnector {
        S3SourceClient.connector(
            check: EndpointAllowList(config: config).check, caBundles: EndpointAllowList.zoneCABundles(config))
    }
}

extension Worker {
    /// One StorageZone per configured zone.
    static func makeZones(_ config: GatewayConfig) throws -> [String: any StorageZone] {
        var zones: [String: any StorageZone] = [:]
        for z in config.zones {
            switch z.kind {
            case "s3":
                zones[z.name] = try S3Zone(
                    S3Zone.Config(
                        name: z.name, endpoint: z.endpoint, region: z.signingRegion, accessKey: z.accessKey,
                        secretKey: z.secretKey, pathStyle: z.pathStyle, verifyTLS: z.verifyTLS, caBundle: z.caBundle,
                        storageClass: z.storageClass, payloadSigning: z.payloadSigning,
                        timeouts: ZoneTimeouts(
                            connect: Double(z.connectTimeout), response: Double(z.responseTimeout),
                            stall: Double(z.stallTimeout), assembly: Double(z.completeTimeout))))
            default:
                zones[z.name] = try FileSystemZone(name: z.name, root: z.path, directWriteMinSize: z.directWriteMinSize)
            }
        }
        return zones
    }
}
