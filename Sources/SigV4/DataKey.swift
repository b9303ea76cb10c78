import GatewayCore

/// Per-object data keys (DEKs) and their wrapping in an `SSEEnvelope`: AES-256-GCM under a KEK
/// version or the client's SSE-C key, with the envelope's mode, key id and version as
/// associated data (`SSEEnvelope.wrapAAD`).
public enum DataKey {
    public static let size = 32

    /// A fresh DEK and the envelope that keeps it wrapped under `wrappingKey`.
    public static func generate(
        mode: SSEEnvelope.Mode, kekId: String, kekVersion: Int, wrappingKey: [UInt8]
    ) -> (dataKey: [UInt8], envelope: SSEEnvelope) {
        let dek = randomBytes(size)
        var e = SSEEnvelope(mode: mode, kekId: kekId, kekVersion: kekVersion, wrapped: "")
        wrap(dek, into: &e, under: wrappingKey)
        return (dek, e)
    }

    /// Wraps `dataKey` under `key` for the envelope's (mode, kekId, kekVersion) as they are now.
    public static func wrap(_ dataKey: [UInt8], into envelope: inout SSEEnvelope, under key: [UInt8]) {
        precondition(dataKey.count == size && key.count == SegmentCipher.keySize)
        envelope.wrapped = base64Encode(AESGCM.seal(dataKey, key: key, aad: envelope.wrapAAD))
    }

    /// The envelope's DEK. `.wrongKey` when `key` does not open it (for SSE-C: the client's key
    /// is not the one the object was written with); `.corrupt` when the envelope is damaged.
    public static func unwrap(_ envelope: SSEEnvelope, with key: [UInt8]) throws(SSEError) -> [UInt8] {
        guard key.count == SegmentCipher.keySize else { throw .wrongKey }
        guard let raw = base64Decode(envelope.wrapped),
            raw.count == SegmentCipher.nonceSize + size + SegmentCipher.tagSize
        else { throw .corrupt("malformed wrapped data key") }
        guard let dek = AESGCM.open(raw, key: key, aad: envelope.wrapAAD) else { throw .wrongKey }
        return dek
    }

    /// Hex MD5 over the tag digests of an object's streams in order: the `tagDigest` of a
    /// multipart object (a single stream's is its own digest, hex).
    public static func combinedTagDigest(_ streams: [[UInt8]]) -> String {
        streams.count == 1 ? hexEncode(streams[0]) : hexEncode(Digest.hash(.md5, streams.flatMap { $0 }))
    }
}
