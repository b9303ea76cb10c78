import GatewayCore

extension SQLMetadataStore: DiscoveryJobStore {
    static let discoveryColumns = """
        id, tenant, "user", state, created_at, updated_at, finished_at, endpoint_host, region, sanitization, \
        prefix_depth, buckets_total, buckets_done, objects, bytes, current_bucket, error, has_snapshot, \
        cancel_requested, owner, heartbeat_at
        """

    static func discoveryJob(_ r: any SQLRow) -> DiscoveryJob {
        var j = DiscoveryJob(
            id: r.text(0), tenant: r.text(1), user: r.text(2),
            state: DiscoveryJob.State(rawValue: r.text(3)) ?? .failed,
            createdAt: r.real(4), endpointHost: r.text(7), region: r.text(8), sanitization: r.text(9),
            prefixDepth: Int(r.int(10)), owner: r.text(19))
        j.updatedAt = r.real(5)
        j.finishedAt = r.optionalReal(6)
        j.bucketsTotal = Int(r.int(11))
        j.bucketsDone = Int(r.int(12))
        j.objects = r.int(13)
        j.bytes = r.int(14)
        j.currentBucket = r.text(15)
        j.error = r.text(16)
        j.hasSnapshot = r.int(17) != 0
        j.cancelRequested = r.int(18) != 0
        j.heartbeatAt = r.real(20)
        return j
    }

    public func createDiscoveryJob(_ j: DiscoveryJob) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                if try db.exists("SELECT 1 FROM discovery_jobs WHERE id = ?", [.text(j.id)]) {
                    throw .entityExists("discovery job \(j.id)")
                }
                try db.query(
                    "INSERT INTO discovery_jobs (\(Self.discoveryColumns)) VALUES (\(Array(repeating: "?", count: 21).joined(separator: ", ")))",
                    [
                        .text(j.id), .text(j.tenant), .text(j.user), .text(j.state.rawValue), .real(j.createdAt),
                        .real(j.updatedAt), j.finishedAt.map { .real($0) } ?? .null, .text(j.endpointHost),
                        .text(j.region), .text(j.sanitization), .int(Int64(j.prefixDepth)), .int(Int64(j.bucketsTotal)),
                        .int(Int64(j.bucketsDone)), .int(j.objects), .int(j.bytes), .text(j.currentBucket),
                        .text(j.error),
                        .int(j.hasSnapshot ? 1 : 0), .int(j.cancelRequested ? 1 : 0), .text(j.owner),
                        .real(j.heartbeatAt),
                    ])
            }
        }
    }

    public func discoveryJob(id: String) throws(StoreError) -> DiscoveryJob? {
        try withConnection { db throws(StoreError) in
            var found: DiscoveryJob?
            try db.query("SELECT \(Self.discoveryColumns) FROM discovery_jobs WHERE id = ?", [.text(id)]) { r in
                found = Self.discoveryJob(r)
            }
            return found
        }
    }

    public func discoveryJobs(tenant: String, after marker: DiscoveryJob.Marker?, limit: Int) throws(StoreError)
        -> [DiscoveryJob]
    {
        try withConnection { db throws(StoreError) in
            var out: [DiscoveryJob] = []
            // Without a marker, from before every job: the newest first, ties by id. (A finite
            // bound: not every database reads an infinite value bound as text.)
            let (createdAt, id) = marker.map { ($0.createdAt, $0.id) } ?? (.greatestFiniteMagnitude, "")
            try db.query(
                """
                SELECT \(Self.discoveryColumns) FROM discovery_jobs WHERE tenant = ?
                AND (created_at < ? OR (created_at = ? AND id > ?)) ORDER BY created_at DESC, id LIMIT ?
                """,
                [.text(tenant), .real(createdAt), .real(createdAt), .text(id), .int(Int64(limit))]
            ) { r in out.append(Self.discoveryJob(r)) }
            return out
        }
    }

    public func recordDiscoveryProgress(id: String, _ p: DiscoveryProgress, now: Double) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> Bool in
                try db.query(
                    """
                    UPDATE discovery_jobs SET buckets_total = ?, buckets_done = ?, objects = ?, bytes = ?,
                    current_bucket = ?, updated_at = ?, heartbeat_at = ? WHERE id = ? AND state = 'running'
                    """,
                    [
                        .int(Int64(p.bucketsTotal)), .int(Int64(p.bucketsDone)), .int(p.objects), .int(p.bytes),
                        .text(p.currentBucket), .real(now), .real(now), .text(id),
                    ])
                var stop: Bool?
                try db.query("SELECT cancel_requested, state FROM discovery_jobs WHERE id = ?", [.text(id)]) { r in
                    stop = r.int(0) != 0 || r.text(1) != DiscoveryJob.State.running.rawValue
                }
                guard let stop else { throw .noSuchEntity("discovery job \(id)") }
                return stop
            }
        }
    }

    public func touchDiscoveryJobs(ids: [String], now: Double) throws(StoreError) {
        guard !ids.isEmpty else { return }
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) in
                for id in ids {
                    try db.query(
                        "UPDATE discovery_jobs SET heartbeat_at = ? WHERE id = ? AND state = 'running'",
                        [.real(now), .text(id)])
                }
            }
        }
    }

    public func finishDiscoveryJob(
        id: String, state: DiscoveryJob.State, progress p: DiscoveryProgress, error: String, hasSnapshot: Bool,
        now: Double
    ) throws(StoreError) {
        try withConnection { db throws(StoreError) in
            try db.query(
                """
                UPDATE discovery_jobs SET state = ?, buckets_total = ?, buckets_done = ?, objects = ?, bytes = ?,
                current_bucket = '', error = ?, has_snapshot = ?, updated_at = ?, finished_at = ?, heartbeat_at = ?
                WHERE id = ? AND state = 'running'
                """,
                [
                    .text(state.rawValue), .int(Int64(p.bucketsTotal)), .int(Int64(p.bucketsDone)), .int(p.objects),
                    .int(p.bytes), .text(error), .int(hasSnapshot ? 1 : 0), .real(now), .real(now), .real(now),
                    .text(id),
                ])
        }
    }

    public func interruptStaleDiscoveryJobs(tenant: String, beatBefore: Double, error: String, now: Double)
        throws(StoreError) -> [String]
    {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> [String] in
                var ids: [String] = []
                try db.query(
                    "SELECT id FROM discovery_jobs WHERE tenant = ? AND state = 'running' AND heartbeat_at < ? ORDER BY id",
                    [.text(tenant), .real(beatBefore)]
                ) { r in ids.append(r.text(0)) }
                for id in ids {
                    try db.query(
                        """
                        UPDATE discovery_jobs SET state = 'interrupted', error = ?, current_bucket = '',
                        updated_at = ?, finished_at = ? WHERE id = ? AND state = 'running'
                        """,
                        [.text(error), .real(now), .real(now), .text(id)])
                }
                return ids
            }
        }
    }

    public func requestDiscoveryCancel(id: String, now: Double) throws(StoreError) -> DiscoveryJob? {
        try withConnection { db throws(StoreError) in
            try db.transaction { () throws(StoreError) -> DiscoveryJob? in
                try db.query(
                    "UPDATE discovery_jobs SET cancel_requested = 1, updated_at = ? WHERE id = ? AND state = 'running'",
                    [.real(now), .text(id)])
                var found: DiscoveryJob?
                try db.query("SELECT \(Self.discoveryColumns) FROM discovery_jobs WHERE id = ?", [.text(id)]) { r in
                    found = Self.discoveryJob(r)
                }
                return found
            }
        }
    }

    public func deleteDiscoveryJob(id: String) throws(StoreError) -> Bool {
        try withConnection { db throws(StoreError) in
            try db.query("DELETE FROM discovery_jobs WHERE id = ?", [.text(id)])
            return db.changes > 0
        }
    }
}
