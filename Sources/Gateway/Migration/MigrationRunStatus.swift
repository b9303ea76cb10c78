import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// A run's progress while it runs and its report once it ended: what `GET
/// /api/migration/runs/{id}` answers, what the run's metadata row holds, and what `s3gw migrate
/// run` prints at the end (docs/MIGRATION.md).
public struct MigrationRunStatus: Codable, Sendable, Equatable {
    public enum State: String, Codable, Sendable {
        case running, done, cancelled, failed
        /// The row says running but its process stopped updating it (killed, host rebooted).
        case interrupted
    }

    public var id: String
    public var planId: String
    public var tenant: String
    public var state: State
    public var readThrough: Bool
    /// The process that runs it, "host:pid": a row whose process is gone is `interrupted` at once.
    public var owner: String
    public var createdAt: Date
    public var updatedAt: Date
    public var finishedAt: Date?
    /// Objects and bytes to look at: the plan's estimate, replaced by what the listings found
    /// as they go.
    public var objectsTotal: Int64
    public var bytesTotal: Int64
    /// Copied now or found already there.
    public var objectsDone: Int64
    public var bytesDone: Int64
    public var objectsCopied: Int64
    public var bytesCopied: Int64
    /// Already in the gateway: copied by an earlier run, by read-through, or identical (same MD5).
    public var objectsPresent: Int64
    public var objectsSkipped: Int64
    public var bytesSkipped: Int64
    /// Copied ahead of the listing because a client read them (read-through); the listing
    /// then finds them present.
    public var objectsReadThrough: Int64
    public var bytesReadThrough: Int64
    /// Of this run's copies, how many each way of checking covered ("md5", "multipart-etag",
    /// "checksum-crc32"…, "size").
    public var verification: [String: Int64]
    /// Bytes copied per second since the run (or its resumption) started.
    public var rateBytesPerSecond: Double
    public var etaSeconds: Double?
    public var currentBucket: String?
    public var buckets: [BucketStatus]
    /// The first `skippedLimit` objects not copied, with the reason.
    public var skipped: [Skipped]
    public var skippedTruncated: Bool
    public var error: String?

    public static let skippedLimit = 1000

    public func encode(to encoder: any Encoder) throws {
        // Every key, null when empty (the API's documents have a fixed shape).
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(planId, forKey: .planId)
        try c.encode(tenant, forKey: .tenant)
        try c.encode(state, forKey: .state)
        try c.encode(readThrough, forKey: .readThrough)
        try c.encode(owner, forKey: .owner)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(finishedAt, forKey: .finishedAt)
        try c.encode(objectsTotal, forKey: .objectsTotal)
        try c.encode(bytesTotal, forKey: .bytesTotal)
        try c.encode(objectsDone, forKey: .objectsDone)
        try c.encode(bytesDone, forKey: .bytesDone)
        try c.encode(objectsCopied, forKey: .objectsCopied)
        try c.encode(bytesCopied, forKey: .bytesCopied)
        try c.encode(objectsPresent, forKey: .objectsPresent)
        try c.encode(objectsSkipped, forKey: .objectsSkipped)
        try c.encode(bytesSkipped, forKey: .bytesSkipped)
        try c.encode(objectsReadThrough, forKey: .objectsReadThrough)
        try c.encode(bytesReadThrough, forKey: .bytesReadThrough)
        try c.encode(verification, forKey: .verification)
        try c.encode(rateBytesPerSecond, forKey: .rateBytesPerSecond)
        try c.encode(etaSeconds, forKey: .etaSeconds)
        try c.encode(currentBucket, forKey: .currentBucket)
        try c.encode(buckets, forKey: .buckets)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(failedBuckets, forKey: .failedBuckets)
        try c.encode(skipped, forKey: .skipped)
        try c.encode(skippedTruncated, forKey: .skippedTruncated)
        try c.encode(error, forKey: .error)
    }

    /// Written with the stored ones, never read back: derived from them.
    private enum DerivedKeys: String, CodingKey { case failedBuckets }

    /// Buckets of the plan that failed (state `failed`, reason in their `error`): a run that
    /// ends `done` with some is a partial one; with all of them it ends `failed`.
    public var failedBuckets: Int { buckets.count(where: { $0.state == "failed" }) }

    public struct BucketStatus: Codable, Sendable, Equatable {
        public var sourceBucket: String
        public var targetBucket: String
        /// "pending", "copying", "done", "failed"; when the run stopped before its end, the
        /// bucket under way "cancelled", "interrupted" or "failed" as the run, and those it
        /// never reached "not_started".
        public var state: String
        public var objectsCopied: Int64
        public var objectsPresent: Int64
        public var objectsSkipped: Int64
        public var bytesCopied: Int64
        public var error: String?
        /// The plan's notes for the bucket: what the copy does not carry over (noncurrent
        /// versions of a versioned bucket, Object Lock, lifecycle…).
        public var notes: [String] = []

        enum CodingKeys: String, CodingKey {
            case sourceBucket, targetBucket, state, objectsCopied, objectsPresent, objectsSkipped, bytesCopied, error,
                notes
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(sourceBucket, forKey: .sourceBucket)
            try c.encode(targetBucket, forKey: .targetBucket)
            try c.encode(state, forKey: .state)
            try c.encode(objectsCopied, forKey: .objectsCopied)
            try c.encode(objectsPresent, forKey: .objectsPresent)
            try c.encode(objectsSkipped, forKey: .objectsSkipped)
            try c.encode(bytesCopied, forKey: .bytesCopied)
            try c.encode(error, forKey: .error)
            try c.encode(notes, forKey: .notes)
        }
    }

    public struct Skipped: Codable, Sendable, Equatable {
        public var bucket: String
        public var key: String
        public var reason: String
    }

    public var durationSeconds: Double { (finishedAt ?? updatedAt).timeIntervalSince(createdAt) }
}

extension MigrationRunStatus.BucketStatus {
    /// Rows written before `notes` existed have none.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sourceBucket = try c.decode(String.self, forKey: .sourceBucket)
        targetBucket = try c.decode(String.self, forKey: .targetBucket)
        state = try c.decode(String.self, forKey: .state)
        objectsCopied = try c.decode(Int64.self, forKey: .objectsCopied)
        objectsPresent = try c.decode(Int64.self, forKey: .objectsPresent)
        objectsSkipped = try c.decode(Int64.self, forKey: .objectsSkipped)
        bytesCopied = try c.decode(Int64.self, forKey: .bytesCopied)
        error = try c.decodeIfPresent(String.self, forKey: .error)
        notes = try c.decodeIfPresent([String].self, forKey: .notes) ?? []
    }
}

extension MigrationRunStatus {
    /// The run row as the store keeps it.
    var row: MigrationRunRow {
        let doc = (try? SnapshotJSON.encoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return MigrationRunRow(
            id: id, tenant: tenant, planId: planId, state: state.rawValue,
            updatedAt: updatedAt.timeIntervalSince1970, document: doc)
    }

    /// A row's status; a running one whose process is gone (on this host), or that has not
    /// written for `stale` seconds, is `interrupted` (a live run writes every few seconds).
    public init?(row: MigrationRunRow, now: Double, stale: Double = 60) {
        guard var s = try? SnapshotJSON.decoder().decode(MigrationRunStatus.self, from: Data(row.document.utf8)) else {
            return nil
        }
        if s.state == .running && (now - row.updatedAt > stale || !Self.isAlive(s.owner)) { s.state = .interrupted }
        self = s
    }

    /// This process, as `owner` names it.
    public static var thisProcess: String { "\(HostIdentity.current):\(getpid())" }

    /// False only when `owner` is a process of this host that no longer exists (another
    /// host's process is judged by its row's age alone).
    static func isAlive(_ owner: String) -> Bool {
        guard let colon = owner.lastIndex(of: ":"), owner[..<colon] == HostIdentity.current,
            let pid = Int32(owner[owner.index(after: colon)...])
        else { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// The report as a person reads it at the end of `s3gw migrate run`: each line terminal-safe
    /// (keys and reasons are the source's text).
    public var text: String {
        var out: [String] = []
        let b = MigrationPlanSummary.bytes
        out.append(
            "Migration run \(id) (plan \(planId)): \(state.rawValue) in \(MigrationPlanSummary.duration(durationSeconds))"
        )
        out.append(
            "  copied:        \(objectsCopied) objects, \(b(bytesCopied))"
                + (verification.isEmpty
                    ? ""
                    : " (verified by "
                        + verification.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(
                            separator: ", ") + ")"))
        out.append("  already there: \(objectsPresent) objects")
        if readThrough { out.append("  read-through:  \(objectsReadThrough) objects copied ahead for clients' reads") }
        out.append("  skipped:       \(objectsSkipped) objects, \(b(bytesSkipped))")
        for bucket in buckets {
            var line =
                "  \(bucket.sourceBucket) → \(bucket.targetBucket): \(bucket.state), \(bucket.objectsCopied) copied, "
                + "\(bucket.objectsPresent) already there, \(bucket.objectsSkipped) skipped"
            if let e = bucket.error { line += " — \(e)" }
            out.append(line)
            for n in bucket.notes { out.append("    note: \(n)") }
        }
        if failedBuckets > 0 { out.append("  failed buckets: \(failedBuckets) of \(buckets.count)") }
        if !skipped.isEmpty {
            out.append("Skipped objects\(skippedTruncated ? " (the first \(skipped.count))" : ""):")
            for s in skipped { out.append("  \(s.bucket)/\(s.key): \(s.reason)") }
        }
        if let error { out.append("Error: \(error)") }
        return out.map(TerminalText.safe).joined(separator: "\n") + "\n"
    }
}
