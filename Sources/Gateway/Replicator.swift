import Dispatch
import Foundation
import GatewayCore
import Logging
import Metrics
import SigV4

/// The agent's copier: claims due jobs from the metadata store's queue and carries them out.
/// A replicate job streams the object from a readable copy into the target zone, verifies size
/// and ETag, and records the copy only if that version still exists (latest or noncurrent: every
/// version keeps its copies); a removal job deletes a blob no metadata references any more —
/// unless the version it names is locked, then it waits for the date. Failures retry with
/// backoff and end dead-lettered.
public final class Replicator: Sendable {
    let ctx: GatewayContext
    /// Names this agent's leases ("host:pid:thread"), so a job is finished only by its holder.
    let owner: String
    let settings: ReplicationSettings
    /// Shared by every replicator of the process (one per agent thread).
    let zoneLimit: RateLimiter
    let tenantLimit: RateLimiter

    public init(context: GatewayContext, owner: String, zoneLimit: RateLimiter? = nil, tenantLimit: RateLimiter? = nil)
    {
        ctx = context
        self.owner = owner
        settings = context.replication
        self.zoneLimit = zoneLimit ?? RateLimiter(bytesPerSecond: context.replication.zoneRate, clock: context.clock)
        self.tenantLimit =
            tenantLimit ?? RateLimiter(bytesPerSecond: context.replication.tenantRate, clock: context.clock)
    }

    /// Claims one due job and runs it; false when there was none.
    @discardableResult
    public func runOne() -> Bool {
        let jobs: [ReplicationJob]
        do {
            jobs = try ctx.metadata.claimJobs(owner: owner, now: ctx.clock.now(), lease: settings.lease, limit: 1)
        } catch {
            ctx.logger.error("claiming replication jobs failed: \(error)")
            return false
        }
        guard let job = jobs.first else { return false }
        do {
            switch job.kind {
            case .replicate: try replicate(job)
            case .removeBlob:
                let blob = "\(job.zone)/\(job.backendBucket)/\(job.blob)"
                switch try removal(job) {
                case .remove:
                    try ctx.zone(job.zone).deleteBlob(backendBucket: job.backendBucket, blob: job.blob)
                case .keep:
                    ctx.logger.warning(
                        "job \(job.id): \(blob) is still a copy of \(job.bucket)/\(job.key): kept, the removal dropped")
                case .wait(let until):
                    ctx.logger.notice(
                        "job \(job.id): \(blob) of locked \(job.bucket)/\(job.key) kept; removal deferred until \(HTTPDate.iso8601(until))"
                    )
                    try ctx.metadata.deferJob(id: job.id, owner: owner, until: until)
                    return true
                }
            }
            try ctx.metadata.finishJob(id: job.id, owner: owner, now: ctx.clock.now())
        } catch {
            fail(job, error)
        }
        return true
    }

    enum Removal: Equatable {
        case remove
        /// The blob is still a recorded copy of the version the job names: never removed.
        case keep
        /// The version the job names is locked: the removal waits until then.
        case wait(until: Double)
    }

    /// What a removal job may do, decided when it runs: the version it names (by generation)
    /// may still exist — a replica-count lowering or a repair dropped one of its copies — and
    /// be locked by now (the agent never bypasses governance). Then the blob stays until the
    /// retain-until date, a legal hold a day at a time. A version that is gone, or a job from
    /// before versions (no generation), removes.
    func removal(_ job: ReplicationJob) throws(StoreError) -> Removal {
        guard let v = try ctx.metadata.version(bucket: job.bucket, key: job.key, generation: job.generation) else {
            return .remove
        }
        if (v.zone == job.zone && v.blobs.contains { $0.blob == job.blob })
            || v.replicas.contains(where: { $0.zone == job.zone && $0.blob == job.blob })
        {
            return .keep
        }
        let now = ctx.clock.now()
        guard case .denied = ObjectLock.decide(v, now: now, bypassGovernance: false) else { return .remove }
        var until = now + Self.lockRecheck
        if let r = v.retention, r.until > now, !v.legalHold || r.until > until { until = r.until }
        return .wait(until: until)
    }

    /// How long a removal waits before its version's legal hold is looked at again.
    static let lockRecheck: Double = 86_400

    private func fail(_ job: ReplicationJob, _ error: any Error) {
        let text = "\(error)"
        let retryAt: Double? =
            job.attempts >= settings.maxAttempts
            ? nil
            : ctx.clock.now() + settings.retryDelay(afterAttempt: job.attempts, jitter: Double.random(in: 0..<1))
        if retryAt == nil {
            ctx.logger.error(
                "job \(job.id) (\(job.kind.rawValue) \(job.bucket)/\(job.key) → \(job.zone)) dead: \(text)")
        } else {
            ctx.logger.warning("job \(job.id) attempt \(job.attempts) failed: \(text)")
        }
        do {
            try ctx.metadata.failJob(id: job.id, owner: owner, error: text, retryAt: retryAt, now: ctx.clock.now())
        } catch {
            ctx.logger.error("recording the failure of job \(job.id) failed: \(error); its lease will expire")
        }
    }

    private func replicate(_ job: ReplicationJob) throws {
        // The version the job names, latest or noncurrent: a version that became noncurrent
        // still gets its copies.
        guard let b = try ctx.metadata.bucket(named: job.bucket),
            let o = try ctx.metadata.version(bucket: job.bucket, key: job.key, generation: job.generation)
        else { return }  // removed since (or rewritten unversioned): nothing to copy
        try Residency.check(zone: job.zone, for: b, catalog: ctx.catalog)
        let target = try ctx.zone(job.zone)
        // Backend buckets exist where the bucket was created; other zones get theirs on first copy.
        try target.createBucket(job.backendBucket)
        // The stored bytes move as they are: an encrypted object's ciphertext, never decrypted.
        let stored = o.storedSize
        let (_, reader) = try ObjectCopies(o, in: b, ctx).excluding(job.zone).open(offset: 0, length: stored, ctx)
        let writer = try target.beginWrite(backendBucket: job.backendBucket, length: stored)
        // Objects completed before part sizes were kept have their part blobs' sizes.
        let partSizes = o.partSizes.isEmpty && o.etag.contains("-") ? o.parts.map(\.size) : o.partSizes
        let limited = RateLimitedSink(
            LeaseKeeper(writer, job: job, replicator: self), limits: [(zoneLimit, job.zone), (tenantLimit, b.tenant)])
        // The ETag describes plaintext: ciphertext is checked as it passes (StoredCopyCheck:
        // every segment authenticated for SSE-S3/SSE-KMS, layout and tag digest for SSE-C).
        let check = try StoredCopyCheck(o, into: limited, ctx.keys)
        let sink = ETagSink(check?.verifier ?? limited, partSizes: o.isEncrypted ? [] : partSizes)
        let blob: String
        do {
            try pump(reader, into: sink)
            let verified = check.map(\.passed) ?? (sink.etag() == o.etag)
            guard sink.count == stored, verified else {
                throw StoreError.internalFailure(
                    o.isEncrypted
                        ? "copy of \(o.bucket)/\(o.key) does not verify: \(sink.count) bytes (expected \(stored)), its ciphertext does not authenticate"
                        : "copy of \(o.bucket)/\(o.key) does not verify: \(sink.count) bytes, ETag \(sink.etag()), expected \(stored) and \(o.etag)"
                )
            }
            // The zone's commit may wait up to its response or complete timeout, longer than the
            // lease: the lease is renewed right before and kept alive while it waits.
            blob = try holdingLease(job) { try writer.commit() }
        } catch {
            writer.abort()
            throw error
        }
        // Without a key (SSE-C) the new copy is read back and compared with the bytes it was
        // made from, so at least the copying itself is proven.
        if let check, check.keyless {
            try holdingLease(job) { try readBack(check, blob: blob, of: o, job: job, in: target) }
        }
        if try !ctx.metadata.completeReplica(
            bucket: o.bucket, key: o.key, generation: o.generation, zone: job.zone, blob: blob,
            lease: (job.id, owner))
        {
            // Removed, rewritten, or no longer wanted there while the bytes moved; or the lease
            // was lost meanwhile and another agent copies (or copied) it: this blob is nobody's.
            try? target.deleteBlob(backendBucket: job.backendBucket, blob: blob)
        } else {
            // The copy asked for (the job queued: by the write, a replica-count raise or a
            // repair) → this replica verified and recorded. Not from the object's write: a
            // raise on a months-old object is not months of lag.
            ctx.metrics?.recorder?.observe(.replicationLag, [], ctx.clock.now() - job.createdAt)
        }
    }

    /// Reads a new copy made without a key (SSE-C) back and compares it with the bytes it was
    /// made from, so at least the copying itself is proven; a copy that differs is removed.
    private func readBack(
        _ check: StoredCopyCheck, blob: String, of o: ObjectRecord, job: ReplicationJob, in target: any StorageZone
    ) throws {
        let stored = o.storedSize
        let source = check.verifier.storedDigest()
        let back = ETagSink(Discard(), partSizes: [])
        do {
            try pump(
                BlobChainReader(
                    zone: target, backendBucket: job.backendBucket, parts: [BlobPart(blob: blob, size: stored)],
                    offset: 0, length: stored), into: back)
        } catch {
            try? target.deleteBlob(backendBucket: job.backendBucket, blob: blob)
            throw error
        }
        guard back.count == stored, back.etag() == source else {
            try? target.deleteBlob(backendBucket: job.backendBucket, blob: blob)
            throw StoreError.internalFailure(
                "copy of \(o.bucket)/\(o.key) in \(job.zone) reads back as other bytes than its source's")
        }
    }

    /// Runs `body` — a zone's commit, or reading a copy back — with the job's lease renewed
    /// right before and then every third of it on a beat, so a wait that outlasts the lease
    /// (a provider's response or complete timeout may be longer) does not hand the job to
    /// another agent while this one is alive. Lost before: `.conflict`, nothing done; lost during
    /// (the store was unreachable for a lease): `completeReplica` finds out and the blob goes.
    private func holdingLease<T>(_ job: ReplicationJob, _ body: () throws -> T) throws -> T {
        guard try ctx.metadata.renewLease(jobId: job.id, owner: owner, until: ctx.clock.now() + settings.lease) else {
            throw StoreError.conflict  // taken over: the other holder finishes it
        }
        let stop = DispatchSemaphore(value: 0)
        let ended = DispatchSemaphore(value: 0)
        let beat = Thread { [self] in
            defer { ended.signal() }
            while stop.wait(timeout: .now() + settings.lease / 3) == .timedOut {
                let held = try? ctx.metadata.renewLease(
                    jobId: job.id, owner: owner, until: ctx.clock.now() + settings.lease)
                if held == false { return }
            }
        }
        beat.name = "lease beat"
        beat.start()
        defer {
            stop.signal()
            ended.wait()
        }
        return try body()
    }

    /// Bytes read only to be hashed.
    private final class Discard: ByteSink {
        func write(_ bytes: UnsafeRawBufferPointer) throws {}
    }

    /// Renews the job's lease as bytes move, so a long copy is not taken over while alive.
    final class LeaseKeeper: ByteSink {
        private let inner: any ByteSink
        private let job: ReplicationJob
        private let replicator: Replicator
        private var lastRenewal: Double

        init(_ inner: any ByteSink, job: ReplicationJob, replicator: Replicator) {
            self.inner = inner
            self.job = job
            self.replicator = replicator
            lastRenewal = replicator.ctx.clock.now()
        }

        func write(_ bytes: UnsafeRawBufferPointer) throws {
            try inner.write(bytes)
            let now = replicator.ctx.clock.now()
            guard now - lastRenewal > replicator.settings.lease / 3 else { return }
            lastRenewal = now
            let held = try replicator.ctx.metadata.renewLease(
                jobId: job.id, owner: replicator.owner, until: now + replicator.settings.lease)
            if !held { throw StoreError.conflict }  // taken over: the other holder finishes it
        }
    }
}
