/// One copy of an object's bytes beyond the primary (`ObjectRecord.zone`/`blobs`): where it is
/// to be or is kept, and how far it got. The replication agent fills `blob` in when the copy is
/// verified; the store turns every change of this list into durable jobs.
public struct Replica: Sendable, Equatable {
    public enum State: String, Sendable {
        /// Wanted, not copied yet (a job is queued or running).
        case pending
        /// Stored and verified (size and ETag) in `zone`.
        case completed
        /// Its job exhausted its retries (dead-lettered); `s3gw replication retry` re-queues it.
        case failed
    }

    public var zone: String
    /// The bucket's own bucket in `zone` (names differ per zone).
    public var backendBucket: String
    /// "" until the copy exists.
    public var blob: String
    public var state: State

    public init(zone: String, backendBucket: String, blob: String = "", state: State = .pending) {
        self.zone = zone
        self.backendBucket = backendBucket
        self.blob = blob
        self.state = state
    }
}

extension ObjectRecord {
    /// Identifies one write of the object's bytes (its first blob, a random id): replication
    /// jobs name it, so a copy finished after an overwrite or delete is recognised as stale.
    public var generation: String { blobs.first?.blob ?? "" }

    /// S3's `x-amz-replication-status`: nil when the object has no replicas.
    public var replicationStatus: String? {
        if replicas.isEmpty { return nil }
        if replicas.contains(where: { $0.state == .failed }) { return "FAILED" }
        if replicas.contains(where: { $0.state == .pending }) { return "PENDING" }
        return "COMPLETED"
    }
}
