import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The SQL metadata store, written once over `SQLConnection`: SQLite (the embedded default, one
/// file in WAL mode shared by every worker process) or PostgreSQL (shared by several hosts)
/// supplies the connection. One connection per thread (neither a sqlite3 handle nor a libpq
/// connection is shared across threads). Connections live in thread-local storage: the request
/// path takes no lock (a pooled Mutex was the hottest spot of a 4 KiB GET under 16 threads).
public final class SQLMetadataStore: MetadataStore, @unchecked Sendable {
    /// Opens one more connection (each thread's first use).
    private let open: @Sendable () throws(StoreError) -> any SQLConnection
    private let readOnly: Bool
    /// False: changes append no audit record (`[audit] enabled = false`, for measuring what the
    /// chain costs; the supervisor records that the chain was switched off).
    private let audits: Bool
    /// Finds the calling thread's connection slot; immutable after init.
    private let key: pthread_key_t
    /// Every slot handed out, so deinit can close the connections of threads that outlive the
    /// store (a worker's threads never end; tests make many stores).
    private let slots = Mutex<[ObjectIdentifier: ConnectionSlot]>([:])
    /// Bucket records already read (`BucketRecordCache`); nil: every read asks the database.
    let bucketCache: BucketRecordCache?

    /// `open` makes a connection, `readOnly` opened for reading (`s3gw audit verify`): no
    /// migration, no write. `bucketGeneration`: the counter every writer of this database
    /// advances after changing a bucket row, which lets bucket records be cached; nil (several
    /// hosts, where no such counter is shared) caches none.
    public init(
        readOnly: Bool = false, audits: Bool = true, bucketGeneration: SharedGeneration? = nil,
        open: @escaping @Sendable () throws(StoreError) -> any SQLConnection
    ) throws(StoreError) {
        self.open = open
        self.readOnly = readOnly
        self.audits = audits
        bucketCache = bucketGeneration.map { BucketRecordCache(generation: $0) }
        var k = pthread_key_t()
        // The destructor closes a thread's connection when that thread ends.
        pthread_key_create(&k) { pointer in
            guard let pointer else { return }
            let slot = Unmanaged<ConnectionSlot>.fromOpaque(pointer)
            slot.takeUnretainedValue().threadEnded()
            slot.release()
        }
        key = k
        if readOnly {
            // Fails here, not at the first read, when the database is missing or not this store's.
            _ = try withConnection { db throws(StoreError) in try db.exists("SELECT 1 FROM audit_log LIMIT 1", []) }
        } else {
            try withConnection { db throws(StoreError) in try Migrations.apply(db) }
        }
    }

    deinit {
        for slot in slots.withLock({ $0.values }) { slot.close() }
        pthread_key_delete(key)
    }

    func withConnection<T>(_ body: (any SQLConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        if let p = pthread_getspecific(key),
            let db = Unmanaged<ConnectionSlot>.fromOpaque(p).takeUnretainedValue().connection
        {
            return try body(db)
        }
        let connection = try open()
        connection.audits = audits
        let slot = ConnectionSlot(store: self, connection: connection)
        slots.withLock { $0[ObjectIdentifier(slot)] = slot }
        // The thread's reference, released by the key's destructor when the thread ends.
        pthread_setspecific(key, Unmanaged.passRetained(slot).toOpaque())
        return try body(connection)
    }

    fileprivate func forget(_ slot: ConnectionSlot) {
        _ = slots.withLock { $0.removeValue(forKey: ObjectIdentifier(slot)) }
    }

    // MARK: buckets

    static let bucketColumns = """
        name, owner, created_at, location_constraint, zones, backend_bucket, tags, replica_count, tenant, naming_key, \
        versioning, object_lock, lifecycle, policy, acl, ownership, public_access_block, cors, encryption
        """

    static func bucket(_ r: any SQLRow) -> BucketRecord {
        var b = BucketRecord(
            name: r.text(0), owner: r.text(1), createdAt: r.real(2), locationConstraint: r.text(3),
            zones: r.text(4).split(separator: ",").map(String.init), backendBucket: r.text(5),
            tags: FieldCoding.decodeTags(r.text(6)), replicaCount: Int(r.int(7)), tenant: r.text(8),
            namingKey: r.text(9))
        b.versioning = Versioning(rawValue: r.text(10)) ?? .unversioned
        b.objectLock = FieldCoding.decodeObjectLock(r.text(11))
        b.lifecycle = r.text(12)
        b.policy = r.text(13)
        b.acl = r.text(14)
        b.ownership = r.text(15)
        b.publicAccessBlock = r.text(16)
        b.cors = r.text(17)
        b.encryption = r.text(18)
        return b
    }

    public func createBucket(_ b: BucketRecord) throws(StoreError) -> BucketRecord {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> BucketRecord in
                var existing: BucketRecord?
                try db.query("SELECT \(Self.bucketColumns) FROM buckets WHERE name = ?", [.text(b.name)]) { r in
                    existing = Self.bucket(r)
                }
                if let existing {
                    guard existing.tenant == b.tenant else { throw .bucketAlreadyExists }
                    return existing
                }
                try db.query(
                    """
                    INSERT INTO buckets (\(Self.bucketColumns))
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(b.name), .text(b.owner), .real(b.createdAt), .text(b.locationConstraint),
                        .text(b.zones.joined(separator: ",")), .text(b.backendBucket),
                        .text(FieldCoding.encodeTags(b.tags)), .int(Int64(b.replicaCount)), .text(b.tenant),
                        .text(b.namingKey), .text(b.versioning.rawValue),
                        .text(FieldCoding.encode(objectLock: b.objectLock)), .text(b.lifecycle), .text(b.policy),
                        .text(b.acl), .text(b.ownership), .text(b.publicAccessBlock), .text(b.cors),
                        .text(b.encryption),
                    ])
                try Self.audit(
                    AuditEntry.bucketCreate(b), db)
                return b
            }
        }
    }

    /// Static, as every statement of the request path: the statement cache finds it by where its
    /// text is stored (SQLiteConnection), and an interpolated text is a new one each call.
    static let bucketNamedSQL = "SELECT \(bucketColumns) FROM buckets WHERE name = ?"

    public func bucket(named name: String) throws(StoreError) -> BucketRecord? {
        if let held = bucketCache?.lookup(name) { return held.record }
        let generation = bucketCache?.generation.current
        let found = try withConnection { db throws(StoreError) in
            var found: BucketRecord?
            try db.query(Self.bucketNamedSQL, [.text(name)]) { r in found = Self.bucket(r) }
            return found
        }
        if let found, let generation { bucketCache?.insert(found, readAt: generation) }
        return found
    }

    public func listBuckets(tenant: String) throws(StoreError) -> [BucketRecord] {
        try withConnection { db throws(StoreError) in
            var out: [BucketRecord] = []
            try db.query("SELECT \(Self.bucketColumns) FROM buckets WHERE tenant = ? ORDER BY name", [.text(tenant)]) {
                r in out.append(Self.bucket(r))
            }
            return out
        }
    }

    public func deleteBucket(named name: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                // Noncurrent versions and delete markers count: the bucket is not empty.
                for table in ["objects", "object_versions"] {
                    if try db.exists("SELECT 1 FROM \(table) WHERE bucket = ? LIMIT 1", [.text(name)]) {
                        throw .bucketNotEmpty
                    }
                }
                // Unfinished uploads go with the bucket; their blobs go with its directory.
                var uploads: [String] = []
                try db.query("SELECT upload_id FROM uploads WHERE bucket = ? ORDER BY upload_id", [.text(name)]) { r in
                    uploads.append(r.text(0))
                }
                try db.query(
                    "DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?)",
                    [.text(name)])
                try db.query("DELETE FROM uploads WHERE bucket = ?", [.text(name)])
                try db.query("DELETE FROM buckets WHERE name = ?", [.text(name)])
                if db.changes == 0 { throw .noSuchBucket }
                // A migration's copy records prove nothing about a bucket of the same name made later.
                try db.query("DELETE FROM migrated_objects WHERE bucket = ?", [.text(name)])
                try Self.audit(AuditEntry.bucketDelete(name, uploads: uploads), db)
            }
        }
    }

    // MARK: objects

    static let objectColumns = """
        bucket, key, size, etag, last_modified, content_type, headers, checksums, zone, blob, parts, tags, \
        upload_id, part_sizes, replicas, version_id, version_seq, delete_marker, lock_mode, retain_until, legal_hold, \
        noncurrent_since, owner, acl, sse
        """
    /// `objectColumns`' names, in order: a statement's own columns come after them.
    static let objectColumnNames = objectColumns.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }
    static var objectColumnCount: Int { objectColumnNames.count }
    /// Where `objectColumns` has `name`.
    static func objectColumn(_ name: String) -> Int32 {
        guard let i = objectColumnNames.firstIndex(of: name) else { preconditionFailure("no column \(name)") }
        return Int32(i)
    }

    /// A key's one row in `objects`; one row per version in `object_versions`.
    private static let upsertObject = PortableSQL.upsert(
        into: "objects", columns: objectColumns, key: ["bucket", "key"])
    private static let upsertVersion = PortableSQL.upsert(
        into: "object_versions", columns: objectColumns, key: ["bucket", "key", "version_seq"])

    private static let bucketAndObjectSQL = """
        SELECT b.name, b.owner, b.created_at, b.location_constraint, b.zones, b.backend_bucket, b.tags,
            b.replica_count, b.tenant, b.naming_key, b.versioning, b.object_lock, b.lifecycle, b.policy, b.acl,
            b.ownership, b.public_access_block, b.cors, b.encryption, CASE WHEN o.key IS NULL THEN 0 ELSE 1 END, o.bucket, o.key, o.size, o.etag, o.last_modified, o.content_type, o.headers, o.checksums, o.zone, o.blob,
            o.parts, o.tags, o.upload_id, o.part_sizes, o.replicas, o.version_id, o.version_seq, o.delete_marker,
            o.lock_mode, o.retain_until, o.legal_hold, o.noncurrent_since, o.owner, o.acl, o.sse
        FROM buckets b LEFT JOIN objects o ON o.bucket = b.name AND o.key = ?
        WHERE b.name = ?
        """

    /// Writes `o` into `objects` (the latest entry of each key that is not a delete marker) or
    /// `object_versions` (every other version and every delete marker), whose columns are the same.
    static func insert(_ o: ObjectRecord, into table: String = "objects", _ db: any SQLConnection) throws(StoreError) {
        try db.query(
            table == "objects" ? upsertObject : upsertVersion,
            [
                .text(o.bucket), .text(o.key), .int(o.size), .text(o.etag), .real(o.lastModified),
                .text(o.contentType), .text(FieldCoding.encode(o.headers)), .text(FieldCoding.encode(o.checksums)),
                .text(o.zone), .text(o.blob), .text(FieldCoding.encode(o.parts)), .text(FieldCoding.encodeTags(o.tags)),
                .text(o.uploadId), .text(FieldCoding.encode(sizes: o.partSizes)),
                .text(FieldCoding.encode(o.replicas)), .text(o.versionId), .text(o.versionSeq),
                .int(o.isDeleteMarker ? 1 : 0), .text(o.retention?.mode.rawValue ?? ""), .real(o.retention?.until ?? 0),
                .int(o.legalHold ? 1 : 0), .real(o.noncurrentSince), .text(o.owner), .text(o.acl), .text(o.sse),
            ])
    }

    static func object(_ r: any SQLRow, offset o: Int32 = 0) -> ObjectRecord {
        var v = ObjectRecord(
            bucket: r.text(o), key: r.text(o + 1), size: r.int(o + 2), etag: r.text(o + 3),
            lastModified: r.real(o + 4), contentType: r.text(o + 5), headers: FieldCoding.decodeHeaders(r.text(o + 6)),
            checksums: FieldCoding.decodeMap(r.text(o + 7)), zone: r.text(o + 8), blob: r.text(o + 9),
            parts: FieldCoding.decodeParts(r.text(o + 10)), tags: FieldCoding.decodeTags(r.text(o + 11)),
            uploadId: r.text(o + 12), partSizes: FieldCoding.decodeSizes(r.text(o + 13)),
            replicas: FieldCoding.decodeReplicas(r.text(o + 14)))
        v.versionId = r.text(o + 15)
        v.versionSeq = r.text(o + 16)
        v.isDeleteMarker = r.int(o + 17) != 0
        if let mode = ObjectLockMode(rawValue: r.text(o + 18)) {
            v.retention = Retention(mode: mode, until: r.real(o + 19))
        }
        v.legalHold = r.int(o + 20) != 0
        v.noncurrentSince = r.real(o + 21)
        v.owner = r.text(o + 22)
        v.acl = r.text(o + 23)
        v.sse = r.text(o + 24)
        return v
    }

    private static let objectSQL = "SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key = ?"

    public func object(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            var found: ObjectRecord?
            try db.query(Self.objectSQL, [.text(bucket), .text(key)]) { r in found = Self.object(r) }
            return found
        }
    }

    public func bucketAndObject(bucket: String, key: String) throws(StoreError) -> (BucketRecord, ObjectRecord?)? {
        // A bucket still held: only the object is read. The two reads are no longer one
        // statement, so the generation is checked again after the object's: a bucket deleted
        // and made again meanwhile (its name then another's) sends the request to the one
        // statement below, which sees both at one instant.
        if let cache = bucketCache, let held = cache.lookup(bucket) {
            let object = try self.object(bucket: bucket, key: key)
            if cache.generation.recheck == held.generation { return (held.record, object) }
        }
        let generation = bucketCache?.generation.current
        let found = try withConnection { db throws(StoreError) -> (BucketRecord, ObjectRecord?)? in
            var found: (BucketRecord, ObjectRecord?)?
            try db.query(
                Self.bucketAndObjectSQL, [.text(key), .text(bucket)]
            ) { r in
                let b = Self.bucket(r)
                found = (b, r.int(19) != 0 ? Self.object(r, offset: 20) : nil)
            }
            return found
        }
        if let found, let generation { bucketCache?.insert(found.0, readAt: generation) }
        return found
    }

    public func setBucketTags(bucket: String, tags: [Header]) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    "UPDATE buckets SET tags = ? WHERE name = ?", [.text(FieldCoding.encodeTags(tags)), .text(bucket)])
                if db.changes == 0 { throw .noSuchBucket }
                try Self.audit(AuditEntry.tags("bucket.tags", bucket: bucket, tags), db)
            }
        }
    }

    public func listObjects(bucket: String, query: ListQuery) throws(StoreError) -> ListPage {
        try withConnection { db throws(StoreError) in
            // A delimiter listing may take many statements: one read transaction makes the page
            // one snapshot, and SQLite takes its read lock and checks its page cache once, not
            // once per common prefix. A plain listing is one statement.
            guard let d = query.delimiter, !d.isEmpty else { return try Self.listObjects(bucket, query, db).page }
            return try db.readTransaction { () throws(StoreError) in try Self.listObjects(bucket, query, db).page }
        }
    }

    /// Keys of a bucket in order from a cursor: after it, or from it (a seek past a common prefix).
    static let keysAfterSQL =
        "SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key > ? ORDER BY key LIMIT ?"
    static let keysFromSQL =
        "SELECT \(objectColumns) FROM objects WHERE bucket = ? AND key >= ? ORDER BY key LIMIT ?"

    /// A page and the rows read for it: a delimiter listing seeks past every common prefix it
    /// lists (an index range seek to the prefix's successor), so the rows read stay near the
    /// entries listed however many keys each common prefix holds.
    static func listObjects(_ bucket: String, _ query: ListQuery, _ db: any SQLConnection) throws(StoreError)
        -> (page: ListPage, rowsRead: Int)
    {
        var lister = KeyLister(query: query)
        var cursor = lister.start
        var batch = ListBatch(maxKeys: query.maxKeys, delimiter: query.delimiter)
        var rowsRead = 0
        while !lister.done {
            var rows = 0
            var seek: String?
            let limit = batch.limit(room: lister.room)
            try db.query(
                cursor.inclusive ? keysFromSQL : keysAfterSQL, [.text(bucket), .text(cursor.key), .int(Int64(limit))]
            ) { r in
                rows += 1
                // Rows after a seek (or once the page is done) are stepped over, never decoded.
                guard seek == nil, !lister.done else { return }
                let key = r.text(1)
                cursor = (key, false)
                if case .seek(let next) = lister.offer(key, record: { object(r) }) { seek = next }
            }
            rowsRead += rows
            if let seek {
                cursor = (seek, true)
                // On PostgreSQL every further seek would be a round trip: the server walks the
                // rest of the page (after the first common prefix, so plain keys still come in bulk).
                if db.dialect == .postgres, let walk = keyWalk(query) {
                    rowsRead += try walkKeys(bucket, &lister, from: cursor, walk, db)
                    break
                }
                batch.reset()
            } else if rows < limit {
                break
            } else {
                batch.grow()
            }
        }
        return (lister.page, rowsRead)
    }
}

/// One thread's connection, closed when that thread ends or when the store goes, whichever
/// comes first.
final class ConnectionSlot: @unchecked Sendable {
    private weak var store: SQLMetadataStore?
    private(set) var connection: (any SQLConnection)?

    init(store: SQLMetadataStore, connection: any SQLConnection) {
        self.store = store
        self.connection = connection
    }

    /// The thread's reference goes next; once the store's goes too, the connection closes.
    /// (While the store is being destroyed `store` is nil and its deinit closes it.)
    fileprivate func threadEnded() { store?.forget(self) }

    fileprivate func close() { connection = nil }
}
