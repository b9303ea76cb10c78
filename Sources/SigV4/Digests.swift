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
            case .md5: FetchedDigest.md5
            case .sha1: FetchedDigest.sha1
            case .sha256: FetchedDigest.sha256
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

/// The digests fetched from the default provider once per process. `EVP_sha256()` and friends
/// are legacy handles: every `EVP_DigestInit_ex` with one looks the provider's implementation up
/// again (a lock and a name lookup per call, in every SigV4 HMAC), a fetched one does not.
/// Fetched digests are never freed: they live as long as the process.
enum FetchedDigest {
    nonisolated(unsafe) static let md5 = fetch("MD5", fallback: EVP_md5())
    nonisolated(unsafe) static let sha1 = fetch("SHA1", fallback: EVP_sha1())
    nonisolated(unsafe) static let sha256 = fetch("SHA256", fallback: EVP_sha256())

    private static func fetch(_ name: String, fallback: OpaquePointer?) -> OpaquePointer {
        if let md = EVP_MD_fetch(nil, name, nil) { return md }
        // A provider without the fetch API answers for the legacy handle still.
        guard let fallback else { fatalError("no \(name) digest in libcrypto") }
        return fallback
    }
}

/// One-shot HMACs: SigV4 key derivation and chunk signatures (SHA-256), SigV2 (SHA-1).
/// HMAC-SHA1 is RFC 2104 over one `EVP_MD_CTX` and a fetched digest: OpenSSL 3's `HMAC()` builds an
/// `EVP_MAC`, fetches it and the digest by name and sets parameters on every call, which cost
/// more than the hashing itself for the short inputs signatures have.
///
/// HMAC-SHA256, the one on every request's path (its signature, each aws-chunked chunk), runs on
/// a `SHA256_CTX` on the stack instead: through EVP it cost about 18,000 instructions per call
/// (a context allocated and freed, two digest initialisations through the provider, five
/// arrays), most of a 4 KiB GET's signature check.
public enum HMAC {
    public static func sha256(key: [UInt8], data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { sha256(key: key, data: $0) }
    }

    public static func sha256(key: [UInt8], data: UnsafeRawBufferPointer) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: blockSize) { pad in
            pad.initialize(repeating: 0)
            defer { OPENSSL_cleanse(pad.baseAddress, blockSize) }
            if key.count > blockSize {
                key.withUnsafeBytes { k in _ = SHA256(k.baseAddress, k.count, pad.baseAddress) }
            } else {
                for (i, byte) in key.enumerated() { pad[i] = byte }
            }
            var ctx = SHA256_CTX()
            defer { OPENSSL_cleanse(&ctx, MemoryLayout<SHA256_CTX>.size) }
            var inner = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            defer { OPENSSL_cleanse(&inner, 32) }
            for i in 0..<blockSize { pad[i] ^= 0x36 }
            SHA256_Init(&ctx)
            SHA256_Update(&ctx, pad.baseAddress, blockSize)
            if data.count > 0 { SHA256_Update(&ctx, data.baseAddress, data.count) }
            withUnsafeMutableBytes(of: &inner) {
                _ = SHA256_Final($0.baseAddress!.assumingMemoryBound(to: UInt8.self), &ctx)
            }
            for i in 0..<blockSize { pad[i] ^= 0x36 ^ 0x5c }
            SHA256_Init(&ctx)
            SHA256_Update(&ctx, pad.baseAddress, blockSize)
            withUnsafeBytes(of: &inner) { SHA256_Update(&ctx, $0.baseAddress, 32) }
            return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
                SHA256_Final(out.baseAddress, &ctx)
                count = 32
            }
        }
    }

    public static func sha1(key: [UInt8], data: [UInt8]) -> [UInt8] { mac(FetchedDigest.sha1, key, data) }

    /// SHA-1 and SHA-256 both hash 64-byte blocks.
    private static let blockSize = 64

    private static func mac(_ md: OpaquePointer, _ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed (out of memory)") }
        defer { EVP_MD_CTX_free(ctx) }
        var block = [UInt8](repeating: 0, count: blockSize)
        if key.count > blockSize {
            var hashed = digest(ctx, md, key, [])
            block.replaceSubrange(0..<hashed.count, with: hashed)
            wipeBytes(&hashed)
        } else {
            block.replaceSubrange(0..<key.count, with: key)
        }
        var pad = block.map { $0 ^ 0x36 }
        let inner = digest(ctx, md, pad, data)
        for i in 0..<blockSize { pad[i] = block[i] ^ 0x5c }
        let outer = digest(ctx, md, pad, inner)
        wipeBytes(&block)
        wipeBytes(&pad)
        return outer
    }

    /// H(a || b) on `ctx`, which is re-initialised first.
    private static func digest(_ ctx: OpaquePointer, _ md: OpaquePointer, _ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        check(EVP_DigestInit_ex(ctx, md, nil), "EVP_DigestInit_ex")
        update(ctx, a)
        update(ctx, b)
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        out.withUnsafeMutableBufferPointer { p in
            check(EVP_DigestFinal_ex(ctx, p.baseAddress, &len), "EVP_DigestFinal_ex")
        }
        out.removeSubrange(Int(len)...)
        return out
    }

    private static func update(_ ctx: OpaquePointer, _ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { p in check(EVP_DigestUpdate(ctx, p.baseAddress, p.count), "EVP_DigestUpdate") }
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
            EVP_Digest(d.baseAddress, bytes.count, o.baseAddress, &len, FetchedDigest.sha256, nil)
        }
    }
    check(rc, "EVP_Digest")
    return hexEncode(Array(out[0..<Int(len)]))
}
