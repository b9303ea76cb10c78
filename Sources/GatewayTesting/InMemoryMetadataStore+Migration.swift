import GatewayCore
import Synchronization

/// Migration records in memory, with the SQLite store's semantics.
struct MigrationState {
    var objects: [String: MigratedObject] = [:]
    var runs: [String: MigrationRunRow] = [:]
    var routes: [String: ReadThroughRoute] = [:]
    /// Runs before each run row is saved (tests hold a write back with it).
    var beforeRunSave: (@Sendable (MigrationRunRow) -> Void)?

    static func key(_ bucket: String, _ key: String) -> String { bucket + "\u{0}" + key }
}

extension InMemoryMetadataStore {
    public func migratedObject(bucket: String, key: String) throws(StoreError) -> MigratedObject? {
        migration.withLock { $0.objects[MigrationState.key(bucket, key)] }
    }

    public func recordMigratedObject(_ object: MigratedObject) throws(StoreError) {
        migration.withLock { $0.objects[MigrationState.key(object.bucket, object.key)] = object }
    }

    public func migrationRun(id: String) throws(StoreError) -> MigrationRunRow? {
        migration.withLock { $0.runs[id] }
    }

    public func saveMigrationRun(_ run: MigrationRunRow) throws(StoreError) {
        migration.withLock { $0.beforeRunSave }?(run)
        migration.withLock { $0.runs[run.id] = run }
    }

    public func claimMigrationRun(_ run: MigrationRunRow, replacing previous: MigrationRunRow?) throws(StoreError)
        -> Bool
    {
        migration.withLock { s in
            guard s.runs[run.id] == previous else { return false }
            s.runs[run.id] = run
            return true
        }
    }

    /// Calls `hook` with every run row about to be saved, on the saving thread, before it is.
    public func beforeMigrationRunSave(_ hook: (@Sendable (MigrationRunRow) -> Void)?) {
        migration.withLock { $0.beforeRunSave = hook }
    }

    public func migrationRuns(tenant: String?) throws(StoreError) -> [MigrationRunRow] {
        migration.withLock { s in
            s.runs.values.filter { tenant == nil || $0.tenant == tenant }.sorted { $0.updatedAt > $1.updatedAt }
        }
    }

    public func setReadThrough(_ route: ReadThroughRoute) throws(StoreError) {
        migration.withLock { s in
            s.routes[route.bucket] = route
            audit(AuditEntry.readThrough(bucket: route.bucket, run: route.runId))
        }
    }

    public func removeReadThrough(runId: String) throws(StoreError) {
        migration.withLock { s in
            for bucket in s.routes.filter({ $0.value.runId == runId }).keys.sorted() {
                s.routes[bucket] = nil
                audit(AuditEntry.readThroughEnd(bucket: bucket, run: runId))
            }
        }
    }

    public func readThrough(bucket: String) throws(StoreError) -> ReadThroughRoute? {
        migration.withLock { $0.routes[bucket] }
    }

    /// What `deleteBucket` forgets with the bucket: its copy records.
    func forgetMigratedObjects(bucket: String) {
        migration.withLock { s in s.objects = s.objects.filter { $0.value.bucket != bucket } }
    }
}
