/// What a change of an object's copies asks of the agent — the same for every store, so the
/// SQLite store and the in-memory double queue exactly the same jobs. A removal job names the
/// version whose copy it removes (its generation): the replicator re-checks that version's
/// lock before deleting anything.
public enum ReplicationPlan {
    public static func jobs(replacing old: ObjectRecord?, with new: ObjectRecord?, now: Double)
        -> [ReplicationJob]
    {
        var jobs: [ReplicationJob] = []
        if let new {
            for r in new.replicas where r.state == .pending && r.blob.isEmpty {
                jobs.append(
                    ReplicationJob(
                        kind: .replicate, bucket: new.bucket, key: new.key, generation: new.generation, zone: r.zone,
                        backendBucket: r.backendBucket, priority: ReplicationJob.Priority.replicate, notBefore: now,
                        createdAt: now))
            }
        }
        let kept = Set(new?.replicas.map(\.blob).filter { !$0.isEmpty } ?? [])
        for r in old?.replicas ?? [] where !r.blob.isEmpty && !kept.contains(r.blob) {
            jobs.append(
                ReplicationJob(
                    kind: .removeBlob, bucket: old!.bucket, key: old!.key, generation: old!.generation, zone: r.zone,
                    backendBucket: r.backendBucket, blob: r.blob, priority: ReplicationJob.Priority.remove,
                    notBefore: now,
                    createdAt: now))
        }
        return jobs
    }
}
