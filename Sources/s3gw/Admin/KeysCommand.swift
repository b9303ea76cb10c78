import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import MetadataSQL
import MetadataSQLite
import SigV4

/// `s3gw keys rotate`: every stored secret and every sealed KEK version re-sealed under a new
/// master key; `s3gw keys rewrap`: data keys re-wrapped under their KEK's current version. On the
/// gateway host (the keys never travel through the admin API). Counts are printed, never a key.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage the master key and the encryption keys it seals.",
        subcommands: [Rotate.self, Rewrap.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-seal every stored secret and encryption key (KEK) under a new master key (on the gateway host).",
            discussion: """
                With the key file (<state_dir>/master-key): a new key is added to the file, every \
                secret and every KEK version is re-sealed under it, then the file keeps only the new \
                key. Objects are not touched: their data keys stay wrapped under the same KEKs. \
                Running workers pick it up by themselves; nothing needs a restart. Run it again if it \
                was interrupted.

                With \(MasterKeys.environment): the environment is the operator's, so add the new key \
                yourself — S3GW_MASTER_KEY=<old>,<new> (a new key: `openssl rand -hex 32`) — restart \
                the gateway with it, run this to re-seal every secret and KEK under the last key, then drop \
                the old key from the variable and restart again.
                """)
        @OptionGroup var options: ConfigOption

        func run() throws {
            let config = try loadOrExit(options.config)
            do {
                let store = try MetadataStores.open(config)
                // The re-sealing is audited as this command's (origin cli).
                let trace = RequestTrace(
                    requestId: RandomID.make(), origin: .cli, started: Date().timeIntervalSince1970)
                trace.operation = "RotateMasterKey"
                try trace.run { () throws -> Void in
                    if MasterKeys.fromEnvironment {
                        try rotateInEnvironment(store)
                    } else {
                        try rotateFile(store, stateDir: config.stateDir)
                    }
                }
            } catch let e as ExitCode {
                throw e
            } catch {
                fail("\(error)")
            }
        }

        private func rotateFile(_ store: SQLMetadataStore, stateDir: String) throws {
            let file = MasterKeys.path(stateDir)
            let old: SecretBox
            do {
                old = try MasterKeys.load(stateDir: stateDir, createIfMissing: false)
            } catch {
                fail("cannot read the master key file \(file): \(error)")
            }
            let key = MasterKey.generate()
            let both = SecretBox(keys: old.keys + [key])
            // First both keys: a worker that re-reads the file now seals under the new one and
            // still opens what is sealed under the old.
            try MasterKeys.write(both.keys, stateDir: stateDir)
            let newOnly = SecretBox(keys: [key])
            var outcome = try KeyRotation.reseal(store, opening: both, sealing: newOnly)
            var keks = try KeyRotation.resealKEKs(store, opening: both, sealing: newOnly)
            guard outcome.complete, keks.complete else {
                report(outcome)
                report(keks)
                fail("\(file) keeps the old and the new key; run `s3gw keys rotate` again once this is resolved")
            }
            try MasterKeys.write([key], stateDir: stateDir)
            // A worker that read the file just before it changed may have sealed one more secret
            // or KEK version under the old key meanwhile: this process still holds that key.
            let last = try KeyRotation.reseal(store, opening: both, sealing: newOnly)
            let lastKEKs = try KeyRotation.resealKEKs(store, opening: both, sealing: newOnly)
            resealInstallationSecret(store, opening: both, sealing: newOnly)
            outcome.resealed += last.resealed
            outcome.current = last.current
            keks.resealed += lastKEKs.resealed
            keks.current = lastKEKs.current
            report(outcome)
            report(keks)
            if !last.complete || !lastKEKs.complete {
                // Put the old key back beside the new one: what is still sealed under it opens.
                try MasterKeys.write(both.keys, stateDir: stateDir)
                fail(
                    "some secrets or KEKs are still sealed under the previous master key; \(file) keeps both keys, run `s3gw keys rotate` again"
                )
            }
            print("s3gw: \(file) now holds only the new master key (id \(key.id)); workers pick it up by themselves")
        }

        /// The installation secret the store carries for backups (docs/METADATA.md).
        private func resealInstallationSecret(_ store: SQLMetadataStore, opening: SecretBox, sealing: SecretBox) {
            do {
                if try !SealedInstallationSecret.reseal(store: store, opening: opening, sealing: sealing) {
                    print(
                        "s3gw: the installation secret kept for backups opens with no key; the agent records it again")
                }
            } catch {
                print(
                    "s3gw: the installation secret kept for backups was not re-sealed (\(error)); the agent records it again"
                )
            }
        }

        private func rotateInEnvironment(_ store: SQLMetadataStore) throws {
            let box = try MasterKeys.load(stateDir: "", createIfMissing: false)
            let outcome = try KeyRotation.reseal(store, opening: box, sealing: box)
            let keks = try KeyRotation.resealKEKs(store, opening: box, sealing: box)
            resealInstallationSecret(store, opening: box, sealing: box)
            report(outcome)
            report(keks)
            guard outcome.complete, keks.complete else {
                fail(
                    "some secrets or KEKs are not sealed under the last key of \(MasterKeys.environment); keep every key in it"
                )
            }
            if box.keys.count == 1 {
                print(
                    """
                    s3gw: \(MasterKeys.environment) holds one key (id \(box.current.id)): to rotate, set it to \
                    <old>,<new>, restart the gateway and run this again
                    """)
            } else {
                print(
                    """
                    s3gw: every secret and KEK is sealed under the last key of \(MasterKeys.environment) (id \
                    \(box.current.id)); the earlier keys can now be dropped from the variable (restart the \
                    gateway after changing it)
                    """)
            }
        }

        private func report(_ o: KeyRotation.Outcome) {
            print("s3gw: re-sealed \(o.resealed) secret(s); \(o.current) sealed under the current master key")
            if !o.unreadable.isEmpty {
                print(
                    "s3gw: \(o.unreadable.count) secret(s) open under none of the keys: "
                        + o.unreadable.joined(separator: ", "))
            }
            if o.pending > 0 { print("s3gw: \(o.pending) secret(s) kept changing and are not re-sealed yet") }
        }

        private func report(_ o: KeyRotation.KEKOutcome) {
            print("s3gw: re-sealed \(o.resealed) KEK version(s); \(o.current) sealed under the current master key")
            if !o.unreadable.isEmpty {
                print(
                    "s3gw: \(o.unreadable.count) KEK version(s) open under none of the keys (left as they are): "
                        + o.unreadable.joined(separator: ", "))
            }
            if o.pending > 0 { print("s3gw: \(o.pending) KEK version(s) kept changing and are not re-sealed yet") }
        }
    }

    struct Rewrap: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-wrap data keys under their KEK's current version (after a key's rotation).",
            discussion: """
                Walks every object version and unfinished multipart upload encrypted with SSE-S3 or \
                SSE-KMS and re-wraps its data key under the current version of its key. Only the \
                envelope in the metadata changes; no stored byte is read or written. SSE-C objects \
                are skipped (their key is the client's). Safe beside running workers and safe to \
                interrupt: run it again, a complete run finds nothing left. An older KEK version \
                wraps nothing any more once a run reports 0 failed and 0 changed meanwhile; \
                versions are kept in the key row (dropping them is not offered).
                """)
        @OptionGroup var options: ConfigOption
        @Option(name: .long, help: "Only buckets of this tenant.") var tenant: String?
        @Option(name: .long, help: "Only envelopes of this key (its id).") var key: String?

        func run() throws {
            let config = try loadOrExit(options.config)
            do {
                let store = try MetadataStores.open(config)
                let stateDir = config.stateDir
                let box = try MasterKeys.load(stateDir: stateDir, createIfMissing: false)
                let keys = KeyService(
                    store: store, box: box, region: "us-east-1",
                    reloadKeys: { try? MasterKeys.load(stateDir: stateDir, createIfMissing: false) })
                if let key, try store.kmsKey(id: key).map({ tenant == nil || $0.tenant == tenant }) != true {
                    fail("no key \(key)\(tenant.map { " in tenant \($0)" } ?? "")")
                }
                let trace = RequestTrace(
                    requestId: RandomID.make(), origin: .cli, started: Date().timeIntervalSince1970)
                trace.operation = "RewrapDataKeys"
                let outcome = try trace.run { () throws -> KeyRewrap.Outcome in
                    try KeyRewrap.run(store, keys: keys, tenant: tenant, keyId: key)
                }
                print(
                    "s3gw: re-wrapped \(outcome.rewrapped) data key(s); \(outcome.alreadyCurrent) already current; "
                        + "\(outcome.skippedCustomer) SSE-C skipped; \(outcome.failed.count) failed")
                if outcome.changed > 0 {
                    print("s3gw: \(outcome.changed) changed meanwhile and kept their newer value; run it again")
                }
                for f in outcome.failed { print("s3gw: failed: \(f)") }
                for (id, versions) in outcome.remaining.sorted(by: { $0.key < $1.key }) {
                    let list = versions.sorted { $0.key < $1.key }.map { "v\($0.key): \($0.value)" }
                    print(
                        "s3gw: key \(id) still wraps data keys under older versions (\(list.joined(separator: ", ")))")
                }
                if !outcome.complete { Foundation.exit(1) }
            } catch let e as ExitCode {
                throw e
            } catch {
                fail("\(error)")
            }
        }
    }
}

private func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("s3gw: \(message)\n".utf8))
    Foundation.exit(1)
}
