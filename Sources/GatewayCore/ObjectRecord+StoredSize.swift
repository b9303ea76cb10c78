/// Plaintext size vs stored size: `ObjectRecord.size` (and `partSizes`) are what clients see;
/// the zones hold an encrypted object's ciphertext, longer by a stream header per part and a tag
/// per segment. Everything that reads, copies, compares or counts blobs uses `storedSize` /
/// `blobs` (stored sizes), never `size` — else a repair would "fix" good encrypted copies
/// (grep-enforced in StoredSizeTests).
extension ObjectRecord {
    /// The object's bytes are encrypted (`sse` holds their envelope).
    public var isEncrypted: Bool { !sse.isEmpty }

    /// The plaintext sizes of the object's encryption streams: one per part (multipart), else
    /// the whole object.
    public var plainStreams: [Int64] { partSizes.isEmpty ? [size] : partSizes }

    /// The part number each stream's key is bound to, in order: `envelope`'s (the object's own,
    /// decoded once by the caller) part numbers for a multipart object, 0 for a single stream.
    public func streamParts(_ envelope: SSEEnvelope) -> [Int] {
        partSizes.isEmpty ? [0] : envelope.parts
    }

    /// Bytes one complete copy of the object takes in a zone (0 for a delete marker).
    public var storedSize: Int64 {
        if isDeleteMarker { return 0 }
        guard isEncrypted else { return size }
        // A filesystem multipart object keeps each part's own blob, with its stored size.
        if !parts.isEmpty { return parts.reduce(0) { $0 + $1.size } }
        // One blob: one stream per part (a provider assembled the parts), else one stream.
        return EncryptionLayout.storedSize(streams: plainStreams)
    }
}

extension ObjectRecord {
    /// Adds the room this version's copies take to `zones` (`MetadataStore.storedBytesPerZone`):
    /// its stored size in its own zone and in each zone holding a completed replica.
    public func addStoredBytes(to zones: inout [String: Int64]) {
        guard !isDeleteMarker else { return }
        zones[zone, default: 0] += storedSize
        Self.addReplicaBytes(storedSize, replicas, to: &zones)
    }

    /// The replicas' share of `addStoredBytes`: `storedSize` in each zone of a completed one
    /// (pending and failed ones hold no verified copy).
    public static func addReplicaBytes(_ storedSize: Int64, _ replicas: [Replica], to zones: inout [String: Int64]) {
        for r in replicas where r.state == .completed { zones[r.zone, default: 0] += storedSize }
    }
}

extension ObjectRecord {
    /// Whether bytes read from one of its copies are this object's, without any key (the SSE-C
    /// check; it cannot see a changed ciphertext byte): plaintext
    /// by its ETag (`etag`: the MD5 of what was read, as ETags are made), ciphertext by the tag
    /// digest of what was read (`tagDigest`, nil when the bytes were not the layout's) against
    /// the envelope's.
    public func storedBytesMatch(etag: String, tagDigest: String?) -> Bool {
        guard isEncrypted else { return etag == self.etag }
        guard let tagDigest, let envelope = try? SSEEnvelope.decode(sse) else { return false }
        // An envelope that recorded no digest gives nothing to check against: refused, never
        // taken as intact (SSE-S3/SSE-KMS copies are authenticated with their key instead).
        return !envelope.tagDigest.isEmpty && envelope.tagDigest == tagDigest
    }
}
