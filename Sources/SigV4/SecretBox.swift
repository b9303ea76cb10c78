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

    public static func generate() -> MasterKey { MasterKey(bytes: randomBytes(32))! }

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
        "v1:\(current.id):"
            + base64Encode(AESGCM.seal(Array(secret.utf8), key: current.bytes, aad: Array(context.utf8)))
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
        guard let plain = AESGCM.open(raw, key: key.bytes, aad: Array(context.utf8)) else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
