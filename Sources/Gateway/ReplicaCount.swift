import GatewayCore

/// A bucket's replica-count change, shared by the CLI and (later) the admin API: checked
/// against the placement, stored, and carried to every object that follows the bucket's count.
public enum ReplicaCount {
    /// Returns how many objects had their copies changed.
    public static func set(bucket name: String, count: Int, _ ctx: GatewayContext) throws -> Int {
        guard count >= 1 else { throw S3Error(.invalidArgument, "replica-count must be at least 1.") }
        guard var b = try ctx.metadata.bucket(named: name) else {
            throw S3Error(.noSuchBucket, "No bucket named \(name).")
        }
        try Replication.checkLimit(count, bucket: b)
        try ctx.metadata.setReplicaCount(bucket: name, count: count)
        b.replicaCount = count
        var changed = 0
        var after = ""
        while true {
            let page = try ctx.metadata.listObjects(bucket: name, query: ListQuery(after: after, maxKeys: 1000))
            for o in page.objects where !o.tags.contains(where: { $0.name == Replication.tagKey }) {
                let wanted = try Replication.replicas(for: b, count: count, primary: o.zone, keeping: o.replicas, ctx)
                if wanted == o.replicas { continue }
                if try apply(wanted, to: o, ctx) { changed += 1 }
            }
            guard page.isTruncated, let last = page.last else { return changed }
            after = last
        }
    }

    /// False when the object was rewritten meanwhile: the new write already follows the count.
    private static func apply(_ wanted: [Replica], to o: ObjectRecord, _ ctx: GatewayContext) throws(StoreError)
        -> Bool
    {
        do {
            try ctx.metadata.setReplicas(
                bucket: o.bucket, key: o.key, generation: o.generation, replicas: wanted, now: ctx.clock.now())
            return true
        } catch {
            if error == .noSuchKey { return false }
            throw error
        }
    }
}
