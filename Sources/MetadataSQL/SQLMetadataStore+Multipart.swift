import GatewayCore

extension SQLMetadataStore {
    private static let uploadColumns =
        "upload_id, bucket, key, initiated, content_type, headers, checksum_algorithm, zone, tags, zone_upload, checksum_type, lock, owner, acl, sse, initiator"
    private static let partColumns = "upload_id, part_number, size, etag, last_modified, checksums, blob"
    private static let upsertPart = PortableSQL.upsert(
        into: "parts", columns: partColumns, key: ["upload_id", "part_number"])
    private static let upsertZoneHealth = PortableSQL.upsert(
        into: "zone_health", columns: "zone, state, last_error, latency, checked_at, consecutive_failures",
        key: ["zone"])

    private static func upload(_ r: any SQLRow) -> UploadRecord {
        var u = UploadRecord(
            uploadId: r.text(0), bucket: r.text(1), key: r.text(2), initiated: r.real(3), contentType: r.text(4),
            headers: FieldCoding.decodeHeaders(r.text(5)), checksumAlgorithm: r.text(6), zone: r.text(7),
            tags: FieldCoding.decodeTags(r.text(8)), zoneUpload: r.text(9), checksumType: r.text(10))
        u.lock = FieldCoding.decodeLock(r.text(11))
        u.owner = r.text(12)
        u.acl = r.text(13)
        u.sse = r.text(14)
        u.initiator = r.text(15)
        return u
    }

    private static func part(_ r: any SQLRow) -> PartRecord {
        PartRecord(
            uploadId: r.text(0), partNumber: Int(r.int(1)), size: r.int(2), etag: r.text(3), lastModified: r.real(4),
            checksums: FieldCoding.decodeMap(r.text(5)), blob: r.text(6))
    }

    public func createUpload(_ u: UploadRecord) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                guard try db.exists("SELECT 1 FROM buckets WHERE name = ?", [.text(u.bucket)]) else {
                    throw .noSuchBucket
                }
                try db.query(
                    "INSERT INTO uploads (\(Self.uploadColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        .text(u.uploadId), .text(u.bucket), .text(u.key), .real(u.initiated), .text(u.contentType),
                        .text(FieldCoding.encode(u.headers)), .text(u.checksumAlgorithm), .text(u.zone),
                        .text(FieldCoding.encodeTags(u.tags)), .text(u.zoneUpload), .text(u.checksumType),
                        .text(FieldCoding.encode(lock: u.lock)), .text(u.owner), .text(u.acl), .text(u.sse),
                        .text(u.initiator),
                    ])
                try Self.audit(
                    AuditEntry.uploadCreate(u), db)
            }
        }
    }

    public func upload(id: String) throws(StoreError) -> UploadRecord? {
        try withConnection { db throws(StoreError) in
            var found: UploadRecord?
            try db.query("SELECT \(Self.uploadColumns) FROM uploads WHERE upload_id = ?", [.text(id)]) { r in
                found = Self.upload(r)
            }
            return found
        }
    }

    public func putPart(_ p: PartRecord) throws(StoreError) -> PartRecord? {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> PartRecord? in
                guard try db.exists("SELECT 1 FROM uploads WHERE upload_id = ?", [.text(p.uploadId)]) else {
                    throw .noSuchUpload
                }
                var old: PartRecord?
                try db.query(
                    "SELECT \(Self.partColumns) FROM parts WHERE upload_id = ? AND part_number = ?",
                    [.text(p.uploadId), .int(Int64(p.partNumber))]
                ) { r in old = Self.part(r) }
                if let old, old.lastModified > p.lastModified { return p }
                try db.query(
                    Self.upsertPart,
                    [
                        .text(p.uploadId), .int(Int64(p.partNumber)), .int(p.size), .text(p.etag),
                        .real(p.lastModified),
                        .text(FieldCoding.encode(p.checksums)), .text(p.blob),
                    ])
                return old
            }
        }
    }

    public func parts(uploadId: String, after: Int, limit: Int) throws(StoreError) -> [PartRecord] {
        try withConnection { db throws(StoreError) in
            var out: [PartRecord] = []
            try db.query(
                "SELECT \(Self.partColumns) FROM parts WHERE upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?",
                [.text(uploadId), .int(Int64(after)), .int(Int64(limit))]
            ) { r in out.append(Self.part(r)) }
            return out
        }
    }

    public func uploads(bucket: String, prefix: String, keyMarker: String, uploadIdMarker: String, limit: Int)
        throws(StoreError) -> [UploadRecord]
    {
        try withConnection { db throws(StoreError) in
            var out: [UploadRecord] = []
            try db.query(
                """
                SELECT \(Self.uploadColumns) FROM uploads
                WHERE bucket = ? AND substr(key, 1, length(?)) = ? AND (key > ? OR (key = ? AND upload_id > ?))
                ORDER BY key, upload_id LIMIT ?
                """,
                [
                    .text(bucket), .text(prefix), .text(prefix), .text(keyMarker), .text(keyMarker),
                    .text(uploadIdMarker), .int(Int64(limit)),
                ]
            ) { r in out.append(Self.upload(r)) }
            return out
        }
    }

    public func uploads(initiatedBefore time: Double, limit: Int) throws(StoreError) -> [UploadRecord] {
        try withConnection { db throws(StoreError) in
            var out: [UploadRecord] = []
            try db.query(
                "SELECT \(Self.uploadColumns) FROM uploads WHERE initiated < ? ORDER BY initiated LIMIT ?",
                [.real(time), .int(Int64(limit))]
            ) { r in out.append(Self.upload(r)) }
            return out
        }
    }

    public func completeUploadVersion(_ uploadId: String, object o: ObjectRecord, condition: WriteCondition?)
        throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord])
    {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord]) in
                guard try db.exists("SELECT 1 FROM uploads WHERE upload_id = ?", [.text(uploadId)]) else {
                    throw .noSuchUpload
                }
                var parts: [PartRecord] = []
                try db.query(
                    "SELECT \(Self.partColumns) FROM parts WHERE upload_id = ? ORDER BY part_number", [.text(uploadId)]
                ) { r in parts.append(Self.part(r)) }
                // The object must point at the part blobs as they are now: a part replaced since
                // the caller validated would otherwise leave it referencing a deleted blob.
                let current = Set(parts.map(\.blob))
                guard o.parts.allSatisfy({ current.contains($0.blob) }) else { throw .conflict }
                let outcome = try Self.writeVersion(o, condition: condition, db)
                try db.query("DELETE FROM parts WHERE upload_id = ?", [.text(uploadId)])
                try db.query("DELETE FROM uploads WHERE upload_id = ?", [.text(uploadId)])
                try Self.audit(AuditEntry.uploadComplete(outcome.stored, uploadId: uploadId), db)
                return (outcome, parts)
            }
        }
    }

    public func abortUpload(_ uploadId: String) throws(StoreError) -> [PartRecord] {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> [PartRecord] in
                guard try db.exists("SELECT 1 FROM uploads WHERE upload_id = ?", [.text(uploadId)]) else {
                    throw .noSuchUpload
                }
                var parts: [PartRecord] = []
                try db.query(
                    "SELECT \(Self.partColumns) FROM parts WHERE upload_id = ? ORDER BY part_number", [.text(uploadId)]
                ) { r in
                    parts.append(Self.part(r))
                }
                var target = (bucket: "", key: "")
                try db.query("SELECT bucket, key FROM uploads WHERE upload_id = ?", [.text(uploadId)]) { r in
                    target = (r.text(0), r.text(1))
                }
                try db.query("DELETE FROM parts WHERE upload_id = ?", [.text(uploadId)])
                try db.query("DELETE FROM uploads WHERE upload_id = ?", [.text(uploadId)])
                try Self.audit(
                    AuditEntry.uploadAbort(
                        bucket: target.bucket, key: target.key, uploadId: uploadId, parts: parts.count), db)
                return parts
            }
        }
    }

    // MARK: zone health

    public func recordZoneHealth(_ h: ZoneHealth) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.query(
                Self.upsertZoneHealth,
                [
                    .text(h.zone), .text(h.state.rawValue), .text(h.lastError), .real(h.latency), .real(h.checkedAt),
                    .int(Int64(h.consecutiveFailures)),
                ])
        }
    }

    public func zoneHealth() throws(StoreError) -> [ZoneHealth] {
        try withConnection { db throws(StoreError) in
            var out: [ZoneHealth] = []
            try db.query(
                "SELECT zone, state, last_error, latency, checked_at, consecutive_failures FROM zone_health ORDER BY zone",
                []
            ) { r in
                out.append(
                    ZoneHealth(
                        zone: r.text(0), state: ZoneHealth.State(rawValue: r.text(1)) ?? .down, lastError: r.text(2),
                        latency: r.real(3), checkedAt: r.real(4), consecutiveFailures: Int(r.int(5))))
            }
            return out
        }
    }
}
