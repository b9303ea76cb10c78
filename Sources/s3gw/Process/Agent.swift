import Foundation
import Gateway
import GatewayCore
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The agent process: background work off the request path — zone health checks (with
/// failover after them), replication, scrub and repair, the expiry of abandoned multipart
/// uploads, and the removal of expired sessions.
enum Agent {
    static func run(configPath: String, logger: Logger) throws -> Int32 {
        let (config, context) = try Worker.start(configPath: configPath, logger: logger, metricsKind: "agent")
        logger.info(
            "agent started: multipart uploads expire after \(config.multipartExpiry)s, checked every \(config.cleanupInterval)s"
        )
        warnAboutShadowedBuckets(context, logger: logger)
        let activity = Activity(clock: context.clock)
        let heartbeat = HeartbeatWriter(role: .agent, metadata: context.metadata, clock: context.clock) {
            HeartbeatWriter.Snapshot(tasks: activity.current)
        }
        heartbeat.start()
        defer { heartbeat.stop() }
        let stopping = Atomic<Bool>(false)
        let busy = Atomic<Int>(0)
        let host = HostIdentity.current
        HostIdCheck.start(context, logger: logger) { stopping.load(ordering: .relaxed) }
        // The agents of every host share the store: what only one of them may do at a time is
        // done under a lease (docs/HOSTS.md); replication jobs carry leases of their own.
        let leaseOwner = "\(host):\(getpid())"
        let leases = Leases(config: config, owner: leaseOwner)
        let zoneLimit = RateLimiter(bytesPerSecond: config.replication.zoneRate, clock: context.clock)
        let tenantLimit = RateLimiter(bytesPerSecond: config.replication.tenantRate, clock: context.clock)
        for i in 0..<config.replication.workers {
            let replicator = Replicator(
                context: context, owner: "\(host):\(getpid()):\(i)", zoneLimit: zoneLimit, tenantLimit: tenantLimit)
            let t = Thread {
                while !stopping.load(ordering: .relaxed) {
                    busy.add(1, ordering: .relaxed)
                    let ran = agentStep("Replicate") { replicator.runOne() }
                    busy.subtract(1, ordering: .relaxed)
                    if !ran { usleep(250_000) }  // nothing due: look again soon
                }
            }
            t.name = "replicator-\(i)"
            t.start()
        }
        // Scrub and repair passes: one thread, paced by [replication] scrub_per_hour. A slice cut
        // short by exit is repeated from the cursor it last recorded.
        let scrubber = Scrubber(context: context)
        // The threads that work under a lease of their own; exit releases the leases only once
        // they stopped, so no other host starts the same work while this one still does it.
        let leasedThreads = Atomic<Int>(0)
        leasedThreads.add(1, ordering: .relaxed)
        let scrub = Thread {
            defer { leasedThreads.subtract(1, ordering: .releasing) }
            while !stopping.load(ordering: .relaxed) {
                guard leases.scrub.hold(context.metadata, now: context.clock.now()) else {
                    usleep(1_000_000)
                    continue
                }
                if !agentStep("Scrub", { activity.doing("scrub", "scrub", { scrubber.runSlice() }) }) {
                    usleep(1_000_000)
                }
            }
        }
        scrub.name = "scrub"
        scrub.start()
        startLifecycle(
            config, context, activity: activity, lease: leases.lifecycle,
            stopping: { stopping.load(ordering: .relaxed) },
            running: { leasedThreads.add($0, ordering: .releasing) },
            logger: logger)
        if config.replication.orphanInterval > 0 {
            // Its own thread: listing every zone takes a while and must not hold up health checks.
            leasedThreads.add(1, ordering: .relaxed)
            let t = Thread {
                defer { leasedThreads.subtract(1, ordering: .releasing) }
                var next = SystemClock().now() + config.replication.orphanInterval
                while !stopping.load(ordering: .relaxed) {
                    guard SystemClock().now() >= next else {
                        usleep(500_000)
                        continue
                    }
                    next = SystemClock().now() + config.replication.orphanInterval
                    guard leases.orphans.hold(context.metadata, now: context.clock.now()) else { continue }
                    do {
                        _ = try agentStep("RemoveOrphans") {
                            try activity.doing("orphans", "orphan sweep") {
                                try Maintenance.removeOrphans(olderThan: config.replication.orphanGrace, context)
                            }
                        }
                    } catch {
                        logger.error("orphan sweep failed: \(error)")
                    }
                }
            }
            t.name = "orphan-sweep"
            t.start()
        }
        if context.metrics != nil {
            // Bytes per zone for s3gw_zone_stored_bytes: a walk over every object, so on its own
            // thread and every few minutes (docs/OBSERVABILITY.md).
            let t = Thread {
                var next = 0.0
                while !stopping.load(ordering: .relaxed) {
                    let now = SystemClock().now()
                    guard now >= next else {
                        usleep(500_000)
                        continue
                    }
                    do {
                        _ = try activity.doing("stored-bytes", "adding up stored bytes") {
                            try ZoneStoredBytes.refresh(context, now: now)
                        }
                    } catch {
                        logger.error("adding up the bytes stored per zone failed: \(error)")
                    }
                    next = SystemClock().now() + ZoneStoredBytes.interval
                }
            }
            t.name = "stored-bytes"
            t.start()
        }
        // The dashboard's history: a sample per slot, on its own thread so a slow zone probe in
        // the loop below never leaves a gap. One agent of all hosts samples (its lease); the
        // slot's row is written once in any case.
        // Timed by the context's clock, as the rest of the agent's records; exit waits for it
        // (historyDone) so no sample is cut off half-written by the store's close.
        let historyDone = Atomic<Bool>(false)
        let clock = context.clock
        let history = Thread {
            defer { historyDone.store(true, ordering: .releasing) }
            let interval = config.metrics.historyInterval
            while !stopping.load(ordering: .relaxed) {
                do {
                    guard leases.history.hold(context.metadata, now: clock.now()) else { throw Leases.HeldElsewhere() }
                    let counted = MetricsHistory.counted(context.metrics)
                    try MetricsHistory.sample(
                        context.metadata, now: clock.now(), interval: interval,
                        requests: counted.map(MetricsHistory.requestTotals),
                        lag: counted.map(MetricsHistory.lagBuckets))
                } catch is Leases.HeldElsewhere {
                    // Another host's agent samples.
                } catch {
                    logger.error("sampling the metrics history failed: \(error)")
                }
                // Until just after the next slot starts (bounded sleeps: stopping is checked).
                let next = Double(MetricsHistory.slot(clock.now(), interval: interval) + Int64(interval)) + 0.05
                while !stopping.load(ordering: .relaxed), clock.now() < next {
                    usleep(UInt32(min(500_000, max(10_000, (next - clock.now()) * 1_000_000))))
                }
            }
        }
        history.name = "metrics-history"
        history.start()
        let backupDone = startMetadataBackup(
            config, context, stopping: { stopping.load(ordering: .relaxed) }, logger: logger)
        // On SIGTERM the transfers under way finish (bounded); one cut short is re-run by the
        // next agent once its lease expires.
        defer {
            stopping.store(true, ordering: .relaxed)
            let deadline = SystemClock().now() + 30
            while busy.load(ordering: .relaxed) > 0 && SystemClock().now() < deadline { usleep(50_000) }
            while !historyDone.load(ordering: .acquiring) && SystemClock().now() < deadline { usleep(10_000) }
            while !backupDone() && SystemClock().now() < deadline { usleep(10_000) }
            while leasedThreads.load(ordering: .acquiring) > 0 && SystemClock().now() < deadline { usleep(10_000) }
            // Once this agent's threads are done: another host's agent goes on at once.
            leases.release(context.metadata, now: context.clock.now())
        }
        var nextCleanup = 0.0
        var nextHealth = 0.0
        // The signing key is loaded again at each period until it can be (a file restored from a
        // backup heals without a restart); until then no digest is signed, and replication,
        // repair and the rest go on.
        var digests: AuditDigests?
        var nextDigest = 0.0
        while true {
            let now = SystemClock().now()
            if now >= nextDigest {
                if digests == nil {
                    do {
                        digests = AuditDigests(
                            store: context.metadata,
                            key: try AuditKeyFile.loadOrCreate(stateDir: config.stateDir, store: context.metadata),
                            settings: config.audit, zone: config.audit.digestZone.flatMap { context.zones[$0] })
                    } catch {
                        logger.error("audit digests: not signed: \(error)")
                    }
                }
                // One digest per period whichever agent gets there first (docs/OBSERVABILITY.md).
                if let digests {
                    do {
                        try activity.doing("main", "audit digest") {
                            try agentStep("AuditDigest") { _ = try digests.run(now: now) }
                        }
                    } catch {
                        logger.error("audit digest failed: \(error)")
                    }
                }
                let interval = config.audit.digestInterval * 60
                nextDigest = (now / interval).rounded(.down) * interval + interval
            }
            // One agent probes the zones: a probe by each would count a zone's failures once
            // per host (failover_after counts checks).
            if now >= nextHealth {
                if leases.health.hold(context.metadata, now: context.clock.now()) {
                    _ = agentStep("CheckZones") {
                        activity.doing("main", "zone health check") {
                            Maintenance.checkZones(context) {
                                leases.health.hold(context.metadata, now: context.clock.now())
                            }
                        }
                    }
                }
                nextHealth = now + Double(config.healthInterval)
            }
            if now >= nextCleanup, leases.cleanup.hold(context.metadata, now: context.clock.now()) {
                nextCleanup = now + Double(config.cleanupInterval)
                activity.begin("main", "cleanup (expired sessions and uploads)")
                defer { activity.end("main") }
                do {
                    let n = try agentStep("RemoveExpiredSessions") {
                        try Maintenance.removeExpiredSessions(context, now: now)
                    }
                    if n > 0 { logger.info("removed \(n) expired sessions") }
                } catch {
                    logger.error("removing expired sessions failed: \(error)")
                }
                if config.multipartExpiry > 0 {
                    do {
                        let cutoff = now - Double(config.multipartExpiry)
                        let n = try agentStep("ExpireUploads") {
                            try Maintenance.expireUploads(initiatedBefore: cutoff, context)
                        }
                        if n > 0 {
                            logger.notice("aborted \(n) multipart uploads older than \(config.multipartExpiry)s")
                        }
                    } catch {
                        logger.error("expiring multipart uploads failed: \(error)")
                    }
                    // Zone-side uploads no gateway upload owns (a create that outlived its client).
                    do {
                        _ = try sweepStrayZoneUploads(olderThan: now - Double(config.multipartExpiry), context)
                    } catch {
                        logger.error("sweeping stray zone uploads failed: \(error)")
                    }
                }
            }
            if now >= nextCleanup { nextCleanup = now + Double(config.cleanupInterval) }  // held elsewhere
            let wait = max(0.2, min(nextHealth, nextCleanup, nextDigest) - SystemClock().now())
            if let s = waitForSignal([SIGTERM, SIGINT, SIGHUP], timeout: wait), s != SIGHUP { return 0 }
            // Re-parented: the supervisor is gone, so nothing would ever stop us.
            if getppid() == 1 { return 0 }
        }
    }

    /// Lifecycle rules (docs/VERSIONING.md): a pass every `[lifecycle] interval` by the
    /// context's clock (the test clock moves it too), in steps of a bounded number of keys so a
    /// stop is noticed; a pass cut short (its cursor set) goes on at once, after a restart too.
    static func startLifecycle(
        _ config: GatewayConfig, _ context: GatewayContext, activity: Activity, lease: AgentLease,
        stopping: @escaping @Sendable () -> Bool, running: @escaping @Sendable (Int) -> Void,
        logger: Logger
    ) {
        // Counted from before the start to the end of the loop (the agent's exit waits for 0).
        running(1)
        let t = Thread {
            defer { running(-1) }
            // After a failure the pass is tried again a minute later, not every second.
            var retryAt = 0.0
            while !stopping() {
                if monotonicSeconds() < retryAt {
                    usleep(1_000_000)
                    continue
                }
                // Every round pauses (`Lifecycle.pause`): a cut pass goes on after a moment, a
                // step that did not move waits a minute, so the loop never spins.
                var pause = 1.0
                do {
                    let now = context.clock.now()
                    if try Lifecycle.due(context, now: now, interval: Double(config.lifecycleInterval)),
                        lease.hold(context.metadata, now: now)
                    {
                        let r = try agentStep("Lifecycle") {
                            try activity.doing("lifecycle", "lifecycle rules") {
                                try Lifecycle.run(context, now: now, budget: 10_000)
                            }
                        }
                        if r.expired + r.removed + r.aborted + r.locked > 0 {
                            logger.notice(
                                "lifecycle: \(r.expired) current versions expired, \(r.removed) versions removed, \(r.aborted) uploads aborted, \(r.locked) locked versions kept"
                            )
                        }
                        pause = Lifecycle.pause(after: r)
                        if !r.progressed { logger.error("lifecycle: a step made no progress; tried again in a minute") }
                    }
                } catch {
                    logger.error("lifecycle pass failed (tried again in a minute): \(error)")
                    retryAt = monotonicSeconds() + 60
                }
                usleep(UInt32(min(pause, 1) * 1_000_000))
                if pause > 1 { retryAt = monotonicSeconds() + pause }
            }
        }
        t.name = "lifecycle"
        t.start()
    }

    /// Runs one step of the agent's as its own trace, so the changes it makes are audited with
    /// origin `agent` and the step's name as operation.
    static func agentStep<T>(_ operation: String, _ body: () throws -> T) rethrows -> T {
        let trace = RequestTrace(requestId: RandomID.make(), origin: .agent, started: SystemClock().now())
        trace.operation = operation
        return try trace.run { () throws -> T in try body() }
    }

    /// The zone-side uploads sweep as an agent step, so its `zone.uploads-swept` record names
    /// the agent (origin `agent`, operation `SweepZoneUploads`), not `system`.
    static func sweepStrayZoneUploads(olderThan cutoff: Double, _ context: GatewayContext) throws -> Int {
        try agentStep("SweepZoneUploads") { try Maintenance.abortStrayZoneUploads(olderThan: cutoff, context) }
    }

    /// Once per start: buckets made before `/api/` was the web API's are out of reach
    /// path-style (docs/DISCOVERY.md, "Upgrading").
    static func warnAboutShadowedBuckets(_ context: GatewayContext, logger: Logger) {
        do {
            for name in try WebAPI.shadowedBuckets(context) {
                logger.warning(
                    "bucket \(name) is reachable only virtual-hosted: path-style /api/… is the web API now (docs/DISCOVERY.md, Upgrading)"
                )
            }
        } catch {
            logger.warning("buckets named api not looked for: \(error)")
        }
    }
}
