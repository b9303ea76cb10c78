import GatewayCore
import Synchronization

/// The embedded metadata store: one SQLite file in WAL mode shared by every worker process,
/// one connection per concurrent caller (pooled; a sqlite3 handle is not shared across threads).
public final class SQLiteMetadataStore: MetadataStore {
    private let path: String
    private let pool = Mutex<[SQLiteConnection]>([])

    public init(path: String) throws(StoreError) {
        self.path = path
        let db = try SQLiteConnection(path: path)
        try Migrations.apply(db)
        pool.withLock { $0.append(db) }
    }

    private func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        let db: SQLiteConnection
        if let existing = pool.withLock({ $0.popLast() }) {
            db = existing
        } else {
            db = try SQLiteConnection(path: path)
        }
        defer { pool.withLock { $0.append(db) } }
        return try body(db)
    }

    // MARK: buckets

    private static let bucketColumns = "name, owner, created_at, location_constraint, zones, backend_bucket"

    private static func bucket(_ r: Row) -> BucketRecord {
        BucketRecord(
            name: r.text(0), owner: r.text(1), createdAt: r.real(2), locationConstraint: r.text(3),
            zones: r.text(4).split(separator: ",").map(String.init), backendBucket: r.text(5))
    }

    public func createBucket(_ b: BucketRecord) throws(StoreError) -> BucketRecord {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> BucketRecord in
                var existing: BucketRecord?
                try db.query("SELECT \(Self.bucketColumns) FROM buckets WHERE name = ?", [.text(b.name)]) { r in
                    existing = Self.bucket(r)
                }
                if let existing {
                    guard existing.owner == b.owner else { throw .bucketAlreadyExists }
                    return existing
                }
                try db.query(
                    "INSERT INTO buckets (\(Self.bucketColumns)) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        .text(b.name), .text(b.owner), .real(b.createdAt), .text(b.locationConstraint),
                        .text(b.zones.joined(separator: ",")), .text(b.backendBucket),
                    ])
                return b
            }
        }
    }

    public func bucket(named name: String) throws(StoreError) -> BucketRecord? {
        try withConnection { db throws(StoreError) in
            var found: BucketRecord?
            try db.query("SELECT \(Self.bucketColumns) FROM buckets WHERE name = ?", [.text(name)]) { r in
                found = Self.bucket(r)
            }
            return found
        }
    }

    public func listBuckets(owner: String) throws(StoreError) -> [BucketRecord] {
        try withConnection { db throws(StoreError) in
            var out: [BucketRecord] = []
            try db.query("SELECT \(Self.bucketColumns) FROM buckets WHERE owner = ? ORDER BY name", [.text(owner)]) {
                r in out.append(Self.bucket(r))
            }
            return out
        }
    }

    public func deleteBucket(named name: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var any = false
                try db.query("SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", [.text(name)]) { _ in any = true }
                if any { throw .bucketNotEmpty }
                try db.query("DELETE FROM buckets WHERE name = ?", [.text(name)])
                if db.changes == 0 { throw .noSuchBucket }
            }
        }
    }

    // MARK: objects

    private static let objectColumns =
        "bucket, key, size, etag, last_modified, content_type, headers, checksums, zone, blob"

    private static func object(_ r: Row) -> ObjectRecord {
        ObjectRecord(
            bucket: r.text(0), key: r.text(1), size: r.int(2), etag: r.text(3), lastModified: r.real(4),
            contentType: r.text(5), headers: FieldCoding.decodeHeaders(r.text(6)),
            checksums: FieldCoding.decodeMap(r.text(7)), zone: r.text(8), blob: r.text(9))
    }

    public func object(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            var found: ObjectRecord?
            try db.query(
                "SELECT \(Self.objectColumns) FROM objects WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)]
            ) { r in found = Self.object(r) }
            return found
        }
    }

    public func putObject(_ o: ObjectRecord) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> ObjectRecord? in
                var bucketExists = false
                try db.query("SELECT 1 FROM buckets WHERE name = ?", [.text(o.bucket)]) { _ in bucketExists = true }
                guard bucketExists else { throw .noSuchBucket }
                var old: ObjectRecord?
                try db.query(
                    "SELECT \(Self.objectColumns) FROM objects WHERE bucket = ? AND key = ?",
                    [.text(o.bucket), .text(o.key)]
                ) { r in old = Self.object(r) }
                try db.query(
                    "INSERT OR REPLACE INTO objects (\(Self.objectColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(o.bucket), .text(o.key), .int(o.size), .text(o.etag), .real(o.lastModified),
                        .text(o.contentType), .text(FieldCoding.encode(o.headers)),
                        .text(FieldCoding.encode(o.checksums)), .text(o.zone), .text(o.blob),
                    ])
                return old
            }
        }
    }

    public func deleteObject(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> ObjectRecord? in
                var old: ObjectRecord?
                try db.query(
                    "SELECT \(Self.objectColumns) FROM objects WHERE bucket = ? AND key = ?",
                    [.text(bucket), .text(key)]
                ) { r in old = Self.object(r) }
                if old != nil {
                    try db.query("DELETE FROM objects WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)])
                }
                return old
            }
        }
    }

    public func listObjects(bucket: String, query: ListQuery) throws(StoreError) -> ListPage {
        try withConnection { db throws(StoreError) in
            var lister = KeyLister(query: query)
            var cursor = max(query.after, query.prefix)
            var inclusive = query.after < query.prefix
            let batch = Int64(min(max(query.maxKeys, 1), 1000) + 1)
            while !lister.done {
                var rows: [ObjectRecord] = []
                let op = inclusive ? ">=" : ">"
                try db.query(
                    "SELECT \(Self.objectColumns) FROM objects WHERE bucket = ? AND key \(op) ? ORDER BY key LIMIT ?",
                    [.text(bucket), .text(cursor), .int(batch)]
                ) { r in rows.append(Self.object(r)) }
                if rows.isEmpty { break }
                var seeked = false
                for row in rows {
                    if lister.done { break }
                    if let skipTo = lister.offer(row) {
                        cursor = skipTo
                        inclusive = true
                        seeked = true
                        break
                    }
                    cursor = row.key
                    inclusive = false
                }
                if rows.count < Int(batch) && !seeked { break }
            }
            return lister.page
        }
    }
}
