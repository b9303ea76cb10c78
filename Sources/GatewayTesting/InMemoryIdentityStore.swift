import GatewayCore
import Synchronization

/// The identity part of the in-memory store, with the SQLite store's semantics.
public final class InMemoryIdentityStore: IdentityStore {
    private struct State {
        var tenants: [String: TenantRecord] = [
            TenantRecord.defaultID: TenantRecord(
                id: TenantRecord.defaultID, displayName: "Default tenant", createdAt: 0)
        ]
        var users: [String: UserRecord] = [:]  // "tenant/name"
        var credentials: [String: CredentialRecord] = [:]
    }

    private let state = Mutex(State())
    /// Buckets live in the metadata store: tenant deletion and owner reassignment consult it.
    let metadata: InMemoryMetadataStore

    public init(metadata: InMemoryMetadataStore) { self.metadata = metadata }

    private static func userKey(_ tenant: String, _ name: String) -> String { tenant + "/" + name }

    public func createTenant(_ t: TenantRecord) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            if s.tenants[t.id] != nil { throw .entityExists("tenant \(t.id)") }
            s.tenants[t.id] = t
            metadata.audit(AuditEntry.tenantCreate(t.id))
        }
    }

    public func tenant(id: String) throws(StoreError) -> TenantRecord? { state.withLock { $0.tenants[id] } }

    public func tenants(after: String, limit: Int) throws(StoreError) -> [TenantRecord] {
        state.withLock { Array($0.tenants.values.filter { $0.id > after }.sorted { $0.id < $1.id }.prefix(limit)) }
    }

    public func deleteTenant(id: String) throws(StoreError) {
        if try !metadata.listBuckets(tenant: id).isEmpty { throw .entityInUse("tenant \(id) still has buckets") }
        try state.withLock { s throws(StoreError) in
            if s.users.values.contains(where: { $0.tenant == id }) {
                throw .entityInUse("tenant \(id) still has users")
            }
            guard s.tenants.removeValue(forKey: id) != nil else { throw .noSuchEntity("tenant \(id)") }
            metadata.audit(AuditEntry.tenantDelete(id))
        }
    }

    public func createUser(_ u: UserRecord) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.tenants[u.tenant] != nil else { throw .noSuchEntity("tenant \(u.tenant)") }
            let k = Self.userKey(u.tenant, u.name)
            if s.users[k] != nil { throw .entityExists("user \(u.name) of tenant \(u.tenant)") }
            s.users[k] = u
            metadata.audit(
                AuditEntry.userCreate(u))
        }
    }

    public func user(tenant: String, name: String) throws(StoreError) -> UserRecord? {
        state.withLock { $0.users[Self.userKey(tenant, name)] }
    }

    public func user(id: String) throws(StoreError) -> UserRecord? {
        state.withLock { $0.users.values.first { $0.id == id } }
    }

    public func users(tenant: String, after: String, limit: Int) throws(StoreError) -> [UserRecord] {
        state.withLock {
            Array(
                $0.users.values.filter { $0.tenant == tenant && $0.name > after }.sorted { $0.name < $1.name }.prefix(
                    limit))
        }
    }

    public func setPermissions(tenant: String, user: String, _ permissions: PermissionSet) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.users[Self.userKey(tenant, user)] != nil else {
                throw .noSuchEntity("user \(user) of tenant \(tenant)")
            }
            s.users[Self.userKey(tenant, user)]!.permissions = permissions
            metadata.audit(
                AuditEntry.userPermissions(tenant: tenant, user: user, permissions))
        }
    }

    public func deleteUser(tenant: String, name: String) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.users.removeValue(forKey: Self.userKey(tenant, name)) != nil else {
                throw .noSuchEntity("user \(name) of tenant \(tenant)")
            }
            let keys = s.credentials.values.filter { $0.tenant == tenant && $0.user == name }.map(\.accessKey)
            s.credentials = s.credentials.filter { !($0.value.tenant == tenant && $0.value.user == name) }
            metadata.audit(AuditEntry.userDelete(tenant: tenant, user: name, accessKeys: keys))
        }
    }

    public func createCredential(_ c: CredentialRecord, maxKeysPerUser: Int) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.users[Self.userKey(c.tenant, c.user)] != nil else {
                throw .noSuchEntity("user \(c.user) of tenant \(c.tenant)")
            }
            if !c.isSession,
                s.credentials.values.filter({ $0.tenant == c.tenant && $0.user == c.user && !$0.isSession }).count
                    >= maxKeysPerUser
            {
                throw .entityInUse("user \(c.user) already has \(maxKeysPerUser) access keys")
            }
            if s.credentials[c.accessKey] != nil { throw .entityExists("access key \(c.accessKey)") }
            s.credentials[c.accessKey] = c
            // The access key id only: never the secret, its sealed form or a session token.
            metadata.audit(AuditEntry.credentialCreate(c))
        }
    }

    public func credential(accessKey: String) throws(StoreError) -> (CredentialRecord, UserRecord)? {
        state.withLock { s in
            guard let c = s.credentials[accessKey], let u = s.users[Self.userKey(c.tenant, c.user)] else { return nil }
            return (c, u)
        }
    }

    public func credentials(tenant: String, user: String) throws(StoreError) -> [CredentialRecord] {
        state.withLock {
            $0.credentials.values.filter { $0.tenant == tenant && $0.user == user && !$0.isSession }
                .sorted { ($0.createdAt, $0.accessKey) < ($1.createdAt, $1.accessKey) }
        }
    }

    public func setCredentialStatus(accessKey: String, _ status: CredentialRecord.Status) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.credentials[accessKey] != nil else { throw .noSuchEntity("access key \(accessKey)") }
            s.credentials[accessKey]!.status = status
            metadata.audit(
                AuditEntry.credentialStatus(accessKey: accessKey, status))
        }
    }

    public func replaceSealedSecret(accessKey: String, sealed: String) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.credentials[accessKey] != nil else { throw .noSuchEntity("access key \(accessKey)") }
            s.credentials[accessKey]!.sealedSecret = sealed
            metadata.audit(AuditEntry.credentialRotate(accessKey: accessKey))
        }
    }

    public func deleteCredential(accessKey: String) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.credentials.removeValue(forKey: accessKey) != nil else {
                throw .noSuchEntity("access key \(accessKey)")
            }
            s.credentials = s.credentials.filter { $0.value.parentKey != accessKey }
            metadata.audit(AuditEntry.credentialDelete(accessKey: accessKey))
        }
    }

    public func deleteSessions(parentKey: String) throws(StoreError) -> Int {
        state.withLock { s in
            let before = s.credentials.count
            s.credentials = s.credentials.filter { $0.value.parentKey != parentKey }
            let n = before - s.credentials.count
            if n > 0 {
                metadata.audit(
                    AuditEntry.sessionsDeleted(parentKey: parentKey, count: n))
            }
            return n
        }
    }

    public func sealedSecrets() throws(StoreError) -> [(accessKey: String, sealed: String)] {
        state.withLock {
            $0.credentials.values.sorted { $0.accessKey < $1.accessKey }.map { ($0.accessKey, $0.sealedSecret) }
        }
    }

    public func reseal(_ secrets: [(accessKey: String, from: String, to: String)]) throws(StoreError) -> Int {
        state.withLock { s in
            var replaced = 0
            for x in secrets where s.credentials[x.accessKey]?.sealedSecret == x.from {
                s.credentials[x.accessKey]!.sealedSecret = x.to
                replaced += 1
            }
            if replaced > 0 {
                metadata.audit(AuditEntry.credentialsResealed(count: replaced))
            }
            return replaced
        }
    }

    public func deleteExpiredSessions(before time: Double) throws(StoreError) -> Int {
        state.withLock { s in
            let before = s.credentials.count
            s.credentials = s.credentials.filter { ($0.value.expiresAt ?? .infinity) >= time }
            let n = before - s.credentials.count
            if n > 0 { metadata.audit(AuditEntry.sessionsExpired(count: n)) }
            return n
        }
    }

    public func reassignBucketOwner(from: String, to: String) throws(StoreError) -> Int {
        try metadata.reassignOwner(from: from, to: to)
    }
}
