import GatewayCore
import SigV4

/// A backup bucket holds only ciphertext (DESIGN.md: a provider holds nothing in clear; the
/// metadata names every bucket, key, tag and tenant). Every object the backup writes — snapshot,
/// manifest, WAL segment, end marker — is one stream of SSE's stream format v1
/// (docs/ENCRYPTION.md: 64 KiB AES-256-GCM segments, a random salt per stream, the last
/// segment flagged, so a cut, spliced or reordered object fails) under a key derived from a
/// master key and the installation: `HMAC-SHA256(master key, "s3gw-backup-v1|<installation>")`.
/// The master key's id is kept in the manifest; a generation keeps the key it began with.
public struct BackupSealing: Sendable {
    /// The master key's id (`MasterKey.id`).
    public let keyID: String
    private let key: [UInt8]

    public init(master: MasterKey, installation: String) {
        keyID = master.id
        key = HMAC.sha256(key: master.bytes, data: Array("s3gw-backup-v1|\(installation)".utf8))
    }

    /// One per key of the ring, the current one first (it sealed the newest generations).
    public static func ring(_ box: SecretBox, installation: String) -> [BackupSealing] {
        box.keys.reversed().map { BackupSealing(master: $0, installation: installation) }
    }

    /// A sink sealing what is written into `downstream`; `finish()` it before committing.
    public func sealing(into downstream: any ByteSink) -> EncryptingSink {
        EncryptingSink(downstream, dataKey: key)
    }

    public func seal(_ bytes: [UInt8]) throws -> [UInt8] {
        let out = MemorySink()
        let sink = sealing(into: out)
        try bytes.withUnsafeBytes { try sink.write($0) }
        try sink.finish()
        return out.bytes
    }

    /// The plaintext of one sealed object read from `source`, `storedSize` bytes in all; every
    /// segment is authenticated before its bytes come out (`SSEError.corrupt` otherwise).
    public func opening(_ source: any ByteSource, storedSize: Int64) throws -> any ByteSource {
        guard let plain = Self.plainSize(stored: storedSize) else {
            throw SSEError.corrupt("a sealed backup object of \(storedSize) bytes")
        }
        return try DecryptingReader(
            dataKey: key, streams: [plain], parts: [0], offset: 0, length: plain, open: { _, _ in source })
    }

    public func open(_ sealed: [UInt8]) throws -> [UInt8] {
        let reader = try opening(MemorySource(sealed), storedSize: Int64(sealed.count))
        guard let plain = try reader.readAll(limit: sealed.count) else {
            throw SSEError.corrupt("a sealed backup object longer than it is")
        }
        return plain
    }

    /// The plaintext size of a stream of `stored` bytes, nil when no stream has that size.
    static func plainSize(stored: Int64) -> Int64? {
        let body = stored - Int64(EncryptionLayout.headerSize)
        let tag = Int64(EncryptionLayout.tagSize)
        guard body >= tag else { return nil }
        let segments = max(
            1, (body + Int64(EncryptionLayout.segmentSize) + tag - 1) / (Int64(EncryptionLayout.segmentSize) + tag))
        let plain = body - tag * segments
        return plain >= 0 && EncryptionLayout.storedSize(plain: plain) == stored ? plain : nil
    }
}
