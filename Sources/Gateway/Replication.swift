import GatewayCore

/// How many copies an object gets and where: the first `replica-count` zones of its bucket's
/// placement hold one; the object tag `replica-count` overrides the bucket's count.
enum Replication {
    static let tagKey = "replica-count"

    /// The count an object with `tags` asks for, checked against what the placement allows.
    static func count(tags: [Header], bucket b: BucketRecord) throws(S3Error) -> Int {
        guard let tag = tags.first(where: { $0.name == tagKey }) else { return max(1, b.replicaCount) }
        guard let n = Int(tag.value.trimmingCharacters(in: .whitespaces)), n >= 1 else {
            throw S3Error(.invalidArgument, "The replica-count tag must be a whole number of at least 1.")
        }
        try checkLimit(n, bucket: b)
        return n
    }

    /// More copies than allowed locations is refused, never silently lowered.
    static func checkLimit(_ n: Int, bucket b: BucketRecord) throws(S3Error) {
        try checkLimit(n, locations: b.zones.count, of: "bucket \(b.displayName)'s LocationConstraint")
    }

    /// The same refusal for a placement no bucket has yet (the admin API's placement question).
    static func checkLimit(_ n: Int, locations: Int, of what: String) throws(S3Error) {
        if n > locations {
            throw S3Error(
                .invalidArgument, "replica-count \(n) exceeds the \(locations) location(s) \(what) allows.",
                extra: [("ArgumentName", tagKey), ("ArgumentValue", String(n))])
        }
    }

    /// The replicas an object written to `primary` needs: the next zones of the placement,
    /// each admitted by the residency rule. Copies already made in a wanted zone are kept.
    static func replicas(
        for b: BucketRecord, count: Int, primary: String, keeping existing: [Replica] = [], _ ctx: GatewayContext
    ) throws(StoreError) -> [Replica] {
        var out: [Replica] = []
        for zone in b.zones where zone != primary && out.count < count - 1 {
            try Residency.check(zone: zone, for: b, catalog: ctx.catalog)
            out.append(
                existing.first { $0.zone == zone && $0.state != .failed }
                    ?? Replica(zone: zone, backendBucket: ctx.backendBucket(b, in: zone)))
        }
        return out
    }

    /// `x-amz-replication-status` and the gateway's own view of the copies, for GET/HEAD.
    static func headers(_ o: ObjectRecord, servedFrom zone: String) -> [Header] {
        var h = [Header("x-s3gw-zone", zone)]
        if let status = o.replicationStatus {
            h.append(Header("x-amz-replication-status", status))
            let copies = [o.zone + "=primary"] + o.replicas.map { "\($0.zone)=\($0.state.rawValue)" }
            h.append(Header("x-s3gw-replicas", copies.joined(separator: ",")))
        }
        return h
    }
}
