/// Who a request is from, once its signature checked out: the user behind the access key and
/// what that key may do.
public struct Principal: Sendable, Equatable {
    public let tenant: String
    public let user: UserRecord
    public let accessKey: String
    /// Temporary credentials only.
    public let session: Session?

    public struct Session: Sendable, Equatable {
        public let expiresAt: Double
        /// SHA-256 (hex) of the token the requests must carry.
        public let tokenHash: String
        /// The session policy narrowing the user's permissions, nil for none.
        public let policy: SessionPolicy?
        public init(expiresAt: Double, tokenHash: String, policy: SessionPolicy?) {
            self.expiresAt = expiresAt
            self.tokenHash = tokenHash
            self.policy = policy
        }
    }

    public init(tenant: String, user: UserRecord, accessKey: String, session: Session? = nil) {
        self.tenant = tenant
        self.user = user
        self.accessKey = accessKey
        self.session = session
    }

    /// Administrators of the default tenant manage the whole gateway; everyone else only ever
    /// acts inside their own tenant, whatever their permissions say.
    public var isGatewayTenant: Bool { tenant == TenantRecord.defaultID }

    /// The one permission decision of every request path (S3, STS, admin): the user's
    /// permissions, narrowed by the session policy for temporary credentials. Admin actions on
    /// another tenant, or gateway-wide ones, need a user of the default tenant.
    public func allows(_ action: String, on resource: PermissionSet.Resource) -> Bool {
        switch resource {
        case .tenant(let t) where t != tenant && !isGatewayTenant: return false
        case .gateway where !isGatewayTenant: return false
        default: break
        }
        guard user.permissions.allows(action, on: resource) else { return false }
        return session?.policy?.allows(action, on: resource) ?? true
    }

    /// Whether this principal may choose how many copies `tenant`'s buckets keep (a bucket's
    /// replica-count): copies cost the operator, so only the gateway's administrators with
    /// `admin:UpdateBucket` may; a tenant's own administrators set copies per object (the
    /// replica-count tag) within the operator's bounds.
    public func maySetReplicaCount(ofTenant tenant: String) -> Bool {
        isGatewayTenant && allows("admin:UpdateBucket", on: .tenant(tenant))
    }

    /// Whether this principal holds everything `permissions` grants: the admin API lets nobody
    /// hand out, or take over a user holding, more than that.
    public func holds(_ permissions: PermissionSet) -> Bool { user.permissions.covers(permissions) }

    /// Whether the permissions name `bucket` at all, whatever the action: whether a request the
    /// gateway does not implement may learn that the bucket exists.
    public func reaches(bucket: String) -> Bool { user.permissions.reaches(bucket: bucket) }

    /// Whether `action` could be allowed on anything at all. ListBuckets needs it: it is refused
    /// when neither the permissions nor the session policy grant it anywhere, and otherwise lists
    /// the buckets `allows` admits one by one.
    public func mayAttempt(_ action: String) -> Bool {
        guard !user.permissions.patterns(for: action).isEmpty else { return false }
        guard let policy = session?.policy else { return true }
        let a = action.lowercased()
        return policy.statements.contains { s in
            s.allow && s.actions.contains { PermissionSet.globMatch($0.lowercased(), a) }
        }
    }
}
