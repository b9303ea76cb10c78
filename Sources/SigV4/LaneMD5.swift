internal import COpenSSL

/// The chaining words of one MD5 stream (RFC 1321 section 3.3).
struct MD5Words {
    var a: UInt32 = 0x6745_2301
    var b: UInt32 = 0xefcd_ab89
    var c: UInt32 = 0x98ba_dcfe
    var d: UInt32 = 0x1032_5476

    /// Runs `count` whole 64-byte blocks through OpenSSL's MD5 block function from these words.
    mutating func scalar(_ blocks: UnsafeRawPointer, count: Int) {
        guard count > 0 else { return }
        var ctx = MD5_CTX()
        ctx.A = a
        ctx.B = b
        ctx.C = c
        ctx.D = d
        // With nothing buffered (num == 0) and whole blocks, MD5_Update only runs the blocks.
        MD5_Update(&ctx, blocks, count * 64)
        a = ctx.A
        b = ctx.B
        c = ctx.C
        d = ctx.D
    }
}

/// An incremental MD5 — the ETag of a PUT or part body — whose long runs of whole blocks go
/// through `MD5Combiner`, so concurrent bodies are hashed together in vector lanes. The digest
/// is the same as `Digest(.md5)`'s; only the cost differs.
public struct LaneMD5 {
    private let combiner: MD5Combiner
    private var words = MD5Words()
    private var length: UInt64 = 0
    /// Bytes of an unfinished block (fewer than 64).
    private var tail: [UInt8] = []

    public init() { self.init(combiner: .shared) }

    /// `[server] md5_lanes`: whether bodies in this process share vector lanes (on by default
    /// where the CPU has AVX-512).
    public static func useLanes(_ on: Bool) { MD5Combiner.shared.setEnabled(on) }

    init(combiner: MD5Combiner) {
        self.combiner = combiner
        tail.reserveCapacity(64)
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        if !tail.isEmpty {
            offset = min(64 - tail.count, bytes.count)
            tail.append(contentsOf: UnsafeRawBufferPointer(start: base, count: offset))
            guard tail.count == 64 else { return }
            tail.withUnsafeBytes { words.scalar($0.baseAddress!, count: 1) }
            tail.removeAll(keepingCapacity: true)
        }
        let whole = (bytes.count - offset) / 64
        combiner.hash(&words, base + offset, blocks: whole)
        offset += whole * 64
        tail.append(contentsOf: UnsafeRawBufferPointer(start: base + offset, count: bytes.count - offset))
    }

    /// The 16-byte digest of everything so far; the hash then starts over.
    public mutating func finalize() -> [UInt8] {
        // RFC 1321 sections 3.1-3.2: a 1 bit, zeros to 56 bytes mod 64, the bit length.
        var last = tail
        last.append(0x80)
        while last.count % 64 != 56 { last.append(0) }
        let bits = length &* 8
        for i in 0..<8 { last.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt64(i)))) }
        last.withUnsafeBytes { words.scalar($0.baseAddress!, count: last.count / 64) }
        var digest: [UInt8] = []
        digest.reserveCapacity(16)
        for w in [words.a, words.b, words.c, words.d] {
            for i in 0..<4 { digest.append(UInt8(truncatingIfNeeded: w >> (8 * UInt32(i)))) }
        }
        self = LaneMD5(combiner: combiner)
        return digest
    }
}
