/// A key-encryption key kept by the gateway (SSE-S3's per-tenant key, or an SSE-KMS key made
/// through the admin API). The key material itself is never here in clear: `versions` holds each
/// version sealed under the master key ring, the last one current.
public struct KMSKeyRecord: Sendable, Equatable {
    public var id: String
    public var tenant: String
    /// "" or a name unique within the tenant (`alias/<name>` in requests).
    public var alias: String
    public var description: String
    /// "sse-s3" (one per tenant, made on first use) or "kms".
    public var kind: String
    /// "Enabled" or "Disabled".
    public var state: String
    public var createdAt: Double
    /// The sealed versions, as the key service encodes them (JSON).
    public var versions: String

    public init(
        id: String, tenant: String, alias: String = "", description: String = "", kind: String,
        state: String = "Enabled", createdAt: Double, versions: String
    ) {
        self.id = id
        self.tenant = tenant
        self.alias = alias
        self.description = description
        self.kind = kind
        self.state = state
        self.createdAt = createdAt
        self.versions = versions
    }
}

/// The per-bucket settings of access control, CORS and encryption, each one text column whose
/// format belongs to the part that reads it.
public enum BucketSetting: String, Sendable, CaseIterable {
    case policy, acl, ownership, publicAccessBlock, cors, encryption

    /// The `buckets` column holding it.
    public var column: String {
        switch self {
        case .publicAccessBlock: "public_access_block"
        default: rawValue
        }
    }
}
