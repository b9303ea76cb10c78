/// A signed statement of how far the audit chain reached at the end of a period, modelled on
/// CloudTrail's digest files: the last record's seq and hash, linked to the previous digest by
/// its hash and signature, so neither the chain nor the digests can be cut short or rewritten
/// without the installation's Ed25519 key.
public struct AuditDigest: Sendable, Equatable, Codable {
    public var version = 1
    /// Store row id (not part of the signed bytes).
    public var id: Int64 = 0
    public var installation: String
    /// Milliseconds since the epoch; `periodEnd` is the period's end, one digest per period.
    public var periodStart: Int64
    public var periodEnd: Int64
    /// The first record of the period (lastSeq + 1 of the previous digest) and the last one;
    /// firstSeq > lastSeq when nothing was appended in the period.
    public var firstSeq: Int64
    public var lastSeq: Int64
    /// Hash of record `lastSeq` (64 zeros while the chain is empty).
    public var lastHash: String
    public var publicKeyFingerprint: String
    public var signatureAlgorithm = "Ed25519"
    /// Hex SHA-256 of the previous digest's canonical bytes, and its signature; "" for the first.
    public var previousDigestHash: String
    public var previousDigestSignature: String
    /// Hex Ed25519 signature over `signedMessage` (not part of the canonical bytes).
    public var signature = ""

    /// `id` is the store's, not the digest's: files and API answers go without it.
    enum CodingKeys: String, CodingKey {
        case version, installation, periodStart, periodEnd, firstSeq, lastSeq, lastHash, publicKeyFingerprint,
            signatureAlgorithm, previousDigestHash, previousDigestSignature, signature
    }

    public init(
        installation: String, periodStart: Int64, periodEnd: Int64, firstSeq: Int64, lastSeq: Int64,
        lastHash: String, publicKeyFingerprint: String, previousDigestHash: String, previousDigestSignature: String
    ) {
        self.installation = installation
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.firstSeq = firstSeq
        self.lastSeq = lastSeq
        self.lastHash = lastHash
        self.publicKeyFingerprint = publicKeyFingerprint
        self.previousDigestHash = previousDigestHash
        self.previousDigestSignature = previousDigestSignature
    }

    /// The digest as JSON with its keys in a fixed order, without the signature: what is hashed.
    public var canonical: [UInt8] {
        Array(
            AuditValue.object([
                ("version", .int(Int64(version))), ("installation", .string(installation)),
                ("digestStartTime", .string(HTTPDate.iso8601(Double(periodStart) / 1000))),
                ("digestEndTime", .string(HTTPDate.iso8601(Double(periodEnd) / 1000))),
                ("periodStart", .int(periodStart)), ("periodEnd", .int(periodEnd)), ("firstSeq", .int(firstSeq)),
                ("lastSeq", .int(lastSeq)), ("lastHash", .string(lastHash)),
                ("publicKeyFingerprint", .string(publicKeyFingerprint)),
                ("signatureAlgorithm", .string(signatureAlgorithm)),
                ("previousDigestHash", .string(previousDigestHash)),
                ("previousDigestHashAlgorithm", .string("SHA-256")),
                ("previousDigestSignature", .string(previousDigestSignature)),
            ]).utf8)
    }

    public func hash(_ sha256Hex: AuditRecord.Hasher) -> String { sha256Hex(canonical) }

    /// What the key signs (as CloudTrail's signing string): the period's end, the digest's hash
    /// and the previous digest's signature, so each signature covers the one before.
    public func signedMessage(_ sha256Hex: AuditRecord.Hasher) -> [UInt8] {
        Array(
            ("s3gw-audit-digest-v1\n" + String(periodEnd) + "\n" + hash(sha256Hex) + "\n" + previousDigestSignature)
                .utf8)
    }

    /// The file written to the digest zone: the canonical fields plus the signature.
    public var file: [UInt8] {
        var bytes = canonical
        bytes.removeLast()  // "}"
        return bytes + Array(",\"signature\":\(AuditValue.quoted(signature))}".utf8)
    }
}
