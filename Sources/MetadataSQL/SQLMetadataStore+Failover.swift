import GatewayCore

/// Failover (reordering a bucket's placement), repair of an object's copies, and the agent's
/// durable notes (the scrub's cursor).
extension SQLMetadataStore {
    public func allBuckets(after: String, limit: Int) throws(StoreError) -> [BucketRecord] {
        try withConnection { db throws(StoreError) in
            var out: [BucketRecord] = []
            try db.query(
                "SELECT \(Self.bucketColumns) FROM buckets WHERE name > ? ORDER BY name LIMIT ?",
                [.text(after), .int(Int64(max(0, limit)))]
            ) { r in out.append(Self.bucket(r)) }
            return out
        }
    }

    public func setBucketZones(bucket: String, zones: [String]) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                var current: [String]?
                try db.query("SELECT zones FROM buckets WHERE name = ?", [.text(bucket)]) { r in
                    current = r.text(0).split(separator: ",").map(String.init)
                }
                guard let current else { throw .noSuchBucket }
                guard current.sorted() == zones.sorted() else { throw .conflict }
                try db.query(
                    "UPDATE buckets SET zones = ? WHERE name = ?", [.text(zones.joined(separator: ",")), .text(bucket)])
                try Self.audit(
                    AuditEntry.bucketZones(bucket: bucket, from: current, to: zones),
                    db)
            }
        }
    }

    public func repairCopies(_ repair: CopyRepair, now: Double) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                // The version repaired, latest or noncurrent, in the table it lives in.
                guard
                    let (current, table) = try Self.located(
                        repair.found.bucket, repair.found.key, repair.found.generation, db),
                    repair.applies(to: current)
                else { return false }
                try VersionCopies.checkRepair(repair, version: current, now: now)
                let repaired = repair.applied(to: current)
                try Self.insert(repaired, into: table, db)
                let plan = repair.jobPlan(now: now)
                try Self.queueJobs(replacing: plan.replacing, with: repaired, now: now, db)
                for job in plan.extra { try Self.insertJob(job, db) }
                for zone in repair.restoredZones.sorted() {
                    try db.query(
                        """
                        UPDATE jobs SET priority = ? WHERE kind = 'replicate' AND bucket = ? AND key = ?
                            AND generation = ? AND zone = ? AND state = 'pending'
                        """,
                        [
                            .int(Int64(ReplicationJob.Priority.repair)), .text(repaired.bucket), .text(repaired.key),
                            .text(repaired.generation), .text(zone),
                        ])
                }
                try Self.audit(
                    AuditEntry.objectRepair(repaired, restored: repair.restoredZones), db)
                return true
            }
        }
    }

    public func wakeJobs(zone: String, now: Double) throws(StoreError) -> Int {
        try withConnection { db throws(StoreError) in
            try db.query(
                "UPDATE jobs SET not_before = ? WHERE zone = ? AND state = 'pending' AND not_before > ?",
                [.real(now), .text(zone), .real(now)])
            return Int(db.changes)
        }
    }

    public func agentState(_ key: String) throws(StoreError) -> String? {
        try withConnection { db throws(StoreError) in
            var value: String?
            try db.query("SELECT value FROM agent_state WHERE key = ?", [.text(key)]) { r in value = r.text(0) }
            return value
        }
    }

    public func setAgentState(_ key: String, _ value: String?) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            if let value {
                try db.query(
                    """
                    INSERT INTO agent_state (key, value, updated_at) VALUES (?, ?, ?)
                    ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                    """, [.text(key), .text(value), .real(SystemClock().now().rounded(.down))])
            } else {
                try db.query("DELETE FROM agent_state WHERE key = ?", [.text(key)])
            }
        }
    }

    public func agentStates(prefix: String) throws(StoreError) -> [(key: String, value: String)] {
        try withConnection { db throws(StoreError) in
            var out: [(key: String, value: String)] = []
            // Not LIKE: '%' and '_' in a prefix are characters like any other.
            try db.query(
                "SELECT key, value FROM agent_state WHERE substr(key, 1, length(?)) = ? ORDER BY key",
                [.text(prefix), .text(prefix)]
            ) { r in out.append((r.text(0), r.text(1))) }
            return out
        }
    }
}
