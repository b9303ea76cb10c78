import ArgumentParser
import FileSystemBackend
import Foundation
import Gateway
import GatewayCore
import MetadataSQL
import MetadataSQLite
import S3Backend
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// `s3gw metadata restore|backups`: the metadata store from its continuous backup
/// (docs/METADATA.md, "Backup and restore (SQLite)"). Run on the host, gateway stopped.
struct MetadataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata", abstract: "The metadata store's backups: list them, restore one.",
        subcommands: [Restore.self, Backups.self])

    struct Source: ParsableArguments {
        @OptionGroup var options: ConfigOption
        @Option(help: "The zone holding the backups (a [[zones]] name of the configuration; default: [backup] zone).")
        var zone: String?
        @Option(help: "The bucket in that zone (default: [backup] bucket).")
        var bucket: String?
        @Option(help: "The installation's GUID, when the bucket holds backups of several.")
        var installation: String?

        func open() throws -> (GatewayConfig, any NamedObjectZone, String) {
            let config = try loadOrExit(options.config)
            CryptoLibrary.initializeForProcess()
            CurlGlobal.initializeOnce()
            guard let bucket = bucket ?? config.backup?.bucket else {
                throw ValidationError("--bucket is needed: the configuration has no [backup] bucket")
            }
            guard let name = zoneName(config) else {
                throw ValidationError("--zone is needed: the configuration has no [backup] zone")
            }
            guard let zone = try Worker.makeZones(config)[name] as? any NamedObjectZone else {
                throw ValidationError("\(name) is not a configured zone")
            }
            return (config, zone, bucket)
        }

        func zoneName(_ config: GatewayConfig?) -> String? { zone ?? config?.backup?.zone }

        /// For messages: `zone/bucket`.
        func place(_ bucket: String) -> String { "\(zone ?? "[backup] zone")/\(bucket)" }

        func installation(_ zone: any NamedObjectZone, _ bucket: String) throws -> String {
            let found = try BackupCatalog.installations(zone: zone, bucket: bucket)
            if let installation {
                guard found.contains(installation) else {
                    throw failure("no backups of installation \(installation) in \(place(bucket))")
                }
                return installation
            }
            guard found.count == 1 else {
                throw failure(
                    found.isEmpty
                        ? "no backups in \(place(bucket))"
                        : "the bucket holds backups of several installations; choose one with --installation: "
                            + found.joined(separator: ", "))
            }
            return found[0]
        }
    }

    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the metadata store from a backup (the gateway stopped).",
            discussion: """
                Takes the newest snapshot taken at or before --at (default: the newest) and replays the \
                WAL segments shipped after it up to --at, checking every checksum and refusing a gap. \
                The store is written to [metadata] path (or <state_dir>/metadata.sqlite); an existing \
                store is replaced only with --force.
                """)
        @OptionGroup var source: Source
        @Option(help: "The point in time (RFC 3339, e.g. 2026-11-30T00:15:00Z, or seconds since 1970).")
        var at: String?
        @Option(help: "Write the store here instead of the configured path.")
        var to: String?
        @Flag(help: "Replace an existing store (refused while a process has it open).")
        var force = false
        @Flag(help: "Succeed even when the installation secret cannot be restored from the store.")
        var withoutSecrets = false

        /// Why a restore over a PostgreSQL store is refused: these are SQLite backups.
        static let postgresRefusal =
            "[metadata] kind = \"postgres\": back up and restore PostgreSQL with its own tools "
            + "(docs/METADATA.md, \"PostgreSQL\", \"Backups\"); "
            + "--to PATH restores an SQLite store's backup into that file instead"

        func run() throws {
            if to == nil, try loadOrExit(source.options.config).metadata.kind == .postgres {
                throw failure(Self.postgresRefusal)
            }
            let at = try self.at.map { s throws -> Double in
                guard let t = BackupLayout.parseTime(s) else { throw ValidationError("--at: \(s) is not a time") }
                return t
            }
            let (config, zone, bucket) = try source.open()
            let installation = try source.installation(zone, bucket)
            let catalog = try BackupCatalog.load(zone: zone, bucket: bucket, installation: installation)
            guard let plan = catalog.plan(at: at) else {
                throw failure(
                    "no complete snapshot" + (at.map { " taken at or before \(BackupLayout.display($0))" } ?? ""))
            }
            // Backups are sealed with the master key (S3GW_MASTER_KEY or <state_dir>/master-key).
            let box: SecretBox
            do {
                box = try MasterKeys.load(stateDir: config.stateDir, createIfMissing: false)
            } catch {
                throw failure("the master key is needed to open the backups: \(error)")
            }
            let dest = to ?? config.metadataPath
            let existing = ["", "-wal", "-shm"].filter { access(dest + $0, F_OK) == 0 }
            if !existing.isEmpty && !force {
                throw failure("\(dest) exists; --force replaces it (stop the gateway first)")
            }
            try MetadataCommand.ensureUnused(dest)
            // The host's own identity only when its own store is replaced.
            let live = dest == config.metadataPath
            let dir = String(dest[..<(dest.lastIndex(of: "/") ?? dest.startIndex)])
            if !dir.isEmpty { try StateDirectory.makeDirectory(dir, in: config.stateDir) }
            let work = dest + ".restoring"
            for suffix in ["", "-wal", "-shm", "-journal"] { unlink(work + suffix) }
            let frames: Int
            do {
                frames = try MetadataRestore.rebuild(
                    plan, into: work, zone: zone, bucket: bucket, installation: installation,
                    keys: BackupSealing.ring(box, installation: installation),
                    replay: { try SQLiteRestore(databasePath: $0, snapshotPosition: $1) })
                try MetadataCommand.ensureUnused(dest)
                for suffix in existing { unlink(dest + suffix) }
                try systemCall("rename \(work)") { rename(work, dest) }
                if dest.hasPrefix(config.stateDir + "/") { try StateDirectory.giveToOwner(dest, in: config.stateDir) }
            } catch {
                for suffix in ["", "-wal", "-shm"] { unlink(work + suffix) }
                throw error
            }
            print(
                "restored \(dest): generation \(plan.generation.name), snapshot of "
                    + "\(BackupLayout.display(plan.generation.time)), \(plan.segments.count) WAL segments "
                    + "(\(frames) frames), up to \(BackupLayout.display(plan.reaches))")
            guard live else { return }
            try InstallationID.write(installation, stateDir: config.stateDir)
            // Where the old store's shipper stood means nothing for the restored one.
            unlink(config.stateDir + "/backup-position.json")
            if !MetadataCommand.restoreInstallationSecret(from: dest, stateDir: config.stateDir) && !withoutSecrets {
                throw failure(
                    "the store is restored, but not the installation secret: objects will not be found until "
                        + "it is (or run again with --without-secrets to accept that)")
            }
        }

    }

    /// Backend bucket names derive from the installation secret: a new host needs the one the
    /// restored store carries (sealed; opened with the master key from S3GW_MASTER_KEY or the
    /// state directory's master-key file). Whether the host now has it (warnings on stderr).
    static func restoreInstallationSecret(from db: String, stateDir: String) -> Bool {
        let file = stateDir + "/installation-secret"
        func warn(_ message: String) -> Bool {
            FileHandle.standardError.write(Data("warning: \(message)\n".utf8))
            return false
        }
        do {
            let store = try SQLMetadataStore(sqlitePath: db, readOnly: true, checkpoints: false)
            guard try SealedInstallationSecret.present(in: store) else {
                if access(file, F_OK) == 0 { return true }
                return warn("the store carries no installation secret; put \(file) back from the old host")
            }
            let box = try MasterKeys.load(stateDir: stateDir, createIfMissing: false)
            guard let secret = try SealedInstallationSecret.recover(store: store, box: box) else {
                return warn("the installation secret in the store does not open with this master key")
            }
            if let present = try? InstallationSecret.load(stateDir: stateDir, createIfMissing: false) {
                if present != secret {
                    return warn("\(file) differs from the restored installation's; objects will not be found")
                }
                return true
            }
            try writePrivate(path: file, hexEncode(secret) + "\n")
            try StateDirectory.giveToOwner(file, in: stateDir)
            return true
        } catch {
            return warn("installation secret not restored (\(error)); put \(file) back from the old host")
        }
    }

    /// Refuses to replace a store another process has open (a gateway running): SQLite grants
    /// an exclusive lock in WAL mode only to a connection alone on the file.
    static func ensureUnused(_ path: String) throws {
        guard access(path, F_OK) == 0 else { return }
        let db = try SQLiteConnection(path: path, checkpoints: false)
        do {
            try db.exec("PRAGMA busy_timeout = 0")
            try db.exec("PRAGMA locking_mode = EXCLUSIVE")
            try db.exec("BEGIN EXCLUSIVE")
            try db.exec("ROLLBACK")
        } catch {
            throw failure("\(path) is open in another process (a gateway running?); stop it first")
        }
    }

    struct Backups: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the generations of backups in a bucket.")
        @OptionGroup var source: Source

        func run() throws {
            let (_, zone, bucket) = try source.open()
            let installation = try source.installation(zone, bucket)
            let catalog = try BackupCatalog.load(zone: zone, bucket: bucket, installation: installation)
            print("installation \(installation)")
            print("GENERATION                          SNAPSHOT  SEGMENTS  BYTES        RESTORABLE UNTIL")
            for g in catalog.generations {
                let state = g.manifest == nil ? "incomplete" : "ok"
                let until =
                    g.segments.last.map { BackupLayout.display($0.segment.time) } ?? BackupLayout.display(g.time)
                print(
                    g.name.padding(toLength: 36, withPad: " ", startingAt: 0)
                        + state.padding(toLength: 10, withPad: " ", startingAt: 0)
                        + String(g.segments.count).padding(toLength: 10, withPad: " ", startingAt: 0)
                        + String(g.bytes).padding(toLength: 13, withPad: " ", startingAt: 0) + until)
            }
        }
    }
}

private func failure(_ message: String) -> Error {
    FileHandle.standardError.write(Data("s3gw: \(message)\n".utf8))
    return ExitCode(1)
}
