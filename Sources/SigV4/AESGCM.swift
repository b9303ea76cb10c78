internal import COpenSSL
import GatewayCore

/// `count` bytes from libcrypto's CSPRNG (keys, nonces, salts).
public func randomBytes(_ count: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: count)
    if count > 0 { guard RAND_bytes(&out, Int32(count)) == 1 else { fatalError("RAND_bytes failed") } }
    return out
}

/// AES-256-GCM with one `EVP_CIPHER_CTX` reused for many messages under one key: the key
/// schedule is set once (and again on `rekey`), each message only sets its nonce. Works on the
/// caller's buffers so an object's segments cost no allocation. Not thread-safe: one per stream.
public final class SegmentCipher {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    private let ctx: OpaquePointer
    /// Where GCM's `Final` may write (it writes nothing) when the caller's buffer is empty.
    private let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)

    public init(key: [UInt8]) {
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed (out of memory)") }
        self.ctx = ctx
        setup(EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil, 1), "EVP_CipherInit_ex")
        setup(
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(Self.nonceSize), nil), "EVP_CTRL_GCM_SET_IVLEN")
        rekey(key)
    }

    /// Frees the context, which wipes the key schedule.
    deinit {
        EVP_CIPHER_CTX_free(ctx)
        scratch.deallocate()
    }

    /// Replaces the key (a new stream's key) keeping the context.
    public func rekey(_ key: [UInt8]) {
        precondition(key.count == Self.keySize, "AES-256 takes a 32-byte key")
        setup(EVP_CipherInit_ex(ctx, nil, nil, key, nil, -1), "EVP_CipherInit_ex(key)")
    }

    /// Encrypts `plain` into the first `plain.count` bytes of `out` (which may be `plain`
    /// itself) and writes the 16-byte tag into `tag`.
    public func seal(
        _ plain: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, tag: UnsafeMutableRawBufferPointer,
        nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer
    ) {
        precondition(out.count >= plain.count && tag.count >= Self.tagSize && nonce.count == Self.nonceSize)
        begin(encrypt: true, nonce: nonce, aad: aad)
        var len: Int32 = 0
        if plain.count > 0 {
            setup(EVP_CipherUpdate(ctx, bytes(out), &len, bytes(plain), Int32(plain.count)), "EVP_CipherUpdate")
        }
        var tail: Int32 = 0
        // GCM is a stream mode: Final emits nothing, it only computes the tag.
        setup(EVP_CipherFinal_ex(ctx, bytes(out).map { $0 + Int(len) } ?? scratch, &tail), "EVP_CipherFinal_ex")
        setup(
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagSize), tag.baseAddress),
            "EVP_CTRL_GCM_GET_TAG")
    }

    /// Decrypts `cipher` into `out` (which may be `cipher` itself); false when the tag does not
    /// authenticate it (the output is then garbage and must not be used).
    public func open(
        _ cipher: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, tag: UnsafeRawBufferPointer,
        nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer
    ) -> Bool {
        precondition(out.count >= cipher.count && tag.count == Self.tagSize && nonce.count == Self.nonceSize)
        begin(encrypt: false, nonce: nonce, aad: aad)
        var len: Int32 = 0
        if cipher.count > 0 {
            guard EVP_CipherUpdate(ctx, bytes(out), &len, bytes(cipher), Int32(cipher.count)) == 1 else { return false }
        }
        // SET_TAG takes a non-const pointer but only reads it.
        guard
            EVP_CIPHER_CTX_ctrl(
                ctx, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagSize), UnsafeMutableRawPointer(mutating: tag.baseAddress))
                == 1
        else { return false }
        var tail: Int32 = 0
        return EVP_CipherFinal_ex(ctx, bytes(out).map { $0 + Int(len) } ?? scratch, &tail) == 1
    }

    private func begin(encrypt: Bool, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer) {
        setup(EVP_CipherInit_ex(ctx, nil, nil, nil, bytes(nonce), encrypt ? 1 : 0), "EVP_CipherInit_ex(nonce)")
        if aad.count > 0 {
            var len: Int32 = 0
            setup(EVP_CipherUpdate(ctx, nil, &len, bytes(aad), Int32(aad.count)), "EVP_CipherUpdate(aad)")
        }
    }

    // Convenience forms over arrays (small messages, tests).

    /// ciphertext ‖ tag.
    public func seal(_ plain: [UInt8], nonce: [UInt8], aad: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: plain.count + Self.tagSize)
        let n = plain.count
        plain.withUnsafeBytes { p in
            nonce.withUnsafeBytes { iv in
                aad.withUnsafeBytes { a in
                    out.withUnsafeMutableBytes { o in
                        seal(
                            p, into: UnsafeMutableRawBufferPointer(rebasing: o[0..<n]),
                            tag: UnsafeMutableRawBufferPointer(rebasing: o[n...]), nonce: iv, aad: a)
                    }
                }
            }
        }
        return out
    }

    /// The plaintext of ciphertext ‖ tag; nil when it does not authenticate.
    public func open(_ sealed: [UInt8], nonce: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard sealed.count >= Self.tagSize else { return nil }
        let n = sealed.count - Self.tagSize
        var out = [UInt8](repeating: 0, count: n)
        let ok = sealed.withUnsafeBytes { s in
            nonce.withUnsafeBytes { iv in
                aad.withUnsafeBytes { a in
                    out.withUnsafeMutableBytes { o in
                        open(
                            UnsafeRawBufferPointer(rebasing: s[0..<n]), into: o,
                            tag: UnsafeRawBufferPointer(rebasing: s[n...]), nonce: iv, aad: a)
                    }
                }
            }
        }
        return ok ? out : nil
    }
}

/// One-shot AES-256-GCM with a fresh random nonce: the sealed form is nonce ‖ ciphertext ‖ tag
/// (stored secrets, wrapped data keys).
public enum AESGCM {
    public static func seal(_ plain: [UInt8], key: [UInt8], aad: [UInt8]) -> [UInt8] {
        let nonce = randomBytes(SegmentCipher.nonceSize)
        return nonce + SegmentCipher(key: key).seal(plain, nonce: nonce, aad: aad)
    }

    /// nil when `sealed` is malformed or does not authenticate under `key` and `aad`.
    public static func open(_ sealed: [UInt8], key: [UInt8], aad: [UInt8]) -> [UInt8]? {
        guard sealed.count >= SegmentCipher.nonceSize + SegmentCipher.tagSize else { return nil }
        let nonce = Array(sealed[0..<SegmentCipher.nonceSize])
        return SegmentCipher(key: key).open(Array(sealed[SegmentCipher.nonceSize...]), nonce: nonce, aad: aad)
    }
}

@inline(__always)
private func bytes(_ p: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
    p.baseAddress?.assumingMemoryBound(to: UInt8.self)
}

@inline(__always)
private func bytes(_ p: UnsafeMutableRawBufferPointer) -> UnsafeMutablePointer<UInt8>? {
    p.baseAddress?.assumingMemoryBound(to: UInt8.self)
}

/// libcrypto fails these only on allocation failure or a broken provider (never on input):
/// unrecoverable for a gateway that must encrypt every byte.
@inline(__always)
private func setup(_ rc: Int32, _ call: StaticString) {
    if rc != 1 { fatalError("\(call) failed") }
}
