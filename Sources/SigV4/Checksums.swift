// Pure-Swift CRCs for the S3 additional checksums
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html).
// libcrypto has none of them, and zlib would be a fourth C dependency for one function.
// Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per iteration.

/// Builds the 8 slicing tables for a reflected CRC with the given (reflected) polynomial.
private func makeTables32(_ poly: UInt32) -> [UInt32] {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ poly : c >> 1 }
        t[i] = c
    }
    for k in 1..<8 {
        for i in 0..<256 {
            let prev = t[(k - 1) * 256 + i]
            t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xff)]
        }
    }
    return t
}

private func makeTables64(_ poly: UInt64) -> [UInt64] {
    var t = [UInt64](repeating: 0, count: 8 * 256)
    for i in 0..<256 {
        var c = UInt64(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ poly : c >> 1 }
        t[i] = c
    }
    for k in 1..<8 {
        for i in 0..<256 {
            let prev = t[(k - 1) * 256 + i]
            t[k * 256 + i] = (prev >> 8) ^ t[Int(prev & 0xff)]
        }
    }
    return t
}

// Globals are initialised lazily and thread-safely by the runtime.
private let crc32Tables = makeTables32(0xEDB8_8320)  // zlib / IEEE 802.3
private let crc32cTables = makeTables32(0x82F6_3B78)  // Castagnoli
private let crc64nvmeTables = makeTables64(0x9A6C_9329_AC4B_C9B5)  // 0xAD93D23594C93659 reflected

private func update32(_ crc: UInt32, _ tables: [UInt32], _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return tables.withUnsafeBufferPointer { t in
        var c = crc
        var p = base
        var n = bytes.count
        while n >= 8 {
            let lo = c ^ UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
            let hi = UInt32(littleEndian: (p + 4).loadUnaligned(as: UInt32.self))
            c =
                t[7 * 256 + Int(lo & 0xff)] ^ t[6 * 256 + Int((lo >> 8) & 0xff)]
                ^ t[5 * 256 + Int((lo >> 16) & 0xff)] ^ t[4 * 256 + Int(lo >> 24)]
                ^ t[3 * 256 + Int(hi & 0xff)] ^ t[2 * 256 + Int((hi >> 8) & 0xff)]
                ^ t[1 * 256 + Int((hi >> 16) & 0xff)] ^ t[Int(hi >> 24)]
            p += 8
            n -= 8
        }
        while n > 0 {
            c = (c >> 8) ^ t[Int((c ^ UInt32(p.load(as: UInt8.self))) & 0xff)]
            p += 1
            n -= 1
        }
        return c
    }
}

private func update64(_ crc: UInt64, _ tables: [UInt64], _ bytes: UnsafeRawBufferPointer) -> UInt64 {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
    return tables.withUnsafeBufferPointer { t in
        var c = crc
        var p = base
        var n = bytes.count
        while n >= 8 {
            let v = c ^ UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
            c =
                t[7 * 256 + Int(v & 0xff)] ^ t[6 * 256 + Int((v >> 8) & 0xff)]
                ^ t[5 * 256 + Int((v >> 16) & 0xff)] ^ t[4 * 256 + Int((v >> 24) & 0xff)]
                ^ t[3 * 256 + Int((v >> 32) & 0xff)] ^ t[2 * 256 + Int((v >> 40) & 0xff)]
                ^ t[1 * 256 + Int((v >> 48) & 0xff)] ^ t[Int(v >> 56)]
            p += 8
            n -= 8
        }
        while n > 0 {
            c = (c >> 8) ^ t[Int((c ^ UInt64(p.load(as: UInt8.self))) & 0xff)]
            p += 1
            n -= 1
        }
        return c
    }
}

private func bigEndianBytes<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.bigEndian) { Array($0) }
}

/// CRC-32 as zlib computes it; S3 transmits the big-endian bytes, base64-encoded.
public struct CRC32: Sendable {
    private var crc: UInt32 = 0xFFFF_FFFF
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { crc = update32(crc, crc32Tables, bytes) }
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    public var value: UInt32 { crc ^ 0xFFFF_FFFF }
    public func finalize() -> [UInt8] { bigEndianBytes(value) }
}

/// CRC-32C (Castagnoli).
public struct CRC32C: Sendable {
    private var crc: UInt32 = 0xFFFF_FFFF
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { crc = update32(crc, crc32cTables, bytes) }
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    public var value: UInt32 { crc ^ 0xFFFF_FFFF }
    public func finalize() -> [UInt8] { bigEndianBytes(value) }
}

/// CRC-64/NVME, the S3 default full-object checksum: poly 0xAD93D23594C93659, reflected,
/// init and xorout all ones.
public struct CRC64NVME: Sendable {
    private var crc: UInt64 = ~0
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { crc = update64(crc, crc64nvmeTables, bytes) }
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }
    public var value: UInt64 { ~crc }
    public func finalize() -> [UInt8] { bigEndianBytes(value) }
}

/// The five `x-amz-checksum-*` algorithms S3 accepts.
public enum ChecksumAlgorithm: String, CaseIterable, Sendable {
    case crc32, crc32c, crc64nvme, sha1, sha256

    /// "x-amz-checksum-crc32" …, the header and trailer name.
    public var headerName: String { "x-amz-checksum-" + rawValue }

    /// The spelling S3 uses in `x-amz-checksum-algorithm` and XML ("CRC32", "CRC64NVME").
    public var algorithmName: String { rawValue.uppercased() }

    /// Raw digest length: a header whose base64 decodes to another length is invalid.
    public var digestLength: Int {
        switch self {
        case .crc32, .crc32c: return 4
        case .crc64nvme: return 8
        case .sha1: return 20
        case .sha256: return 32
        }
    }

    public init?(headerName: String) {
        let lower = headerName.lowercased()
        guard lower.hasPrefix("x-amz-checksum-") else { return nil }
        self.init(rawValue: String(lower.dropFirst("x-amz-checksum-".count)))
    }

    /// Case-insensitive: SDKs send "CRC32", hand-written requests "crc32".
    public init?(algorithmName: String) {
        self.init(rawValue: algorithmName.lowercased())
    }

    public func makeHasher() -> ChecksumHasher { ChecksumHasher(self) }
}

/// How a multipart object's checksum is made from its parts' (S3's `ChecksumType`).
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html
public enum ChecksumType: String, Sendable {
    /// The checksum of the concatenated part checksums, with "-<part count>" appended.
    case composite = "COMPOSITE"
    /// The checksum of the whole object's bytes, combined from the parts' CRCs.
    case fullObject = "FULL_OBJECT"

    /// What a stored value is: composite values carry their part count.
    public init(storedValue: String) {
        self = storedValue.contains("-") ? .composite : .fullObject
    }
}

extension ChecksumAlgorithm {
    /// CRC-64/NVME exists only as a full-object checksum; the others default to composite.
    public var defaultMultipartType: ChecksumType { self == .crc64nvme ? .fullObject : .composite }

    /// Digests do not combine (no full-object form); CRC-64/NVME has no composite form.
    public func supports(_ type: ChecksumType) -> Bool {
        switch type {
        case .composite: self != .crc64nvme
        case .fullObject: self == .crc32 || self == .crc32c || self == .crc64nvme
        }
    }
}

/// One running checksum of any S3 algorithm. A class so the SHA contexts inside are mutated
/// in place (an enum payload would be copied, and copying an EVP context is not free).
public final class ChecksumHasher {
    public let algorithm: ChecksumAlgorithm
    private var crc32: CRC32?
    private var crc32c: CRC32C?
    private var crc64: CRC64NVME?
    private var sha1: Digest?
    private var sha256: Digest?

    public init(_ algorithm: ChecksumAlgorithm) {
        self.algorithm = algorithm
        switch algorithm {
        case .crc32: crc32 = CRC32()
        case .crc32c: crc32c = CRC32C()
        case .crc64nvme: crc64 = CRC64NVME()
        case .sha1: sha1 = Digest(.sha1)
        case .sha256: sha256 = Digest(.sha256)
        }
    }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        switch algorithm {
        case .crc32: crc32!.update(bytes)
        case .crc32c: crc32c!.update(bytes)
        case .crc64nvme: crc64!.update(bytes)
        case .sha1: sha1!.update(bytes)
        case .sha256: sha256!.update(bytes)
        }
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Raw digest bytes; base64 them for the header form.
    public func finalize() -> [UInt8] {
        switch algorithm {
        case .crc32: return crc32!.finalize()
        case .crc32c: return crc32c!.finalize()
        case .crc64nvme: return crc64!.finalize()
        case .sha1: return sha1!.finalize()
        case .sha256: return sha256!.finalize()
        }
    }
}
