internal import COpenSSL

/// Owns one OpenSSL `EVP_MD_CTX`; the digest structs below share it copy-on-write so they
/// keep value semantics while the C context is freed exactly once.
final class EVPContext {
    let ctx: OpaquePointer
    let md: OpaquePointer

    init(md: OpaquePointer) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed (out of memory)") }
        self.ctx = ctx
        self.md = md
        check(EVP_DigestInit_ex(ctx, md, nil), "EVP_DigestInit_ex")
    }

    init(copying other: EVPContext) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed (out of memory)") }
        self.ctx = ctx
        self.md = other.md
        check(EVP_MD_CTX_copy_ex(ctx, other.ctx), "EVP_MD_CTX_copy_ex")
    }

    deinit { EVP_MD_CTX_free(ctx) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        check(EVP_DigestUpdate(ctx, base, bytes.count), "EVP_DigestUpdate")
    }

    /// Returns the digest and re-initialises, so a finalized digest starts over cleanly.
    func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        out.withUnsafeMutableBufferPointer { p in
            check(EVP_DigestFinal_ex(ctx, p.baseAddress, &len), "EVP_DigestFinal_ex")
        }
        check(EVP_DigestInit_ex(ctx, md, nil), "EVP_DigestInit_ex")
        return Array(out[0..<Int(len)])
    }
}

/// libcrypto only fails these calls on allocation failure or a broken provider: both are
/// unrecoverable for a gateway that must hash every byte.
@inline(__always)
private func check(_ rc: Int32, _ call: StaticString) {
    if rc != 1 { fatalError("\(call) failed") }
}

/// One incremental digest over OpenSSL EVP: MD5 (ETags, Content-MD5), SHA-1 and SHA-256
/// (payload hashes, checksums). A value type; copies share the C context until one changes.
public struct Digest {
    public enum Algorithm: Sendable {
        case md5, sha1, sha256

        var md: OpaquePointer {
            switch self {
            case .md5: EVP_md5()
            case .sha1: EVP_sha1()
            case .sha256: EVP_sha256()
            }
        }
    }

    private var box: EVPContext

    public init(_ algorithm: Algorithm) { box = EVPContext(md: algorithm.md) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if !isKnownUniquelyReferenced(&box) { box = EVPContext(copying: box) }
        box.update(bytes)
    }

    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// The digest of everything so far; the digest then starts over.
    public mutating func finalize() -> [UInt8] {
        if !isKnownUniquelyReferenced(&box) { box = EVPContext(copying: box) }
        return box.finalize()
    }

    public static func hash(_ algorithm: Algorithm, _ bytes: [UInt8]) -> [UInt8] {
        var d = Digest(algorithm)
        d.update(bytes)
        return d.finalize()
    }
}

/// One-shot HMACs: SigV4 key derivation and chunk signatures (SHA-256), SigV2 (SHA-1).
public enum HMAC {
    public static func sha256(key: [UInt8], data: [UInt8]) -> [UInt8] { mac(EVP_sha256(), key, data) }
    public static func sha1(key: [UInt8], data: [UInt8]) -> [UInt8] { mac(EVP_sha1(), key, data) }

    private static func mac(_ md: OpaquePointer, _ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        // Empty arrays may have a nil base address; HMAC() wants valid pointers even for 0 bytes.
        let k = key.isEmpty ? [0] : key
        let d = data.isEmpty ? [0] : data
        let ok = k.withUnsafeBufferPointer { kp in
            d.withUnsafeBufferPointer { dp in
                out.withUnsafeMutableBufferPointer { op in
                    COpenSSL.HMAC(
                        md, kp.baseAddress, Int32(key.count), dp.baseAddress, data.count, op.baseAddress, &len)
                        != nil
                }
            }
        }
        if !ok { fatalError("HMAC failed") }
        return Array(out[0..<Int(len)])
    }
}

/// Hex SHA-256 of `bytes` in one `EVP_Digest` call: the audit chain's record and digest hashes
/// (GatewayCore's audit types take it as a parameter, so the gateway has one SHA-256).
@Sendable public func sha256Hex(_ bytes: [UInt8]) -> String {
    var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var len: UInt32 = 0
    // An empty array may have no base address; EVP_Digest wants a valid pointer even for 0 bytes.
    let data = bytes.isEmpty ? [0] : bytes
    let rc = data.withUnsafeBytes { d in
        out.withUnsafeMutableBufferPointer { o in
            EVP_Digest(d.baseAddress, bytes.count, o.baseAddress, &len, EVP_sha256(), nil)
        }
    }
    check(rc, "EVP_Digest")
    return hexEncode(Array(out[0..<Int(len)]))
}
