internal import COpenSSL
import GatewayCore

/// An Ed25519 key pair over libcrypto (EVP one-shot sign and verify): the key that signs the
/// audit chain's digests. Kept as its 32-byte seed (readable inside the package only, and
/// never printed: `description` and the mirror show the fingerprint); the public key is
/// derived from it.
public struct Ed25519Key: Sendable, CustomStringConvertible, CustomReflectable {
    package let seed: [UInt8]
    public let publicKey: [UInt8]

    /// Signing failed in libcrypto (out of memory, a broken provider).
    public struct SigningError: Error, CustomStringConvertible {
        public let description: String
    }

    public var description: String { "Ed25519Key(fingerprint: \(fingerprint))" }
    public var customMirror: Mirror { Mirror(self, children: ["fingerprint": fingerprint], displayStyle: .struct) }

    public init?(seed: [UInt8]) {
        guard seed.count == 32,
            let pkey = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            })
        else { return nil }
        defer { EVP_PKEY_free(pkey) }
        var pub = [UInt8](repeating: 0, count: 32)
        var len = 32
        guard EVP_PKEY_get_raw_public_key(pkey, &pub, &len) == 1, len == 32 else { return nil }
        self.seed = seed
        publicKey = pub
    }

    public static func generate() -> Ed25519Key {
        var seed = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&seed, 32) == 1 else { fatalError("RAND_bytes failed") }
        return Ed25519Key(seed: seed)!
    }

    /// Hex SHA-256 of the raw public key: names the key in digests and `audit_keys`.
    public var fingerprint: String { Self.fingerprint(publicKey) }

    public static func fingerprint(_ publicKey: [UInt8]) -> String { hexEncode(Digest.hash(.sha256, publicKey)) }

    public func sign(_ message: [UInt8]) throws(SigningError) -> [UInt8] {
        guard
            let pkey = seed.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            })
        else { throw SigningError(description: "Ed25519: cannot load the private key") }
        defer { EVP_PKEY_free(pkey) }
        guard let ctx = EVP_MD_CTX_new() else { throw SigningError(description: "Ed25519: out of memory") }
        defer { EVP_MD_CTX_free(ctx) }
        var sig = [UInt8](repeating: 0, count: 64)
        var n = 64
        // Ed25519 is one-shot: no digest, no Update/Final.
        guard EVP_DigestSignInit(ctx, nil, nil, nil, pkey) == 1,
            EVP_DigestSign(ctx, &sig, &n, message, message.count) == 1, n == 64
        else { throw SigningError(description: "Ed25519: signing failed") }
        return sig
    }

    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32,
            let pkey = publicKey.withUnsafeBufferPointer({
                EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32)
            })
        else { return false }
        defer { EVP_PKEY_free(pkey) }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        return EVP_DigestVerifyInit(ctx, nil, nil, nil, pkey) == 1
            && EVP_DigestVerify(ctx, signature, signature.count, message, message.count) == 1
    }

    /// `verify` with hex signature and key, as digests and `audit_keys` hold them.
    public static func verify(signatureHex: String, message: [UInt8], publicKeyHex: String) -> Bool {
        guard let s = hexDecode(signatureHex), let k = hexDecode(publicKeyHex) else { return false }
        return verify(signature: s, message: message, publicKey: k)
    }

    /// The public key as `audit_keys` records it.
    public func auditKey(created: Double) -> AuditKey {
        AuditKey(fingerprint: fingerprint, publicKey: hexEncode(publicKey), created: created)
    }
}
