import GatewayCore

/// SigV4 signing keys already derived, so a request costs one HMAC instead of five. A key is
/// found only under everything it was derived from: the access key, the secret itself (a
/// rotated secret misses), the scope date, region and service. It lives in this process's
/// memory only and is never logged; whether the access key is still valid is asked of the
/// credential lookup on every request, before the cache, so a revoked key stops at once. A key
/// is held only once a signature made with it verified: a caller who knows an access key id but
/// not its secret cannot fill the cache (or flush it) with made-up scopes. The secret is held
/// as its SHA-256, so a rotated secret does not linger in the cache's keys.
public final class SigningKeyCache: Sendable {
    public struct Key: Hashable, Sendable {
        let accessKey: String
        let secretDigest: [UInt8]
        let date: String
        let region: String
        let service: String
    }

    let keys: ThreadShardedCache<Key, [UInt8]>

    public init(shardCount: Int = 16, maxEntriesPerShard: Int = 256) {
        keys = ThreadShardedCache(shardCount: shardCount, maxEntriesPerShard: maxEntriesPerShard)
    }

    /// The signing key of this scope: the one held, or derived now (`fresh` is then true: hold it
    /// with `remember` once a signature made with it verified).
    public func signingKey(accessKey: String, secret: String, date: String, region: String, service: String)
        -> (key: [UInt8], fresh: Bool, scope: Key)
    {
        let scope = Key(
            accessKey: accessKey, secretDigest: Digest.hash(.sha256, Array(secret.utf8)), date: date, region: region,
            service: service)
        if let held = keys.lookup(scope) { return (held, false, scope) }
        return (Signer.signingKey(secret: secret, date: date, region: region, service: service), true, scope)
    }

    /// Holds a signing key whose signature verified.
    public func remember(_ scope: Key, _ key: [UInt8]) { keys.insert(scope, key) }
}
