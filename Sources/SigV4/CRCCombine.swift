// The CRC of a concatenation from the CRCs of its pieces and the second piece's length, without
// the bytes: how a FULL_OBJECT multipart checksum is made from the part checksums
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
// The method is zlib's crc32_combine (multiplication by x^(8·len) modulo the polynomial, with
// x^(2^k) precomputed); it holds for every reflected CRC whose init and xorout are equal, which
// is the case for CRC-32, CRC-32C and CRC-64/NVME.

/// Polynomial arithmetic modulo one reflected CRC polynomial of 32 or 64 bits.
struct CRCCombiner<Word: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable {
    /// The reflected polynomial (as the table-driven CRC uses it).
    let poly: Word
    /// x^(2^k) mod poly for k = 0 ..< 64: 8·len needs at most 64 doublings.
    private let powers: [Word]

    /// x^0 in the reflected representation is the top bit.
    private static var one: Word { Word(1) << (Word.bitWidth - 1) }

    init(poly: Word) {
        self.poly = poly
        var p = [Word](repeating: 0, count: 64)
        p[0] = Self.one >> 1  // x^1
        for k in 1..<64 { p[k] = Self.multiply(p[k - 1], p[k - 1], poly) }
        powers = p
    }

    /// a·b mod poly (zlib's multmodp).
    private static func multiply(_ a: Word, _ b: Word, _ poly: Word) -> Word {
        if a == 0 { return 0 }
        var m = one
        var b = b
        var product: Word = 0
        while true {
            if a & m != 0 {
                product ^= b
                if a & (m - 1) == 0 { break }
            }
            m >>= 1
            b = b & 1 != 0 ? (b >> 1) ^ poly : b >> 1
        }
        return product
    }

    /// x^(8·bytes) mod poly (zlib's x2nmodp with k = 3).
    private func shift(bytes: UInt64) -> Word {
        var p = Self.one
        var n = bytes
        var k = 3
        while n != 0 {
            if n & 1 != 0 { p = Self.multiply(powers[k & 63], p, poly) }
            n >>= 1
            k += 1
        }
        return p
    }

    /// The CRC of A·B from crc(A), crc(B) and B's length in bytes.
    func combine(_ crcA: Word, _ crcB: Word, lengthB: Int64) -> Word {
        precondition(lengthB >= 0)
        return Self.multiply(shift(bytes: UInt64(lengthB)), crcA, poly) ^ crcB
    }
}

private let crc32Combiner = CRCCombiner<UInt32>(poly: 0xEDB8_8320)
private let crc32cCombiner = CRCCombiner<UInt32>(poly: 0x82F6_3B78)
private let crc64nvmeCombiner = CRCCombiner<UInt64>(poly: 0x9A6C_9329_AC4B_C9B5)

extension CRC32 {
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: Int64) -> UInt32 {
        crc32Combiner.combine(crcA, crcB, lengthB: lengthB)
    }
}

extension CRC32C {
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, lengthB: Int64) -> UInt32 {
        crc32cCombiner.combine(crcA, crcB, lengthB: lengthB)
    }
}

extension CRC64NVME {
    public static func combine(_ crcA: UInt64, _ crcB: UInt64, lengthB: Int64) -> UInt64 {
        crc64nvmeCombiner.combine(crcA, crcB, lengthB: lengthB)
    }
}

extension ChecksumAlgorithm {
    /// The whole object's checksum (raw big-endian bytes, as `finalize()` gives them) from its
    /// pieces' checksums and lengths, in order. nil for SHA-1/SHA-256, which do not combine,
    /// or when a checksum has the wrong length.
    public func combined(_ pieces: [(checksum: [UInt8], length: Int64)]) -> [UInt8]? {
        func word<W: FixedWidthInteger>(_ bytes: [UInt8], as: W.Type) -> W? {
            guard bytes.count == W.bitWidth / 8 else { return nil }
            return bytes.reduce(W(0)) { $0 << 8 | W($1) }
        }
        func fold<W: FixedWidthInteger>(_ type: W.Type, _ combine: (W, W, Int64) -> W) -> [UInt8]? {
            var crc: W = 0
            for p in pieces {
                guard let c = word(p.checksum, as: W.self) else { return nil }
                crc = combine(crc, c, p.length)
            }
            return withUnsafeBytes(of: crc.bigEndian) { Array($0) }
        }
        switch self {
        case .crc32: return fold(UInt32.self) { CRC32.combine($0, $1, lengthB: $2) }
        case .crc32c: return fold(UInt32.self) { CRC32C.combine($0, $1, lengthB: $2) }
        case .crc64nvme: return fold(UInt64.self) { CRC64NVME.combine($0, $1, lengthB: $2) }
        case .sha1, .sha256: return nil
        }
    }
}
