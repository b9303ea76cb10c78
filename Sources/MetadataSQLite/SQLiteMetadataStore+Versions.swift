import GatewayCore

/// Versioning, Object Lock and lifecycle settings and version reads. `objects` holds the latest
/// entry of each key that is not a delete marker; `object_versions` every other version and
/// every delete marker (migration 20).
extension SQLiteMetadataStore {
    public func setVersioning(bucket: String, _ status: Versioning) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var lock: String?
                try db.query("SELECT object_lock FROM buckets WHERE name = ?", [.text(bucket)]) { r in lock = r.text(0)
                }
                guard let lock else { throw .noSuchBucket }
                if !lock.isEmpty && status != .enabled {
                    throw .invalidBucketState(
                        "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed."
                    )
                }
                try db.query(
                    "UPDATE buckets SET versioning = ? WHERE name = ?", [.text(status.rawValue), .text(bucket)])
                try Self.audit(AuditEntry.bucketVersioning(bucket: bucket, status), db)
            }
        }
    }

    public func setObjectLock(bucket: String, _ config: ObjectLockConfig) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var versioning: String?
                try db.query("SELECT versioning FROM buckets WHERE name = ?", [.text(bucket)]) { r in
                    versioning = r.text(0)
                }
                guard let versioning else { throw .noSuchBucket }
                guard versioning == Versioning.enabled.rawValue else {
                    throw .invalidBucketState(
                        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
                }
                try db.query(
                    "UPDATE buckets SET object_lock = ? WHERE name = ?",
                    [.text(FieldCoding.encode(objectLock: config)), .text(bucket)])
                try Self.audit(AuditEntry.bucketObjectLock(bucket: bucket, config), db)
            }
        }
    }

    public func setLifecycle(bucket: String, _ configuration: String) throws(StoreError) {
        try setLifecycle(bucket: bucket, configuration, ruleIds: nil)
    }

    /// `ruleIds` for the audit record (nil: taken as removed when `configuration` is "").
    public func setLifecycle(bucket: String, _ configuration: String, ruleIds: [String]?) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("UPDATE buckets SET lifecycle = ? WHERE name = ?", [.text(configuration), .text(bucket)])
                if db.changes == 0 { throw .noSuchBucket }
                try Self.audit(
                    AuditEntry.bucketLifecycle(bucket: bucket, ruleIds: configuration.isEmpty ? nil : ruleIds ?? []), db
                )
            }
        }
    }

    public func version(bucket: String, key: String, versionId: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            try Self.version(bucket: bucket, key: key, versionId: versionId, db)
        }
    }

    public func version(bucket: String, key: String, generation: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            try Self.version(bucket: bucket, key: key, generation: generation, db)
        }
    }

    /// The version whose first blob is `generation`, in either table (a key has few versions;
    /// blob ids are unique, so at most one matches).
    static func version(bucket: String, key: String, generation: String, _ db: SQLiteConnection) throws(StoreError)
        -> ObjectRecord?
    {
        guard !generation.isEmpty else { return nil }
        var found: ObjectRecord?
        try db.query(
            "SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)]
        ) { r in
            let o = object(r)
            if o.generation == generation { found = o }
        }
        if found != nil { return found }
        try db.query(
            "SELECT \(objectColumns) FROM object_versions WHERE bucket = ? AND key = ? AND delete_marker = 0",
            [.text(bucket), .text(key)]
        ) { r in
            let o = object(r)
            if o.generation == generation { found = o }
        }
        return found
    }

    public func latestVersion(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in try Self.latestVersion(bucket: bucket, key: key, db) }
    }

    /// The version with that id in either table.
    static func version(bucket: String, key: String, versionId: String, _ db: SQLiteConnection) throws(StoreError)
        -> ObjectRecord?
    {
        var found: ObjectRecord?
        for table in ["objects", "object_versions"] where found == nil {
            try db.query(
                "SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key = ? AND version_id = ?",
                [.text(bucket), .text(key), .text(versionId)]
            ) { r in found = object(r) }
        }
        return found
    }

    /// The key's newest entry: the `objects` row when there is one, else the newest row of
    /// `object_versions` (then a delete marker, or nothing).
    static func latestVersion(bucket: String, key: String, _ db: SQLiteConnection) throws(StoreError) -> ObjectRecord? {
        var found: ObjectRecord?
        try db.query(
            "SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)]
        ) { r in found = object(r) }
        if found != nil { return found }
        try db.query(
            """
            SELECT \(objectColumns) FROM object_versions WHERE bucket = ? AND key = ?
            ORDER BY version_seq DESC LIMIT 1
            """, [.text(bucket), .text(key)]
        ) { r in found = object(r) }
        return found
    }

    // The write paths below get their bodies with the versioning work; no route reaches them
    // before (PutBucketVersioning is still refused).

    public func putVersion(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> PutOutcome {
        throw .internalFailure("putVersion: not yet")
    }

    public func completeUploadVersion(_ uploadId: String, object: ObjectRecord, condition: WriteCondition?)
        throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord])
    {
        throw .internalFailure("completeUploadVersion: not yet")
    }

    public func deleteVersion(bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double)
        throws(StoreError) -> DeleteOutcome
    {
        throw .internalFailure("deleteVersion: not yet")
    }

    public func listVersions(bucket: String, query: VersionListQuery) throws(StoreError) -> VersionPage {
        throw .internalFailure("listVersions: not yet")
    }

    public func setVersionTags(bucket: String, key: String, versionId: String?, tags: [Header]) throws(StoreError) {
        throw .internalFailure("setVersionTags: not yet")
    }

    public func changeLock(
        bucket: String, key: String, versionId: String?, _ change: LockChange, bypassGovernance: Bool, now: Double
    ) throws(StoreError) -> ObjectRecord {
        throw .internalFailure("changeLock: not yet")
    }
}
