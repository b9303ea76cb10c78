/// Tenants, users and their credentials. Kept by the metadata store (same database, same
/// transactions), behind its own protocol so the admin layer and the credential lookup see only
/// this part.
public protocol IdentityStore: Sendable {
    /// `.entityExists` when the id is taken.
    func createTenant(_ tenant: TenantRecord) throws(StoreError)
    func tenant(id: String) throws(StoreError) -> TenantRecord?
    /// Tenants whose ids sort after `after`, in id order, at most `limit`.
    func tenants(after: String, limit: Int) throws(StoreError) -> [TenantRecord]
    /// `.entityInUse` while it has buckets or users; `.noSuchEntity` when it is gone.
    func deleteTenant(id: String) throws(StoreError)

    /// `.noSuchEntity` without the tenant, `.entityExists` when the name is taken there.
    func createUser(_ user: UserRecord) throws(StoreError)
    func user(tenant: String, name: String) throws(StoreError) -> UserRecord?
    /// The user with this canonical id.
    func user(id: String) throws(StoreError) -> UserRecord?
    func users(tenant: String, after: String, limit: Int) throws(StoreError) -> [UserRecord]
    func setPermissions(tenant: String, user: String, _ permissions: PermissionSet) throws(StoreError)
    /// Removes the user with every credential and session it holds.
    func deleteUser(tenant: String, name: String) throws(StoreError)

    /// Stores a credential of an existing user. Permanent keys are limited to `maxKeysPerUser`
    /// per user (`.entityInUse` beyond); sessions are not counted.
    func createCredential(_ credential: CredentialRecord, maxKeysPerUser: Int) throws(StoreError)
    /// The credential and its user, in one read; nil when either is gone.
    func credential(accessKey: String) throws(StoreError) -> (CredentialRecord, UserRecord)?
    /// A user's permanent credentials, oldest first.
    func credentials(tenant: String, user: String) throws(StoreError) -> [CredentialRecord]
    func setCredentialStatus(accessKey: String, _ status: CredentialRecord.Status) throws(StoreError)
    /// A new secret for an existing key (rotation), sealed.
    func replaceSealedSecret(accessKey: String, sealed: String) throws(StoreError)
    /// Removes the key and every session issued under it.
    func deleteCredential(accessKey: String) throws(StoreError)
    /// Removes every session issued under `parentKey` (its secret was rotated); returns how many.
    func deleteSessions(parentKey: String) throws(StoreError) -> Int
    /// Every credential's sealed secret, for re-sealing under a new master key.
    func sealedSecrets() throws(StoreError) -> [(accessKey: String, sealed: String)]
    /// Replaces sealed secrets, all in one transaction, each only where the stored value is
    /// still `from`: a secret rotated meanwhile keeps its new value (re-sealing must never bring
    /// an old secret back). Returns how many were replaced.
    func reseal(_ secrets: [(accessKey: String, from: String, to: String)]) throws(StoreError) -> Int
    /// Removes sessions that expired before `time`; returns how many.
    func deleteExpiredSessions(before time: Double) throws(StoreError) -> Int
    /// Buckets owned by `from` become owned by `to` (the bootstrap's move of buckets created
    /// before users existed, which name the root access key as owner); returns how many.
    func reassignBucketOwner(from: String, to: String) throws(StoreError) -> Int
}
