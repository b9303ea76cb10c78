import Foundation
import Gateway
import GatewayCore
import SigV4

#if canImport(Glibc)
    import Glibc
#endif

/// The files in a state directory that belong to the whole installation, not to one host:
/// every host on the same metadata store needs the same ones (docs/HOSTS.md). The first host
/// creates them; a host that joins an installation copies them and never creates its own — a
/// second installation secret would name every backend bucket differently, a second master
/// key would re-seal the root secret so no other host opens it.
enum InstallationFiles {
    static let names = ["installation-secret", "master-key", "root-credentials", "audit-ed25519.key"]

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// The lease row that holds the installation secret's fingerprint, taken for ever by the
    /// first host: an atomic first-writer-wins, also when two hosts start at once.
    static let fingerprintLease = "installation-secret"

    static func missing(in stateDir: String) -> [String] {
        names.filter { access(stateDir + "/" + $0, F_OK) != 0 }
    }

    static func refuseJoin(stateDir: String, _ error: Error) -> Refusal {
        Refusal(
            description:
                "this metadata store belongs to an installation other hosts created, and \(stateDir) lacks its files (\(error)): "
                + "copy \(names.joined(separator: ", ")) from a running host's state directory (mode 0600, the gateway's user), "
                + "or give the same S3GW_MASTER_KEY / root credentials in the environment (docs/HOSTS.md)")
    }

    /// Records the installation secret's fingerprint at the first start, or checks it against
    /// the one recorded. Only a hash is stored: the secret never enters the metadata store.
    static func checkInstallationSecret(_ secret: [UInt8], store: any MetadataStore, stateDir: String) throws {
        let fingerprint = "sha256:" + sha256Hex(Array("s3gw installation secret\0".utf8) + secret).prefix(32)
        // `now` 0 and an end far away: held for ever by whoever recorded it first.
        guard try store.claimLease(fingerprintLease, owner: fingerprint, now: 0, until: 1e15) else {
            throw Refusal(
                description:
                    "\(stateDir)/installation-secret is not the installation's (another host's differs): copy "
                    + "\(names.joined(separator: ", ")) from a running host's state directory (docs/HOSTS.md)")
        }
    }

    /// Checks the master key against the root secret sealed in the store.
    static func checkMasterKey(_ box: SecretBox, store: any MetadataStore & IdentityStore, stateDir: String) throws {
        guard try IdentityBootstrap.opensRootSecret(box, identities: store, metadata: store) else {
            throw Refusal(
                description:
                    "the master key (\(MasterKeys.fromEnvironment ? MasterKeys.environment : MasterKeys.path(stateDir))) "
                    + "does not open the secrets in the metadata store: use the installation's (docs/HOSTS.md)")
        }
    }

    /// Removes what this start created before a refusal, so a fixed retry starts clean.
    static func remove(_ created: [String], in stateDir: String) {
        for name in created { unlink(stateDir + "/" + name) }
    }
}
