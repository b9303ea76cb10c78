/// Plaintext size vs stored size: `ObjectRecord.size` (and `partSizes`) are what clients see;
/// the zones hold an encrypted object's ciphertext, longer by a stream header per part and a tag
/// per segment. Everything that reads, copies, compares or counts blobs uses `storedSize` /
/// `blobs` (stored sizes), never `size` — else a repair would "fix" good encrypted copies
/// (grep-enforced in StoredSizeTests).
extension ObjectRecord {
    /// The object's bytes are encrypted (`sse` holds their envelope).
    public var isEncrypted: Bool { !sse.isEmpty }

    /// Bytes one complete copy of the object takes in a zone (0 for a delete marker).
    public var storedSize: Int64 {
        if isDeleteMarker { return 0 }
        guard isEncrypted else { return size }
        // A filesystem multipart object keeps each part's own blob, with its stored size.
        if !parts.isEmpty { return parts.reduce(0) { $0 + $1.size } }
        // One blob: one stream per part (a provider assembled the parts), else one stream.
        return StoredStreams.size(plainStreams: partSizes.isEmpty ? [size] : partSizes)
    }
}

/// The stored size of encrypted streams (segment format v1: a 16-byte header per stream, a
/// 16-byte tag per 64 KiB segment, an empty stream one empty segment).
/// TODO(issue 13): replace by sse-core's `EncryptionLayout.storedSize(streams:)` when it lands.
enum StoredStreams {
    static let segment: Int64 = 64 * 1024

    static func size(plainStreams: [Int64]) -> Int64 {
        plainStreams.reduce(0) { total, n in total + 16 + n + 16 * max(1, (n + segment - 1) / segment) }
    }
}
