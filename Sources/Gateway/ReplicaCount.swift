import GatewayCore

/// A bucket's replica-count change, shared by the CLI and the admin API: checked against the
/// placement, stored, and carried to every version (latest and noncurrent: each is its own set
/// of copies) that follows the bucket's count. A locked version keeps the copies it has.
public enum ReplicaCount {
    public struct Result: Sendable, Equatable {
        /// Versions whose copies were changed (copies queued, or their removal).
        public var changed = 0
        /// Versions that would have lost a stored copy but are locked (Object Lock): kept as
        /// they are.
        public var keptLocked = 0

        public init(changed: Int = 0, keptLocked: Int = 0) {
            self.changed = changed
            self.keptLocked = keptLocked
        }
    }

    public static func set(bucket name: String, count: Int, _ ctx: GatewayContext) throws -> Result {
        guard count >= 1 else { throw S3Error(.invalidArgument, "replica-count must be at least 1.") }
        guard var b = try ctx.metadata.bucket(named: name) else {
            throw S3Error(.noSuchBucket, "No bucket named \(name).")
        }
        try Replication.checkLimit(count, bucket: b)
        try ctx.metadata.setReplicaCount(bucket: name, count: count)
        b.replicaCount = count
        var result = Result()
        var failure: (any Error)?
        try VersionWalk(ctx.metadata, bucket: name).visit { (e) throws(StoreError) -> Bool in
            let o = e.record
            guard !o.isDeleteMarker, !o.tags.contains(where: { $0.name == Replication.tagKey }) else { return true }
            do {
                let wanted = try Replication.replicas(for: b, count: count, primary: o.zone, keeping: o.replicas, ctx)
                if wanted == o.replicas { return true }
                switch try apply(wanted, to: o, ctx) {
                case .applied: result.changed += 1
                case .locked(let why):
                    result.keptLocked += 1
                    ctx.logger.notice(
                        "replica-count \(count) of \(name): \(o.key) version \(o.versionId) kept (locked: \(why))")
                case .gone: break
                }
                return true
            } catch {
                failure = error
                return false
            }
        }
        if let failure { throw failure }
        return result
    }

    enum Applied {
        case applied
        case locked(String)
        case gone
    }

    private static func apply(_ wanted: [Replica], to o: ObjectRecord, _ ctx: GatewayContext) throws(StoreError)
        -> Applied
    {
        let now = ctx.clock.now()
        do {
            // Dropping a stored copy of a locked version is refused by the store too; asked
            // first so nothing is attempted.
            try VersionCopies.checkReplicaChange(o, to: wanted, now: now)
            try ctx.metadata.setReplicas(
                bucket: o.bucket, key: o.key, generation: o.generation, replicas: wanted, now: now)
            return .applied
        } catch .objectLocked(let why) {
            return .locked(why)
        } catch .noSuchKey {
            // Removed or rewritten meanwhile: a new write already follows the count.
            return .gone
        }
    }
}
