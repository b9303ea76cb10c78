import ArgumentParser
import Foundation
import Gateway
import GatewayCore
import MetadataSQLite
import SigV4

/// `s3gw keys rotate`: every stored secret re-sealed under a new master key, on the gateway host
/// (the keys never travel through the admin API). Counts are printed, never a key.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage the master key that seals stored secret keys.",
        subcommands: [Rotate.self])

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every stored secret under a new master key (on the gateway host).",
            discussion: """
                With the key file (<state_dir>/master-key): a new key is added to the file, every \
                secret is re-sealed under it, then the file keeps only the new key. Running workers \
                pick it up by themselves; nothing needs a restart. Run it again if it was interrupted.

                With \(MasterKeys.environment): the environment is the operator's, so add the new key \
                yourself — S3GW_MASTER_KEY=<old>,<new> (a new key: `openssl rand -hex 32`) — restart \
                the gateway with it, run this to re-seal every secret under the last key, then drop \
                the old key from the variable and restart again.
                """)
        @OptionGroup var options: ConfigOption

        func run() throws {
            let config = try loadOrExit(options.config)
            do {
                let store = try SQLiteMetadataStore(path: config.metadataPath)
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

        private func rotateFile(_ store: SQLiteMetadataStore, stateDir: String) throws {
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
            guard outcome.complete else {
                report(outcome)
                fail("\(file) keeps the old and the new key; run `s3gw keys rotate` again once this is resolved")
            }
            try MasterKeys.write([key], stateDir: stateDir)
            // A worker that read the file just before it changed may have sealed one more secret
            // under the old key meanwhile: this process still holds that key.
            let last = try KeyRotation.reseal(store, opening: both, sealing: newOnly)
            outcome.resealed += last.resealed
            outcome.current = last.current
            report(outcome)
            if !last.complete {
                // Put the old key back beside the new one: what is still sealed under it opens.
                try MasterKeys.write(both.keys, stateDir: stateDir)
                fail(
                    "some secrets are still sealed under the previous master key; \(file) keeps both keys, run `s3gw keys rotate` again"
                )
            }
            print("s3gw: \(file) now holds only the new master key (id \(key.id)); workers pick it up by themselves")
        }

        private func rotateInEnvironment(_ store: SQLiteMetadataStore) throws {
            let box = try MasterKeys.load(stateDir: "", createIfMissing: false)
            let outcome = try KeyRotation.reseal(store, opening: box, sealing: box)
            report(outcome)
            guard outcome.complete else {
                fail(
                    "some secrets are not sealed under the last key of \(MasterKeys.environment); keep every key in it")
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
                    s3gw: every secret is sealed under the last key of \(MasterKeys.environment) (id \
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

        private func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("s3gw: \(message)\n".utf8))
            Foundation.exit(1)
        }
    }
}
