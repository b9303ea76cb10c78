import Foundation
import GatewayCore

extension SQLMetadataStore: IdentityStore {
    // MARK: tenants

    public func createTenant(_ t: TenantRecord) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                if try db.exists("SELECT 1 FROM tenants WHERE id = ?", [.text(t.id)]) {
                    throw .entityExists("tenant \(t.id)")
                }
                try db.query(
                    "INSERT INTO tenants (id, display_name, created_at) VALUES (?, ?, ?)",
                    [.text(t.id), .text(t.displayName), .real(t.createdAt)])
                try Self.audit(AuditEntry.tenantCreate(t.id), db)
            }
        }
    }

    public func tenant(id: String) throws(StoreError) -> TenantRecord? {
        try withConnection { db throws(StoreError) in
            var found: TenantRecord?
            try db.query("SELECT id, display_name, created_at FROM tenants WHERE id = ?", [.text(id)]) { r in
                found = TenantRecord(id: r.text(0), displayName: r.text(1), createdAt: r.real(2))
            }
            return found
        }
    }

    public func tenants(after: String, limit: Int) throws(StoreError) -> [TenantRecord] {
        try withConnection { db throws(StoreError) in
            var out: [TenantRecord] = []
            try db.query(
                "SELECT id, display_name, created_at FROM tenants WHERE id > ? ORDER BY id LIMIT ?",
                [.text(after), .int(Int64(limit))]
            ) { r in out.append(TenantRecord(id: r.text(0), displayName: r.text(1), createdAt: r.real(2))) }
            return out
        }
    }

    public func deleteTenant(id: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                if try db.exists("SELECT 1 FROM buckets WHERE tenant = ? LIMIT 1", [.text(id)]) {
                    throw .entityInUse("tenant \(id) still has buckets")
                }
                if try db.exists("SELECT 1 FROM users WHERE tenant = ? LIMIT 1", [.text(id)]) {
                    throw .entityInUse("tenant \(id) still has users")
                }
                try db.query("DELETE FROM tenants WHERE id = ?", [.text(id)])
                if db.changes == 0 { throw .noSuchEntity("tenant \(id)") }
                try Self.audit(AuditEntry.tenantDelete(id), db)
            }
        }
    }

    // MARK: users

    static let userColumns = "tenant, name, id, permissions, created_at"

    static func user(_ r: any SQLRow, offset o: Int32 = 0) -> UserRecord {
        UserRecord(
            tenant: r.text(o), name: r.text(o + 1), id: r.text(o + 2),
            permissions: decodePermissions(r.text(o + 3)), createdAt: r.real(o + 4))
    }

    static func encodePermissions(_ p: PermissionSet) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? String(decoding: encoder.encode(p.rules), as: UTF8.self)) ?? "{}"
    }

    /// A row that does not decode grants nothing (deny by default).
    static func decodePermissions(_ text: String) -> PermissionSet {
        PermissionSet((try? JSONDecoder().decode([String: [String]].self, from: Data(text.utf8))) ?? [:])
    }

    public func createUser(_ u: UserRecord) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                guard try db.exists("SELECT 1 FROM tenants WHERE id = ?", [.text(u.tenant)]) else {
                    throw .noSuchEntity("tenant \(u.tenant)")
                }
                if try db.exists("SELECT 1 FROM users WHERE tenant = ? AND name = ?", [.text(u.tenant), .text(u.name)])
                {
                    throw .entityExists("user \(u.name) of tenant \(u.tenant)")
                }
                try db.query(
                    "INSERT INTO users (\(Self.userColumns)) VALUES (?, ?, ?, ?, ?)",
                    [
                        .text(u.tenant), .text(u.name), .text(u.id), .text(Self.encodePermissions(u.permissions)),
                        .real(u.createdAt),
                    ])
                try Self.audit(
                    AuditEntry.userCreate(u),
                    db)
            }
        }
    }

    public func user(tenant: String, name: String) throws(StoreError) -> UserRecord? {
        try withConnection { db throws(StoreError) in
            var found: UserRecord?
            try db.query(
                "SELECT \(Self.userColumns) FROM users WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)]
            ) { r in found = Self.user(r) }
            return found
        }
    }

    public func user(id: String) throws(StoreError) -> UserRecord? {
        try withConnection { db throws(StoreError) in
            var found: UserRecord?
            try db.query("SELECT \(Self.userColumns) FROM users WHERE id = ?", [.text(id)]) { r in found = Self.user(r)
            }
            return found
        }
    }

    public func users(tenant: String, after: String, limit: Int) throws(StoreError) -> [UserRecord] {
        try withConnection { db throws(StoreError) in
            var out: [UserRecord] = []
            try db.query(
                "SELECT \(Self.userColumns) FROM users WHERE tenant = ? AND name > ? ORDER BY name LIMIT ?",
                [.text(tenant), .text(after), .int(Int64(limit))]
            ) { r in out.append(Self.user(r)) }
            return out
        }
    }

    public func setPermissions(tenant: String, user: String, _ permissions: PermissionSet) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    "UPDATE users SET permissions = ? WHERE tenant = ? AND name = ?",
                    [.text(Self.encodePermissions(permissions)), .text(tenant), .text(user)])
                if db.changes == 0 { throw .noSuchEntity("user \(user) of tenant \(tenant)") }
                try Self.audit(
                    AuditEntry.userPermissions(tenant: tenant, user: user, permissions), db)
            }
        }
    }

    public func deleteUser(tenant: String, name: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("DELETE FROM users WHERE tenant = ? AND name = ?", [.text(tenant), .text(name)])
                if db.changes == 0 { throw .noSuchEntity("user \(name) of tenant \(tenant)") }
                var keys: [String] = []
                try db.query(
                    "SELECT access_key FROM credentials WHERE tenant = ? AND \"user\" = ? ORDER BY access_key",
                    [.text(tenant), .text(name)]
                ) { r in keys.append(r.text(0)) }
                try db.query("DELETE FROM credentials WHERE tenant = ? AND \"user\" = ?", [.text(tenant), .text(name)])
                try Self.audit(AuditEntry.userDelete(tenant: tenant, user: name, accessKeys: keys), db)
            }
        }
    }

    // MARK: credentials

    static let credentialColumns = """
        access_key, tenant, "user", sealed_secret, status, created_at, expires_at, parent_key, token_hash, \
        session_policy
        """

    static func credential(_ r: any SQLRow) -> CredentialRecord {
        CredentialRecord(
            accessKey: r.text(0), tenant: r.text(1), user: r.text(2), sealedSecret: r.text(3),
            status: CredentialRecord.Status(rawValue: r.text(4)) ?? .inactive, createdAt: r.real(5),
            expiresAt: r.optionalReal(6), parentKey: r.optionalText(7), tokenHash: r.optionalText(8),
            sessionPolicy: r.optionalText(9))
    }

    public func createCredential(_ c: CredentialRecord, maxKeysPerUser: Int) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                guard
                    try db.exists(
                        "SELECT 1 FROM users WHERE tenant = ? AND name = ?", [.text(c.tenant), .text(c.user)])
                else { throw .noSuchEntity("user \(c.user) of tenant \(c.tenant)") }
                if !c.isSession {
                    var count = 0
                    try db.query(
                        "SELECT COUNT(*) FROM credentials WHERE tenant = ? AND \"user\" = ? AND token_hash IS NULL",
                        [.text(c.tenant), .text(c.user)]
                    ) { r in count = Int(r.int(0)) }
                    if count >= maxKeysPerUser {
                        throw .entityInUse("user \(c.user) already has \(maxKeysPerUser) access keys")
                    }
                }
                if try db.exists("SELECT 1 FROM credentials WHERE access_key = ?", [.text(c.accessKey)]) {
                    throw .entityExists("access key \(c.accessKey)")
                }
                try db.query(
                    "INSERT INTO credentials (\(Self.credentialColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(c.accessKey), .text(c.tenant), .text(c.user), .text(c.sealedSecret),
                        .text(c.status.rawValue), .real(c.createdAt), c.expiresAt.map { .real($0) } ?? .null,
                        c.parentKey.map { .text($0) } ?? .null, c.tokenHash.map { .text($0) } ?? .null,
                        c.sessionPolicy.map { .text($0) } ?? .null,
                    ])
                // The access key id only: never the secret, its sealed form or a session token.
                try Self.audit(AuditEntry.credentialCreate(c), db)
            }
        }
    }

    public func credential(accessKey: String) throws(StoreError) -> (CredentialRecord, UserRecord)? {
        try withConnection { db throws(StoreError) in
            var found: (CredentialRecord, UserRecord)?
            let columns = Self.credentialColumns.split(separator: ",").map {
                "c." + $0.trimmingCharacters(in: .whitespaces)
            }
            try db.query(
                """
                SELECT \(columns.joined(separator: ", ")), u.tenant, u.name, u.id, u.permissions, u.created_at
                FROM credentials c JOIN users u ON u.tenant = c.tenant AND u.name = c."user"
                WHERE c.access_key = ?
                """, [.text(accessKey)]
            ) { r in found = (Self.credential(r), Self.user(r, offset: 10)) }
            return found
        }
    }

    public func credentials(tenant: String, user: String) throws(StoreError) -> [CredentialRecord] {
        try withConnection { db throws(StoreError) in
            var out: [CredentialRecord] = []
            try db.query(
                """
                SELECT \(Self.credentialColumns) FROM credentials
                WHERE tenant = ? AND "user" = ? AND token_hash IS NULL ORDER BY created_at, access_key
                """, [.text(tenant), .text(user)]
            ) { r in out.append(Self.credential(r)) }
            return out
        }
    }

    public func setCredentialStatus(accessKey: String, _ status: CredentialRecord.Status) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    "UPDATE credentials SET status = ? WHERE access_key = ?",
                    [.text(status.rawValue), .text(accessKey)])
                if db.changes == 0 { throw .noSuchEntity("access key \(accessKey)") }
                try Self.audit(
                    AuditEntry.credentialStatus(accessKey: accessKey, status), db)
            }
        }
    }

    public func replaceSealedSecret(accessKey: String, sealed: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    "UPDATE credentials SET sealed_secret = ? WHERE access_key = ?", [.text(sealed), .text(accessKey)])
                if db.changes == 0 { throw .noSuchEntity("access key \(accessKey)") }
                try Self.audit(AuditEntry.credentialRotate(accessKey: accessKey), db)
            }
        }
    }

    public func deleteCredential(accessKey: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("DELETE FROM credentials WHERE access_key = ?", [.text(accessKey)])
                if db.changes == 0 { throw .noSuchEntity("access key \(accessKey)") }
                try db.query("DELETE FROM credentials WHERE parent_key = ?", [.text(accessKey)])
                try Self.audit(AuditEntry.credentialDelete(accessKey: accessKey), db)
            }
        }
    }

    public func deleteSessions(parentKey: String) throws(StoreError) -> Int {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int in
                try db.query("DELETE FROM credentials WHERE parent_key = ?", [.text(parentKey)])
                let n = db.changes
                if n > 0 {
                    try Self.audit(
                        AuditEntry.sessionsDeleted(parentKey: parentKey, count: n),
                        db)
                }
                return n
            }
        }
    }

    public func sealedSecrets() throws(StoreError) -> [(accessKey: String, sealed: String)] {
        try withConnection { db throws(StoreError) in
            var out: [(accessKey: String, sealed: String)] = []
            try db.query("SELECT access_key, sealed_secret FROM credentials ORDER BY access_key", []) { r in
                out.append((r.text(0), r.text(1)))
            }
            return out
        }
    }

    public func reseal(_ secrets: [(accessKey: String, from: String, to: String)]) throws(StoreError) -> Int {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var replaced = 0
                for s in secrets {
                    try db.query(
                        "UPDATE credentials SET sealed_secret = ? WHERE access_key = ? AND sealed_secret = ?",
                        [.text(s.to), .text(s.accessKey), .text(s.from)])
                    replaced += db.changes
                }
                if replaced > 0 {
                    try Self.audit(AuditEntry.credentialsResealed(count: replaced), db)
                }
                return replaced
            }
        }
    }

    public func deleteExpiredSessions(before time: Double) throws(StoreError) -> Int {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int in
                try db.query(
                    "DELETE FROM credentials WHERE expires_at IS NOT NULL AND expires_at < ?", [.real(time)])
                let n = db.changes
                if n > 0 { try Self.audit(AuditEntry.sessionsExpired(count: n), db) }
                return n
            }
        }
    }

    public func reassignBucketOwner(from: String, to: String) throws(StoreError) -> Int {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int in
                try db.query("UPDATE buckets SET owner = ? WHERE owner = ?", [.text(to), .text(from)])
                let n = db.changes
                if n > 0 {
                    try Self.audit(
                        AuditEntry.bucketsReassigned(to: to, count: n), db)
                }
                return n
            }
        }
    }
}
