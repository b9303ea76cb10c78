import GatewayCore

/// Migration from an existing S3 account: copy records, run rows, read-through routes.
extension SQLMetadataStore {
    private static let upsertMigratedObject = PortableSQL.upsert(
        into: "migrated_objects",
        columns: "bucket, key, source_etag, size, gateway_etag, verification, run_id, updated_at, committed",
        key: ["bucket", "key"])
    private static let upsertMigrationRun = PortableSQL.upsert(
        into: "migration_runs", columns: "id, tenant, plan_id, state, updated_at, document", key: ["id"])
    private static let upsertReadThrough = PortableSQL.upsert(
        into: "migration_read_through", columns: "bucket, run_id, socket", key: ["bucket"])

    public func migratedObject(bucket: String, key: String) throws(StoreError) -> MigratedObject? {
        try withConnection { db throws(StoreError) in
            var found: MigratedObject?
            try db.query(
                """
                SELECT source_etag, size, gateway_etag, verification, run_id, updated_at, committed
                FROM migrated_objects WHERE bucket = ? AND key = ?
                """, [.text(bucket), .text(key)]
            ) { r in
                found = MigratedObject(
                    bucket: bucket, key: key, sourceETag: r.text(0), size: r.int(1), gatewayETag: r.text(2),
                    verification: r.text(3), runId: r.text(4), updatedAt: r.real(5), committed: r.int(6) != 0)
            }
            return found
        }
    }

    public func recordMigratedObject(_ o: MigratedObject) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.query(
                Self.upsertMigratedObject,
                [
                    .text(o.bucket), .text(o.key), .text(o.sourceETag), .int(o.size), .text(o.gatewayETag),
                    .text(o.verification), .text(o.runId), .real(o.updatedAt), .int(o.committed ? 1 : 0),
                ])
        }
    }

    public func migrationRun(id: String) throws(StoreError) -> MigrationRunRow? {
        try withConnection { db throws(StoreError) in
            var found: MigrationRunRow?
            try db.query(
                "SELECT id, tenant, plan_id, state, updated_at, document FROM migration_runs WHERE id = ?", [.text(id)]
            ) { r in found = Self.migrationRun(r) }
            return found
        }
    }

    public func saveMigrationRun(_ run: MigrationRunRow) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.query(
                Self.upsertMigrationRun,
                [
                    .text(run.id), .text(run.tenant), .text(run.planId), .text(run.state), .real(run.updatedAt),
                    .text(run.document),
                ])
        }
    }

    public func claimMigrationRun(_ run: MigrationRunRow, replacing previous: MigrationRunRow?) throws(StoreError)
        -> Bool
    {
        try withConnection { db throws(StoreError) in
            if let previous {
                try db.query(
                    """
                    UPDATE migration_runs SET tenant = ?, plan_id = ?, state = ?, updated_at = ?, document = ?
                    WHERE id = ? AND state = ? AND updated_at = ? AND document = ?
                    """,
                    [
                        .text(run.tenant), .text(run.planId), .text(run.state), .real(run.updatedAt),
                        .text(run.document), .text(run.id), .text(previous.state), .real(previous.updatedAt),
                        .text(previous.document),
                    ])
            } else {
                try db.query(
                    """
                    INSERT INTO migration_runs (id, tenant, plan_id, state, updated_at, document)
                    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """,
                    [
                        .text(run.id), .text(run.tenant), .text(run.planId), .text(run.state), .real(run.updatedAt),
                        .text(run.document),
                    ])
            }
            return db.changes == 1
        }
    }

    public func migrationRuns(tenant: String?) throws(StoreError) -> [MigrationRunRow] {
        try withConnection { db throws(StoreError) in
            var out: [MigrationRunRow] = []
            let columns = "SELECT id, tenant, plan_id, state, updated_at, document FROM migration_runs"
            if let tenant {
                try db.query("\(columns) WHERE tenant = ? ORDER BY updated_at DESC, id", [.text(tenant)]) { r in
                    out.append(Self.migrationRun(r))
                }
            } else {
                try db.query("\(columns) ORDER BY updated_at DESC, id", []) { r in out.append(Self.migrationRun(r)) }
            }
            return out
        }
    }

    static func migrationRun(_ r: any SQLRow) -> MigrationRunRow {
        MigrationRunRow(
            id: r.text(0), tenant: r.text(1), planId: r.text(2), state: r.text(3), updatedAt: r.real(4),
            document: r.text(5))
    }

    public func setReadThrough(_ route: ReadThroughRoute) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    Self.upsertReadThrough,
                    [.text(route.bucket), .text(route.runId), .text(route.socket)])
                try Self.audit(
                    AuditEntry.readThrough(bucket: route.bucket, run: route.runId), db
                )
            }
        }
    }

    public func removeReadThrough(runId: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var buckets: [String] = []
                try db.query(
                    "SELECT bucket FROM migration_read_through WHERE run_id = ? ORDER BY bucket", [.text(runId)]
                ) { r in
                    buckets.append(r.text(0))
                }
                try db.query("DELETE FROM migration_read_through WHERE run_id = ?", [.text(runId)])
                for bucket in buckets {
                    try Self.audit(
                        AuditEntry.readThroughEnd(bucket: bucket, run: runId), db)
                }
            }
        }
    }

    public func readThrough(bucket: String) throws(StoreError) -> ReadThroughRoute? {
        try withConnection { db throws(StoreError) in
            var found: ReadThroughRoute?
            try db.query("SELECT run_id, socket FROM migration_read_through WHERE bucket = ?", [.text(bucket)]) { r in
                found = ReadThroughRoute(bucket: bucket, runId: r.text(0), socket: r.text(1))
            }
            return found
        }
    }
}
