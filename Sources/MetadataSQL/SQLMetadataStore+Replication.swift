import GatewayCore

/// Replicas and the replication queue. Every change of an object's copies turns into jobs in
/// the same transaction (`queueJobs`), so no acknowledged write loses its replication and no
/// replaced copy is forgotten.
extension SQLMetadataStore {
    static let jobColumns = """
        id, kind, bucket, key, generation, zone, backend_bucket, blob, state, attempts, not_before, created_at, \
        lease_owner, lease_until, last_error, priority
        """

    static func job(_ r: any SQLRow) -> ReplicationJob {
        ReplicationJob(
            id: r.int(0), kind: ReplicationJob.Kind(rawValue: r.text(1)) ?? .replicate, bucket: r.text(2),
            key: r.text(3), generation: r.text(4), zone: r.text(5), backendBucket: r.text(6), blob: r.text(7),
            state: ReplicationJob.State(rawValue: r.text(8)) ?? .pending, priority: Int(r.int(15)),
            attempts: Int(r.int(9)), notBefore: r.real(10), createdAt: r.real(11), leaseOwner: r.text(12),
            leaseUntil: r.real(13), lastError: r.text(14))
    }

    static func insertJob(_ j: ReplicationJob, _ db: any SQLConnection) throws(StoreError) {
        try db.query(
            """
            INSERT INTO jobs (kind, bucket, key, generation, zone, backend_bucket, blob, state, attempts, not_before,
                created_at, lease_owner, lease_until, last_error, priority)
            VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, '', 0, '', ?)
            """,
            [
                .text(j.kind.rawValue), .text(j.bucket), .text(j.key), .text(j.generation), .text(j.zone),
                .text(j.backendBucket), .text(j.blob), .real(j.notBefore), .real(j.createdAt), .int(Int64(j.priority)),
            ])
    }

    /// The jobs an object's change needs: copies of the new record still pending get a replicate
    /// job, and every stored copy of the old record the new one no longer has gets removed.
    /// Queued replicate jobs of the replaced version the new record does not want are dropped (a
    /// running one finds out itself); other versions of the key keep theirs.
    static func queueJobs(replacing old: ObjectRecord?, with new: ObjectRecord?, now: Double, _ db: any SQLConnection)
        throws(StoreError)
    {
        guard let o = old ?? new else { return }
        // An object without replicas before or after (most of them) needs no job and has none.
        if (old?.replicas.isEmpty ?? true) && (new?.replicas.isEmpty ?? true) { return }
        let planned = ReplicationPlan.jobs(replacing: old, with: new, now: now)
        // Replicate jobs already there: kept when still wanted, dropped otherwise (a running one
        // finds out when it records its copy).
        var queued: [(id: Int64, generation: String, zone: String, running: Bool)] = []
        try db.query(
            "SELECT id, generation, zone, state FROM jobs WHERE kind = 'replicate' AND bucket = ? AND key = ?",
            [.text(o.bucket), .text(o.key)]
        ) { r in queued.append((r.int(0), r.text(1), r.text(2), r.text(3) == "running")) }
        let wanted = Set(planned.filter { $0.kind == .replicate }.map { $0.generation + " " + $0.zone })
        for q in queued
        where !q.running && q.generation == old?.generation && !wanted.contains(q.generation + " " + q.zone) {
            // Job claims are not serialized with this transaction (`claimJobs`): one claimed
            // since it was read is running now, and stays.
            try db.query("DELETE FROM jobs WHERE id = ? AND state <> 'running'", [.int(q.id)])
        }
        let present = Set(queued.map { $0.generation + " " + $0.zone })
        for job in planned where job.kind == .removeBlob || !present.contains(job.generation + " " + job.zone) {
            try insertJob(job, db)
        }
    }

    /// The version written as `generation` and the table it lives in: `objects` when it is the
    /// latest, `object_versions` when noncurrent (a noncurrent version keeps getting its copies
    /// and its repairs). Delete markers have no generation.
    static func located(_ bucket: String, _ key: String, _ generation: String, _ db: any SQLConnection)
        throws(StoreError) -> (version: ObjectRecord, table: String)?
    {
        guard !generation.isEmpty else { return nil }
        for table in ["objects", "object_versions"] {
            var found: ObjectRecord?
            try db.query(
                "SELECT \(objectColumns) FROM \(table) WHERE bucket = ? AND key = ?", [.text(bucket), .text(key)]
            ) { r in
                let o = object(r)
                if !o.isDeleteMarker && o.generation == generation { found = o }
            }
            if let found { return (found, table) }
        }
        return nil
    }

    public func setReplicas(bucket: String, key: String, generation: String, replicas: [Replica], now: Double)
        throws(StoreError)
    {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                guard let (old, table) = try Self.located(bucket, key, generation, db) else { throw .noSuchKey }
                // Nothing changes when it would drop a stored copy of a locked version.
                try VersionCopies.checkReplicaChange(old, to: replicas, now: now)
                var o = old
                o.replicas = replicas
                try Self.insert(o, into: table, db)
                try Self.queueJobs(replacing: old, with: o, now: now, db)
                try Self.audit(
                    AuditEntry.objectReplicas(o), db)
            }
        }
    }

    public func completeReplica(
        bucket: String, key: String, generation: String, zone: String, blob: String,
        lease: (job: Int64, owner: String)?
    ) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                if let lease {
                    // Written, not only read: on PostgreSQL the UPDATE locks the job row until this
                    // transaction ends, so a claim of the expired lease (`FOR UPDATE SKIP LOCKED`)
                    // either skips it or went first — then this WHERE no longer matches.
                    try db.query(
                        "UPDATE jobs SET lease_until = lease_until WHERE id = ? AND lease_owner = ? AND state = 'running'",
                        [.int(lease.job), .text(lease.owner)])
                    guard db.changes > 0 else { return false }
                }
                guard var (o, table) = try Self.located(bucket, key, generation, db),
                    let i = o.replicas.firstIndex(where: { $0.zone == zone && $0.blob.isEmpty })
                else { return false }
                o.replicas[i].blob = blob
                o.replicas[i].state = .completed
                try Self.insert(o, into: table, db)
                return true
            }
        }
    }

    public func claimJobs(owner: String, now: Double, lease: Double, limit: Int) throws(StoreError)
        -> [ReplicationJob]
    {
        try withConnection { db throws(StoreError) in
            // Agents on every host claim at once and must not wait for each other (nor for the
            // serialized writers): PostgreSQL locks the rows it hands out and skips those another
            // claim holds. No audit record here (it would need the serialized chain).
            try db.concurrentTransaction { () throws(StoreError) -> [ReplicationJob] in
                var claimed: [ReplicationJob] = []
                // Ready pending jobs, and running ones whose holder stopped renewing (it died).
                try db.query(
                    """
                    SELECT \(Self.jobColumns) FROM jobs
                    WHERE (state = 'pending' AND not_before <= ?) OR (state = 'running' AND lease_until < ?)
                    ORDER BY priority DESC, not_before, id LIMIT ?
                    """ + (db.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : ""),
                    [.real(now), .real(now), .int(Int64(limit))]
                ) { r in claimed.append(Self.job(r)) }
                for i in claimed.indices {
                    claimed[i].state = .running
                    claimed[i].attempts += 1
                    claimed[i].leaseOwner = owner
                    claimed[i].leaseUntil = now + lease
                    try db.query(
                        "UPDATE jobs SET state = 'running', attempts = ?, lease_owner = ?, lease_until = ? WHERE id = ?",
                        [
                            .int(Int64(claimed[i].attempts)), .text(owner), .real(claimed[i].leaseUntil),
                            .int(claimed[i].id),
                        ])
                }
                return claimed
            }
        }
    }

    public func renewLease(jobId: Int64, owner: String, until: Double) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.query(
                "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'",
                [.real(until), .int(jobId), .text(owner)])
            return db.changes > 0
        }
    }

    public func finishJob(id: Int64, owner: String, now: Double) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("DELETE FROM jobs WHERE id = ? AND lease_owner = ?", [.int(id), .text(owner)])
                if db.changes > 0 { try Self.count(finished: 1, failed: 0, at: now, db) }
            }
        }
    }

    static func count(finished: Int, failed: Int, at now: Double, _ db: any SQLConnection) throws(StoreError) {
        try db.query(
            """
            INSERT INTO job_counts (minute, finished, failed) VALUES (?, ?, ?)
            ON CONFLICT (minute) DO UPDATE SET finished = job_counts.finished + excluded.finished,
                failed = job_counts.failed + excluded.failed
            """, [.int(Int64(now / 60)), .int(Int64(finished)), .int(Int64(failed))])
        // A day of history is plenty for a rate.
        try db.query("DELETE FROM job_counts WHERE minute < ?", [.int(Int64(now / 60) - 1440)])
    }

    public func failJob(id: Int64, owner: String, error: String, retryAt: Double?, now: Double) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var job: ReplicationJob?
                try db.query(
                    "SELECT \(Self.jobColumns) FROM jobs WHERE id = ? AND lease_owner = ?", [.int(id), .text(owner)]
                ) { r in job = Self.job(r) }
                guard let job else { return }
                // The owner and state again in the UPDATE itself: claims are not serialized with
                // this transaction (`concurrentTransaction`), and on PostgreSQL a claim that took
                // the expired lease meanwhile is re-checked only against this WHERE.
                try db.query(
                    """
                    UPDATE jobs SET state = ?, not_before = ?, lease_owner = '', lease_until = 0, last_error = ?
                    WHERE id = ? AND lease_owner = ? AND state = 'running'
                    """,
                    [
                        .text(retryAt == nil ? "dead" : "pending"), .real(retryAt ?? 0), .text(error), .int(id),
                        .text(owner),
                    ])
                guard db.changes > 0 else { return }
                try Self.count(finished: 0, failed: 1, at: now, db)
                if retryAt == nil && job.kind == .replicate {
                    try markReplica(job, .failed, db)
                }
            }
        }
    }

    private func markReplica(_ job: ReplicationJob, _ state: Replica.State, _ db: any SQLConnection)
        throws(StoreError)
    {
        guard var (o, table) = try Self.located(job.bucket, job.key, job.generation, db),
            let i = o.replicas.firstIndex(where: { $0.zone == job.zone && $0.blob.isEmpty })
        else { return }
        o.replicas[i].state = state
        try Self.insert(o, into: table, db)
    }

    public func jobs(bucket: String?, key: String?, state: ReplicationJob.State?, after: Int64, limit: Int)
        throws(StoreError) -> [ReplicationJob]
    {
        try withConnection { db throws(StoreError) in
            var out: [ReplicationJob] = []
            var sql = "SELECT \(Self.jobColumns) FROM jobs WHERE id > ?"
            var args: [SQLValue] = [.int(after)]
            if let bucket {
                sql += " AND bucket = ?"
                args.append(.text(bucket))
            }
            if let key {
                sql += " AND key = ?"
                args.append(.text(key))
            }
            if let state {
                sql += " AND state = ?"
                args.append(.text(state.rawValue))
            }
            try db.query(sql + " ORDER BY id LIMIT ?", args + [.int(Int64(limit))]) { r in out.append(Self.job(r)) }
            return out
        }
    }

    public func retryJobs(ids: [Int64]?, now: Double) throws(StoreError) -> Int {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Int in
                var dead: [ReplicationJob] = []
                try db.query("SELECT \(Self.jobColumns) FROM jobs WHERE state = 'dead' ORDER BY id", []) { r in
                    dead.append(Self.job(r))
                }
                let chosen = dead.filter { ids?.contains($0.id) ?? true }
                for job in chosen {
                    try db.query(
                        "UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?, last_error = '' WHERE id = ?",
                        [.real(now), .int(job.id)])
                    if job.kind == .replicate { try markReplicaPending(job, db) }
                }
                if !chosen.isEmpty {
                    try Self.audit(
                        AuditEntry.jobRetry(ids: chosen.map(\.id)), db)
                }
                return chosen.count
            }
        }
    }

    private func markReplicaPending(_ job: ReplicationJob, _ db: any SQLConnection) throws(StoreError) {
        guard var (o, table) = try Self.located(job.bucket, job.key, job.generation, db),
            let i = o.replicas.firstIndex(where: { $0.zone == job.zone && $0.state == .failed })
        else { return }
        o.replicas[i].state = .pending
        try Self.insert(o, into: table, db)
    }

    public func cancelJob(id: Int64) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                var job: ReplicationJob?
                try db.query("SELECT \(Self.jobColumns) FROM jobs WHERE id = ? AND state != 'running'", [.int(id)]) {
                    r in job = Self.job(r)
                }
                guard let job else { return false }
                try db.query("DELETE FROM jobs WHERE id = ? AND state <> 'running'", [.int(id)])
                // Claimed since it was read (claims are not serialized with this transaction).
                if db.changes == 0 { return false }
                try Self.audit(
                    AuditEntry.jobCancel(job),
                    db)
                return true
            }
        }
    }

    public func queueStats(now: Double) throws(StoreError) -> QueueStats {
        try withConnection { db throws(StoreError) in
            var stats = QueueStats(pending: 0, running: 0, dead: 0, oldestPendingAge: 0)
            try db.query("SELECT COUNT(*) FROM jobs WHERE state = 'pending' AND attempts > 0", []) { r in
                stats.retrying = Int(r.int(0))
            }
            let since = Int64(now / 60) - Int64(QueueStats.window) + 1
            try db.query(
                "SELECT COALESCE(SUM(finished), 0), COALESCE(SUM(failed), 0) FROM job_counts WHERE minute >= ?",
                [.int(since)]
            ) { r in
                stats.finishedPerMinute = Double(r.int(0)) / Double(QueueStats.window)
                stats.failedPerMinute = Double(r.int(1)) / Double(QueueStats.window)
            }
            try db.query("SELECT state, COUNT(*), MIN(created_at) FROM jobs GROUP BY state", []) { r in
                let n = Int(r.int(1))
                switch r.text(0) {
                case "pending":
                    stats.pending = n
                    stats.oldestPendingAge = max(0, now - r.real(2))
                case "running": stats.running = n
                default: stats.dead = n
                }
            }
            return stats
        }
    }

    public func setReplicaCount(bucket: String, count: Int) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query(
                    "UPDATE buckets SET replica_count = ? WHERE name = ?", [.int(Int64(count)), .text(bucket)])
                if db.changes == 0 { throw .noSuchBucket }
                try Self.audit(
                    AuditEntry.bucketReplicas(bucket: bucket, count: count), db)
            }
        }
    }

    public func setBucketOwner(bucket: String, owner: String) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                try db.query("UPDATE buckets SET owner = ? WHERE name = ?", [.text(owner), .text(bucket)])
                if db.changes == 0 { throw .noSuchBucket }
                try Self.audit(AuditEntry.bucketOwner(bucket: bucket, owner: owner), db)
            }
        }
    }

    public func bucketUsage(bucket: String) throws(StoreError) -> (objects: Int, bytes: Int64) {
        try withConnection { db throws(StoreError) in
            var usage: (objects: Int, bytes: Int64) = (0, 0)
            // Every version's bytes; delete markers are no objects.
            for table in ["objects", "object_versions"] {
                try db.query(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM \(table) WHERE bucket = ? AND delete_marker = 0",
                    [.text(bucket)]
                ) { r in usage = (usage.objects + Int(r.int(0)), usage.bytes + r.int(1)) }
            }
            return usage
        }
    }
}
