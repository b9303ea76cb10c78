import GatewayCore
import SigV4

/// Mints temporary credentials and stores them as a session of a user. The store keeps the
/// secret sealed and only a hash of the token: the token itself exists in the one answer that
/// hands it out, like a new key's secret.
enum SessionIssuer {
    struct Issued {
        let accessKey: String
        let secret: String
        let token: String
        let expiration: Double
    }

    /// A session acting as `user`, revoked with `parentKey` (the permanent key that asked for
    /// it), narrowed by `policy` (IAM JSON that already parsed).
    static func issue(
        user: UserRecord, parentKey: String, duration: Int, policy: String?, now: Double, _ ctx: GatewayContext
    ) throws -> Issued {
        let token = newToken()
        let expiration = now + Double(duration)
        var attempt = 0
        while true {
            // AWS's prefix for temporary keys, so tools (and people) tell them apart.
            let (accessKey, secret) = NewCredential.make(prefix: "ASIA")
            let record = CredentialRecord(
                accessKey: accessKey, tenant: user.tenant, user: user.name,
                sealedSecret: ctx.identities.secretBox.seal(secret, context: accessKey), createdAt: now,
                expiresAt: expiration, parentKey: parentKey,
                tokenHash: hexEncode(Digest.hash(.sha256, Array(token.utf8))), sessionPolicy: policy)
            do {
                // Sessions do not count towards the permanent keys' limit.
                try ctx.identities.store.createCredential(record, maxKeysPerUser: Int.max)
            } catch {
                // 80 random bits collided: draw again.
                if case .entityExists = error, attempt < 3 {
                    attempt += 1
                    continue
                }
                throw error
            }
            // A lookup of this key before it existed (a guess) may have cached a miss.
            ctx.identities.invalidate(accessKey)
            return Issued(accessKey: accessKey, secret: secret, token: token, expiration: expiration)
        }
    }

    /// 72 random bytes as 96 base64 characters (no padding): unguessable, and only its SHA-256
    /// is stored.
    static func newToken() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(72)
        for _ in 0..<9 { withUnsafeBytes(of: g.next() as UInt64) { bytes.append(contentsOf: $0) } }
        return base64Encode(bytes)
    }
}
