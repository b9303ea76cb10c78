/// What a migration from an existing S3 account keeps durably (docs/MIGRATION.md): which objects
/// are copied, each run's progress, and which buckets a running copy serves reads through for.
/// Part of every MetadataStore, so any worker sees what a run process wrote.
public protocol MigrationStore: Sendable {
    /// The copy record of a gateway object, nil when none.
    func migratedObject(bucket: String, key: String) throws(StoreError) -> MigratedObject?
    /// Replaces the copy record of `(bucket, key)`.
    func recordMigratedObject(_ object: MigratedObject) throws(StoreError)

    func migrationRun(id: String) throws(StoreError) -> MigrationRunRow?
    /// Inserts or replaces the run's row.
    func saveMigrationRun(_ run: MigrationRunRow) throws(StoreError)
    /// Writes `run` only if the stored row is still `previous` (nil: there is none), in one
    /// step: true when written. Of two processes starting the same run from the same row, one
    /// wins; the other reads the winner's row.
    func claimMigrationRun(_ run: MigrationRunRow, replacing previous: MigrationRunRow?) throws(StoreError) -> Bool
    /// Runs of a tenant (every tenant when nil), most recently updated first.
    func migrationRuns(tenant: String?) throws(StoreError) -> [MigrationRunRow]

    /// Routes reads of `bucket`'s missing keys to a running copy (replacing any route it had).
    func setReadThrough(_ route: ReadThroughRoute) throws(StoreError)
    /// Removes the run's routes, and only its: a bucket another run routes since stays routed.
    func removeReadThrough(runId: String) throws(StoreError)
    func readThrough(bucket: String) throws(StoreError) -> ReadThroughRoute?
}

/// Proof that a gateway object holds a source object's bytes: the object at `(bucket, key)`
/// whose ETag is `gatewayETag` was copied from the source object whose ETag was `sourceETag` and
/// size `size`, and checked as `verification` says. Written before the copy is committed
/// (`committed` false), so a crash right after the commit loses nothing, and marked committed
/// once the gateway's write succeeded: a committed record whose object is gone says a client
/// deleted the copy (the next run leaves it deleted); a pending one whose object is missing says
/// the commit never happened (the next run copies it).
public struct MigratedObject: Sendable, Equatable {
    /// The metadata store's (tenant-qualified) bucket name.
    public var bucket: String
    public var key: String
    public var sourceETag: String
    public var size: Int64
    public var gatewayETag: String
    /// How the bytes were checked: "md5", "multipart-etag", "checksum-<algorithm>", "size".
    public var verification: String
    public var runId: String
    public var updatedAt: Double
    /// The gateway's write of the copy succeeded (false: written before the commit, which may
    /// not have happened; records kept before this flag existed read false).
    public var committed: Bool

    public init(
        bucket: String, key: String, sourceETag: String, size: Int64, gatewayETag: String, verification: String,
        runId: String, updatedAt: Double, committed: Bool = false
    ) {
        self.bucket = bucket
        self.key = key
        self.sourceETag = sourceETag
        self.size = size
        self.gatewayETag = gatewayETag
        self.verification = verification
        self.runId = runId
        self.updatedAt = updatedAt
        self.committed = committed
    }
}

/// A migration run's row: a few columns to find it by, and its progress and report as one JSON
/// document the Gateway layer writes and reads (the store does not look inside).
public struct MigrationRunRow: Sendable, Equatable {
    public var id: String
    public var tenant: String
    public var planId: String
    /// "running", "done", "cancelled", "failed".
    public var state: String
    public var updatedAt: Double
    public var document: String

    public init(id: String, tenant: String, planId: String, state: String, updatedAt: Double, document: String) {
        self.id = id
        self.tenant = tenant
        self.planId = planId
        self.state = state
        self.updatedAt = updatedAt
        self.document = document
    }
}

/// While a run copies a bucket in read-through mode, a read of a key the gateway lacks asks the
/// run, over its unix socket, to copy that key first. The socket is the only way in: the
/// source credentials never leave the run's memory.
public struct ReadThroughRoute: Sendable, Equatable {
    /// The metadata store's (tenant-qualified) bucket name.
    public var bucket: String
    public var runId: String
    /// The run process's unix socket.
    public var socket: String

    public init(bucket: String, runId: String, socket: String) {
        self.bucket = bucket
        self.runId = runId
        self.socket = socket
    }
}
