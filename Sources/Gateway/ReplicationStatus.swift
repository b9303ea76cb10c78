import GatewayCore

/// The replication queue at a glance and, for one bucket or object, its copies: what the admin
/// API's `/admin/replication` answers (`s3gw replication status` adds the jobs from
/// `/admin/replication/jobs`).
public struct ReplicationStatus: Sendable {
    public var queue: QueueStats
    /// The objects asked about (none without a bucket), at most `limit`: a bucket's current
    /// objects, or every version of one key (newest first; noncurrent versions keep copies too).
    public var objects: [ObjectRecord]

    public static func read(
        bucket: String?, key: String?, limit: Int = 1000, metadata: any MetadataStore, now: Double
    ) throws(StoreError) -> ReplicationStatus {
        var objects: [ObjectRecord] = []
        if let bucket {
            if let key {
                try VersionWalk(metadata, bucket: bucket, page: min(limit, 1000)).visit(
                    after: (key, VersionWalk.beforeAll)
                ) { e in
                    guard e.record.key == key, objects.count < limit else { return false }
                    if !e.record.isDeleteMarker { objects.append(e.record) }
                    return true
                }
            } else {
                objects = try metadata.listObjects(bucket: bucket, query: ListQuery(maxKeys: limit)).objects
            }
        }
        return ReplicationStatus(queue: try metadata.queueStats(now: now), objects: objects)
    }

    /// An object's copies, primary first: each zone and its state ("primary", or the replica's).
    public static func copies(of o: ObjectRecord) -> [(zone: String, state: String)] {
        [(o.zone, "primary")] + o.replicas.map { ($0.zone, $0.state.rawValue) }
    }
}
