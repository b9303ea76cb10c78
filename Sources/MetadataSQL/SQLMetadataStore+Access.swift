import GatewayCore

/// Bucket policies, ACLs, ownership, public access block, CORS and encryption settings, object
/// ACLs and envelopes, and the key-encryption keys (docs/ACCESS.md, docs/ENCRYPTION.md).
extension SQLMetadataStore {
    public func setBucketSetting(bucket: String, _ setting: BucketSetting, _ value: String, audit: AuditEntry)
        throws(StoreError)
    {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    "UPDATE buckets SET \(setting.column) = ? WHERE name = ?", [.text(value), .text(bucket)])
                if db.changes == 0 { throw .noSuchBucket }
                try Self.audit(audit, db)
            }
        }
    }

    public func setObjectACL(
        bucket: String, key: String, versionId: String?, owner: String?, acl: String, audit: AuditEntry
    ) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                guard var v = try Self.versionOrLatest(bucket: bucket, key: key, versionId: versionId, db),
                    !v.isDeleteMarker
                else {
                    throw versionId == nil ? .noSuchKey : .noSuchVersion
                }
                v.acl = acl
                if let owner { v.owner = owner }
                try Self.replace(v, db)
                try Self.audit(audit, db)
            }
        }
    }

    public func replaceSSE(bucket: String, key: String, versionSeq: String, from: String, to: String)
        throws(StoreError) -> Bool
    {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                for table in ["objects", "object_versions"] {
                    try db.query(
                        "UPDATE \(table) SET sse = ? WHERE bucket = ? AND key = ? AND version_seq = ? AND sse = ?",
                        [.text(to), .text(bucket), .text(key), .text(versionSeq), .text(from)])
                    if db.changes > 0 { return true }
                }
                return false
            }
        }
    }

    static let kmsKeyColumns = "id, tenant, alias, description, kind, state, created_at, versions"
    private static let upsertKMSKey = PortableSQL.upsert(into: "kms_keys", columns: kmsKeyColumns, key: ["id"])

    static func kmsKey(_ r: any SQLRow) -> KMSKeyRecord {
        KMSKeyRecord(
            id: r.text(0), tenant: r.text(1), alias: r.text(2), description: r.text(3), kind: r.text(4),
            state: r.text(5), createdAt: r.real(6), versions: r.text(7))
    }

    public func putKMSKey(_ k: KMSKeyRecord, audit: AuditEntry) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try Self.checkUnique(k, db)
                // The unique indexes on alias and SSE-S3 key were checked above: only `id` conflicts.
                try db.query(
                    Self.upsertKMSKey,
                    [
                        .text(k.id), .text(k.tenant), .text(k.alias), .text(k.description), .text(k.kind),
                        .text(k.state), .real(k.createdAt), .text(k.versions),
                    ])
                try Self.audit(audit, db)
            }
        }
    }

    public func replaceKMSKey(_ new: KMSKeyRecord, expecting old: KMSKeyRecord, audit: AuditEntry)
        throws(StoreError) -> Bool
    {
        guard new.id == old.id else { throw .internalFailure("a key row is replaced by one of the same id") }
        return try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                var current: KMSKeyRecord?
                try db.query("SELECT \(Self.kmsKeyColumns) FROM kms_keys WHERE id = ?", [.text(old.id)]) { r in
                    current = Self.kmsKey(r)
                }
                guard current == old else { return false }
                try Self.checkUnique(new, db)
                try db.query(
                    """
                    UPDATE kms_keys SET tenant = ?, alias = ?, description = ?, kind = ?, state = ?, created_at = ?,
                    versions = ? WHERE id = ?
                    """,
                    [
                        .text(new.tenant), .text(new.alias), .text(new.description), .text(new.kind),
                        .text(new.state), .real(new.createdAt), .text(new.versions), .text(new.id),
                    ])
                try Self.audit(audit, db)
                return true
            }
        }
    }

    /// An alias is unique within its tenant; a tenant has one SSE-S3 key.
    private static func checkUnique(_ k: KMSKeyRecord, _ db: any SQLConnection) throws(StoreError) {
        if !k.alias.isEmpty,
            try db.exists(
                "SELECT 1 FROM kms_keys WHERE tenant = ? AND alias = ? AND id <> ?",
                [.text(k.tenant), .text(k.alias), .text(k.id)])
        {
            throw .entityExists("alias \(k.alias) of tenant \(k.tenant)")
        }
        if k.kind == "sse-s3",
            try db.exists(
                "SELECT 1 FROM kms_keys WHERE tenant = ? AND kind = 'sse-s3' AND id <> ?",
                [.text(k.tenant), .text(k.id)])
        {
            throw .entityExists("the SSE-S3 key of tenant \(k.tenant)")
        }
    }

    public func rewrapSSE(_ changes: [EnvelopeChange], keyId: String, version: Int) throws(StoreError) -> Int {
        if changes.isEmpty { return 0 }
        return try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int in
                var applied = 0
                for c in changes {
                    switch c.target {
                    case .version(let bucket, let key, let seq):
                        for table in ["objects", "object_versions"] {
                            try db.query(
                                "UPDATE \(table) SET sse = ? WHERE bucket = ? AND key = ? AND version_seq = ? AND sse = ?",
                                [.text(c.to), .text(bucket), .text(key), .text(seq), .text(c.from)])
                            if db.changes > 0 {
                                applied += 1
                                break
                            }
                        }
                    case .upload(let id):
                        try db.query(
                            "UPDATE uploads SET sse = ? WHERE upload_id = ? AND sse = ?",
                            [.text(c.to), .text(id), .text(c.from)])
                        applied += db.changes
                    }
                }
                if applied > 0 { try Self.audit(.keysRewrap(count: applied, keyId: keyId, version: version), db) }
                return applied
            }
        }
    }

    public func kmsKey(id: String) throws(StoreError) -> KMSKeyRecord? {
        try withConnection { db throws(StoreError) in
            var found: KMSKeyRecord?
            try db.query("SELECT \(Self.kmsKeyColumns) FROM kms_keys WHERE id = ?", [.text(id)]) { r in
                found = Self.kmsKey(r)
            }
            return found
        }
    }

    public func kmsKeys(tenant: String?) throws(StoreError) -> [KMSKeyRecord] {
        try withConnection { db throws(StoreError) in
            var out: [KMSKeyRecord] = []
            let filter = tenant == nil ? "" : "WHERE tenant = ?"
            try db.query(
                "SELECT \(Self.kmsKeyColumns) FROM kms_keys \(filter) ORDER BY created_at, id",
                tenant.map { [.text($0)] } ?? []
            ) { r in out.append(Self.kmsKey(r)) }
            return out
        }
    }
}
