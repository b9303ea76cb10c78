import GatewayCore
import SigV4
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Access key → secret and principal, for the verifier and the permission check. Lookups are
/// cached in each process for at most `ttl` seconds (so a permission change or a deactivated key
/// takes effect within that bound without any restart), and a change made through this process
/// invalidates its entry at once. Misses are cached too: a flood of made-up keys costs one
/// store read per key and `ttl`.
public final class Identities: CredentialLookup, Sendable {
    public struct Resolved: Sendable {
        public let secret: String
        public let principal: Principal
    }

    private struct Entry {
        let resolved: Resolved?
        let fetched: Double
    }

    public let store: any IdentityStore
    let clock: any Clock
    let ttl: Double
    private let box: Mutex<SecretBox>
    /// Re-reads the master keys (after `s3gw keys rotate` re-sealed every secret under a new
    /// key this process has not seen yet); nil when they cannot be read.
    private let reloadKeys: @Sendable () -> SecretBox?
    /// The cache, in shards picked by the calling thread: one lock taken by every request of 64
    /// threads was the worker's hottest spot (futex waits); a thread now shares its shard with
    /// few others. Each shard fills itself, so a key costs one store read per shard and `ttl`.
    private let shards: [Shard] = (0..<Identities.shardCount).map { _ in Shard() }
    /// Bounds each shard; it is emptied when full (entries are cheap to fetch again).
    private let maxEntries = 2_000

    private final class Shard: Sendable {
        let keys = Mutex<[String: Entry]>([:])
        let names = Mutex<[String: (name: String, fetched: Double)]>([:])
    }

    private static let shardCount = 16

    private var shard: Shard {
        // Thread handles are addresses with zero low bits: mix before taking the top ones.
        let mixed = UInt64(UInt(bitPattern: Int(bitPattern: UInt(pthread_self())))) &* 0x9E37_79B9_7F4A_7C15
        return shards[Int(mixed >> 60) % Self.shardCount]
    }

    public init(
        store: any IdentityStore, secretBox: SecretBox, clock: any Clock, ttl: Double = 2,
        reloadKeys: @escaping @Sendable () -> SecretBox? = { nil }
    ) {
        self.store = store
        self.clock = clock
        self.ttl = ttl
        box = Mutex(secretBox)
        self.reloadKeys = reloadKeys
    }

    /// The master keys to seal new secrets with, re-read from their source first: once
    /// `s3gw keys rotate` has written a new key, even a process started before it seals under
    /// that key (a secret sealed under the old one would not open once the old key is dropped).
    public var secretBox: SecretBox {
        if let fresh = reloadKeys() { box.withLock { $0 = fresh } }
        return box.withLock { $0 }
    }

    public func secretKey(forAccessKey key: String) -> String? { resolve(key)?.secret }

    public func resolve(_ accessKey: String) -> Resolved? {
        let now = clock.now()
        let s = shard
        if let e = s.keys.withLock({ $0[accessKey] }), now - e.fetched < ttl { return e.resolved }
        let resolved = fetch(accessKey, now: now)
        s.keys.withLock {
            if $0.count >= maxEntries { $0.removeAll() }
            $0[accessKey] = Entry(resolved: resolved, fetched: now)
        }
        return resolved
    }

    /// The principal of a key whose signature checked out, with the token check of temporary
    /// credentials: the token must be the one issued with the key (else InvalidToken) and not
    /// expired (else ExpiredToken); a permanent key must not carry one.
    public func principal(_ accessKey: String, token: String?, now: Double) throws(S3Error) -> Principal {
        // The verifier resolved this key a moment ago; it can only be gone if the cache entry
        // expired in between and the key was deleted.
        guard let p = resolve(accessKey)?.principal else { throw S3Error(.invalidAccessKeyId) }
        guard let session = p.session else {
            if token != nil { throw S3Error(.invalidToken) }
            return p
        }
        guard let token, constantTimeEquals(hexEncode(Digest.hash(.sha256, Array(token.utf8))), session.tokenHash)
        else { throw S3Error(.invalidToken) }
        if now >= session.expiresAt { throw S3Error(.expiredToken) }
        return p
    }

    /// The name of the user with this canonical id, for Owner elements; the id itself when the
    /// user is gone. Cached like keys.
    public func displayName(ofUser id: String) -> String {
        let now = clock.now()
        let s = shard
        if let e = s.names.withLock({ $0[id] }), now - e.fetched < ttl { return e.name }
        let name = (try? store.user(id: id))?.name ?? id
        s.names.withLock {
            if $0.count >= maxEntries { $0.removeAll() }
            $0[id] = (name, now)
        }
        return name
    }

    /// Forgets one key (or everything): the next request reads the store again.
    public func invalidate(_ accessKey: String? = nil) {
        for s in shards {
            s.keys.withLock {
                if let accessKey { $0[accessKey] = nil } else { $0.removeAll() }
            }
            if accessKey == nil { s.names.withLock { $0.removeAll() } }
        }
    }

    private func fetch(_ accessKey: String, now: Double) -> Resolved? {
        guard let (c, user) = try? store.credential(accessKey: accessKey), c.status == .active else { return nil }
        var session: Principal.Session?
        if let tokenHash = c.tokenHash {
            // A session lives only as long as the key that asked for it stays active.
            if let parent = c.parentKey {
                guard let (p, _) = try? store.credential(accessKey: parent), p.status == .active else { return nil }
            }
            let policy: SessionPolicy?
            if let text = c.sessionPolicy {
                // Stored only after it parsed; a row that no longer parses grants nothing.
                guard case .success(let parsed) = SessionPolicyParser.parse(text) else { return nil }
                policy = parsed
            } else {
                policy = nil
            }
            session = Principal.Session(expiresAt: c.expiresAt ?? 0, tokenHash: tokenHash, policy: policy)
        }
        guard let secret = open(c.sealedSecret, accessKey: accessKey) else { return nil }
        return Resolved(
            secret: secret, principal: Principal(tenant: c.tenant, user: user, accessKey: accessKey, session: session))
    }

    private func open(_ sealed: String, accessKey: String) -> String? {
        if let s = box.withLock({ $0.open(sealed, context: accessKey) }) { return s }
        // Sealed under a key this process does not hold yet: the keys were rotated.
        guard let id = SecretBox.keyID(of: sealed), !box.withLock({ $0.keys.contains { $0.id == id } }),
            let fresh = reloadKeys()
        else { return nil }
        box.withLock { $0 = fresh }
        return fresh.open(sealed, context: accessKey)
    }
}
