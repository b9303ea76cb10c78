import GatewayCore
import SigV4

/// Makes the operator's root credentials (environment, config or the generated root-credentials
/// file) a user of the default tenant at every start: the one way in before any other user
/// exists. That source stays authoritative for the root key: rotate it there (a rotation or
/// deletion through the admin API is undone at the next start). The root key is kept in step with that source: a changed key replaces the previous
/// root key, and buckets created before users existed (owned by the root access key) become the
/// root user's.
public enum IdentityBootstrap {
    public static let rootUser = "root"
    /// Everything, everywhere: S3 in the default tenant, the admin API and the web API
    /// (discovery, migration) for all tenants.
    public static let rootPermissions = PermissionSet([
        "s3:*": ["*"], "sts:*": ["*"], "admin:*": ["*"], "discovery:*": ["*"], "migration:*": ["*"],
    ])
    /// The agent_state note naming the access key the bootstrap last installed.
    static let stateKey = "identity.root-access-key"

    /// Whether `ensureRoot` with this key would replace the root key the installation has (the
    /// store names one, and it is another access key or another secret). A host joining an
    /// installation with another root key in its environment would otherwise re-seal root for
    /// every host.
    public static func wouldReplaceRoot(
        accessKey: String, secret: String, identities store: any IdentityStore, metadata: any MetadataStore,
        box: SecretBox
    ) throws(StoreError) -> Bool {
        guard let previous = try metadata.agentState(stateKey) else { return false }
        if previous != accessKey { return true }
        guard let (c, _) = try store.credential(accessKey: accessKey) else { return false }
        return box.open(c.sealedSecret, context: accessKey) != secret
    }

    public static func ensureRoot(
        accessKey: String, secret: String, identities store: any IdentityStore, metadata: any MetadataStore,
        box: SecretBox, now: Double
    ) throws(StoreError) {
        let user: UserRecord
        if let existing = try store.user(tenant: TenantRecord.defaultID, name: rootUser) {
            user = existing
        } else {
            user = UserRecord(
                tenant: TenantRecord.defaultID, name: rootUser, id: CanonicalID.make(), permissions: rootPermissions,
                createdAt: now)
            try store.createUser(user)
        }
        try grantNewFamilies(to: user, identities: store, metadata: metadata)
        let previous = try metadata.agentState(stateKey)
        if let (c, _) = try store.credential(accessKey: accessKey) {
            if box.open(c.sealedSecret, context: accessKey) != secret {
                try store.replaceSealedSecret(accessKey: accessKey, sealed: box.seal(secret, context: accessKey))
            }
        } else {
            if let previous, previous != accessKey, (try? store.credential(accessKey: previous)) != nil {
                try store.deleteCredential(accessKey: previous)
            }
            try store.createCredential(
                CredentialRecord(
                    accessKey: accessKey, tenant: TenantRecord.defaultID, user: rootUser,
                    sealedSecret: box.seal(secret, context: accessKey), createdAt: now),
                maxKeysPerUser: Int.max)
        }
        for old in Set([accessKey, previous].compactMap { $0 }) {
            _ = try store.reassignBucketOwner(from: old, to: user.id)
        }
        try adoptOwnerlessBuckets(root: user.id, identities: store, metadata: metadata)
        if previous != accessKey { try metadata.setAgentState(stateKey, accessKey) }
    }
}

extension IdentityBootstrap {
    static let familiesKey = "identity.root-families"
    /// The families the root user held before the note existed.
    static let originalFamilies: Set<String> = ["s3", "sts", "admin"]

    /// A root user made before an action family existed (`discovery:`, `migration:`) gets that
    /// family's root rule once, at the first start that knows it; the note of families granted
    /// keeps a rule an administrator later removed from coming back.
    static func grantNewFamilies(to root: UserRecord, identities store: any IdentityStore, metadata: any MetadataStore)
        throws(StoreError)
    {
        let granted =
            try metadata.agentState(familiesKey).map { Set($0.split(separator: ",").map(String.init)) }
            ?? originalFamilies
        let families = Set(rootPermissions.rules.keys.compactMap { $0.split(separator: ":").first.map(String.init) })
        let new = families.subtracting(granted)
        guard !new.isEmpty else { return }
        var permissions = root.permissions
        for (action, patterns) in rootPermissions.rules where new.contains(where: { action.hasPrefix($0 + ":") }) {
            permissions.rules[action] = permissions.rules[action].map { Array(Set($0 + patterns)).sorted() } ?? patterns
        }
        if permissions != root.permissions {
            try store.setPermissions(tenant: root.tenant, user: root.name, permissions)
        }
        try metadata.setAgentState(familiesKey, families.union(granted).sorted().joined(separator: ","))
    }

    static let adoptedKey = "identity.owners-adopted"

    /// Once, at the first start with users: buckets whose owner is no user (created under some
    /// earlier root access key, which was the owner before users existed) become the root
    /// user's, so every Owner element names a user.
    static func adoptOwnerlessBuckets(root: String, identities store: any IdentityStore, metadata: any MetadataStore)
        throws(StoreError)
    {
        guard try metadata.agentState(adoptedKey) == nil else { return }
        var owners: Set<String> = []
        var after = ""
        while true {
            let page = try metadata.allBuckets(after: after, limit: 500)
            for b in page where b.tenant == TenantRecord.defaultID { owners.insert(b.owner) }
            guard let last = page.last, page.count == 500 else { break }
            after = last.name
        }
        for owner in owners where owner != root {
            if try store.user(id: owner) == nil { _ = try store.reassignBucketOwner(from: owner, to: root) }
        }
        try metadata.setAgentState(adoptedKey, "1")
    }
}

/// S3's canonical user ids: 64 hex digits.
public enum CanonicalID {
    public static func make() -> String { RandomID.make() + RandomID.make() }
}

extension IdentityBootstrap {
    /// Whether an installation already lives in this store: some host bootstrapped its root
    /// user. A host starting on it then must bring the installation's files, not make new ones.
    public static func installed(_ metadata: any MetadataStore) throws(StoreError) -> Bool {
        try metadata.agentState(stateKey) != nil
    }

    /// Whether `box` opens the root secret the store holds (true when it holds none): a host
    /// with another master key would re-seal it under its own, and every other host would
    /// lose it.
    public static func opensRootSecret(
        _ box: SecretBox, identities store: any IdentityStore, metadata: any MetadataStore
    )
        throws(StoreError) -> Bool
    {
        guard let accessKey = try metadata.agentState(stateKey), let (c, _) = try store.credential(accessKey: accessKey)
        else { return true }
        return box.open(c.sealedSecret, context: accessKey) != nil
    }
}
