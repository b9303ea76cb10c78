import GatewayCore
import Logging
import SigV4

/// Compares an object's copies with what their zones hold and queues the repairs they need
/// (`CopyRepair`): a replica that is missing or damaged is copied again from an intact copy; a
/// primary copy that is missing or damaged hands its role to an intact replica and is copied
/// again as a replica. The replicator makes and verifies the new copies. Used by the agent's
/// scrub, by the pass over a zone back from an outage, and by `s3gw repair`.
public enum Repair {
    public struct Options: Sendable {
        /// Only the copies in this zone are checked (a zone back from an outage).
        public var zone: String?
        /// Read every checked copy and compare its bytes with the object's ETag, instead of
        /// trusting size and the zone's own ETag (a filesystem zone keeps none).
        public var deep: Bool
        /// Re-queue dead-lettered copies of the objects checked (an operator's `s3gw repair`;
        /// the agent leaves dead letters to `s3gw replication retry`).
        public var retryDead: Bool

        public init(zone: String? = nil, deep: Bool = false, retryDead: Bool = false) {
            self.zone = zone
            self.deep = deep
            self.retryDead = retryDead
        }
    }

    /// What one object's check found and did.
    public struct Outcome: Sendable {
        public var bucket: String
        public var key: String
        /// One line per copy found wrong, with what was done about it.
        public var notes: [String] = []
        /// Copies queued to be made again.
        public var queued = 0
        /// A damaged primary copy with no intact replica to repair it from.
        public var lost = false
        /// Copies that could not be checked (their zone is down or failed), with why.
        public var unchecked: [String] = []
    }

    /// What a zone holds of one copy.
    enum Finding: Equatable {
        case intact
        case damaged(String)
        case unchecked(String)
    }

    /// Checks the copies of `o` (those in `options.zone`, or all) and queues what they need.
    public static func check(
        _ o: ObjectRecord, in b: BucketRecord, _ options: Options = Options(), _ ctx: GatewayContext
    )
        -> Outcome
    {
        var out = Outcome(bucket: o.bucket, key: o.key)
        func wanted(_ zone: String) -> Bool { options.zone.map { $0 == zone } ?? true }
        let primaryBackend = ctx.backendBucket(b, in: o.zone)
        var findings: [Int: Finding] = [:]
        var repaired = o
        var changed = false

        func note(_ zone: String, _ finding: Finding) {
            if case .unchecked(let why) = finding { out.unchecked.append("\(zone): \(why)") }
        }
        for (i, r) in o.replicas.enumerated() where r.state == .completed && !r.blob.isEmpty && wanted(r.zone) {
            let f = inspect(o, zone: r.zone, backendBucket: r.backendBucket, blobs: replicaBlobs(o, r), options, ctx)
            findings[i] = f
            note(r.zone, f)
            if case .damaged(let what) = f {
                // Forgotten (its blob is removed) and copied again.
                repaired.replicas[i] = Replica(zone: r.zone, backendBucket: r.backendBucket)
                changed = true
                out.queued += 1
                out.notes.append("replica in \(r.zone) \(what): copy queued")
            }
        }
        if wanted(o.zone) {
            let f = inspect(o, zone: o.zone, backendBucket: primaryBackend, blobs: o.blobs, options, ctx)
            note(o.zone, f)
            if case .damaged(let what) = f {
                // An overwrite or delete removes the blobs of the record read before the zone was
                // looked at: that is no damage, and the next check sees the new write.
                guard (try? ctx.metadata.version(bucket: o.bucket, key: o.key, generation: o.generation)) != nil
                else {
                    return Outcome(
                        bucket: o.bucket, key: o.key, notes: ["changed while it was checked; nothing queued"])
                }
                // The first intact replica in placement order takes over; one not checked yet
                // (a pass over another zone) is checked now.
                let rank = Dictionary(b.zones.enumerated().map { ($1, $0) }) { a, _ in a }
                let order = o.replicas.indices.sorted {
                    rank[o.replicas[$0].zone] ?? .max < rank[o.replicas[$1].zone] ?? .max
                }
                let source = order.first { i in
                    let r = o.replicas[i]
                    guard r.state == .completed, !r.blob.isEmpty else { return false }
                    let found =
                        findings[i]
                        ?? inspect(
                            o, zone: r.zone, backendBucket: r.backendBucket, blobs: replicaBlobs(o, r), options, ctx)
                    findings[i] = found
                    return found == .intact
                }
                if let i = source {
                    let r = o.replicas[i]
                    repaired.zone = r.zone
                    repaired.blob = r.blob
                    repaired.parts = []
                    // The part sizes stay known once the part blobs are gone (?partNumber, ETag checks).
                    if repaired.partSizes.isEmpty && o.etag.contains("-") { repaired.partSizes = o.parts.map(\.size) }
                    repaired.replicas.remove(at: repaired.replicas.firstIndex { $0.zone == r.zone }!)
                    repaired.replicas.append(Replica(zone: o.zone, backendBucket: primaryBackend))
                    repaired.replicas.sort { rank[$0.zone] ?? .max < rank[$1.zone] ?? .max }
                    changed = true
                    out.queued += 1
                    out.notes.append(
                        "primary copy in \(o.zone) \(what): the replica in \(r.zone) is the primary copy now; copy to \(o.zone) queued"
                    )
                } else if findings.values.contains(where: { if case .unchecked = $0 { true } else { false } }) {
                    out.notes.append(
                        "primary copy in \(o.zone) \(what); no replica can be checked now to repair it from")
                } else {
                    out.lost = true
                    out.notes.append("primary copy in \(o.zone) \(what), and no intact replica to repair it from")
                }
            }
        }
        // Replicas waiting for a job that is gone (cancelled): queued again by writing them back.
        let waiting = repaired.replicas.filter { $0.state == .pending && $0.blob.isEmpty && wanted($0.zone) }
        let failed = o.replicas.filter { $0.state == .failed && wanted($0.zone) }
        if !waiting.isEmpty || (options.retryDead && !failed.isEmpty) {
            let jobs = (try? ctx.metadata.jobs(bucket: o.bucket, key: o.key, limit: 1000)) ?? []
            let mine = jobs.filter { $0.kind == .replicate && $0.generation == o.generation }
            for r in waiting where o.replicas.contains(r) && !mine.contains(where: { $0.zone == r.zone }) {
                changed = true
                out.queued += 1
                out.notes.append("replica in \(r.zone) was waiting with no job: copy queued")
            }
            if options.retryDead {
                for r in failed {
                    let dead = mine.filter { $0.zone == r.zone && $0.state == .dead }.map(\.id)
                    if !dead.isEmpty, (try? ctx.metadata.retryJobs(ids: dead, now: ctx.clock.now())) ?? 0 > 0 {
                        out.queued += 1
                        out.notes.append("replica in \(r.zone) had failed: job \(dead[0]) queued again")
                    }
                }
            }
        }
        guard changed else {
            log(out, ctx)
            return out
        }
        do {
            for zone in [repaired.zone] + repaired.replicas.map(\.zone) {
                try Residency.check(zone: zone, for: b, catalog: ctx.catalog)
            }
            let repair = CopyRepair(found: o, repaired: repaired, formerPrimaryBackendBucket: primaryBackend)
            if try !ctx.metadata.repairCopies(repair, now: ctx.clock.now()) {
                // Overwritten, deleted, or its copies moved on while it was checked: the next
                // check sees the new state.
                return Outcome(bucket: o.bucket, key: o.key, notes: ["changed while it was checked; nothing queued"])
            }
        } catch {
            ctx.logger.error("repair of \(o.bucket)/\(o.key) failed: \(error)")
            return Outcome(bucket: o.bucket, key: o.key, notes: ["repair failed: \(error)"], unchecked: out.unchecked)
        }
        log(out, ctx)
        return out
    }

    private static func log(_ out: Outcome, _ ctx: GatewayContext) {
        for line in out.notes {
            if out.lost {
                ctx.logger.error("repair \(out.bucket)/\(out.key): \(line)")
            } else {
                ctx.logger.notice("repair \(out.bucket)/\(out.key): \(line)")
            }
        }
    }

    /// Checks every version of bucket `name` (or only those of `key`) — latest and noncurrent,
    /// each its own set of copies — in key order, newest first, handing each outcome to `each`;
    /// returns how many versions were checked. `.noSuchBucket` / `.noSuchKey` when there is
    /// nothing of that name.
    public static func bucket(
        _ name: String, key: String? = nil, _ options: Options = Options(), _ ctx: GatewayContext,
        each: (Outcome) -> Void
    ) throws(StoreError) -> Int {
        guard let b = try ctx.metadata.bucket(named: name) else { throw .noSuchBucket }
        var count = 0
        let walk = VersionWalk(ctx.metadata, bucket: name)
        let visit = { (e: VersionEntry) throws(StoreError) -> Bool in
            if let key, e.record.key != key { return false }
            if !e.record.isDeleteMarker {
                each(check(e.record, in: b, options, ctx))
                count += 1
            }
            return true
        }
        if let key {
            // The key's versions: after every seq of the key before it ("" sorts first).
            try walk.visit(after: (key, VersionWalk.beforeAll), visit)
            if count == 0 { throw .noSuchKey }
        } else {
            try walk.visit(visit)
        }
        return count
    }

    private static func replicaBlobs(_ o: ObjectRecord, _ r: Replica) -> [BlobPart] {
        [BlobPart(blob: r.blob, size: o.storedSize)]
    }

    /// What `zone` holds of one copy: every blob there with its size, the zone's ETag where it
    /// keeps a comparable one (a single-PUT object's MD5), and with `deep` the bytes themselves.
    static func inspect(
        _ o: ObjectRecord, zone: String, backendBucket: String, blobs: [BlobPart], _ options: Options,
        _ ctx: GatewayContext
    ) -> Finding {
        if ctx.zoneHealth.isDown(zone) { return .unchecked("the zone is marked down") }
        guard let z = ctx.zones[zone] else { return .unchecked("the zone is not configured") }
        do {
            for part in blobs {
                guard let held = try z.blobInfo(backendBucket: backendBucket, blob: part.blob) else {
                    return .damaged(blobs.count == 1 ? "is missing" : "is missing blob \(part.blob)")
                }
                if held.size != part.size { return .damaged("holds \(held.size) bytes, not \(part.size)") }
                // A provider's multipart ETag ("…-N") says nothing comparable, nor does one of a
                // multipart object's part blobs, nor the MD5 of ciphertext.
                if blobs.count == 1, !o.isEncrypted, let etag = held.etag, !etag.contains("-"), !o.etag.contains("-"),
                    etag != o.etag
                {
                    return .damaged("has ETag \(etag), not \(o.etag)")
                }
            }
            guard options.deep else { return .intact }
            let partSizes = o.partSizes.isEmpty && o.etag.contains("-") ? o.parts.map(\.size) : o.partSizes
            let check = try StoredCopyCheck(o, into: Discard(), ctx.keys)
            let sink = ETagSink(check?.verifier ?? Discard(), partSizes: o.isEncrypted ? [] : partSizes)
            try pump(
                BlobChainReader(zone: z, backendBucket: backendBucket, parts: blobs, offset: 0, length: o.storedSize),
                into: sink)
            if sink.count != o.storedSize { return .damaged("reads \(sink.count) bytes, not \(o.storedSize)") }
            // Ciphertext: every segment authenticated (SSE-S3/SSE-KMS), or by its framing and
            // tag digest alone (SSE-C: no key).
            if let check {
                return check.passed
                    ? .intact
                    : .damaged(
                        check.keyless ? "reads as another tag digest than its envelope's" : "does not authenticate")
            }
            let etag = sink.etag()
            return etag == o.etag ? .intact : .damaged("reads as ETag \(etag), not \(o.etag)")
        } catch StoreError.noSuchKey {
            return .damaged("is missing")
        } catch {
            return .unchecked(describe(error))
        }
    }

    /// A zone's failure as an operator reads it: the zone's own text where it has one.
    static func describe(_ error: any Error) -> String {
        switch error {
        case let e as StoreError:
            switch e {
            case .zoneUnavailable(let m), .internalFailure(let m): m
            default: "\(e)"
            }
        default: "\(error)"
        }
    }

    /// Bytes read only to be hashed.
    private final class Discard: ByteSink {
        func write(_ bytes: UnsafeRawBufferPointer) throws {}
    }
}
