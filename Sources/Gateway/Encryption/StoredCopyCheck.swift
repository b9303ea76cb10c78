import GatewayCore
import SigV4

/// How the agent (replication, repair, scrub) checks the stored bytes of an encrypted copy
/// (docs/ENCRYPTION.md, "Verifying copies"). SSE-S3 and SSE-KMS: the agent holds the KEKs, so
/// every segment is authenticated as the bytes pass — any changed byte is found. SSE-C: no key,
/// so only the layout and the tag digest are checked (a flipped ciphertext byte keeps the tag
/// digest; a GET with the key finds it), and a replica is also read back and compared byte for
/// byte (by MD5) with the source bytes it was made from.
struct StoredCopyCheck {
    let verifier: StoredStreamVerifier
    private let object: ObjectRecord
    /// Whether only the keyless check was possible (SSE-C): a new copy is then read back.
    let keyless: Bool

    /// A check of `o`'s stored bytes on their way to `inner`; nil for a plaintext object.
    init?(_ o: ObjectRecord, into inner: any ByteSink, _ keys: KeyService) throws {
        guard o.isEncrypted else { return nil }
        guard let envelope = try SSEEnvelope.decode(o.sse) else { return nil }
        // Handed over, not copied: the verifier wipes it when done.
        let dataKey = envelope.mode == .customer ? nil : try keys.dataKey(envelope, anyState: true)
        verifier = StoredStreamVerifier(
            inner, streams: o.plainStreams, parts: o.streamParts(envelope), dataKey: dataKey)
        object = o
        keyless = envelope.mode == .customer
    }

    /// Whether the bytes passed were the object's: authenticated with the key, else (SSE-C) by
    /// layout and tag digest.
    var passed: Bool {
        if verifier.authentic { return true }
        return keyless && object.storedBytesMatch(etag: "", tagDigest: verifier.tagDigest())
    }
}
