import GatewayCore

/// Versioning, Object Lock and lifecycle settings and version reads. `objects` holds the latest
/// entry of each key that is not a delete marker; `object_versions` every other version and
/// every delete marker (migration 20).
extension SQLMetadataStore {
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
            try db.readTransaction { () throws(StoreError) in
                try Self.version(bucket: bucket, key: key, versionId: versionId, db)
            }
        }
    }

    public func version(bucket: String, key: String, generation: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            try db.readTransaction { () throws(StoreError) in
                try Self.version(bucket: bucket, key: key, generation: generation, db)
            }
        }
    }

    /// The version whose first blob is `generation`, in either table (blob ids are unique, so at
    /// most one matches). SQL keeps only rows whose `blob`, or `parts` (first line "blob:size"),
    /// starts with it; only those are decoded and checked exactly.
    static func version(bucket: String, key: String, generation: String, _ db: any SQLConnection) throws(StoreError)
        -> ObjectRecord?
    {
        guard !generation.isEmpty else { return nil }
        var found: ObjectRecord?
        for table in ["objects", "object_versions"] where found == nil {
            try db.query(
                """
                SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key = ? AND delete_marker = 0
                AND (blob = ? OR substr(parts, 1, length(?)) = ?)
                """, [.text(bucket), .text(key), .text(generation), .text(generation), .text(generation)]
            ) { r in
                let o = object(r)
                if o.generation == generation { found = o }
            }
        }
        return found
    }

    public func latestVersion(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            try db.readTransaction { () throws(StoreError) in try Self.latestVersion(bucket: bucket, key: key, db) }
        }
    }

    /// The version with that id in either table. Any id but "null" is the version's seq: a
    /// primary-key lookup; the null version through the index of migration 21.
    static func version(bucket: String, key: String, versionId: String, _ db: any SQLConnection) throws(StoreError)
        -> ObjectRecord?
    {
        var found: ObjectRecord?
        let isNull = versionId == VersionId.null
        for table in ["objects", "object_versions"] where found == nil {
            if isNull {
                try db.query(
                    "SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key = ? AND version_id = 'null'",
                    [.text(bucket), .text(key)]
                ) { r in found = object(r) }
            } else {
                try db.query(
                    """
                    SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key = ? AND version_seq = ?
                    AND version_id = ?
                    """, [.text(bucket), .text(key), .text(versionId), .text(versionId)]
                ) { r in found = object(r) }
            }
        }
        return found
    }

    /// The key's newest entry: the `objects` row when there is one, else the newest row of
    /// `object_versions` (then a delete marker, or nothing).
    static func latestVersion(bucket: String, key: String, _ db: any SQLConnection) throws(StoreError) -> ObjectRecord?
    {
        if let row = try objectRow(bucket: bucket, key: key, db) { return row }
        return try newestOlder(bucket: bucket, key: key, db)
    }

    public func putVersion(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> PutOutcome {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> PutOutcome in
                let outcome = try Self.writeVersion(object, condition: condition, db)
                try Self.audit(AuditEntry.object("object.put", outcome.stored), db)
                return outcome
            }
        }
    }

    public func deleteVersion(
        bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double,
        condition: DeleteCondition?
    ) throws(StoreError) -> DeleteOutcome {
        let (ifLatestSeq, judged): (String?, JudgedVersion?) =
            switch condition {
            case .latestSeq(let seq): (seq, nil)
            case .judged(let j): (nil, j)
            case nil: (nil, nil)
            }
        // The lifecycle runner's removals never bypass a GOVERNANCE retention.
        let bypassGovernance = judged == nil && bypassGovernance
        return try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> DeleteOutcome in
                if let judged {
                    let latest = try Self.latestVersion(bucket: bucket, key: key, db)
                    let named =
                        try versionId.map { id throws(StoreError) in
                            try Self.version(bucket: bucket, key: key, versionId: id, db)
                        } ?? latest
                    guard judged.holds(named: named, latest: latest) else { throw .preconditionFailed }
                }
                var versioning = Versioning.unversioned
                try db.query("SELECT versioning FROM buckets WHERE name = ?", [.text(bucket)]) { r in
                    versioning = Versioning(rawValue: r.text(0)) ?? .unversioned
                }
                if versionId == nil && versioning == .unversioned {
                    // The hot path, like the unversioned PUT's: a never-versioned bucket has no
                    // `object_versions` rows, so the key's one version is its `objects` row.
                    guard let v = try Self.objectRow(bucket: bucket, key: key, db) else {
                        if ifLatestSeq != nil { throw .preconditionFailed }
                        return DeleteOutcome(removed: nil, marker: nil)
                    }
                    if let ifLatestSeq, v.versionSeq != ifLatestSeq { throw .preconditionFailed }
                    let bypassed = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: bypassGovernance)
                    try db.query("DELETE FROM objects WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)])
                    try Self.queueJobs(replacing: v, with: nil, now: now, db)
                    try Self.audit(AuditEntry.objectDelete(v, bypassGovernance: bypassed), db)
                    return DeleteOutcome(removed: v, marker: nil)
                }
                if let ifLatestSeq, try Self.latestVersion(bucket: bucket, key: key, db)?.versionSeq != ifLatestSeq {
                    throw .preconditionFailed
                }
                let versioned = versioning != .unversioned
                if let versionId {
                    // One version for good: the one named.
                    guard let v = try Self.version(bucket: bucket, key: key, versionId: versionId, db)
                    else { return DeleteOutcome(removed: nil, marker: nil) }
                    let bypassed = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: bypassGovernance)
                    if try Self.drop(v, db) { try Self.promote(bucket: bucket, key: key, db) }
                    try Self.queueJobs(replacing: v, with: nil, now: now, db)
                    try Self.audit(AuditEntry.objectDelete(v, bypassGovernance: bypassed, versioned: versioned), db)
                    return DeleteOutcome(removed: v, marker: nil)
                }
                var marker = ObjectRecord.deleteMarker(bucket: bucket, key: key, at: now)
                marker.versionSeq = VersionId.make(after: try Self.newestSeq(bucket: bucket, key: key, db), now: now)
                marker.versionId = versioning == .enabled ? marker.versionSeq : VersionId.null
                // Suspended: the null version makes way for the null marker.
                var removed: ObjectRecord?
                var demote = true
                if versioning == .suspended,
                    let v = try Self.version(bucket: bucket, key: key, versionId: VersionId.null, db)
                {
                    let bypassed = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: bypassGovernance)
                    // What is left was noncurrent already when the null version was the latest.
                    demote = !(try Self.drop(v, db))
                    try Self.queueJobs(replacing: v, with: nil, now: now, db)
                    try Self.audit(AuditEntry.objectDelete(v, bypassGovernance: bypassed, versioned: true), db)
                    removed = v
                }
                if demote { try Self.demoteLatest(bucket: bucket, key: key, now: now, db) }
                try Self.insert(marker, into: "object_versions", db)
                try Self.audit(AuditEntry.objectDeleteMarker(marker), db)
                return DeleteOutcome(removed: removed, marker: marker)
            }
        }
    }

    public func listVersions(bucket: String, query: VersionListQuery) throws(StoreError) -> VersionPage {
        try withConnection { db throws(StoreError) in
            // One snapshot for both tables: a write between reads would list a version twice or not at all.
            try db.readTransaction { () throws(StoreError) -> VersionPage in try Self.listVersions(bucket, query, db) }
        }
    }

    static func listVersions(_ bucket: String, _ query: VersionListQuery, _ db: any SQLConnection) throws(StoreError)
        -> VersionPage
    {
        var markerSeq: String?
        if !query.versionIdMarker.isEmpty {
            if let v = try Self.version(bucket: bucket, key: query.keyMarker, versionId: query.versionIdMarker, db) {
                markerSeq = v.versionSeq
            } else {
                guard let seq = VersionLister.markerSeq(forMissing: query.versionIdMarker) else { throw .noSuchVersion }
                markerSeq = seq
            }
        }
        var lister = VersionLister(query: query, markerSeq: markerSeq)
        var cursor = lister.start
        var batch = ListBatch(maxKeys: query.maxKeys, delimiter: query.delimiter)
        while !lister.done {
            // A batch from each table from the cursor on; merged, every row up to the last
            // one of a full batch is known (rows after it may still be unread).
            let latest = try Self.versionRows("objects", bucket, after: cursor, limit: batch.size, db)
            let older = try Self.versionRows("object_versions", bucket, after: cursor, limit: batch.size, db)
            var known: ObjectRecord?
            for rows in [latest, older] where rows.count == batch.size {
                if let last = rows.last, known.map({ VersionLister.inOrder(last, $0) }) ?? true { known = last }
            }
            let merged = (latest + older).sorted(by: VersionLister.inOrder)
            if merged.isEmpty { break }
            var seeked = false
            for row in merged {
                if lister.done { break }
                if let known, VersionLister.inOrder(known, row) { break }
                if let skipTo = lister.offer(row) {
                    cursor = (skipTo, nil, true)
                    seeked = true
                    break
                }
                cursor = (row.key, row.versionSeq, false)
            }
            if known == nil && !seeked { break }
            // On PostgreSQL every further seek would be two round trips: the server walks the
            // rest of the page (after the first common prefix, so plain keys still come in bulk).
            if seeked, db.dialect == .postgres, let walk = keyWalk(query.delimiter) {
                try walkVersions(bucket, &lister, from: cursor.key, walk, db)
                break
            }
            if seeked { batch.reset() } else { batch.grow() }
        }
        return lister.result
    }

    /// Up to `limit` rows of `table` after `cursor`, in listing order (key, then newest first).
    private static func versionRows(
        _ table: String, _ bucket: String, after cursor: (key: String, seqBelow: String?, inclusive: Bool),
        limit: Int, _ db: any SQLConnection
    ) throws(StoreError) -> [ObjectRecord] {
        var rows: [ObjectRecord] = []
        if let seq = cursor.seqBelow {
            try db.query(
                """
                SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key = ? AND version_seq < ?
                ORDER BY version_seq DESC LIMIT ?
                """, [.text(bucket), .text(cursor.key), .text(seq), .int(Int64(limit))]
            ) { r in rows.append(object(r)) }
        }
        if rows.count == limit { return rows }
        let op = cursor.inclusive && cursor.seqBelow == nil ? ">=" : ">"
        // `objects` has one row per key: ordering by key is the listing order.
        let order = table == "objects" ? "key" : "key, version_seq DESC"
        try db.query(
            "SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key \(op) ? ORDER BY \(order) LIMIT ?",
            [.text(bucket), .text(cursor.key), .int(Int64(limit - rows.count))]
        ) { r in rows.append(object(r)) }
        return rows
    }

    public func setVersionTags(bucket: String, key: String, versionId: String?, tags: [Header]) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                guard var v = try Self.versionOrLatest(bucket: bucket, key: key, versionId: versionId, db) else {
                    throw versionId == nil ? .noSuchKey : .noSuchVersion
                }
                v.tags = tags
                try Self.replace(v, db)
                try Self.audit(AuditEntry.objectTags(bucket: bucket, key: key, versionId: v.versionId, tags), db)
            }
        }
    }

    public func changeLock(
        bucket: String, key: String, versionId: String?, _ change: LockChange, bypassGovernance: Bool, now: Double
    ) throws(StoreError) -> ObjectRecord {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> ObjectRecord in
                var lock: String?
                try db.query("SELECT object_lock FROM buckets WHERE name = ?", [.text(bucket)]) { r in
                    lock = r.text(0)
                }
                guard let lock else { throw .noSuchBucket }
                guard !lock.isEmpty else { throw .invalidRequest("Bucket is missing Object Lock Configuration") }
                guard var v = try Self.versionOrLatest(bucket: bucket, key: key, versionId: versionId, db) else {
                    throw versionId == nil ? .noSuchKey : .noSuchVersion
                }
                guard !v.isDeleteMarker else { throw .noSuchVersion }
                let entry = try ObjectLock.apply(change, to: &v, now: now, bypassGovernance: bypassGovernance)
                try Self.replace(v, db)
                try Self.audit(entry, db)
                return v
            }
        }
    }

    // MARK: the version bookkeeping (docs/VERSIONING.md, "Storage model"), inside a transaction

    /// `putVersion`'s rules: `o` becomes the latest version; Enabled keeps the previous latest
    /// as noncurrent, otherwise the null version goes (lock-checked, never bypassed).
    static func writeVersion(_ o: ObjectRecord, condition: WriteCondition?, _ db: any SQLConnection)
        throws(StoreError) -> PutOutcome
    {
        var versioning: Versioning?
        try db.query("SELECT versioning FROM buckets WHERE name = ?", [.text(o.bucket)]) { r in
            versioning = Versioning(rawValue: r.text(0)) ?? .unversioned
        }
        guard let versioning else { throw .noSuchBucket }
        let now = o.lastModified
        let current = try objectRow(bucket: o.bucket, key: o.key, db)
        if let condition, !condition.holds(for: current) { throw .preconditionFailed }
        if versioning == .unversioned {
            // The hot path: a never-versioned bucket has no `object_versions` rows, so the key's
            // one version is `current`, replaced in place.
            var stored = o
            stored.versionSeq = VersionId.make(after: current?.versionSeq ?? "", now: now)
            stored.versionId = VersionId.null
            stored.noncurrentSince = 0
            if let current { _ = try ObjectLock.requireRemovable(current, now: now, bypassGovernance: false) }
            try insert(stored, db)
            try queueJobs(replacing: current, with: stored, now: now, db)
            return PutOutcome(stored: stored, removed: current)
        }
        var stored = o
        stored.versionSeq = VersionId.make(after: try newestSeq(bucket: o.bucket, key: o.key, db), now: now)
        stored.versionId = versioning == .enabled ? stored.versionSeq : VersionId.null
        stored.noncurrentSince = 0
        var removed: ObjectRecord?
        var demote = true
        if versioning != .enabled, let v = try version(bucket: o.bucket, key: o.key, versionId: VersionId.null, db) {
            _ = try ObjectLock.requireRemovable(v, now: now, bypassGovernance: false)
            removed = v
            // Every removal of a version is in the audit chain: in a versioned bucket the
            // replaced null version need not be the latest the put record names.
            try audit(AuditEntry.objectDelete(v, versioned: true), db)
            // What is left was noncurrent already when the null version was the latest.
            demote = !(try drop(v, db))
        }
        // Whatever else is latest (a non-null version, or a marker) becomes noncurrent.
        if demote { try demoteLatest(bucket: o.bucket, key: o.key, now: now, db) }
        try insert(stored, db)
        try queueJobs(replacing: removed, with: stored, now: now, db)
        return PutOutcome(stored: stored, removed: removed)
    }

    /// Static texts: the statement cache finds them by where they are stored (SQLiteConnection).
    static let objectRowSQL = "SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key = ?"
    static let newestOlderSQL = """
        SELECT \(objectColumns) FROM object_versions WHERE bucket = ? AND key = ?
        ORDER BY version_seq DESC LIMIT 1
        """

    static func objectRow(bucket: String, key: String, _ db: any SQLConnection) throws(StoreError) -> ObjectRecord? {
        var found: ObjectRecord?
        try db.query(objectRowSQL, [.text(bucket), .text(key)]) { r in found = object(r) }
        return found
    }

    /// The newest row of `object_versions` for the key.
    static func newestOlder(bucket: String, key: String, _ db: any SQLConnection) throws(StoreError) -> ObjectRecord? {
        var found: ObjectRecord?
        try db.query(newestOlderSQL, [.text(bucket), .text(key)]) { r in found = object(r) }
        return found
    }

    /// The key's greatest seq in either table ("" when it has none).
    static func newestSeq(bucket: String, key: String, _ db: any SQLConnection) throws(StoreError) -> String {
        var seq = ""
        for table in ["objects", "object_versions"] {
            try db.query(
                "SELECT MAX(version_seq) FROM \(table) WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)]
            ) { r in seq = max(seq, r.text(0)) }
        }
        return seq
    }

    /// The version named, or (nil) the latest that is not a delete marker.
    static func versionOrLatest(bucket: String, key: String, versionId: String?, _ db: any SQLConnection)
        throws(StoreError) -> ObjectRecord?
    {
        guard let versionId else { return try objectRow(bucket: bucket, key: key, db) }
        return try version(bucket: bucket, key: key, versionId: versionId, db)
    }

    /// Writes `v` back where it is (same seq).
    static func replace(_ v: ObjectRecord, _ db: any SQLConnection) throws(StoreError) {
        let inObjects = try objectRow(bucket: v.bucket, key: v.key, db)?.versionSeq == v.versionSeq
        try insert(v, into: inObjects ? "objects" : "object_versions", db)
    }

    /// Takes `v` out of its table (nothing else); true when it was the key's latest.
    static func drop(_ v: ObjectRecord, _ db: any SQLConnection) throws(StoreError) -> Bool {
        let current = try objectRow(bucket: v.bucket, key: v.key, db)
        if current?.versionSeq == v.versionSeq {
            try db.query("DELETE FROM objects WHERE bucket = ? AND key = ?", [.text(v.bucket), .text(v.key)])
            return true
        }
        var wasLatest = false
        if current == nil { wasLatest = try newestOlder(bucket: v.bucket, key: v.key, db)?.versionSeq == v.versionSeq }
        try db.query(
            "DELETE FROM object_versions WHERE bucket = ? AND key = ? AND version_seq = ?",
            [.text(v.bucket), .text(v.key), .text(v.versionSeq)])
        return wasLatest
    }

    /// The key's newest remaining version becomes the latest: into `objects` unless it is a
    /// delete marker.
    static func promote(bucket: String, key: String, _ db: any SQLConnection) throws(StoreError) {
        guard var next = try newestOlder(bucket: bucket, key: key, db) else { return }
        next.noncurrentSince = 0
        if next.isDeleteMarker {
            try insert(next, into: "object_versions", db)
        } else {
            try db.query(
                "DELETE FROM object_versions WHERE bucket = ? AND key = ? AND version_seq = ?",
                [.text(bucket), .text(key), .text(next.versionSeq)])
            try insert(next, db)
        }
    }

    /// The latest entry stops being the latest at `now`: an object moves to `object_versions`, a
    /// latest delete marker gets its noncurrent time.
    static func demoteLatest(bucket: String, key: String, now: Double, _ db: any SQLConnection) throws(StoreError) {
        if var o = try objectRow(bucket: bucket, key: key, db) {
            o.noncurrentSince = now
            try db.query("DELETE FROM objects WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)])
            try insert(o, into: "object_versions", db)
        } else if var m = try newestOlder(bucket: bucket, key: key, db) {
            m.noncurrentSince = now
            try insert(m, into: "object_versions", db)
        }
    }
}
