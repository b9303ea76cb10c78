import FileSystemBackend
import Foundation
import Gateway
import GatewayCore
import Logging
import MetadataSQL
import MetadataSQLite
import Metrics
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// The master process: owns the listening socket, keeps `workers` worker processes alive,
/// replaces them on SIGHUP and drains them on SIGTERM. Explicit states, as php-fpm has.
final class Supervisor {
    enum State { case running, finishing }

    private let configPath: String
    private var config: GatewayConfig
    private let logger: Logger
    private var listenFD: Int32 = -1
    private var state = State.running
    /// Live worker pids → the config generation they run.
    private var workers: [pid_t: Int] = [:]
    private var generation = 0
    /// The agent process (background work); respawned like a worker.
    private var agent: pid_t?
    private var recentCrashes: [Double] = []
    private let drainTimeout: Double = 120
    /// How long a reload waits for the new workers to report that they serve.
    private let readyTimeout: Double = 30
    private let executable = executablePath()
    /// The supervisor's own counter file (worker restarts); nil when metrics are off.
    private var metrics: GatewayMetrics?
    private var nextFold = 0.0

    init(configPath: String, config: GatewayConfig, logger: Logger) {
        self.configPath = configPath
        self.config = config
        self.logger = logger
    }

    func run(pidFile: String?) throws -> Int32 {
        blockSignals([SIGCHLD, SIGHUP, SIGTERM, SIGINT])
        signal(SIGPIPE, SIG_IGN)
        try prepareStateDirectory()
        listenFD = try bindUnixSocket(path: config.socket, mode: config.socketMode)
        if let pidFile { try "\(getpid())\n".write(toFile: pidFile, atomically: true, encoding: .utf8) }
        removeTemporaries(ofProcess: nil)
        openMetrics()
        for _ in 0..<config.workerCount { try spawnWorker() }
        try spawnAgent()
        logger.notice(
            "s3gw serving on \(config.socket) with \(config.workerCount) workers × \(config.threads) threads")
        if config.allowSSECOverHTTP {
            logger.warning(
                "[s3] allow_sse_c_over_http = true: customer-provided encryption keys are accepted over plain HTTP (for tests only)"
            )
        }

        while true {
            let sig = waitForSignal([SIGCHLD, SIGHUP, SIGTERM, SIGINT], timeout: 1)
            switch sig {
            case SIGHUP: reload()
            case SIGTERM, SIGINT: return finish(pidFile: pidFile)
            default: break
            }
            if reap() > 0 || Date().timeIntervalSince1970 >= nextFold { foldFinishedCounters() }
        }
    }

    /// Folds the counter files of an earlier run's processes first, so the new ones start from
    /// what those counted; then this process's own file.
    private func openMetrics() {
        guard config.metrics.enabled else { return }
        foldFinishedCounters()
        metrics = GatewayMetrics.open(config, kind: "supervisor", logger: logger)
    }

    /// Folds the files of processes that ended into retired.m: after a reap, and every minute
    /// for processes that were not ours (an earlier supervisor's workers ending late).
    private func foldFinishedCounters() {
        nextFold = Date().timeIntervalSince1970 + 60
        guard config.metrics.enabled else { return }
        do {
            try GatewayMetrics.directory(stateDir: config.stateDir).foldFinished()
        } catch {
            logger.error("metrics: folding finished processes' counters failed: \(error)")
        }
    }

    /// Set to 1, a host's first start on an existing installation may replace its root key.
    static let replaceRootVariable = "S3GW_REPLACE_ROOT"

    private func prepareStateDirectory() throws {
        try FileManager.default.createDirectory(atPath: config.stateDir, withIntermediateDirectories: true)
        // This state directory's first start (no host-id yet; `pin` makes it).
        let firstStart = HostIdentity.stored(stateDir: config.stateDir, create: false) == nil
        HostSetup.pin(config)
        // A first start refused below stays a first start (the root key check).
        var prepared = false
        defer { if firstStart && !prepared { unlink(config.stateDir + "/" + HostIdentity.fileName) } }
        // Create and migrate the metadata store once, before workers race to open it.
        let store = try MetadataStores.open(config)
        // A store other hosts set up already: this host brings the installation's files and
        // creates none (InstallationFiles).
        let joining = try IdentityBootstrap.installed(store)
        let created = InstallationFiles.missing(in: config.stateDir)
        let root: RootCredentials
        let box: SecretBox
        do {
            root = try RootCredentials.resolve(config: config, createIfMissing: !joining, announce: !joining)
            let secret = try InstallationSecret.load(stateDir: config.stateDir, createIfMissing: !joining)
            box = try MasterKeys.load(stateDir: config.stateDir, createIfMissing: !joining)
            try InstallationFiles.checkInstallationSecret(secret, store: store, stateDir: config.stateDir)
            try InstallationFiles.checkMasterKey(box, store: store, stateDir: config.stateDir)
        } catch {
            if !joining { InstallationFiles.remove(created, in: config.stateDir) }
            if joining && !(error is InstallationFiles.Refusal) {
                throw InstallationFiles.refuseJoin(stateDir: config.stateDir, error)
            }
            throw error
        }
        // A host joining an installation takes its root key; one that brings another would
        // replace root for every host — only when asked to (restarting a host that served
        // before with a new key is the documented rotation, docs/HOSTS.md).
        if joining, firstStart, ProcessInfo.processInfo.environment[Self.replaceRootVariable] != "1",
            try IdentityBootstrap.wouldReplaceRoot(
                accessKey: root.accessKey, secret: root.secretKey, identities: store, metadata: store, box: box)
        {
            throw InstallationFiles.Refusal(
                description:
                    "this host joins an installation whose root key differs from the one in its environment or configuration: starting would replace root for every host. Give it the installation's root key (root-credentials, or the same S3GW_ACCESS_KEY / S3GW_SECRET_KEY or configured root keys as the other hosts), or set \(Self.replaceRootVariable)=1 to replace it on purpose (docs/HOSTS.md)"
            )
        }
        try IdentityBootstrap.ensureRoot(
            accessKey: root.accessKey, secret: root.secretKey, identities: store, metadata: store, box: box,
            now: SystemClock().now())
        // The audit digests' signing key, its public half recorded for `s3gw audit verify`.
        // A key that cannot be used is refused loudly but does not keep the gateway from
        // serving: the agent signs no digest until it is fixed.
        do {
            try AuditKeyFile.register(stateDir: config.stateDir, store: store, now: SystemClock().now())
        } catch {
            logger.error("audit digests: \(error)")
        }
        try recordAuditSwitchedOff(store)
        prepared = true
    }

    /// With the audit chain off, the chain itself records that it was, at every start and
    /// reload: a gap in what it proves is never silent. Outside any trace, so with origin
    /// `system` as the root user's bootstrap: nobody ran a command, the configuration says so.
    private func recordAuditSwitchedOff(_ store: SQLMetadataStore) throws {
        guard !config.audit.enabled else { return }
        logger.warning("[audit] enabled = false: changes are not recorded in the audit chain")
        try store.appendAudit(.auditDisabled())
    }

    private func spawnWorker() throws {
        let pid = try spawn(argv: [executable, "worker", "--config", configPath], listenFD: listenFD)
        workers[pid] = generation
        logger.info("worker \(pid) started")
    }

    private func spawnAgent() throws {
        let pid = try spawn(argv: [executable, "agent", "--config", configPath], listenFD: nil)
        agent = pid
        logger.info("agent \(pid) started")
    }

    /// Returns how many children ended.
    @discardableResult
    private func reap() -> Int {
        var ended = 0
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return ended }
            ended += 1
            if pid == agent {
                agent = nil
                removeTemporaries(ofProcess: pid)
                if state == .running {
                    logger.error("agent \(pid) ended (status \(status)); respawning")
                    usleep(200_000)
                    do { try spawnAgent() } catch { logger.error("agent respawn failed: \(error)") }
                }
                continue
            }
            guard let gen = workers.removeValue(forKey: pid) else { continue }
            let exitedCleanly = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
            removeTemporaries(ofProcess: pid)
            if state == .running && gen == generation {
                logger.error("worker \(pid) died (status \(status)); respawning")
                let now = Date().timeIntervalSince1970
                recentCrashes = recentCrashes.filter { now - $0 < 10 } + [now]
                // A crash loop is throttled rather than spinning the CPU.
                if recentCrashes.count > 10 { usleep(500_000) }
                metrics?.recorder?.count(.workerRestarts)
                do { try spawnWorker() } catch { logger.error("respawn failed: \(error)") }
            } else if !exitedCleanly {
                logger.warning("old worker \(pid) ended with status \(status)")
            }
        }
    }

    /// SIGHUP: re-read and validate; start a new generation and retire the old one only when
    /// every new worker reports that it serves. A bad configuration, a binary that does not
    /// start, or workers that die on start are reported, and the running workers keep serving.
    private func reload() {
        let next: GatewayConfig
        do {
            next = try GatewayConfig.load(path: configPath)
        } catch {
            logger.error("reload refused: \(error)")
            return
        }
        HostSetup.checkReload(next, logger: logger)
        if next.socket != config.socket {
            logger.warning("socket path changes need a restart; keeping \(config.socket)")
        }
        var adopted = next
        adopted.socket = config.socket
        let fresh: [pid_t]
        do {
            fresh = try spawnReadyWorkers(adopted.workerCount)
        } catch {
            logger.error("reload failed, the running workers keep serving: \(error)")
            return
        }
        let previous = config
        config = adopted
        if !adopted.audit.enabled && previous.audit.enabled {
            do {
                try recordAuditSwitchedOff(try MetadataStores.open(adopted))
            } catch {
                logger.error("could not record that the audit chain was switched off: \(error)")
            }
        }
        // Metrics turned on or off, or the state directory moved: this process's file follows.
        if adopted.metrics.enabled != previous.metrics.enabled || adopted.stateDir != previous.stateDir {
            metrics = nil
            openMetrics()
        }
        let old = Array(workers.keys)
        generation += 1
        for pid in fresh { workers[pid] = generation }
        for pid in old { kill(pid, SIGTERM) }
        // The agent picks the new configuration up by being replaced; reap() respawns it.
        if let a = agent { kill(a, SIGTERM) }
        logger.notice("reloaded configuration; draining \(old.count) old workers")
    }

    /// Starts `count` workers and waits until each has written its byte on the ready pipe. On
    /// any failure the ones started are stopped again (reap() ignores pids it does not track).
    private func spawnReadyWorkers(_ count: Int) throws -> [pid_t] {
        var ends: [Int32] = [0, 0]
        try systemCall("pipe") { pipe(&ends) }
        // Close-on-exec: only the dup2'd fd 3 reaches the workers, so EOF means they are gone.
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(ends[0]) }
        var started: [pid_t] = []
        do {
            defer { close(ends[1]) }
            for _ in 0..<count {
                started.append(
                    try spawn(
                        argv: [executable, "worker", "--config", configPath, "--report-ready"], listenFD: listenFD,
                        readyFD: ends[1]))
            }
        } catch {
            for pid in started { kill(pid, SIGKILL) }
            throw error
        }
        // Every writer closes its end after its byte, or by dying: EOF before `count` bytes
        // means a worker did not make it.
        let ready = readBytes(ends[0], count: count, timeout: readyTimeout)
        guard ready == count else {
            for pid in started { kill(pid, SIGKILL) }
            throw ReloadError(ready: ready, expected: count, timeout: readyTimeout)
        }
        return started
    }

    struct ReloadError: Error, CustomStringConvertible {
        let ready: Int
        let expected: Int
        let timeout: Double
        var description: String {
            "only \(ready) of \(expected) new workers started serving within \(Int(timeout))s (see their log lines)"
        }
    }

    private func finish(pidFile: String?) -> Int32 {
        state = .finishing
        logger.notice("stopping: draining \(workers.count) workers")
        for pid in workers.keys { kill(pid, SIGTERM) }
        if let a = agent { kill(a, SIGTERM) }
        let deadline = Date().timeIntervalSince1970 + drainTimeout
        while (!workers.isEmpty || agent != nil) && Date().timeIntervalSince1970 < deadline {
            _ = waitForSignal([SIGCHLD], timeout: 0.2)
            reap()
        }
        for pid in workers.keys { kill(pid, SIGKILL) }
        if let a = agent { kill(a, SIGKILL) }
        reap()
        unlink(config.socket)
        metrics = nil  // its file is finished now: folded with the workers'
        foldFinishedCounters()
        if let pidFile { unlink(pidFile) }
        logger.notice("stopped")
        return 0
    }

    private func removeTemporaries(ofProcess pid: pid_t?) {
        for z in config.zones where z.kind == "filesystem" {
            if let zone = try? FileSystemZone(name: z.name, root: z.path) { zone.removeTemporaries(ofProcess: pid) }
        }
    }
}
