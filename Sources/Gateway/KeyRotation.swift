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

/// The KEK half of `s3gw keys rotate`: every sealed KEK version in `kms_keys` re-sealed under
/// the new master key. The KEKs themselves stay the same, so no data key and no object changes.
extension KeyRotation {
    public struct KEKOutcome: Sendable, Equatable {
        /// KEK versions this run re-sealed.
        public var resealed = 0
        /// KEK versions under the current key at the end (those re-sealed included).
        public var current = 0
        /// "<key id> v<version>" of versions no key of `opening` opens: left as they are (the
        /// others of their row are still re-sealed).
        public var unreadable: [String] = []
        /// Versions still under another key after every pass (their rows kept changing).
        public var pending = 0

        public var complete: Bool { unreadable.isEmpty && pending == 0 }
    }

    /// Opens each version not sealed under `sealing.current` with any key of `opening` and seals
    /// it under `sealing.current`, one row at a time with a compare-and-set (`replaceKMSKey`,
    /// audited `keys.kek-resealed`): a row a worker changed meanwhile (a rotation, a state
    /// change) is read again on the next pass, up to `maxPasses`.
    public static func resealKEKs(
        _ store: any MetadataStore, opening: SecretBox, sealing: SecretBox, maxPasses: Int = 10
    ) throws -> KEKOutcome {
        var outcome = KEKOutcome()
        let target = sealing.current.id
        for pass in 0...maxPasses {
            var current = 0
            var unreadable: [String] = []
            var stale: [(old: KMSKeyRecord, new: KMSKeyRecord, count: Int)] = []
            for k in try store.kmsKeys(tenant: nil) {
                guard var versions = try? KeyService.versions(k) else {
                    unreadable.append("\(k.id) (no readable versions)")
                    continue
                }
                var count = 0
                for (i, v) in versions.enumerated() {
                    if SecretBox.keyID(of: v.sealed) == target {
                        current += 1
                        continue
                    }
                    let context = KeyService.sealContext(id: k.id, version: v.v)
                    guard let kek = opening.open(v.sealed, context: context) else {
                        unreadable.append("\(k.id) v\(v.v)")
                        continue
                    }
                    versions[i].sealed = sealing.seal(kek, context: context)
                    count += 1
                }
                if count > 0 {
                    var new = k
                    new.versions = KeyService.encode(versions)
                    stale.append((k, new, count))
                }
            }
            let waiting = stale.reduce(0) { $0 + $1.count }
            if stale.isEmpty || pass == maxPasses {
                outcome.current = current
                outcome.unreadable = unreadable
                outcome.pending = waiting
                return outcome
            }
            for s in stale
            where try store.replaceKMSKey(s.new, expecting: s.old, audit: .kekResealed(keyId: s.old.id, count: s.count))
            {
                outcome.resealed += s.count
            }
        }
        return outcome
    }
}
