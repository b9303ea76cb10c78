/// A repair of one object's copies, decided by the agent's scrub or `s3gw repair` after looking
/// at the zones, and applied by the metadata store only if the object still has the copies that
/// were looked at. The same for every store, so SQLite and the in-memory double queue the same
/// jobs.
///
/// Two repairs exist. A replica that is missing or damaged becomes pending again (its blob is
/// forgotten and removed), so the replicator copies it anew and verifies it. A primary copy that
/// is missing or damaged hands its role to an intact replica — that replica's blob becomes the
/// primary copy — and its zone gets a pending replica instead. The object's generation (its
/// first blob) then changes: jobs of the old generation are recognised as stale, exactly as
/// after an overwrite, so a copy in flight records nothing and leaves nothing behind.
public struct CopyRepair: Sendable, Equatable {
    /// The object as the repair found it.
    public var found: ObjectRecord
    /// Its copies after the repair: `zone`, `blob`, `parts`, `partSizes` and `replicas` are
    /// taken from here; everything else stays as stored.
    public var repaired: ObjectRecord
    /// The found primary copy's backend bucket (in `found.zone`), where its blobs are removed
    /// when the primary copy moves.
    public var formerPrimaryBackendBucket: String

    public init(found: ObjectRecord, repaired: ObjectRecord, formerPrimaryBackendBucket: String) {
        self.found = found
        self.repaired = repaired
        self.formerPrimaryBackendBucket = formerPrimaryBackendBucket
    }

    /// Whether `current` still has the copies this repair examined: the same write with the same
    /// copies in the same states. Anything else (an overwrite, a finished copy, a replica-count
    /// change) means the repair was decided on old facts, and the next check decides again.
    public func applies(to current: ObjectRecord) -> Bool {
        current.generation == found.generation && current.zone == found.zone && current.blobs == found.blobs
            && current.replicas == found.replicas
    }

    /// `current` with the repaired copies; tags, headers and the rest as they are now.
    public func applied(to current: ObjectRecord) -> ObjectRecord {
        var o = current
        o.zone = repaired.zone
        o.blob = repaired.blob
        o.parts = repaired.parts
        o.partSizes = repaired.partSizes
        o.replicas = repaired.replicas
        return o
    }

    /// Zones whose copy this repair makes again: their replicate jobs restore lost redundancy
    /// and run before ordinary copies (`ReplicationJob.Priority.repair`).
    public var restoredZones: Set<String> {
        Set(
            repaired.replicas.filter { r in
                r.state == .pending && r.blob.isEmpty
                    && (repaired.generation != found.generation || !found.replicas.contains(r))
            }.map(\.zone))
    }

    /// The job bookkeeping: `replacing` is what the store's usual `queueJobs(replacing:with:)`
    /// compares the repaired record with (the found record without the replica that became the
    /// primary copy, whose blob must stay), and `extra` removes the blobs of a primary copy that
    /// moved away.
    public func jobPlan(now: Double) -> (replacing: ObjectRecord, extra: [ReplicationJob]) {
        let primaryBlobs = Set(repaired.blobs.map(\.blob))
        var replacing = found
        replacing.replicas.removeAll { $0.zone == repaired.zone && primaryBlobs.contains($0.blob) }
        var extra: [ReplicationJob] = []
        let kept =
            Set(repaired.zone == found.zone ? primaryBlobs : [])
            .union(repaired.replicas.filter { $0.zone == found.zone }.map(\.blob))
        for blob in found.blobs.map(\.blob) where !blob.isEmpty && !kept.contains(blob) {
            extra.append(
                ReplicationJob(
                    kind: .removeBlob, bucket: found.bucket, key: found.key, generation: found.generation,
                    zone: found.zone,
                    backendBucket: formerPrimaryBackendBucket, blob: blob, priority: ReplicationJob.Priority.remove,
                    notBefore: now, createdAt: now))
        }
        return (replacing, extra)
    }
}
