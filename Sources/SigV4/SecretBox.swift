internal import COpenSSL
import Foundation
import GatewayCore

/// A 256-bit key that seals stored secrets; kept outside the metadata store (DESIGN.md: a copy
/// of the database alone reveals no secret).
public struct MasterKey: Sendable, Equatable {
    /// 8 hex digits of SHA-256 over the key: names it in sealed values without revealing it.
    public let id: String
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
        id = String(hexEncode(Digest.hash(.sha256, bytes)).prefix(8))
    }

    /// 64 hex digits, as in the key file and `S3GW_MASTER_KEY`.
    public init?(hex: String) {
        guard let b = hexDecode(hex.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        self.init(bytes: b)
    }

    public static func generate() -> MasterKey {
        var out = [UInt8](repeating: 0, count: 32)
        guard RAND_bytes(&out, 32) == 1 else { fatalError("RAND_bytes failed") }
        return MasterKey(bytes: out)!
    }

    public var hex: String { hexEncode(bytes) }
}

/// AES-256-GCM over libcrypto. Sealed form: `v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`,
/// with the row's access key as associated data, so a sealed secret copied onto another row
/// does not open. Seals under the last key of the ring; opens under any of them, so values
/// sealed before a rotation still open until they are re-sealed.
public struct SecretBox: Sendable {
    public let keys: [MasterKey]

    public init(keys: [MasterKey]) {
        precondition(!keys.isEmpty, "a SecretBox needs a key")
        self.keys = keys
    }

    public var current: MasterKey { keys[keys.count - 1] }

    public func seal(_ secret: String, context: String) -> String {
        var nonce = [UInt8](repeating: 0, count: 12)
        guard RAND_bytes(&nonce, 12) == 1 else { fatalError("RAND_bytes failed") }
        let (ct, tag) = Self.gcm(
            encrypt: true, key: current.bytes, nonce: nonce, aad: Array(context.utf8), input: Array(secret.utf8),
            tag: nil)!
        return "v1:\(current.id):" + base64Encode(nonce + ct + tag)
    }

    /// The key id a sealed value names, nil when it is not one.
    public static func keyID(of sealed: String) -> String? {
        let parts = sealed.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[0] == "v1" ? String(parts[1]) : nil
    }

    /// nil when the value is malformed, names a key this box lacks, or fails authentication
    /// (tampered, or sealed for another context).
    public func open(_ sealed: String, context: String) -> String? {
        let parts = sealed.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let key = keys.first(where: { $0.id == parts[1] }),
            let raw = base64Decode(String(parts[2])), raw.count >= 28
        else { return nil }
        let nonce = Array(raw[0..<12])
        let ct = Array(raw[12..<(raw.count - 16)])
        let tag = Array(raw[(raw.count - 16)...])
        guard
            let (plain, _) = Self.gcm(
                encrypt: false, key: key.bytes, nonce: nonce, aad: Array(context.utf8), input: ct, tag: tag)
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    /// One AES-256-GCM pass; nil when decryption fails authentication.
    private static func gcm(
        encrypt: Bool, key: [UInt8], nonce: [UInt8], aad: [UInt8], input: [UInt8], tag: [UInt8]?
    ) -> ([UInt8], [UInt8])? {
        guard let ctx = EVP_CIPHER_CTX_new() else { fatalError("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let enc: Int32 = encrypt ? 1 : 0
        guard EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil, enc) == 1,
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil) == 1,
            EVP_CipherInit_ex(ctx, nil, nil, key, nonce, enc) == 1
        else { fatalError("AES-256-GCM setup failed") }
        var len: Int32 = 0
        if !aad.isEmpty {
            guard EVP_CipherUpdate(ctx, nil, &len, aad, Int32(aad.count)) == 1 else { return nil }
        }
        var out = [UInt8](repeating: 0, count: input.count + 16)
        var total: Int32 = 0
        if !input.isEmpty {
            guard EVP_CipherUpdate(ctx, &out, &len, input, Int32(input.count)) == 1 else { return nil }
            total = len
        }
        if var tag {
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag) == 1 else { return nil }
        }
        let finalOK = out.withUnsafeMutableBufferPointer { p in
            EVP_CipherFinal_ex(ctx, p.baseAddress! + Int(total), &len) == 1
        }
        guard finalOK else { return nil }
        total += len
        var outTag = [UInt8](repeating: 0, count: 16)
        if encrypt {
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, &outTag) == 1 else {
                fatalError("GCM tag failed")
            }
        }
        return (Array(out[0..<Int(total)]), outTag)
    }
}
