import GatewayCore
import Logging
import S3Protocol
import Synchronization

/// The agent's lifecycle runner: walks the buckets that have a lifecycle configuration, in name
/// order, and each one's versions key by key (`listVersions`, in pages), applying what
/// `LifecycleEvaluator` says is due. Where the walk is stays in `agentState` ("lifecycle":
/// "bucket/key" of the last key done), so a pass cut short by a restart resumes there; a pass
/// that reaches the end records its time ("lifecycle:last-pass").
///
/// Every change goes through the store's version operations (`deleteVersion` without the
/// governance bypass), which decide Object Lock in their transaction: a locked version is
/// counted and left alone, never retried within the pass. Old uploads are aborted through
/// `Maintenance.abortUpload`, the path the upload expiry takes. No other path removes bytes.
public enum Lifecycle {
    static let cursorKey = "lifecycle"
    static let lastPassKey = "lifecycle:last-pass"
    static let pageSize = 500

    public struct Report: Sendable, Equatable {
        /// Keys looked at.
        public var keys = 0
        /// Current versions expired (a delete marker added, or the object removed).
        public var expired = 0
        /// Noncurrent versions and expired delete markers removed for good.
        public var removed = 0
        /// Versions left alone because Object Lock protects them.
        public var locked = 0
        /// Incomplete multipart uploads aborted.
        public var aborted = 0
        /// The pass reached its end (the next one starts from the first bucket).
        public var finished = false

        public init() {}
    }

    /// Whether a pass is due at `now`: one was cut short (its cursor is set), or `interval`
    /// seconds went by since the last one finished.
    public static func due(_ ctx: GatewayContext, now: Double, interval: Double) throws(StoreError) -> Bool {
        if let cursor = try ctx.metadata.agentState(cursorKey), !cursor.isEmpty { return true }
        let last = try ctx.metadata.agentState(lastPassKey).flatMap(Double.init) ?? 0
        return now >= last + interval
    }

    /// Runs the pass from its cursor until it ends or `budget` keys were looked at (tests cut
    /// it short that way).
    public static func run(_ ctx: GatewayContext, now: Double, budget: Int = .max) throws(StoreError) -> Report {
        var report = Report()
        let cursor = try ctx.metadata.agentState(cursorKey) ?? ""
        var bucket = String(cursor.prefix { $0 != "/" })
        var after = String(cursor.dropFirst(bucket.count + 1))
        if bucket.isEmpty {
            guard let first = try nextBucket(after: "", ctx) else { return try finish(report, now: now, ctx) }
            bucket = first
        }
        while true {
            if let b = try ctx.metadata.bucket(named: bucket), let rules = configuration(of: b) {
                let evaluator = LifecycleEvaluator(rules)
                if after.isEmpty { try abortUploads(of: b, evaluator, now: now, &report, ctx) }
                let done = try walk(b, evaluator, after: &after, now: now, budget: budget, &report, ctx)
                if !done {
                    try ctx.metadata.setAgentState(cursorKey, bucket + "/" + after)
                    return report
                }
            }
            after = ""
            guard let next = try nextBucket(after: bucket, ctx) else { return try finish(report, now: now, ctx) }
            bucket = next
            // Record the step so a cut here does not walk the previous bucket again.
            try ctx.metadata.setAgentState(cursorKey, bucket + "/")
        }
    }

    static func finish(_ report: Report, now: Double, _ ctx: GatewayContext) throws(StoreError) -> Report {
        var report = report
        report.finished = true
        try ctx.metadata.setAgentState(cursorKey, "")
        try ctx.metadata.setAgentState(lastPassKey, String(now))
        return report
    }

    /// The next bucket after `name` with a lifecycle configuration.
    static func nextBucket(after name: String, _ ctx: GatewayContext) throws(StoreError) -> String? {
        var after = name
        while true {
            let page = try ctx.metadata.allBuckets(after: after, limit: 100)
            if let b = page.first(where: { !$0.lifecycle.isEmpty }) { return b.name }
            guard let last = page.last else { return nil }
            after = last.name
        }
    }

    /// The bucket's keys after `after`, each key's versions evaluated once they are all read
    /// (a key's versions may span pages). Returns false when the budget ran out first; `after`
    /// is then the last key done.
    static func walk(
        _ b: BucketRecord, _ evaluator: LifecycleEvaluator, after: inout String, now: Double, budget: Int,
        _ report: inout Report, _ ctx: GatewayContext
    ) throws(StoreError) -> Bool {
        var query = VersionListQuery(keyMarker: after, maxKeys: pageSize)
        var pending: [ObjectRecord] = []
        while true {
            let page = try ctx.metadata.listVersions(bucket: b.name, query: query)
            for entry in page.entries {
                if let first = pending.first, first.key != entry.record.key {
                    apply(evaluator.actions(versions: pending, now: now), to: pending, in: b, now: now, &report, ctx)
                    after = first.key
                    report.keys += 1
                    pending = []
                    if report.keys >= budget { return false }
                }
                pending.append(entry.record)
            }
            guard page.isTruncated, let key = page.nextKeyMarker else { break }
            // The last entry read is the pending key's, still unchanged: listing resumes after it.
            query.keyMarker = key
            query.versionIdMarker = page.nextVersionIdMarker ?? ""
        }
        if let first = pending.first {
            apply(evaluator.actions(versions: pending, now: now), to: pending, in: b, now: now, &report, ctx)
            after = first.key
            report.keys += 1
        }
        return true
    }

    /// Applies one key's actions; a version that is locked, or went meanwhile, is skipped.
    static func apply(
        _ actions: [LifecycleEvaluator.Action], to versions: [ObjectRecord], in b: BucketRecord, now: Double,
        _ report: inout Report, _ ctx: GatewayContext
    ) {
        for action in actions {
            let versionId: String?
            var ifLatestSeq: String?
            switch action {
            case .expireCurrent:
                // Only if the latest is still the version judged (a client may have written
                // since): the store checks in the delete's transaction.
                guard let judged = versions.first else { continue }
                versionId = nil
                ifLatestSeq = judged.versionSeq
            case .removeVersion(let id, _):
                versionId = id
            }
            let key = versions[0].key
            do {
                let outcome = try ctx.metadata.deleteVersion(
                    bucket: b.name, key: key, versionId: versionId, bypassGovernance: false, now: now,
                    ifLatestSeq: ifLatestSeq)
                if let removed = outcome.removed { Handlers.removeBlob(of: removed, bucket: b, ctx, ctx.logger) }
                if versionId == nil { report.expired += 1 } else { report.removed += 1 }
            } catch {
                switch error {
                case .objectLocked: report.locked += 1
                case .noSuchKey, .noSuchVersion, .preconditionFailed: break
                default:
                    ctx.logger.error(
                        "lifecycle: \(b.name)/\(key) version \(versionId ?? "current") not expired: \(error)")
                }
            }
        }
    }

    /// Aborts the bucket's uploads whose AbortIncompleteMultipartUpload date has come.
    static func abortUploads(
        of b: BucketRecord, _ evaluator: LifecycleEvaluator, now: Double, _ report: inout Report,
        _ ctx: GatewayContext
    ) throws(StoreError) {
        var keyMarker = ""
        var idMarker = ""
        while true {
            let page = try ctx.metadata.uploads(
                bucket: b.name, prefix: "", keyMarker: keyMarker, uploadIdMarker: idMarker, limit: pageSize)
            for u in page {
                if let (date, _) = evaluator.abortDate(key: u.key, initiated: u.initiated), now >= date,
                    try Maintenance.abortUpload(u, ctx)
                {
                    report.aborted += 1
                }
            }
            guard page.count == pageSize, let last = page.last else { return }
            keyMarker = last.key
            idMarker = last.uploadId
        }
    }

    // MARK: parsed configurations

    /// The bucket's lifecycle configuration, parsed once per distinct document (GET and HEAD
    /// answer `x-amz-expiration` from it); nil when it has none.
    static func configuration(of b: BucketRecord) -> LifecycleConfiguration? {
        guard !b.lifecycle.isEmpty else { return nil }
        if let c = parsed.withLock({ $0[b.lifecycle] }) { return c }
        guard let c = try? LifecycleXML.parse(Array(b.lifecycle.utf8)) else { return nil }
        parsed.withLock {
            if $0.count >= 64 { $0.removeAll() }
            $0[b.lifecycle] = c
        }
        return c
    }

    private static let parsed = Mutex<[String: LifecycleConfiguration]>([:])
}
