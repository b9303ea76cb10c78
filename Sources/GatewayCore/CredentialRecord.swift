/// An access key of a user: permanent, or a temporary session issued by the gateway's STS.
public struct CredentialRecord: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case active, inactive }

    public var accessKey: String
    public var tenant: String
    /// The user's name inside the tenant.
    public var user: String
    /// The secret key sealed under the master key (`SecretBox`); never the secret itself.
    public var sealedSecret: String
    public var status: Status
    public var createdAt: Double
    /// Sessions only: when the credential stops working.
    public var expiresAt: Double?
    /// Sessions only: the credential that asked for it; revoking (deactivating or deleting)
    /// that one revokes the session too.
    public var parentKey: String?
    /// Sessions only: SHA-256 (hex) of the session token the requests must carry.
    public var tokenHash: String?
    /// Sessions only: the session policy (IAM JSON) that narrows the user's permissions.
    public var sessionPolicy: String?

    public init(
        accessKey: String, tenant: String, user: String, sealedSecret: String, status: Status = .active,
        createdAt: Double, expiresAt: Double? = nil, parentKey: String? = nil, tokenHash: String? = nil,
        sessionPolicy: String? = nil
    ) {
        self.accessKey = accessKey
        self.tenant = tenant
        self.user = user
        self.sealedSecret = sealedSecret
        self.status = status
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.parentKey = parentKey
        self.tokenHash = tokenHash
        self.sessionPolicy = sessionPolicy
    }

    public var isSession: Bool { tokenHash != nil }
}
