import GatewayCore

/// Versioned schema migrations, applied in order inside one transaction. Never change what a
/// shipped migration does: append a new one. One list for both dialects, written in SQLite's
/// types and translated for PostgreSQL (`PostgresDDL`); see docs/METADATA.md, "Portable SQL".
enum Migrations {
    static let all: [(version: Int, sql: [MigrationStep])] = [
        (
            1,
            [
                """
                CREATE TABLE buckets (
                    name TEXT PRIMARY KEY,
                    owner TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    location_constraint TEXT NOT NULL,
                    zones TEXT NOT NULL,
                    backend_bucket TEXT NOT NULL
                )
                """,
                // Keys compare as bytes (BINARY collation on UTF-8), which is S3's list order.
                """
                CREATE TABLE objects (
                    bucket TEXT NOT NULL REFERENCES buckets(name),
                    key TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    last_modified REAL NOT NULL,
                    content_type TEXT NOT NULL,
                    headers TEXT NOT NULL,
                    checksums TEXT NOT NULL,
                    zone TEXT NOT NULL,
                    blob TEXT NOT NULL,
                    PRIMARY KEY (bucket, key)
                ) WITHOUT ROWID
                """,
            ]
        ),
        (
            2,
            [
                // Part blobs of a completed multipart upload ("blob:size" lines), "" otherwise.
                "ALTER TABLE objects ADD COLUMN parts TEXT NOT NULL DEFAULT ''",
                """
                CREATE TABLE uploads (
                    upload_id TEXT PRIMARY KEY,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    initiated REAL NOT NULL,
                    content_type TEXT NOT NULL,
                    headers TEXT NOT NULL,
                    checksum_algorithm TEXT NOT NULL,
                    zone TEXT NOT NULL
                )
                """,
                "CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id)",
                """
                CREATE TABLE parts (
                    upload_id TEXT NOT NULL,
                    part_number INTEGER NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    last_modified REAL NOT NULL,
                    checksums TEXT NOT NULL,
                    blob TEXT NOT NULL,
                    PRIMARY KEY (upload_id, part_number)
                ) WITHOUT ROWID
                """,
            ]
        ),
        (
            3,
            [
                // Tags as "key:value" lines (FieldCoding), "" when none.
                "ALTER TABLE objects ADD COLUMN tags TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN tags TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE uploads ADD COLUMN tags TEXT NOT NULL DEFAULT ''",
            ]
        ),
        (
            4,
            [
                """
                CREATE TABLE zone_health (
                    zone TEXT PRIMARY KEY,
                    state TEXT NOT NULL,
                    last_error TEXT NOT NULL,
                    latency REAL NOT NULL,
                    checked_at REAL NOT NULL,
                    consecutive_failures INTEGER NOT NULL
                )
                """
            ]
        ),
        (5, ["ALTER TABLE uploads ADD COLUMN zone_upload TEXT NOT NULL DEFAULT ''"]),
        // The multipart upload an object was completed from, "" otherwise.
        (6, ["ALTER TABLE objects ADD COLUMN upload_id TEXT NOT NULL DEFAULT ''"]),
        // Part sizes of a multipart object ("n,n,…"), "" otherwise.
        (7, ["ALTER TABLE objects ADD COLUMN part_sizes TEXT NOT NULL DEFAULT ''"]),
        // COMPOSITE or FULL_OBJECT for uploads with a checksum algorithm.
        (8, ["ALTER TABLE uploads ADD COLUMN checksum_type TEXT NOT NULL DEFAULT ''"]),
        (
            9,
            [
                // Copies beyond the primary ("zone backend blob state" lines) and the bucket's default count.
                "ALTER TABLE objects ADD COLUMN replicas TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN replica_count INTEGER NOT NULL DEFAULT 1",
                // The agent's durable work: written in the same transaction as the change that
                // needs it, claimed with an expiring lease.
                """
                CREATE TABLE jobs (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    kind TEXT NOT NULL,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    generation TEXT NOT NULL,
                    zone TEXT NOT NULL,
                    backend_bucket TEXT NOT NULL,
                    blob TEXT NOT NULL,
                    state TEXT NOT NULL,
                    attempts INTEGER NOT NULL,
                    not_before REAL NOT NULL,
                    created_at REAL NOT NULL,
                    lease_owner TEXT NOT NULL,
                    lease_until REAL NOT NULL,
                    last_error TEXT NOT NULL
                )
                """,
                "CREATE INDEX jobs_ready ON jobs (state, not_before)",
                "CREATE INDEX jobs_by_object ON jobs (bucket, key)",
            ]
        ),
        (10, ["ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0"]),
        (
            11,
            [
                // The agent's small durable notes: the scrub's cursor, repair passes under way.
                "CREATE TABLE agent_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL)",
                // Waking the jobs towards a zone that is back.
                "CREATE INDEX jobs_by_zone ON jobs (zone, state)",
            ]
        ),
        // Jobs finished and attempts failed per minute: the queue's rate for `replication status`.
        (
            12,
            ["CREATE TABLE job_counts (minute INTEGER PRIMARY KEY, finished INTEGER NOT NULL, failed INTEGER NOT NULL)"]
        ),
        (
            13,
            [
                // Tenants, their users and credentials. Everything that existed before belongs
                // to the default tenant; the bootstrap adds its root user.
                "CREATE TABLE tenants (id TEXT PRIMARY KEY, display_name TEXT NOT NULL, created_at REAL NOT NULL)",
                .bindingNow("INSERT INTO tenants VALUES ('default', 'Default tenant', ?)"),
                """
                CREATE TABLE users (
                    tenant TEXT NOT NULL REFERENCES tenants(id),
                    name TEXT NOT NULL,
                    id TEXT NOT NULL UNIQUE,
                    permissions TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    PRIMARY KEY (tenant, name)
                )
                """,
                // sealed_secret: the secret under the master key, never the secret itself.
                // Sessions carry expires_at, parent_key, token_hash and session_policy.
                """
                CREATE TABLE credentials (
                    access_key TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    "user" TEXT NOT NULL,
                    sealed_secret TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    expires_at REAL,
                    parent_key TEXT,
                    token_hash TEXT,
                    session_policy TEXT
                )
                """,
                "CREATE INDEX credentials_by_user ON credentials (tenant, \"user\")",
                "CREATE INDEX credentials_by_parent ON credentials (parent_key)",
                "CREATE INDEX credentials_by_expiry ON credentials (expires_at)",
                "ALTER TABLE buckets ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default'",
                // Backend bucket names were derived under the creating access key: keep it.
                "ALTER TABLE buckets ADD COLUMN naming_key TEXT NOT NULL DEFAULT ''",
                "UPDATE buckets SET naming_key = owner",
                "CREATE INDEX buckets_by_tenant ON buckets (tenant, name)",
            ]
        ),
        (
            14,
            [
                // Discovery jobs (docs/DISCOVERY.md): where and what, never the pasted
                // credentials. heartbeat_at ages when the process running a job dies.
                """
                CREATE TABLE discovery_jobs (
                    id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    "user" TEXT NOT NULL,
                    state TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    finished_at REAL,
                    endpoint_host TEXT NOT NULL,
                    region TEXT NOT NULL,
                    sanitization TEXT NOT NULL,
                    prefix_depth INTEGER NOT NULL,
                    buckets_total INTEGER NOT NULL,
                    buckets_done INTEGER NOT NULL,
                    objects INTEGER NOT NULL,
                    bytes INTEGER NOT NULL,
                    current_bucket TEXT NOT NULL,
                    error TEXT NOT NULL,
                    has_snapshot INTEGER NOT NULL,
                    cancel_requested INTEGER NOT NULL,
                    owner TEXT NOT NULL,
                    heartbeat_at REAL NOT NULL
                )
                """,
                "CREATE INDEX discovery_jobs_by_tenant ON discovery_jobs (tenant, created_at)",
            ]
        ),
        (
            15,
            [
                // Migration from an existing S3 account (docs/MIGRATION.md): per object, proof of
                // what was copied (resumable runs copy only what has none); per run, its progress
                // and report; per bucket, the run that serves its missing keys (read-through).
                """
                CREATE TABLE migrated_objects (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    source_etag TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    gateway_etag TEXT NOT NULL,
                    verification TEXT NOT NULL,
                    run_id TEXT NOT NULL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (bucket, key)
                )
                """,
                """
                CREATE TABLE migration_runs (
                    id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    plan_id TEXT NOT NULL,
                    state TEXT NOT NULL,
                    updated_at REAL NOT NULL,
                    document TEXT NOT NULL
                )
                """,
                "CREATE INDEX migration_runs_by_tenant ON migration_runs (tenant, updated_at)",
                """
                CREATE TABLE migration_read_through (
                    bucket TEXT PRIMARY KEY,
                    run_id TEXT NOT NULL,
                    socket TEXT NOT NULL
                )
                """,
            ]
        ),
        (
            16,
            [
                // Whether a copy record's write was committed: a committed copy whose object is
                // gone was deleted by a client and is not copied again. Older records say 0 (they
                // were written before their commit, which may have failed): copied again as before.
                "ALTER TABLE migrated_objects ADD COLUMN committed INTEGER NOT NULL DEFAULT 0"
            ]
        ),
        (
            17,
            [
                // The audit chain (docs/OBSERVABILITY.md, "Audit chain"). seq is the rowid in SQLite:
                // the last record is one B-tree step away, and no secondary index adds to a write's
                // cost. The store writes every seq (and digest id) itself, so a plain key works alike.
                """
                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY,
                    time INTEGER NOT NULL,
                    request_id TEXT NOT NULL,
                    origin TEXT NOT NULL,
                    tenant TEXT NOT NULL,
                    access_key_id TEXT NOT NULL,
                    operation TEXT NOT NULL,
                    change TEXT NOT NULL,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    client_ip TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL
                )
                """,
                // One digest per period (period_end UNIQUE): agents racing for a period add one.
                """
                CREATE TABLE audit_digests (
                    id INTEGER PRIMARY KEY,
                    period_end INTEGER NOT NULL UNIQUE,
                    period_start INTEGER NOT NULL,
                    installation TEXT NOT NULL,
                    first_seq INTEGER NOT NULL,
                    last_seq INTEGER NOT NULL,
                    last_hash TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    previous_hash TEXT NOT NULL,
                    previous_signature TEXT NOT NULL,
                    signature TEXT NOT NULL,
                    exported INTEGER NOT NULL DEFAULT 0
                )
                """,
                """
                CREATE TABLE audit_keys (
                    fingerprint TEXT PRIMARY KEY,
                    public_key TEXT NOT NULL,
                    created REAL NOT NULL
                )
                """,
            ]
        ),
        (
            18,
            [
                // The agent's samples for the dashboard's charts: one row per sampling slot (a
                // minute by default), kept a day. The request totals are cumulative, null when
                // the gateway's counters could not be read.
                """
                CREATE TABLE metrics_history (
                    time INTEGER PRIMARY KEY,
                    replication_pending INTEGER NOT NULL,
                    replication_running INTEGER NOT NULL,
                    replication_dead INTEGER NOT NULL,
                    oldest_pending_seconds REAL NOT NULL,
                    replicated INTEGER NOT NULL,
                    replication_failed INTEGER NOT NULL,
                    requests_total INTEGER,
                    errors_total INTEGER
                )
                """
            ]
        ),
        (
            19,
            [
                // The replication lag (write → verified replica) per sample: the cumulative
                // histogram buckets (comma-separated counts), and the 95th percentile of those
                // verified since the previous sample. Null in rows sampled before.
                "ALTER TABLE metrics_history ADD COLUMN lag_buckets TEXT",
                "ALTER TABLE metrics_history ADD COLUMN lag_p95_seconds REAL",
            ]
        ),
        (
            20,
            [
                // Versioning, Object Lock and lifecycle. `objects` keeps the latest entry of each
                // key that is not a delete marker (the GET and listing path are unchanged);
                // `object_versions` holds every other version and every delete marker, with the
                // same columns. Rows written before have version id 'null' and seq '' (oldest).
                "ALTER TABLE buckets ADD COLUMN versioning TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN object_lock TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN lifecycle TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE objects ADD COLUMN version_id TEXT NOT NULL DEFAULT 'null'",
                "ALTER TABLE objects ADD COLUMN version_seq TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE objects ADD COLUMN delete_marker INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE objects ADD COLUMN lock_mode TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE objects ADD COLUMN retain_until REAL NOT NULL DEFAULT 0",
                "ALTER TABLE objects ADD COLUMN legal_hold INTEGER NOT NULL DEFAULT 0",
                "ALTER TABLE objects ADD COLUMN noncurrent_since REAL NOT NULL DEFAULT 0",
                """
                CREATE TABLE object_versions (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    last_modified REAL NOT NULL,
                    content_type TEXT NOT NULL,
                    headers TEXT NOT NULL,
                    checksums TEXT NOT NULL,
                    zone TEXT NOT NULL,
                    blob TEXT NOT NULL,
                    parts TEXT NOT NULL DEFAULT '',
                    tags TEXT NOT NULL DEFAULT '',
                    upload_id TEXT NOT NULL DEFAULT '',
                    part_sizes TEXT NOT NULL DEFAULT '',
                    replicas TEXT NOT NULL DEFAULT '',
                    version_id TEXT NOT NULL,
                    version_seq TEXT NOT NULL,
                    delete_marker INTEGER NOT NULL DEFAULT 0,
                    lock_mode TEXT NOT NULL DEFAULT '',
                    retain_until REAL NOT NULL DEFAULT 0,
                    legal_hold INTEGER NOT NULL DEFAULT 0,
                    noncurrent_since REAL NOT NULL DEFAULT 0,
                    PRIMARY KEY (bucket, key, version_seq)
                ) WITHOUT ROWID
                """,
                "ALTER TABLE uploads ADD COLUMN lock TEXT NOT NULL DEFAULT ''",
            ]
        ),
        (
            21,
            [
                // The null version among a key's versions without a scan (any other version id
                // is its seq, the primary key). Not a partial index: the planner, equal on
                // (bucket, key) either way, would take the primary key.
                "CREATE INDEX object_versions_by_id ON object_versions (bucket, key, version_id)"
            ]
        ),
        (
            22,
            [
                // Bucket policies, ACLs, Object Ownership, the public access block, CORS and default
                // encryption: one text column each, '' when not set (rows from before behave as
                // they did). Objects, versions and uploads gain owner, ACL and encryption envelope.
                "ALTER TABLE buckets ADD COLUMN policy TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN acl TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN ownership TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN public_access_block TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN cors TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE buckets ADD COLUMN encryption TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE objects ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE objects ADD COLUMN acl TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE objects ADD COLUMN sse TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE object_versions ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE object_versions ADD COLUMN acl TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE object_versions ADD COLUMN sse TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE uploads ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE uploads ADD COLUMN acl TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE uploads ADD COLUMN sse TEXT NOT NULL DEFAULT ''",
                "ALTER TABLE uploads ADD COLUMN initiator TEXT NOT NULL DEFAULT ''",
                // Key-encryption keys, each version sealed under the master key ring (never in
                // clear). One "sse-s3" key per tenant; aliases unique within a tenant.
                """
                CREATE TABLE kms_keys (
                    id TEXT PRIMARY KEY,
                    tenant TEXT NOT NULL,
                    alias TEXT NOT NULL DEFAULT '',
                    description TEXT NOT NULL DEFAULT '',
                    kind TEXT NOT NULL,
                    state TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    versions TEXT NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX kms_keys_alias ON kms_keys (tenant, alias) WHERE alias <> ''",
                "CREATE UNIQUE INDEX kms_keys_sse_s3 ON kms_keys (tenant) WHERE kind = 'sse-s3'",
            ]
        ),
    ]

    /// Several processes (on PostgreSQL, several hosts) may start at once: the first to take
    /// the lock migrates, the others then find nothing left to do. SQLite's write transaction
    /// excludes the others already; PostgreSQL takes a lock of its own (DDL is transactional
    /// there, and even `CREATE TABLE IF NOT EXISTS` races with itself).
    static func apply(_ db: any SQLConnection, now: Double = SystemClock().now()) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            if db.dialect == .postgres {
                try db.query("SELECT pg_advisory_xact_lock(\(postgresLock))", [])
            }
            try run(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at REAL)", db,
                now: now)
            var current = 0
            try db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", []) { r in current = Int(r.int(0)) }
            for m in all where m.version > current {
                for step in m.sql { try run(step, db, now: now) }
                try db.query(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    [.int(Int64(m.version)), .real(now.rounded(.down))])
            }
        }
    }

    /// The advisory lock key of the migration (an arbitrary constant: "s3gw" "migr").
    static let postgresLock: Int64 = 0x7333_6777_6d69_6772

    private static func run(_ step: MigrationStep, _ db: any SQLConnection, now: Double) throws(StoreError) {
        let sql = db.dialect == .postgres ? PostgresDDL.translate(step.sql) : step.sql
        if step.bindsNow {
            try db.query(sql, [.real(now.rounded(.down))])
        } else {
            try db.exec(sql)
        }
    }
}

/// One statement of a migration.
struct MigrationStep: ExpressibleByStringLiteral {
    let sql: String
    /// Whether the statement's one placeholder takes the time of the migration (a portable
    /// "now": the two databases spell it differently).
    let bindsNow: Bool

    init(_ sql: String, bindsNow: Bool = false) {
        self.sql = sql
        self.bindsNow = bindsNow
    }

    init(stringLiteral sql: String) { self.init(sql) }

    static func bindingNow(_ sql: String) -> MigrationStep { MigrationStep(sql, bindsNow: true) }
}
