import GatewayCore
import SigV4

/// The installation secret (every backend bucket name derives from it) travels inside the
/// backed-up store, sealed under the master key like every stored secret: a store restored on a
/// new host finds its objects again once the master key is there (docs/METADATA.md, "Backup and
/// restore (SQLite)"). Whoever holds only the backups holds no usable secret.
public enum SealedInstallationSecret {
    static let stateKey = "installation.secret.sealed"
    static let context = "installation-secret"

    /// Records `secret` sealed under the current master key, unless it already is.
    public static func record(_ secret: [UInt8], box: SecretBox, store: any MetadataStore) throws {
        let existing = try store.agentState(stateKey)
        if let existing, SecretBox.keyID(of: existing) == box.current.id,
            box.open(existing, context: context) == hexEncode(secret)
        {
            return
        }
        try store.setAgentState(stateKey, box.seal(hexEncode(secret), context: context))
    }

    /// `s3gw keys rotate`: the recorded secret re-sealed under `sealing.current` (opened with any
    /// key of `opening`). False when the store holds one no key opens (the agent records it
    /// again at its next start, from `<state_dir>/installation-secret`).
    public static func reseal(store: any MetadataStore, opening: SecretBox, sealing: SecretBox) throws -> Bool {
        guard let sealed = try store.agentState(stateKey) else { return true }
        if SecretBox.keyID(of: sealed) == sealing.current.id { return true }
        guard let hex = opening.open(sealed, context: context) else { return false }
        try store.setAgentState(stateKey, sealing.seal(hex, context: context))
        return true
    }

    /// The secret a restored store carries; nil when it has none or `box` cannot open it.
    public static func recover(store: any MetadataStore, box: SecretBox) throws -> [UInt8]? {
        guard let sealed = try store.agentState(stateKey), let hex = box.open(sealed, context: context) else {
            return nil
        }
        return hexDecode(hex)
    }

    /// Whether the store carries one at all.
    public static func present(in store: any MetadataStore) throws -> Bool { try store.agentState(stateKey) != nil }
}
