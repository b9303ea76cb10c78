/// The source of truth for buckets and objects. Shared by every worker thread and process.
public protocol MetadataStore: MigrationStore, AuditStore {
    /// Creates the bucket, or returns the existing record when its tenant already has it.
    func createBucket(_ bucket: BucketRecord) throws(StoreError) -> BucketRecord
    func bucket(named name: String) throws(StoreError) -> BucketRecord?
    /// The tenant's buckets in name order.
    func listBuckets(tenant: String) throws(StoreError) -> [BucketRecord]
    /// Fails with `.bucketNotEmpty` when objects remain.
    func deleteBucket(named name: String) throws(StoreError)

    func object(bucket: String, key: String) throws(StoreError) -> ObjectRecord?
    /// The bucket and, when present, the object, in one read (the GET/HEAD hot path);
    /// nil when the bucket does not exist.
    func bucketAndObject(bucket: String, key: String) throws(StoreError) -> (BucketRecord, ObjectRecord?)?
    func listObjects(bucket: String, query: ListQuery) throws(StoreError) -> ListPage
    /// Replaces the bucket's tags (`.noSuchBucket` when it is gone).
    func setBucketTags(bucket: String, tags: [Header]) throws(StoreError)

    // MARK: access control, CORS and encryption settings (docs/ACCESS.md, docs/ENCRYPTION.md)

    /// Replaces one of the bucket's settings ("" removes it), audited with `audit` in the same
    /// transaction. `.noSuchBucket` when it is gone.
    func setBucketSetting(bucket: String, _ setting: BucketSetting, _ value: String, audit: AuditEntry)
        throws(StoreError)
    /// Replaces one version's ACL (nil: the latest) and, when `owner` is given, its owner.
    /// `.noSuchKey` / `.noSuchVersion` when it is gone (or is a delete marker).
    func setObjectACL(bucket: String, key: String, versionId: String?, owner: String?, acl: String, audit: AuditEntry)
        throws(StoreError)
    /// Replaces the encryption envelope of the version written as `versionSeq` while it is still
    /// `from` (a compare-and-set: a key re-wrap never races a concurrent change); false when the
    /// version is gone or its envelope changed. No byte of the object is touched.
    func replaceSSE(bucket: String, key: String, versionSeq: String, from: String, to: String) throws(StoreError)
        -> Bool
    /// Inserts or replaces the key by id, audited with `audit`. `.entityExists` when another key of
    /// the tenant has its alias, or when a second "sse-s3" key would be made for the tenant.
    func putKMSKey(_ key: KMSKeyRecord, audit: AuditEntry) throws(StoreError)
    /// Replaces the key's row with `new` (same id) only while it still equals `old`, audited
    /// with `audit` in the same transaction: a compare-and-set, so two rotations, or a state
    /// change made from a stale row, never drop a KEK version. False (nothing written) when the
    /// row changed or is gone: read it again and retry. `.entityExists` as `putKMSKey`.
    func replaceKMSKey(_ new: KMSKeyRecord, expecting old: KMSKeyRecord, audit: AuditEntry) throws(StoreError) -> Bool
    /// Applies the changes whose envelope still holds their `from` (`replaceSSE`'s
    /// compare-and-set, for object versions and unfinished uploads alike), in one transaction
    /// audited `keys.rewrap` {count, key_id, version} when any was applied; every change re-wraps
    /// a data key under version `version` of key `keyId`. Returns how many were applied (the
    /// others changed or went meanwhile). No byte of any object is touched.
    func rewrapSSE(_ changes: [EnvelopeChange], keyId: String, version: Int) throws(StoreError) -> Int
    func kmsKey(id: String) throws(StoreError) -> KMSKeyRecord?
    /// The tenant's keys (nil: every tenant's) in creation order.
    func kmsKeys(tenant: String?) throws(StoreError) -> [KMSKeyRecord]

    // MARK: versions, Object Lock and lifecycle
    //
    // Per key, the entry with the greatest `versionSeq` is the latest. `object(bucket:key:)`,
    // `bucketAndObject` and `listObjects` see only latest entries that are not delete markers
    // (a key whose latest is a marker does not exist for them). Every path that removes a
    // version, or drops a copy of one, decides with `ObjectLock.decide` inside its transaction
    // and fails with `.objectLocked`.

    /// Enabled or Suspended (never back to unversioned). `.invalidBucketState` when suspending a
    /// bucket with Object Lock. Audited `bucket.versioning`.
    func setVersioning(bucket: String, _ status: Versioning) throws(StoreError)
    /// Enables Object Lock / replaces its default retention. `.invalidBucketState` unless
    /// versioning is Enabled. Audited `bucket.object-lock`.
    func setObjectLock(bucket: String, _ config: ObjectLockConfig) throws(StoreError)
    /// Stores the validated lifecycle configuration (canonical XML), "" removes it. Audited
    /// `bucket.lifecycle`.
    func setLifecycle(bucket: String, _ configuration: String) throws(StoreError)
    /// The same, naming the configuration's rule ids in the audit record.
    func setLifecycle(bucket: String, _ configuration: String, ruleIds: [String]?) throws(StoreError)
    /// One version of the key by its id ("null": the null version), a delete marker included;
    /// nil when there is none.
    func version(bucket: String, key: String, versionId: String) throws(StoreError) -> ObjectRecord?
    /// The version written as `generation` (`ObjectRecord.generation`, what replication jobs
    /// name), latest or noncurrent; nil when it is gone.
    func version(bucket: String, key: String, generation: String) throws(StoreError) -> ObjectRecord?
    /// The key's latest entry, a delete marker included; nil when the key has no version.
    func latestVersion(bucket: String, key: String) throws(StoreError) -> ObjectRecord?
    /// Writes `object` as the key's new latest version under the bucket's versioning: assigns
    /// its `versionSeq` (`VersionId.make` after the key's newest) and `versionId` (the seq when
    /// Enabled, "null" otherwise); Enabled keeps the previous latest as a noncurrent version,
    /// unversioned and Suspended replace the null version (`.objectLocked` if it is locked).
    /// `condition` is checked against the latest entry (a delete marker counts as no object).
    func putVersion(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> PutOutcome
    /// `completeUpload` with the same version rules as `putVersion`.
    func completeUploadVersion(_ uploadId: String, object: ObjectRecord, condition: WriteCondition?)
        throws(StoreError) -> (outcome: PutOutcome, parts: [PartRecord])
    /// DELETE. Without a version id: unversioned removes the object; Enabled adds a delete
    /// marker; Suspended removes the null version (lock-checked) and adds a null marker. With a
    /// version id: removes that version or marker for good after `ObjectLock.decide`; when it
    /// was the latest, the next newest becomes the latest. An unknown but well-formed id is no
    /// error (nothing removed).
    /// `condition`: only while the key is as expected (`DeleteCondition`), checked in the same
    /// transaction (`.preconditionFailed` otherwise, nothing changed): a conditional DELETE, or
    /// the lifecycle runner removing the version it judged, never a client's write that landed
    /// meanwhile.
    func deleteVersion(
        bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double,
        condition: DeleteCondition?
    ) throws(StoreError) -> DeleteOutcome
    /// ListObjectVersions: both latest and noncurrent entries, markers included.
    func listVersions(bucket: String, query: VersionListQuery) throws(StoreError) -> VersionPage
    /// Bytes each zone holds for every version of every bucket: each version's `storedSize` in
    /// its zone and in each zone with a completed replica (markers hold none; uploads in
    /// progress and blobs no version names are not counted). One snapshot.
    func storedBytesPerZone() throws(StoreError) -> [String: Int64]
    /// Replaces one version's tags (nil version id: the latest). `.noSuchKey` / `.noSuchVersion`
    /// when gone; callers refuse delete markers before. Audited `object.tags`.
    func setVersionTags(bucket: String, key: String, versionId: String?, tags: [Header]) throws(StoreError)
    /// PutObjectRetention / PutObjectLegalHold on one version (nil: the latest), checked with
    /// `ObjectLock.retentionChange` in the transaction. Returns the version as changed.
    /// Audited `object.retention` / `object.legal-hold`.
    func changeLock(
        bucket: String, key: String, versionId: String?, _ change: LockChange, bypassGovernance: Bool,
        now: Double
    ) throws(StoreError) -> ObjectRecord

    // MARK: zone health

    func recordZoneHealth(_ health: ZoneHealth) throws(StoreError)
    func zoneHealth() throws(StoreError) -> [ZoneHealth]

    // MARK: metrics history

    /// Writes `sample` unless its slot has one already (another agent took it); removes samples
    /// older than `MetricsSample.keepSeconds` before it. True when it was written.
    func recordMetricsSample(_ sample: MetricsSample) throws(StoreError) -> Bool
    /// Samples whose slot starts at or after `since`, oldest first.
    func metricsSamples(since: Int64) throws(StoreError) -> [MetricsSample]
    /// The latest sample whose slot starts before `time`.
    func metricsSample(before time: Int64) throws(StoreError) -> MetricsSample?
    /// Replication jobs finished and attempts failed in the minutes `minutes` (minute numbers:
    /// Unix seconds / 60), as the queue counted them.
    func jobCounts(minutes: Range<Int64>) throws(StoreError) -> (finished: Int, failed: Int)

    // MARK: multipart uploads

    func createUpload(_ upload: UploadRecord) throws(StoreError)
    func upload(id: String) throws(StoreError) -> UploadRecord?
    /// Records a part unless the part already recorded under its number finished later (greater
    /// `lastModified`): of concurrent uploads of one part number the one that finished last
    /// stays, whatever order their records arrive in. Returns the record whose blob is now
    /// garbage (the part replaced, or `part` itself when it lost), nil for a new number.
    /// Fails with `.noSuchUpload` when the upload was completed or aborted meanwhile.
    func putPart(_ part: PartRecord) throws(StoreError) -> PartRecord?
    /// Parts in number order, numbers greater than `after`, at most `limit`.
    func parts(uploadId: String, after: Int, limit: Int) throws(StoreError) -> [PartRecord]
    /// Uploads of a bucket ordered by key then initiation, after (key, uploadId) markers.
    func uploads(bucket: String, prefix: String, keyMarker: String, uploadIdMarker: String, limit: Int)
        throws(StoreError) -> [UploadRecord]
    /// Uploads (of any bucket) initiated before `time`, oldest first: the agent's expiry work.
    func uploads(initiatedBefore time: Double, limit: Int) throws(StoreError) -> [UploadRecord]
    /// Removes the upload and returns its parts (their blobs are the caller's to delete).
    func abortUpload(_ uploadId: String) throws(StoreError) -> [PartRecord]

    // MARK: replicas and the replication queue
    //
    // Every write of an object (put, complete, delete, setReplicas) queues, in its own
    // transaction, a replicate job per pending replica and a removal job per stored copy it
    // drops (`ReplicationPlan`).

    func setReplicaCount(bucket: String, count: Int) throws(StoreError)
    /// Makes the user with canonical id `owner` the bucket's owner (`.noSuchBucket` when gone).
    func setBucketOwner(bucket: String, owner: String) throws(StoreError)
    /// How many objects the bucket holds and their bytes (one indexed scan of its rows).
    func bucketUsage(bucket: String) throws(StoreError) -> (objects: Int, bytes: Int64)
    /// Replaces the replica list of the object write `generation` (`.noSuchKey` when the object
    /// is gone or was rewritten).
    func setReplicas(bucket: String, key: String, generation: String, replicas: [Replica], now: Double)
        throws(StoreError)
    /// Records a verified copy. False when the object was rewritten or deleted meanwhile, no
    /// longer wants a copy in `zone`, or — with `lease` — the job is no longer running under that
    /// owner (its lease expired and another agent took it): the caller then removes the blob it
    /// wrote. The lease is checked in the same transaction as the record.
    func completeReplica(
        bucket: String, key: String, generation: String, zone: String, blob: String,
        lease: (job: Int64, owner: String)?
    ) throws(StoreError) -> Bool
    /// Up to `limit` jobs that are due, or whose holder's lease expired, now leased to `owner`.
    func claimJobs(owner: String, now: Double, lease: Double, limit: Int) throws(StoreError) -> [ReplicationJob]
    /// Extends a lease still held by `owner`; false when the job was taken over or is gone.
    func renewLease(jobId: Int64, owner: String, until: Double) throws(StoreError) -> Bool
    /// Removes a finished job still held by `owner`, counting it in the minute of `now`.
    func finishJob(id: Int64, owner: String, now: Double) throws(StoreError)
    /// Back to pending at `retryAt`, or dead-lettered when nil (a replicate job's replica is then
    /// marked failed).
    func failJob(id: Int64, owner: String, error: String, retryAt: Double?, now: Double) throws(StoreError)
    /// Puts a job still held by `owner` back to pending, not due before `until`, without
    /// counting a failed attempt: a removal job whose version is locked waits for its date.
    func deferJob(id: Int64, owner: String, until: Double) throws(StoreError)
    /// Jobs with ids greater than `after`, in id order, optionally of one bucket, one key (in
    /// that bucket, or in any) and one state.
    func jobs(bucket: String?, key: String?, state: ReplicationJob.State?, after: Int64, limit: Int)
        throws(StoreError) -> [ReplicationJob]
    /// Dead jobs (those with `ids`, or all) back to pending; returns how many.
    func retryJobs(ids: [Int64]?, now: Double) throws(StoreError) -> Int
    /// Removes a job that is not running; false otherwise.
    func cancelJob(id: Int64) throws(StoreError) -> Bool
    func queueStats(now: Double) throws(StoreError) -> QueueStats

    // MARK: failover, repair and scrub

    /// Buckets of every owner whose names sort after `after`, in name order, at most `limit`.
    func allBuckets(after: String, limit: Int) throws(StoreError) -> [BucketRecord]
    /// Reorders the bucket's placement (failover: the first zone becomes the primary). `zones`
    /// must hold exactly the zones it has (`.conflict` otherwise), so no zone is ever added.
    func setBucketZones(bucket: String, zones: [String]) throws(StoreError)
    /// Applies `repair` if the object still has the copies it found (same write, same copies):
    /// the new copies replace them, pending replicas get replicate jobs and blobs no longer
    /// referenced removal jobs, in one transaction. False when the object changed meanwhile.
    func repairCopies(_ repair: CopyRepair, now: Double) throws(StoreError) -> Bool
    /// Makes the pending jobs towards `zone` due now (its backoff no longer applies: the zone is
    /// back); returns how many.
    func wakeJobs(zone: String, now: Double) throws(StoreError) -> Int
    /// The agent's small durable notes (the scrub's cursor…), by key.
    func agentState(_ key: String) throws(StoreError) -> String?
    /// Sets a note, or removes it when `value` is nil.
    func setAgentState(_ key: String, _ value: String?) throws(StoreError)
    /// Every note whose key starts with `prefix`, in key order.
    func agentStates(prefix: String) throws(StoreError) -> [(key: String, value: String)]
    /// Takes or renews the lease `name` for `owner` until `until`, in one atomic step: it is
    /// taken when nobody holds it, when `owner` holds it already, or when its holder's lease
    /// ended (at or before `now`). True when `owner` holds it afterwards (a release: false). The agents of several
    /// hosts share one store: a task only one of them may do at a time runs under a lease, and
    /// a dead host's lease runs out. `until` at or before `now` releases a lease `owner` holds.
    func claimLease(_ name: String, owner: String, now: Double, until: Double) throws(StoreError) -> Bool
}

/// Conditional writes (`If-None-Match: *`, `If-Match: "etag"`).
public enum WriteCondition: Sendable, Equatable {
    case noneExists
    case etagMatches(String)

    /// Whether the condition holds against the current object (nil: none).
    public func holds(for current: ObjectRecord?) -> Bool {
        switch self {
        case .noneExists: current == nil
        case .etagMatches(let etag): current?.etag == etag
        }
    }
}

extension MetadataStore {
    /// Jobs in id order, optionally of one bucket or object.
    public func jobs(bucket: String?, key: String?, limit: Int) throws(StoreError) -> [ReplicationJob] {
        try jobs(bucket: bucket, key: key, state: nil, after: 0, limit: limit)
    }

    public func putObject(_ object: ObjectRecord) throws(StoreError) -> ObjectRecord? {
        try putObject(object, condition: nil)
    }

    /// Records a copy made outside a job (tests, repairs done by hand): no lease to check.
    public func completeReplica(bucket: String, key: String, generation: String, zone: String, blob: String)
        throws(StoreError) -> Bool
    {
        try completeReplica(bucket: bucket, key: key, generation: generation, zone: zone, blob: blob, lease: nil)
    }

    // The calls from before versioning, over the version-aware ones: in an unversioned bucket
    // they do what they always did.

    /// Commits the object's metadata as the key's new latest version (`putVersion`); returns the
    /// record it removed, whose blob is now garbage (nil in an Enabled bucket, which keeps it).
    /// `condition` is checked in the same transaction, so concurrent conditional writers
    /// serialize: exactly one `If-None-Match: *` writer wins.
    public func putObject(_ object: ObjectRecord, condition: WriteCondition?) throws(StoreError) -> ObjectRecord? {
        try putVersion(object, condition: condition).removed
    }

    /// DELETE without a version id (`deleteVersion`): returns the removed record, nil when none
    /// was (or a delete marker was added). Its replicas are queued for removal.
    public func deleteObject(bucket: String, key: String, now: Double) throws(StoreError) -> ObjectRecord? {
        try deleteVersion(bucket: bucket, key: key, versionId: nil, bypassGovernance: false, now: now).removed
    }

    /// Atomically turns the upload into `object` (`completeUploadVersion`): the upload and its
    /// part rows go, the version is written. Returns the record removed (if any) and every part
    /// row removed.
    public func completeUpload(_ uploadId: String, object: ObjectRecord, condition: WriteCondition?)
        throws(StoreError) -> (replaced: ObjectRecord?, parts: [PartRecord])
    {
        let done = try completeUploadVersion(uploadId, object: object, condition: condition)
        return (done.outcome.removed, done.parts)
    }

    /// Replaces the latest version's tags (`.noSuchKey` when there is none).
    public func setObjectTags(bucket: String, key: String, tags: [Header]) throws(StoreError) {
        try setVersionTags(bucket: bucket, key: key, versionId: nil, tags: tags)
    }

    /// `deleteVersion` whatever the latest is.
    public func deleteVersion(bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double)
        throws(StoreError) -> DeleteOutcome
    {
        try deleteVersion(
            bucket: bucket, key: key, versionId: versionId, bypassGovernance: bypassGovernance, now: now, condition: nil
        )
    }

    /// `deleteVersion` only while the key's latest entry has the seq `ifLatestSeq` (nil: always).
    public func deleteVersion(
        bucket: String, key: String, versionId: String?, bypassGovernance: Bool, now: Double, ifLatestSeq: String?
    ) throws(StoreError) -> DeleteOutcome {
        try deleteVersion(
            bucket: bucket, key: key, versionId: versionId, bypassGovernance: bypassGovernance, now: now,
            condition: ifLatestSeq.map { .latestSeq($0) })
    }

    /// `deleteVersion` without the governance bypass, only while the version is as the lifecycle
    /// runner judged it (`JudgedVersion`).
    public func deleteVersion(bucket: String, key: String, versionId: String?, now: Double, ifJudged: JudgedVersion)
        throws(StoreError) -> DeleteOutcome
    {
        try deleteVersion(
            bucket: bucket, key: key, versionId: versionId, bypassGovernance: false, now: now,
            condition: .judged(ifJudged))
    }
}
