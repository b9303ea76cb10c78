import GatewayCore

/// SigV4 signing keys already derived, so a request costs one HMAC instead of five. A key is
/// found only under everything it was derived from: the access key, the secret itself (a
/// rotated secret misses), the scope date, region and service. It lives in this process's
/// memory only and is never logged; whether the access key is still valid is asked of the
/// credential lookup on every request, before the cache, so a revoked key stops at once.
public final class SigningKeyCache: Sendable {
    struct Key: Hashable, Sendable {
        let accessKey: String
        let secret: String
        let date: String
        let region: String
        let service: String
    }

    let keys: ThreadShardedCache<Key, [UInt8]>

    public init(shardCount: Int = 16, maxEntriesPerShard: Int = 256) {
        keys = ThreadShardedCache(shardCount: shardCount, maxEntriesPerShard: maxEntriesPerShard)
    }

    public func signingKey(accessKey: String, secret: String, date: String, region: String, service: String)
        -> [UInt8]
    {
        let key = Key(accessKey: accessKey, secret: secret, date: date, region: region, service: service)
        return keys.value(for: key) {
            Signer.signingKey(secret: secret, date: date, region: region, service: service)
        }
    }
}
