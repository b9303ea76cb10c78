import Foundation
import Gateway
import GatewayCore
import Logging
import MetadataSQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension Agent {
    /// `[backup]`: the metadata store's continuous backup on a thread of its own (a snapshot
    /// upload must not hold up health checks). One shipper per database: an agent replaced on
    /// reload finishes its last round before the new one takes the lock, and of several hosts
    /// on one SQLite file (docs/HOSTS.md) one ships; the lock sits beside the database, which all
    /// of them open. Returns
    /// whether the thread has finished (its last transactions shipped) after `stopping`.
    static func startMetadataBackup(
        _ config: GatewayConfig, _ context: GatewayContext, stopping: @escaping @Sendable () -> Bool, logger: Logger
    ) -> @Sendable () -> Bool {
        guard let settings = config.backup else { return { true } }
        let done = Atomic<Bool>(false)
        let t = Thread {
            defer { done.store(true, ordering: .releasing) }
            func pause() {
                let started = monotonicSeconds()
                while !stopping() && monotonicSeconds() - started < max(settings.walInterval, 5) { usleep(50_000) }
            }
            let lockPath = config.metadataPath + ".backup-lock"
            var lock: Int32 = -1
            while !stopping() {
                lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
                if lock >= 0 { break }
                logger.error(
                    "metadata backup: cannot open \(lockPath) (tried again shortly): \(String(cString: strerror(errno)))"
                )
                pause()
            }
            guard lock >= 0 else { return }
            defer { close(lock) }
            while !stopping() && flock(lock, LOCK_EX | LOCK_NB) != 0 { usleep(200_000) }
            if stopping() { return }
            // Set up again each round until it works: meanwhile nobody else checkpoints the WAL.
            var backup: MetadataBackup?
            var source: SQLiteWALSource?
            while !stopping() && backup == nil {
                do {
                    let s =
                        try source
                        ?? SQLiteWALSource(
                            path: config.metadataPath, checkpointBytes: Int64(settings.checkpointBytes))
                    source = s
                    // The zone itself, not the context's traced wrapper: backups are no request's work.
                    guard let zone = try Worker.makeZones(config)[settings.zone] as? any NamedObjectZone else {
                        throw StoreError.internalFailure("zone \(settings.zone) cannot hold named objects")
                    }
                    try SealedInstallationSecret.record(
                        context.installationSecret, box: context.identities.secretBox, store: context.metadata)
                    let installation = try InstallationID.resolve(stateDir: config.stateDir, store: context.metadata)
                    backup = MetadataBackup(
                        source: s, zone: zone, settings: settings, installation: installation,
                        sealing: BackupSealing(
                            master: context.identities.secretBox.current, installation: installation),
                        tempDir: config.stateDir + "/backup-tmp", clock: SystemClock(), logger: logger,
                        resumeFile: config.stateDir + "/backup-position.json")
                } catch {
                    logger.error("metadata backup: not started (tried again shortly): \(error)")
                    // Meanwhile the WAL must not grow: checkpointed as if no backup were on.
                    if let source {
                        try? source.checkpointAbandoningGeneration()
                    } else {
                        try? SQLiteConnection(path: config.metadataPath, checkpoints: false)
                            .exec("PRAGMA wal_checkpoint(PASSIVE)")
                    }
                    pause()
                }
            }
            guard let backup else { return }
            logger.info(
                "metadata backup: to zone \(settings.zone), bucket \(settings.bucket), installation \(backup.installation)"
            )
            var failing = false
            while true {
                let last = stopping()
                let started = monotonicSeconds()
                do {
                    try backup.step()
                    if failing { logger.notice("metadata backup: shipping again") }
                    failing = false
                } catch {
                    if !failing { logger.error("metadata backup failed (tried again every round): \(error)") }
                    failing = true
                }
                if last { return }
                while !stopping() && monotonicSeconds() - started < settings.walInterval { usleep(50_000) }
            }
        }
        t.name = "metadata-backup"
        t.start()
        return { done.load(ordering: .acquiring) }
    }
}
