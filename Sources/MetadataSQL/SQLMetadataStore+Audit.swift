import GatewayCore
import SigV4

/// The audit chain. `audit(_:_:)` is called by every mutating method inside its own write
/// transaction (`SQLConnection.transaction`, serialized across processes and hosts): the write
/// lock is held while the last (seq, hash) is read, so records of every process form one order,
/// and a change that rolls back takes its record along. Each record's seq is the last one's + 1,
/// written explicitly (no database-assigned ids).
extension SQLMetadataStore: AuditStore {
    static let auditColumns = """
        seq, time, request_id, origin, tenant, access_key_id, operation, change, bucket, key, detail, client_ip, \
        prev_hash, hash
        """

    static let insertAuditSQL =
        "INSERT INTO audit_log (\(auditColumns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

    /// Appends `entry`'s record; the caller's transaction commits it with the change.
    @discardableResult
    static func audit(_ entry: AuditEntry, _ db: any SQLConnection) throws(StoreError) -> AuditRecord {
        guard db.audits else {
            // The chain is switched off: the record says what it would have, but is neither
            // numbered, hashed nor stored (what the switch measures is the chain's cost).
            return AuditRecord(
                seq: 0, time: Int64((SystemClock().now() * 1000).rounded(.down)), actor: .current, entry: entry,
                prevHash: AuditRecord.genesisHash, sha256Hex: { _ in "" })
        }
        var last: (seq: Int64, hash: String) = (0, AuditRecord.genesisHash)
        try db.query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", []) { r in
            last = (r.int(0), r.text(1))
        }
        let record = AuditRecord(
            seq: last.seq + 1, time: Int64((SystemClock().now() * 1000).rounded(.down)), actor: .current, entry: entry,
            prevHash: last.hash, sha256Hex: sha256Hex)
        try db.query(
            insertAuditSQL,
            [
                .int(record.seq), .int(record.time),
            ]
                + [
                    record.requestId, record.origin, record.tenant, record.accessKey, record.operation, record.change,
                    record.bucket, record.key, record.detail, record.clientIP, record.prevHash, record.hash,
                ].map { storedAuditText($0, db.dialect) })
        return record
    }

    static func auditRecord(_ r: any SQLRow, _ dialect: SQLDialect) -> AuditRecord {
        let t = { (i: Int32) in readAuditText(r.text(i), dialect) }
        return AuditRecord(
            seq: r.int(0), time: r.int(1), requestId: t(2), origin: t(3), tenant: t(4), accessKey: t(5),
            operation: t(6), change: t(7), bucket: t(8), key: t(9), detail: t(10), clientIP: t(11), prevHash: t(12),
            hash: t(13))
    }

    /// A record's text as stored. A client can put NUL in a key (`%00`), and so in a record, and
    /// PostgreSQL's text cannot hold it: there NUL is stored as `\0` and `\` as `\\`, and read
    /// back as it was hashed. SQLite stores the text as it is.
    static func storedAuditText(_ s: String, _ dialect: SQLDialect) -> SQLValue {
        guard dialect == .postgres, s.utf8.contains(where: { $0 == 0 || $0 == UInt8(ascii: "\\") }) else {
            return .text(s)
        }
        var out = String.UnicodeScalarView()
        for c in s.unicodeScalars {
            switch c {
            case "\u{0}": out.append(contentsOf: "\\0".unicodeScalars)
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            default: out.append(c)
            }
        }
        return .text(String(out))
    }

    /// A record's text read back (see `storedAuditText`).
    static func readAuditText(_ stored: String, _ dialect: SQLDialect) -> String {
        guard dialect == .postgres, stored.utf8.contains(UInt8(ascii: "\\")) else { return stored }
        var out = String.UnicodeScalarView()
        var escaped = false
        for c in stored.unicodeScalars {
            if escaped {
                out.append(c == "0" ? "\u{0}" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return String(out)
    }

    public func auditRecords(_ q: AuditQuery) throws(StoreError) -> [AuditRecord] {
        try withConnection { db throws(StoreError) in
            var sql = "SELECT \(Self.auditColumns) FROM audit_log WHERE seq > ?"
            var args: [SQLValue] = [.int(q.after)]
            if let since = q.since {
                sql += " AND time >= ?"
                args.append(.int(since))
            }
            for (column, value) in [
                ("bucket", q.bucket), ("tenant", q.tenant), ("operation", q.operation), ("change", q.change),
            ] {
                if let value {
                    sql += " AND \(column) = ?"
                    args.append(Self.storedAuditText(value, db.dialect))
                }
            }
            sql += q.newest ? " ORDER BY seq DESC LIMIT ?" : " ORDER BY seq LIMIT ?"
            args.append(.int(Int64(max(0, q.limit))))
            var out: [AuditRecord] = []
            try db.query(sql, args) { r in out.append(Self.auditRecord(r, db.dialect)) }
            return q.newest ? out.reversed() : out
        }
    }

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) throws(StoreError) -> AuditRecord {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> AuditRecord in try Self.audit(entry, db) }
        }
    }

    private static let digestColumns = """
        id, period_end, period_start, installation, first_seq, last_seq, last_hash, fingerprint, previous_hash, \
        previous_signature, signature
        """

    private static func digest(_ r: any SQLRow) -> AuditDigest {
        var d = AuditDigest(
            installation: r.text(3), periodStart: r.int(2), periodEnd: r.int(1), firstSeq: r.int(4),
            lastSeq: r.int(5), lastHash: r.text(6), publicKeyFingerprint: r.text(7), previousDigestHash: r.text(8),
            previousDigestSignature: r.text(9))
        d.id = r.int(0)
        d.signature = r.text(10)
        return d
    }

    public func auditDigests(after: Int64, limit: Int, newest: Bool) throws(StoreError) -> [AuditDigest] {
        try withConnection { db throws(StoreError) in
            var out: [AuditDigest] = []
            try db.query(
                "SELECT \(Self.digestColumns) FROM audit_digests WHERE id > ? ORDER BY id \(newest ? "DESC" : "") LIMIT ?",
                [.int(after), .int(Int64(max(0, limit)))]
            ) { r in out.append(Self.digest(r)) }
            return newest ? out.reversed() : out
        }
    }

    /// Exported digests are not listed again; `pendingAuditDigests` are those whose file is owed.
    public func pendingAuditDigests() throws(StoreError) -> [AuditDigest] {
        try withConnection { db throws(StoreError) in
            var out: [AuditDigest] = []
            try db.query("SELECT \(Self.digestColumns) FROM audit_digests WHERE exported = 0 ORDER BY id", []) { r in
                out.append(Self.digest(r))
            }
            return out
        }
    }

    public func addAuditDigest(
        periodEnd: Int64, _ make: (AuditDigest?, AuditRecord?) throws(StoreError) -> AuditDigest
    ) throws(StoreError) -> AuditDigest? {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> AuditDigest? in
                var previous: AuditDigest?
                try db.query("SELECT \(Self.digestColumns) FROM audit_digests ORDER BY id DESC LIMIT 1", []) { r in
                    previous = Self.digest(r)
                }
                if let previous, previous.periodEnd >= periodEnd { return nil }
                var last: AuditRecord?
                try db.query("SELECT \(Self.auditColumns) FROM audit_log ORDER BY seq DESC LIMIT 1", []) { r in
                    last = Self.auditRecord(r, db.dialect)
                }
                var d = try make(previous, last)
                // Numbered like the chain's records: inside the serialized transaction, after the last.
                d.id = (previous?.id ?? 0) + 1
                try db.query(
                    """
                    INSERT INTO audit_digests (id, period_end, period_start, installation, first_seq, last_seq,
                        last_hash, fingerprint, previous_hash, previous_signature, signature)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .int(d.id), .int(d.periodEnd), .int(d.periodStart), .text(d.installation), .int(d.firstSeq),
                        .int(d.lastSeq), .text(d.lastHash), .text(d.publicKeyFingerprint),
                        .text(d.previousDigestHash), .text(d.previousDigestSignature), .text(d.signature),
                    ])
                return d
            }
        }
    }

    public func markAuditDigestExported(id: Int64) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.query("UPDATE audit_digests SET exported = 1 WHERE id = ?", [.int(id)])
        }
    }

    public func auditKeys() throws(StoreError) -> [AuditKey] {
        try withConnection { db throws(StoreError) in
            var out: [AuditKey] = []
            try db.query("SELECT fingerprint, public_key, created FROM audit_keys ORDER BY created, fingerprint", []) {
                r in
                out.append(AuditKey(fingerprint: r.text(0), publicKey: r.text(1), created: r.real(2)))
            }
            return out
        }
    }

    public func addAuditKey(_ key: AuditKey) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.query(
                "INSERT INTO audit_keys (fingerprint, public_key, created) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [.text(key.fingerprint), .text(key.publicKey), .real(key.created)])
        }
    }
}
