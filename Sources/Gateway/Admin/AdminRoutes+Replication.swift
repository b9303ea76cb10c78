import GatewayCore

/// The replication queue: `GET /admin/replication` (as `s3gw replication status`),
/// `GET /admin/replication/jobs` (dead letters are `?state=dead`), `POST /admin/replication/retry`,
/// `DELETE /admin/replication/jobs/{id}` (cancel).
extension AdminAPI {
    public struct QueueView: Codable, Sendable {
        public var pending: Int
        public var running: Int
        public var dead: Int
        /// Pending jobs that failed before and wait for their retry.
        public var retrying: Int
        public var oldestPendingSeconds: Double
        /// Over the last `rate_window_minutes` minutes.
        public var finishedPerMinute: Double
        public var failedPerMinute: Double
        public var rateWindowMinutes: Int

        init(_ s: QueueStats) {
            pending = s.pending
            running = s.running
            dead = s.dead
            retrying = s.retrying
            oldestPendingSeconds = s.oldestPendingAge
            finishedPerMinute = s.finishedPerMinute
            failedPerMinute = s.failedPerMinute
            rateWindowMinutes = QueueStats.window
        }
    }

    public struct CopyView: Codable, Sendable {
        public var zone: String
        /// primary, or a replica's state: pending, completed, failed.
        public var state: String
    }

    public struct ObjectCopiesView: Codable, Sendable {
        public var tenant: String
        public var bucket: String
        public var key: String
        /// The version ("null" for a null version) and whether it is the key's latest.
        public var versionId: String
        public var isLatest: Bool
        /// x-amz-replication-status (PENDING, COMPLETED, FAILED), or NONE without replicas.
        public var status: String
        public var copies: [CopyView]

        init(_ o: ObjectRecord) {
            (tenant, bucket) = tenantAndName(o.bucket)
            key = o.key
            versionId = o.versionId
            isLatest = o.noncurrentSince == 0
            status = o.replicationStatus ?? "NONE"
            copies = ReplicationStatus.copies(of: o).map { CopyView(zone: $0.zone, state: $0.state) }
        }
    }

    public struct ReplicationStatusView: Codable, Sendable {
        public var queue: QueueView
        /// With `?bucket=` (and `?key=`): the objects' copies (at most 1000); empty otherwise.
        public var objects: [ObjectCopiesView]
    }

    public struct JobView: Codable, Sendable {
        public var id: Int64
        /// replicate or remove.
        public var kind: String
        public var tenant: String
        public var bucket: String
        public var key: String
        public var zone: String
        /// pending, running or dead.
        public var state: String
        public var attempts: Int
        public var lastError: String
        public var createdAt: String
        /// Not tried again before this time.
        public var notBefore: String
        /// Who runs it ("host:pid:thread"), "" when nobody does.
        public var leaseOwner: String
        /// When the runner's lease ends unless renewed (absent when nobody runs it): another
        /// host's agent may take the job over after it.
        public var leaseUntil: String?

        init(_ j: ReplicationJob) {
            id = j.id
            kind = j.kind.rawValue
            (tenant, bucket) = tenantAndName(j.bucket)
            key = j.key
            zone = j.zone
            state = j.state.rawValue
            attempts = j.attempts
            lastError = j.lastError
            createdAt = HTTPDate.iso8601(j.createdAt)
            notBefore = HTTPDate.iso8601(j.notBefore)
            leaseOwner = j.state == .running ? j.leaseOwner : ""
            leaseUntil = j.state == .running ? HTTPDate.iso8601(j.leaseUntil) : nil
        }
    }

    public struct RetryJobs: Codable, Sendable {
        public var ids: [Int64]?
        /// Every dead-lettered job (instead of `ids`).
        public var allDead: Bool?
    }

    public struct RetriedView: Codable, Sendable {
        /// Dead jobs queued again.
        public var retried: Int
    }

    static let replicationRoutes: [Route] = [
        Route("GET", "replication", "admin:GetReplicationStatus", .gateway) { r, _, ctx throws(AdminError) in
            let filter = try jobFilter(r, ctx)
            // Objects are listed for a bucket only; the queue is the whole gateway's.
            let status = try store { () throws(StoreError) in
                try ReplicationStatus.read(
                    bucket: filter.bucket, key: filter.bucket == nil ? nil : filter.key, limit: 1000,
                    metadata: ctx.metadata, now: r.now)
            }
            return .json(
                ReplicationStatusView(
                    queue: QueueView(status.queue), objects: status.objects.map(ObjectCopiesView.init)))
        },
        Route("GET", "replication/jobs", "admin:ListReplicationJobs", .gateway) { r, _, ctx throws(AdminError) in
            let filter = try jobFilter(r, ctx)
            let (marker, limit) = try r.page()
            guard marker.isEmpty || (marker.count <= 18 && marker.allSatisfy { $0.isASCII && $0.isNumber }),
                var after = Int64(marker.isEmpty ? "0" : marker)
            else { throw .invalid("marker is a job id") }
            var state: ReplicationJob.State?
            if let s = r.query["state"] {
                guard let st = ReplicationJob.State(rawValue: s) else {
                    throw .invalid("state is pending, running or dead")
                }
                state = st
            }
            var found: [ReplicationJob] = []
            // A tenant without a bucket: its buckets' jobs, picked from the pages of all jobs.
            while found.count <= limit {
                let batch = filter.tenant == nil ? limit + 1 : 1000
                let page = try store { () throws(StoreError) in
                    try ctx.metadata.jobs(
                        bucket: filter.bucket, key: filter.key, state: state, after: after, limit: batch)
                }
                found += page.filter { j in filter.tenant.map { tenantAndName(j.bucket).tenant == $0 } ?? true }
                guard let last = page.last, page.count == batch else { break }
                after = last.id
            }
            return .json(AdminPage(found.map(JobView.init), limit: limit) { String($0.id) })
        },
        Route("POST", "replication/retry", "admin:RetryReplicationJobs", .gateway) { r, _, ctx throws(AdminError) in
            let body = try r.decode(RetryJobs.self)
            let listed = !(body.ids ?? []).isEmpty
            // Exactly one of the two: some jobs, or every dead one.
            guard listed != (body.allDead ?? false) else {
                throw .invalid("send ids (a non-empty list of job ids) or \"all_dead\": true")
            }
            guard (body.ids ?? []).allSatisfy({ $0 > 0 }) else { throw .invalid("job ids are 1 or more") }
            let ids = listed ? body.ids : nil
            let n = try store { () throws(StoreError) in try ctx.metadata.retryJobs(ids: ids, now: r.now) }
            return .json(RetriedView(retried: n))
        },
        Route("DELETE", "replication/jobs/{id}", "admin:CancelReplicationJob", .gateway) {
            r, p, ctx throws(AdminError) in
            guard let id = Int64(p["id"] ?? ""), id > 0 else { throw .notFound("job \(p["id"] ?? "") does not exist") }
            let found = try store { () throws(StoreError) in
                try ctx.metadata.jobs(bucket: nil, key: nil, state: nil, after: id - 1, limit: 1)
            }
            guard let job = found.first, job.id == id else { throw .notFound("job \(id) does not exist") }
            if job.state == .running { throw .conflict("job \(id) is running; it can be cancelled once it stops") }
            // The replicator defers the removal of a locked version's copy until the lock ends;
            // cancelled, the copy would be an orphan nothing refers to, and the orphan sweep's.
            if job.kind == .removeBlob,
                let v = try store({ () throws(StoreError) in
                    try ctx.metadata.version(bucket: job.bucket, key: job.key, generation: job.generation)
                }),
                case .denied(let why) = ObjectLock.decide(v, now: r.now, bypassGovernance: false)
            {
                throw .conflict(
                    "job \(id) removes a copy of \(job.key) version \(v.versionId), which is locked (\(why)): its removal waits until the lock ends"
                )
            }
            // It may have started meanwhile.
            guard try store({ () throws(StoreError) in try ctx.metadata.cancelJob(id: id) }) else {
                throw .conflict("job \(id) is running or finished meanwhile")
            }
            return .noContent
        },
    ]

    /// `?tenant=&bucket=&key=`: the bucket (its metadata store name) jobs are filtered by, the
    /// key (in that bucket, or in any), or without a bucket the tenant whose buckets they are of.
    static func jobFilter(_ r: AdminRequest, _ ctx: GatewayContext) throws(AdminError) -> (
        bucket: String?, key: String?, tenant: String?
    ) {
        let tenant = r.query["tenant"]
        if let tenant { _ = try existingTenant(["tenant": tenant], ctx) }
        guard let name = r.query["bucket"] else { return (nil, r.query["key"], tenant) }
        let b = try bucket(tenant: tenant ?? TenantRecord.defaultID, name: name, ctx)
        return (b.name, r.query["key"], nil)
    }
}
