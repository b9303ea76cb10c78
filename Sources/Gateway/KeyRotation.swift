import GatewayCore
import SigV4

/// Re-seals every stored secret under the current master key (`s3gw keys rotate`): opened with
/// any key of `opening`, sealed under `sealing.current`. Safe beside running workers: each row
/// is replaced only if it still holds the value read (a secret rotated meanwhile keeps its new
/// value), and the store is read again until no row names another key, so a secret a worker
/// sealed under the old key while this ran is caught by a later pass.
public enum KeyRotation {
    public struct Outcome: Sendable, Equatable {
        /// Secrets this run re-sealed.
        public var resealed = 0
        /// Secrets under the current key at the end (those re-sealed included).
        public var current = 0
        /// Access keys whose secret no key of `opening` opens (sealed under a key lost before,
        /// or damaged): left as they are.
        public var unreadable: [String] = []
        /// Secrets still under another key after every pass (they kept changing meanwhile).
        public var pending = 0

        /// Whether every secret opens under the current key alone, so the others can go.
        public var complete: Bool { unreadable.isEmpty && pending == 0 }
    }

    public static func reseal(_ store: any IdentityStore, opening: SecretBox, sealing: SecretBox, maxPasses: Int = 10)
        throws(StoreError) -> Outcome
    {
        var outcome = Outcome()
        let target = sealing.current.id
        for pass in 0...maxPasses {
            let all = try store.sealedSecrets()
            var changes: [(accessKey: String, from: String, to: String)] = []
            var unreadable: [String] = []
            for (accessKey, sealed) in all where SecretBox.keyID(of: sealed) != target {
                if let secret = opening.open(sealed, context: accessKey) {
                    changes.append((accessKey, sealed, sealing.seal(secret, context: accessKey)))
                } else {
                    unreadable.append(accessKey)
                }
            }
            if changes.isEmpty || pass == maxPasses {
                outcome.current = all.count - changes.count - unreadable.count
                outcome.unreadable = unreadable
                outcome.pending = changes.count
                return outcome
            }
            outcome.resealed += try store.reseal(changes)
        }
        return outcome
    }
}
