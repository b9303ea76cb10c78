import GatewayCore

/// SigV4 signing keys already derived, so a request costs one HMAC instead of five. A key is
/// found only under everything it was derived from: the access key, the secret itself (a
/// rotated secret misses), the scope date, region and service. It lives in this process's
/// memory only and is never logged; whether the access key is still valid is asked of the
/// credential lookup on every request, before the cache, so a revoked key stops at once. A key
/// is held only once a signature made with it verified: a caller who knows an access key id but
/// not its secret cannot fill the cache (or flush it) with made-up scopes. The secret is held
/// only as a 64-bit SipHash under this process's random seed (Swift's `Hasher`): a rotated
/// secret misses, nothing of it lingers in the cache's keys, and telling it costs a request a
/// few hundred instructions rather than a SHA-256 through libcrypto.
public final class SigningKeyCache: Sendable {
    public struct Key: Hashable, Sendable {
        let accessKey: String
        let secretHash: Int
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
            accessKey: accessKey, secretHash: Self.secretHash(secret), date: date, region: region, service: service)
        if let held = keys.lookup(scope) { return (held, false, scope) }
        return (Signer.signingKey(secret: secret, date: date, region: region, service: service), true, scope)
    }

    /// The secret's bytes through a seeded SipHash (no secret is kept, even as a String's hash
    /// of its Characters: bytes, as signing uses them).
    static func secretHash(_ secret: String) -> Int {
        var h = Hasher()
        secret.utf8.withContiguousStorageIfAvailable { h.combine(bytes: UnsafeRawBufferPointer($0)) }
            ?? Array(secret.utf8).withUnsafeBytes { h.combine(bytes: $0) }
        return h.finalize()
    }

    /// Holds a signing key whose signature verified.
    public func remember(_ scope: Key, _ key: [UInt8]) { keys.insert(scope, key) }
}
