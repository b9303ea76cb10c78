import GatewayCore
import Synchronization

/// A MetadataStore in memory with the same semantics as the SQLite one (byte-ordered keys,
/// owner re-create, BucketNotEmpty), for handler tests without files or sockets.
public final class InMemoryMetadataStore: MetadataStore {
    struct State {
        var buckets: [String: BucketRecord] = [:]
        /// The latest entry of each key that is not a delete marker, by bucket and key.
        var objects: [String: [String: ObjectRecord]] = [:]
        /// Every other version and every delete marker, by bucket and key, in seq order.
        var versions: [String: [String: [ObjectRecord]]] = [:]
        var uploads: [String: UploadRecord] = [:]
        var parts: [String: [Int: PartRecord]] = [:]
        var health: [String: ZoneHealth] = [:]
        var jobs: [Int64: ReplicationJob] = [:]
        /// Minute → jobs finished and attempts failed in it.
        var counts: [Int: (finished: Int, failed: Int)] = [:]
        var nextJob: Int64 = 1
        var agentState: [String: String] = [:]
        var leases: [String: (owner: String, until: Double)] = [:]
        var kmsKeys: [String: KMSKeyRecord] = [:]

        /// The same job bookkeeping as the SQLite store's `queueJobs`.
        mutating func queueJobs(replacing old: ObjectRecord?, with new: ObjectRecord?, now: Double) {
            guard let o = old ?? new else { return }
            let planned = ReplicationPlan.jobs(replacing: old, with: new, now: now)
            let wanted = Set(planned.filter { $0.kind == .replicate }.map { $0.generation + " " + $0.zone })
            let queued = jobs.values.filter { $0.kind == .replicate && $0.bucket == o.bucket && $0.key == o.key }
            // Only the replaced version's jobs can be unwanted: other versions keep theirs.
            for q in queued
            where q.state != .running && q.generation == old?.generation
                && !wanted.contains(q.generation + " " + q.zone)
            {
                jobs[q.id] = nil
            }
            let present = Set(queued.map { $0.generation + " " + $0.zone })
            for job in planned where job.kind == .removeBlob || !present.contains(job.generation + " " + job.zone) {
                insertJob(job)
            }
        }

        mutating func insertJob(_ job: ReplicationJob) {
            var job = job
            job.id = nextJob
            nextJob += 1
            jobs[job.id] = job
        }

        mutating func updateReplica(
            _ job: ReplicationJob, where match: (Replica) -> Bool, _ change: (inout Replica) -> Void
        ) {
            guard let (found, at) = located(job.bucket, job.key, job.generation), var o = Optional(found),
                let i = o.replicas.firstIndex(where: { $0.zone == job.zone && match($0) })
            else { return }
            change(&o.replicas[i])
            store(o, at: at)
        }

        /// The version written as `generation`, latest (`at` nil) or noncurrent (its index
        /// among the key's versions), as the SQLite store's `located`.
        func located(_ bucket: String, _ key: String, _ generation: String) -> (ObjectRecord, at: Int?)? {
            guard !generation.isEmpty else { return nil }
            if let o = objects[bucket]?[key], o.generation == generation { return (o, nil) }
            guard
                let i = versions[bucket]?[key]?.firstIndex(where: {
                    !$0.isDeleteMarker && $0.generation == generation
                })
            else { return nil }
            return (versions[bucket]![key]![i], i)
        }

        /// Writes a version back where `located` found it.
        mutating func store(_ o: ObjectRecord, at: Int?) {
            if let at { versions[o.bucket]?[o.key]?[at] = o } else { objects[o.bucket]?[o.key] = o }
        }
    }

    let state = Mutex(State())
    /// Discovery jobs by id (DiscoveryJobStore, below).
    private let discovery = Mutex<[String: DiscoveryJob]>([:])
    /// Migration records (InMemoryMetadataStore+Migration.swift).
    let migration = Mutex(MigrationState())
    /// Runs once after the next `latestVersion` read (InMemoryMetadataStore+Versions.swift).
    let afterLatestRead = Mutex<(@Sendable (String, String) -> Void)?>(nil)
    let afterObjectRead = Mutex<(@Sendable (String, String) -> Void)?>(nil)
    /// The audit chain (InMemoryMetadataStore+Audit.swift).
    let auditState = Mutex(AuditState())
    /// Metrics samples by slot (InMemoryMetadataStore+MetricsHistory.swift).
    let history = Mutex<[Int64: MetricsSample]>([:])
    /// For tests of what a request reads: `bucket(named:)` calls so far, and a failure every
    /// such call throws while set.
    public let bucketNameReads = Mutex(0)
    public let bucketReadFailure = Mutex<StoreError?>(nil)

    public init() {}

    public func createBucket(_ b: BucketRecord) throws(StoreError) -> BucketRecord {
        try state.withLock { s throws(StoreError) -> BucketRecord in
            if let existing = s.buckets[b.name] {
                guard existing.tenant == b.tenant else { throw .bucketAlreadyExists }
                return existing
            }
            s.buckets[b.name] = b
            s.objects[b.name] = [:]
            audit(
                AuditEntry.bucketCreate(b))
            return b
        }
    }

    /// For InMemoryIdentityStore.reassignBucketOwner.
    func reassignOwner(from: String, to: String) throws(StoreError) -> Int {
        state.withLock { s in
            let names = s.buckets.values.filter { $0.owner == from }.map(\.name)
            for n in names { s.buckets[n]!.owner = to }
            if !names.isEmpty {
                audit(
                    AuditEntry.bucketsReassigned(to: to, count: names.count))
            }
            return names.count
        }
    }

    public func bucket(named name: String) throws(StoreError) -> BucketRecord? {
        bucketNameReads.withLock { $0 += 1 }
        if let failure = bucketReadFailure.withLock({ $0 }) { throw failure }
        return state.withLock { $0.buckets[name] }
    }

    public func listBuckets(tenant: String) throws(StoreError) -> [BucketRecord] {
        state.withLock { $0.buckets.values.filter { $0.tenant == tenant }.sorted { $0.name < $1.name } }
    }

    public func deleteBucket(named name: String) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.buckets[name] != nil else { throw .noSuchBucket }
            if !(s.objects[name]?.isEmpty ?? true) || !(s.versions[name]?.isEmpty ?? true) { throw .bucketNotEmpty }
            var uploads: [String] = []
            for (id, u) in s.uploads where u.bucket == name {
                s.uploads[id] = nil
                s.parts[id] = nil
                uploads.append(id)
            }
            s.buckets[name] = nil
            s.objects[name] = nil
            s.versions[name] = nil
            audit(AuditEntry.bucketDelete(name, uploads: uploads))
        }
        forgetMigratedObjects(bucket: name)
    }

    public func object(bucket: String, key: String) throws(StoreError) -> ObjectRecord? {
        let found = state.withLock { $0.objects[bucket]?[key] }
        if let hook = afterObjectRead.withLock({ h in
            defer { h = nil }
            return h
        }) {
            hook(bucket, key)
        }
        return found
    }

    /// Calls `hook` (bucket, key) once, right after the next `object` read and before its caller
    /// sees the answer (as `onceAfterLatestVersionRead`).
    public func onceAfterObjectRead(_ hook: @escaping @Sendable (String, String) -> Void) {
        afterObjectRead.withLock { $0 = hook }
    }

    public func bucketAndObject(bucket: String, key: String) throws(StoreError) -> (BucketRecord, ObjectRecord?)? {
        state.withLock { s in s.buckets[bucket].map { ($0, s.objects[bucket]?[key]) } }
    }

    public func setBucketTags(bucket: String, tags: [Header]) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.buckets[bucket] != nil else { throw .noSuchBucket }
            s.buckets[bucket]?.tags = tags
            audit(AuditEntry.tags("bucket.tags", bucket: bucket, tags))
        }
    }

    public func listObjects(bucket: String, query: ListQuery) throws(StoreError) -> ListPage {
        let all = state.withLock { s in
            (s.objects[bucket] ?? [:]).values.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        }
        var page = ListPage(objects: [], commonPrefixes: [], isTruncated: false, last: nil)
        for o in all
        where o.key.utf8.starts(with: query.prefix.utf8) && query.after.utf8.lexicographicallyPrecedes(o.key.utf8) {
            var entry = o.key
            var isPrefix = false
            if let d = query.delimiter, !d.isEmpty {
                let rest = o.key.utf8.dropFirst(query.prefix.utf8.count)
                if let r = rest.firstRange(of: d.utf8) {
                    entry = String(
                        decoding: Array(query.prefix.utf8) + Array(rest[rest.startIndex..<r.upperBound]), as: UTF8.self)
                    isPrefix = true
                }
            }
            if isPrefix
                && (page.commonPrefixes.last.map({ VersionLister.same($0, entry) }) == true
                    || !query.after.utf8.lexicographicallyPrecedes(entry.utf8))
            {
                continue
            }
            if page.objects.count + page.commonPrefixes.count >= query.maxKeys {
                // As the SQL store: a max-keys 0 page is empty and not truncated.
                page.isTruncated = query.maxKeys > 0
                break
            }
            if isPrefix { page.commonPrefixes.append(entry) } else { page.objects.append(o) }
            page.last = entry
        }
        return page
    }

    // MARK: multipart uploads

    public func createUpload(_ u: UploadRecord) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.buckets[u.bucket] != nil else { throw .noSuchBucket }
            s.uploads[u.uploadId] = u
            s.parts[u.uploadId] = [:]
            audit(
                AuditEntry.uploadCreate(u))
        }
    }

    public func upload(id: String) throws(StoreError) -> UploadRecord? {
        state.withLock { $0.uploads[id] }
    }

    public func putPart(_ p: PartRecord) throws(StoreError) -> PartRecord? {
        try state.withLock { s throws(StoreError) -> PartRecord? in
            guard s.uploads[p.uploadId] != nil else { throw .noSuchUpload }
            let old = s.parts[p.uploadId]?[p.partNumber]
            if let old, old.lastModified > p.lastModified { return p }
            s.parts[p.uploadId, default: [:]][p.partNumber] = p
            return old
        }
    }

    public func parts(uploadId: String, after: Int, limit: Int) throws(StoreError) -> [PartRecord] {
        state.withLock { s in
            Array(
                (s.parts[uploadId] ?? [:]).values.filter { $0.partNumber > after }.sorted {
                    $0.partNumber < $1.partNumber
                }.prefix(limit))
        }
    }

    public func uploads(bucket: String, prefix: String, keyMarker: String, uploadIdMarker: String, limit: Int)
        throws(StoreError) -> [UploadRecord]
    {
        state.withLock { s in
            Array(
                s.uploads.values.filter {
                    $0.bucket == bucket && $0.key.hasPrefix(prefix)
                        && ($0.key > keyMarker || ($0.key == keyMarker && $0.uploadId > uploadIdMarker))
                }
                .sorted { ($0.key, $0.uploadId) < ($1.key, $1.uploadId) }.prefix(limit))
        }
    }

    public func uploads(initiatedBefore time: Double, limit: Int) throws(StoreError) -> [UploadRecord] {
        state.withLock { s in
            Array(s.uploads.values.filter { $0.initiated < time }.sorted { $0.initiated < $1.initiated }.prefix(limit))
        }
    }

    public func abortUpload(_ uploadId: String) throws(StoreError) -> [PartRecord] {
        try state.withLock { s throws(StoreError) -> [PartRecord] in
            guard s.uploads[uploadId] != nil else { throw .noSuchUpload }
            let parts = Array((s.parts[uploadId] ?? [:]).values)
            let u = s.uploads.removeValue(forKey: uploadId)
            s.parts[uploadId] = nil
            audit(
                AuditEntry.uploadAbort(
                    bucket: u?.bucket ?? "", key: u?.key ?? "", uploadId: uploadId, parts: parts.count))
            return parts
        }
    }

    public func recordZoneHealth(_ h: ZoneHealth) throws(StoreError) { state.withLock { $0.health[h.zone] = h } }

    public func zoneHealth() throws(StoreError) -> [ZoneHealth] {
        state.withLock { $0.health.values.sorted { $0.zone < $1.zone } }
    }

    // MARK: replicas and the replication queue

    public func setReplicaCount(bucket: String, count: Int) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.buckets[bucket] != nil else { throw .noSuchBucket }
            s.buckets[bucket]?.replicaCount = count
            audit(AuditEntry.bucketReplicas(bucket: bucket, count: count))
        }
    }

    public func setBucketOwner(bucket: String, owner: String) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard s.buckets[bucket] != nil else { throw .noSuchBucket }
            s.buckets[bucket]?.owner = owner
            audit(AuditEntry.bucketOwner(bucket: bucket, owner: owner))
        }
    }

    public func bucketUsage(bucket: String) throws(StoreError) -> (objects: Int, bytes: Int64) {
        state.withLock { s in
            // Every version's bytes; delete markers are no objects.
            let noncurrent = (s.versions[bucket] ?? [:]).values.joined().filter { !$0.isDeleteMarker }
            let sizes = (s.objects[bucket]?.values.map(\.size) ?? []) + noncurrent.map(\.size)
            return (sizes.count, sizes.reduce(0, +))
        }
    }

    public func setReplicas(bucket: String, key: String, generation: String, replicas: [Replica], now: Double)
        throws(StoreError)
    {
        try state.withLock { s throws(StoreError) in
            guard let (old, at) = s.located(bucket, key, generation) else { throw .noSuchKey }
            try VersionCopies.checkReplicaChange(old, to: replicas, now: now)
            var o = old
            o.replicas = replicas
            s.store(o, at: at)
            s.queueJobs(replacing: old, with: o, now: now)
            audit(
                AuditEntry.objectReplicas(o))
        }
    }

    public func completeReplica(
        bucket: String, key: String, generation: String, zone: String, blob: String,
        lease: (job: Int64, owner: String)?
    ) throws(StoreError) -> Bool {
        state.withLock { s in
            if let lease, s.jobs[lease.job]?.leaseOwner != lease.owner || s.jobs[lease.job]?.state != .running {
                return false
            }
            guard let (found, at) = s.located(bucket, key, generation), var o = Optional(found),
                let i = o.replicas.firstIndex(where: { $0.zone == zone && $0.blob.isEmpty })
            else { return false }
            o.replicas[i].blob = blob
            o.replicas[i].state = .completed
            s.store(o, at: at)
            return true
        }
    }

    public func claimJobs(owner: String, now: Double, lease: Double, limit: Int) throws(StoreError)
        -> [ReplicationJob]
    {
        state.withLock { s in
            let due = s.jobs.values.filter {
                ($0.state == .pending && $0.notBefore <= now) || ($0.state == .running && $0.leaseUntil < now)
            }.sorted { (-$0.priority, $0.notBefore, $0.id) < (-$1.priority, $1.notBefore, $1.id) }.prefix(limit)
            return due.map { job in
                var j = job
                j.state = .running
                j.attempts += 1
                j.leaseOwner = owner
                j.leaseUntil = now + lease
                s.jobs[j.id] = j
                return j
            }
        }
    }

    public func renewLease(jobId: Int64, owner: String, until: Double) throws(StoreError) -> Bool {
        state.withLock { s in
            guard let j = s.jobs[jobId], j.leaseOwner == owner, j.state == .running else { return false }
            s.jobs[jobId]?.leaseUntil = until
            return true
        }
    }

    public func finishJob(id: Int64, owner: String, now: Double) throws(StoreError) {
        state.withLock { s in
            if s.jobs[id]?.leaseOwner == owner {
                s.jobs[id] = nil
                s.counts[Int(now / 60), default: (0, 0)].finished += 1
            }
        }
    }

    public func failJob(id: Int64, owner: String, error: String, retryAt: Double?, now: Double) throws(StoreError) {
        state.withLock { s in
            guard var j = s.jobs[id], j.leaseOwner == owner else { return }
            s.counts[Int(now / 60), default: (0, 0)].failed += 1
            j.state = retryAt == nil ? .dead : .pending
            j.notBefore = retryAt ?? 0
            j.leaseOwner = ""
            j.leaseUntil = 0
            j.lastError = error
            s.jobs[id] = j
            if retryAt == nil && j.kind == .replicate {
                s.updateReplica(j, where: { $0.blob.isEmpty }) { $0.state = .failed }
            }
        }
    }

    public func jobs(bucket: String?, key: String?, state wanted: ReplicationJob.State?, after: Int64, limit: Int)
        throws(StoreError) -> [ReplicationJob]
    {
        state.withLock { s in
            Array(
                s.jobs.values.filter { j in
                    j.id > after && bucket.map { j.bucket == $0 } ?? true && key.map { j.key == $0 } ?? true
                        && wanted.map { j.state == $0 } ?? true
                }
                .sorted { $0.id < $1.id }.prefix(limit))
        }
    }

    public func retryJobs(ids: [Int64]?, now: Double) throws(StoreError) -> Int {
        state.withLock { s in
            let chosen = s.jobs.values.filter { $0.state == .dead && (ids?.contains($0.id) ?? true) }
            for var j in chosen {
                j.state = .pending
                j.attempts = 0
                j.notBefore = now
                j.lastError = ""
                s.jobs[j.id] = j
                if j.kind == .replicate { s.updateReplica(j, where: { $0.state == .failed }) { $0.state = .pending } }
            }
            if !chosen.isEmpty {
                audit(
                    AuditEntry.jobRetry(ids: chosen.map(\.id)))
            }
            return chosen.count
        }
    }

    public func cancelJob(id: Int64) throws(StoreError) -> Bool {
        state.withLock { s in
            guard let j = s.jobs[id], j.state != .running else { return false }
            s.jobs[id] = nil
            audit(
                AuditEntry.jobCancel(j))
            return true
        }
    }

    public func queueStats(now: Double) throws(StoreError) -> QueueStats {
        state.withLock { s in
            let pending = s.jobs.values.filter { $0.state == .pending }
            let recent = s.counts.filter { $0.key > Int(now / 60) - QueueStats.window }.values
            return QueueStats(
                pending: pending.count, running: s.jobs.values.filter { $0.state == .running }.count,
                dead: s.jobs.values.filter { $0.state == .dead }.count,
                oldestPendingAge: pending.map { now - $0.createdAt }.max() ?? 0,
                retrying: pending.filter { $0.attempts > 0 }.count,
                finishedPerMinute: Double(recent.map(\.finished).reduce(0, +)) / Double(QueueStats.window),
                failedPerMinute: Double(recent.map(\.failed).reduce(0, +)) / Double(QueueStats.window))
        }
    }

    public func jobCounts(minutes: Range<Int64>) throws(StoreError) -> (finished: Int, failed: Int) {
        state.withLock { s in
            s.counts.filter { minutes.contains(Int64($0.key)) }.values.reduce((0, 0)) {
                ($0.0 + $1.finished, $0.1 + $1.failed)
            }
        }
    }

    // MARK: failover, repair and scrub

    public func allBuckets(after: String, limit: Int) throws(StoreError) -> [BucketRecord] {
        state.withLock { s in
            Array(
                s.buckets.values.filter { after.utf8.lexicographicallyPrecedes($0.name.utf8) }
                    .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }.prefix(max(0, limit)))
        }
    }

    public func setBucketZones(bucket: String, zones: [String]) throws(StoreError) {
        try state.withLock { s throws(StoreError) in
            guard let b = s.buckets[bucket] else { throw .noSuchBucket }
            guard b.zones.sorted() == zones.sorted() else { throw .conflict }
            s.buckets[bucket]?.zones = zones
            audit(
                AuditEntry.bucketZones(bucket: bucket, from: b.zones, to: zones))
        }
    }

    public func repairCopies(_ repair: CopyRepair, now: Double) throws(StoreError) -> Bool {
        try state.withLock { s throws(StoreError) -> Bool in
            guard let (current, at) = s.located(repair.found.bucket, repair.found.key, repair.found.generation),
                repair.applies(to: current)
            else {
                return false
            }
            try VersionCopies.checkRepair(repair, version: current, now: now)
            let repaired = repair.applied(to: current)
            s.store(repaired, at: at)
            let plan = repair.jobPlan(now: now)
            s.queueJobs(replacing: plan.replacing, with: repaired, now: now)
            for job in plan.extra { s.insertJob(job) }
            let restored = repair.restoredZones
            for j in s.jobs.values
            where j.kind == .replicate && j.bucket == repaired.bucket && j.key == repaired.key
                && j.generation == repaired.generation && restored.contains(j.zone) && j.state == .pending
            {
                s.jobs[j.id]?.priority = ReplicationJob.Priority.repair
            }
            audit(
                AuditEntry.objectRepair(repaired, restored: repair.restoredZones))
            return true
        }
    }

    public func wakeJobs(zone: String, now: Double) throws(StoreError) -> Int {
        state.withLock { s in
            let waiting = s.jobs.values.filter { $0.zone == zone && $0.state == .pending && $0.notBefore > now }
            for j in waiting { s.jobs[j.id]?.notBefore = now }
            return waiting.count
        }
    }

    public func agentState(_ key: String) throws(StoreError) -> String? { state.withLock { $0.agentState[key] } }

    public func setAgentState(_ key: String, _ value: String?) throws(StoreError) {
        state.withLock { $0.agentState[key] = value }
    }

    public func agentStates(prefix: String) throws(StoreError) -> [(key: String, value: String)] {
        state.withLock { s in
            s.agentState.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }

    public func claimLease(_ name: String, owner: String, now: Double, until: Double) throws(StoreError) -> Bool {
        state.withLock { s in
            if let held = s.leases[name], held.owner != owner, held.until > now { return false }
            s.leases[name] = (owner, until)
            return until > now
        }
    }
}

extension InMemoryMetadataStore: DiscoveryJobStore {
    public func createDiscoveryJob(_ job: DiscoveryJob) throws(StoreError) {
        try discovery.withLock { jobs throws(StoreError) in
            guard jobs[job.id] == nil else { throw .entityExists("discovery job \(job.id)") }
            jobs[job.id] = job
        }
    }

    public func discoveryJob(id: String) throws(StoreError) -> DiscoveryJob? {
        discovery.withLock { $0[id] }
    }

    public func discoveryJobs(tenant: String, after marker: DiscoveryJob.Marker?, limit: Int) throws(StoreError)
        -> [DiscoveryJob]
    {
        let all = discovery.withLock { $0.values.filter { $0.tenant == tenant } }
        let after = all.filter { j in
            guard let m = marker else { return true }
            return j.createdAt < m.createdAt || (j.createdAt == m.createdAt && j.id > m.id)
        }
        return Array(
            after.sorted { $0.createdAt != $1.createdAt ? $0.createdAt > $1.createdAt : $0.id < $1.id }.prefix(limit))
    }

    public func recordDiscoveryProgress(id: String, _ p: DiscoveryProgress, now: Double) throws(StoreError) -> Bool {
        try discovery.withLock { jobs throws(StoreError) -> Bool in
            guard var j = jobs[id] else { throw .noSuchEntity("discovery job \(id)") }
            if j.state == .running {
                j.bucketsTotal = p.bucketsTotal
                j.bucketsDone = p.bucketsDone
                j.objects = p.objects
                j.bytes = p.bytes
                j.currentBucket = p.currentBucket
                j.updatedAt = now
                j.heartbeatAt = now
                jobs[id] = j
            }
            return j.cancelRequested || j.state != .running
        }
    }

    public func interruptStaleDiscoveryJobs(tenant: String, beatBefore: Double, error: String, now: Double)
        throws(StoreError) -> [String]
    {
        discovery.withLock { jobs in
            let stale = jobs.values.filter {
                $0.tenant == tenant && $0.state == .running && $0.heartbeatAt < beatBefore
            }
            for j in stale {
                jobs[j.id]?.state = .interrupted
                jobs[j.id]?.error = error
                jobs[j.id]?.currentBucket = ""
                jobs[j.id]?.updatedAt = now
                jobs[j.id]?.finishedAt = now
            }
            return stale.map(\.id).sorted()
        }
    }

    public func touchDiscoveryJobs(ids: [String], now: Double) throws(StoreError) {
        discovery.withLock { jobs in
            for id in ids where jobs[id]?.state == .running { jobs[id]?.heartbeatAt = now }
        }
    }

    public func finishDiscoveryJob(
        id: String, state: DiscoveryJob.State, progress p: DiscoveryProgress, error: String, hasSnapshot: Bool,
        now: Double
    ) throws(StoreError) {
        discovery.withLock { jobs in
            guard var j = jobs[id], j.state == .running else { return }
            j.state = state
            j.bucketsTotal = p.bucketsTotal
            j.bucketsDone = p.bucketsDone
            j.objects = p.objects
            j.bytes = p.bytes
            j.currentBucket = ""
            j.error = error
            j.hasSnapshot = hasSnapshot
            j.updatedAt = now
            j.finishedAt = now
            j.heartbeatAt = now
            jobs[id] = j
        }
    }

    public func requestDiscoveryCancel(id: String, now: Double) throws(StoreError) -> DiscoveryJob? {
        discovery.withLock { jobs in
            if jobs[id]?.state == .running {
                jobs[id]?.cancelRequested = true
                jobs[id]?.updatedAt = now
            }
            return jobs[id]
        }
    }

    public func deleteDiscoveryJob(id: String) throws(StoreError) -> Bool {
        discovery.withLock { $0.removeValue(forKey: id) != nil }
    }
}
