import GatewayCore
import Logging
import S3Protocol
import Synchronization

/// The agent's lifecycle runner: walks the buckets that have a lifecycle configuration, in name
/// order, and in each first its incomplete uploads, then its versions key by key
/// (`listVersions`, in pages), applying what `LifecycleEvaluator` says is due. Where the walk
/// is stays in `agentState` ("lifecycle", a `Cursor`), so a pass cut short (its budget spent,
/// a restart, a failure) resumes there; a pass that reaches the end records its time
/// ("lifecycle:last-pass").
///
/// Every removal is conditional on the state the version was judged in (its seq, and whether
/// it was the key's latest): the store checks it in the delete's transaction, so a client's
/// write between judging and deleting is never what goes. The store's version operations
/// (without the governance bypass) decide Object Lock in the same transaction: a locked
/// version is counted and left alone, never retried within the pass. Old uploads are aborted
/// through `Maintenance.abortUpload`, the path the upload expiry takes. No other path removes
/// bytes.
public enum Lifecycle {
    static let cursorKey = "lifecycle"
    static let lastPassKey = "lifecycle:last-pass"
    /// "count\ncursor": how many steps in a row failed at that cursor.
    static let failuresKey = "lifecycle:failures"
    /// After this many failures in a row at one place, the key (or the bucket's rest) is skipped.
    static let maxFailures = 3
    static let pageSize = 500

    public struct Report: Sendable, Equatable {
        /// Keys looked at.
        public var keys = 0
        /// Incomplete uploads looked at.
        public var uploads = 0
        /// Current versions expired (a delete marker added, or the object removed).
        public var expired = 0
        /// Noncurrent versions and expired delete markers removed for good.
        public var removed = 0
        /// Versions left alone because Object Lock protects them.
        public var locked = 0
        /// Incomplete multipart uploads aborted.
        public var aborted = 0
        /// Versions judged due but changed by a client before the runner got to them.
        public var changed = 0
        /// The pass reached its end (the next one starts from the first bucket).
        public var finished = false
        /// The cursor moved (or the pass ended): a step that did not is not repeated at once.
        public var progressed = false

        public init() {}

        /// What the step's budget counts: keys and uploads looked at.
        var work: Int { keys + uploads }
    }

    /// Where a pass is: a bucket (its qualified name, "tenant/name" for a tenant's bucket, so
    /// never split at a "/") and how far into it. Stored as lines: the bucket first (bucket
    /// names have no line breaks), the key last (keys may).
    struct Cursor: Equatable {
        enum Phase: Equatable {
            /// Aborting old uploads, after this upload ("", "": from the first).
            case uploads(key: String, uploadId: String)
            /// Walking the keys, after this one ("": from the first).
            case keys(after: String)
            /// The bucket is done (or skipped).
            case done
        }
        var bucket: String
        var phase: Phase

        static func start(_ bucket: String) -> Cursor { Cursor(bucket: bucket, phase: .uploads(key: "", uploadId: "")) }

        var encoded: String {
            switch phase {
            case .uploads(let key, let id): "\(bucket)\nuploads\n\(id)\n\(key)"
            case .keys(let after): "\(bucket)\nkeys\n\(after)"
            case .done: "\(bucket)\ndone"
            }
        }

        /// nil for "" (a pass not begun). A cursor of the first release ("bucket/key") is read
        /// the way it was written.
        init?(_ s: String) {
            guard !s.isEmpty else { return nil }
            guard let nl = s.firstIndex(of: "\n") else {
                let bucket = String(s.prefix { $0 != "/" })
                self.init(bucket: bucket, phase: .keys(after: String(s.dropFirst(bucket.count + 1))))
                return
            }
            let rest = s[s.index(after: nl)...]
            let phase: Phase
            if rest.hasPrefix("uploads\n") {
                let r = rest.dropFirst("uploads\n".count)
                let id = r.prefix { $0 != "\n" }
                phase = .uploads(key: String(r.dropFirst(id.count + 1)), uploadId: String(id))
            } else if rest.hasPrefix("keys\n") {
                phase = .keys(after: String(rest.dropFirst("keys\n".count)))
            } else {
                phase = .done
            }
            self.init(bucket: String(s[..<nl]), phase: phase)
        }

        init(bucket: String, phase: Phase) {
            self.bucket = bucket
            self.phase = phase
        }
    }

    /// Whether a pass is due at `now`: one was cut short (its cursor is set), or `interval`
    /// seconds went by since the last one finished.
    public static func due(_ ctx: GatewayContext, now: Double, interval: Double) throws(StoreError) -> Bool {
        if let cursor = try ctx.metadata.agentState(cursorKey), !cursor.isEmpty { return true }
        let last = try ctx.metadata.agentState(lastPassKey).flatMap(Double.init) ?? 0
        return now >= last + interval
    }

    /// How long the agent's lifecycle thread waits before its next step: a moment when a pass
    /// was cut by its budget and moved on, a second otherwise. Never zero: a step that keeps
    /// finding work (or keeps not moving) must not spin.
    public static func pause(after r: Report) -> Double {
        if r.finished { return 1 }
        return r.progressed ? 0.05 : 60
    }

    /// Runs the pass from its cursor until it ends or `budget` keys and uploads were looked at.
    /// A failure saves how far the step got before it is thrown; a key (or, when the failure
    /// names none, the rest of a bucket's phase) that fails `maxFailures` steps in a row is
    /// logged and skipped for this pass.
    public static func run(_ ctx: GatewayContext, now: Double, budget: Int = .max) throws(StoreError) -> Report {
        try run(ctx, now: now, budget: budget, hooks: Hooks())
    }

    /// For tests: what happens between the runner's own steps.
    struct Hooks {
        /// Between judging a version and removing it (a client writing meanwhile).
        var beforeRemoval: ((ObjectRecord) -> Void)?
        /// When a key's versions start (a failure there is that key's).
        var atKey: ((String) throws(StoreError) -> Void)?
    }

    static func run(_ ctx: GatewayContext, now: Double, budget: Int, hooks: Hooks) throws(StoreError) -> Report {
        var step = Step(ctx: ctx, now: now, budget: max(budget, 1), hooks: hooks)
        let saved = try ctx.metadata.agentState(cursorKey) ?? ""
        var cursor: Cursor
        if let c = Cursor(saved) {
            cursor = c
        } else {
            guard let first = try nextBucket(after: "", ctx) else { return try finish(step.report, now: now, ctx) }
            cursor = .start(first)
        }
        do {
            while true {
                if let b = try ctx.metadata.bucket(named: cursor.bucket), let rules = configuration(of: b) {
                    let evaluator = LifecycleEvaluator(rules)
                    guard try step.abortUploads(of: b, evaluator, &cursor), try step.walk(b, evaluator, &cursor)
                    else {
                        try ctx.metadata.setAgentState(cursorKey, cursor.encoded)
                        step.report.progressed = cursor.encoded != saved
                        return step.report
                    }
                }
                guard let next = try nextBucket(after: cursor.bucket, ctx) else {
                    return try finish(step.report, now: now, ctx)
                }
                cursor = .start(next)
                // Record the step so a cut here does not walk the previous bucket again.
                try ctx.metadata.setAgentState(cursorKey, cursor.encoded)
            }
        } catch {
            failed(at: cursor, key: step.failingKey, error, ctx)
            throw error
        }
    }

    /// Saves where the failed step got to; the `maxFailures`-th failure in a row at one place
    /// skips the key being worked on, or (none known: the listing itself failed) the rest of
    /// the phase.
    static func failed(at cursor: Cursor, key: String?, _ error: StoreError, _ ctx: GatewayContext) {
        let here = cursor.encoded
        let previous = (try? ctx.metadata.agentState(failuresKey)) ?? ""
        var count = 1
        if let nl = previous.firstIndex(of: "\n"), previous[previous.index(after: nl)...] == here,
            let n = Int(previous[..<nl])
        {
            count = n + 1
        }
        var resume = cursor
        if count >= maxFailures {
            switch (cursor.phase, key) {
            case (.keys, let key?): resume.phase = .keys(after: key)
            case (.uploads, _): resume.phase = .keys(after: "")
            default: resume.phase = .done
            }
            ctx.logger.error(
                "lifecycle: \(cursor.bucket) \(key.map { "key \($0)" } ?? "listing") failed \(count) times in a row (\(error)); skipped until the next pass"
            )
            try? ctx.metadata.setAgentState(failuresKey, "")
        } else {
            try? ctx.metadata.setAgentState(failuresKey, "\(count)\n\(here)")
        }
        try? ctx.metadata.setAgentState(cursorKey, resume.encoded)
    }

    static func finish(_ report: Report, now: Double, _ ctx: GatewayContext) throws(StoreError) -> Report {
        var report = report
        report.finished = true
        report.progressed = true
        try ctx.metadata.setAgentState(cursorKey, "")
        try ctx.metadata.setAgentState(failuresKey, "")
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

    /// A version judged due, and the state it was judged in.
    struct Removal {
        /// The version as listed.
        var judged: ObjectRecord
        /// It was the key's latest entry (else noncurrent).
        var latest: Bool
        /// nil: DELETE without a version id (the current version's expiry).
        var versionId: String?
    }

    /// One step of a pass: its budget, what it did, and the key it is on.
    struct Step {
        let ctx: GatewayContext
        let now: Double
        let budget: Int
        let hooks: Hooks
        var report = Report()
        /// The key whose versions are being read (what a failure is blamed on).
        var failingKey: String?

        init(ctx: GatewayContext, now: Double, budget: Int, hooks: Hooks) {
            self.ctx = ctx
            self.now = now
            self.budget = budget
            self.hooks = hooks
        }

        /// Aborts the bucket's uploads whose AbortIncompleteMultipartUpload date has come, from
        /// the cursor on; each upload looked at counts toward the budget. False when the budget
        /// ran out first (the cursor then names the last upload done).
        mutating func abortUploads(
            of b: BucketRecord, _ evaluator: LifecycleEvaluator, _ cursor: inout Cursor
        ) throws(StoreError) -> Bool {
            guard case .uploads(var keyMarker, var idMarker) = cursor.phase else { return true }
            // No rule aborts uploads: nothing to list.
            if evaluator.configuration.rules.contains(where: { $0.enabled && $0.abortIncompleteUploadDays != nil }) {
                while true {
                    let page = try ctx.metadata.uploads(
                        bucket: b.name, prefix: "", keyMarker: keyMarker, uploadIdMarker: idMarker, limit: pageSize)
                    for u in page {
                        if let (date, _) = evaluator.abortDate(key: u.key, initiated: u.initiated), now >= date,
                            try Maintenance.abortUpload(u, ctx)
                        {
                            report.aborted += 1
                        }
                        report.uploads += 1
                        cursor.phase = .uploads(key: u.key, uploadId: u.uploadId)
                        if report.work >= budget { return false }
                    }
                    guard page.count == pageSize, let last = page.last else { break }
                    keyMarker = last.key
                    idMarker = last.uploadId
                }
            }
            cursor.phase = .keys(after: "")
            return true
        }

        /// The bucket's keys after the cursor's, each key's versions judged as they stream by
        /// (`LifecycleEvaluator.KeyPass`: a key with a great many versions is never held whole).
        /// A key's removals are made once the key is done; those of a key still being read when
        /// its page ends wait until the next page is read (the listing resumes after the page's
        /// last entry, which must still be there). False when the budget ran out first
        /// (the cursor then names the last key done).
        mutating func walk(_ b: BucketRecord, _ evaluator: LifecycleEvaluator, _ cursor: inout Cursor)
            throws(StoreError) -> Bool
        {
            guard case .keys(let start) = cursor.phase else { return true }
            var query = VersionListQuery(keyMarker: start, maxKeys: pageSize)
            var pass: LifecycleEvaluator.KeyPass?
            var queued: [Removal] = []
            while true {
                let page = try ctx.metadata.listVersions(bucket: b.name, query: query)
                remove(queued, in: b)
                queued = []
                for entry in page.entries {
                    let v = entry.record
                    // Keys compare by bytes: Swift's == equates canonically equal keys, which S3 keeps apart.
                    if let done = pass, let latest = done.latest, !VersionLister.same(latest.key, v.key) {
                        queued += Self.removals(done.finish(), of: latest, latest: true)
                        report.keys += 1
                        // The keys done are done for good before the next is looked at (the
                        // page goes on past them, so their removals disturb no listing).
                        remove(queued, in: b)
                        queued = []
                        cursor.phase = .keys(after: latest.key)
                        pass = nil
                        if report.work >= budget { return false }
                    }
                    let first = pass == nil
                    if first {
                        pass = LifecycleEvaluator.KeyPass(evaluator, now: now)
                        failingKey = v.key
                        try hooks.atKey?(v.key)
                    }
                    queued += Self.removals(pass!.next(v), of: v, latest: first)
                }
                guard page.isTruncated, let key = page.nextKeyMarker else { break }
                query.keyMarker = key
                query.versionIdMarker = page.nextVersionIdMarker ?? ""
            }
            if let done = pass, let latest = done.latest {
                queued += Self.removals(done.finish(), of: latest, latest: true)
                report.keys += 1
                cursor.phase = .keys(after: latest.key)
            }
            remove(queued, in: b)
            failingKey = nil
            cursor.phase = .done
            return true
        }

        static func removals(_ actions: [LifecycleEvaluator.Action], of v: ObjectRecord, latest: Bool) -> [Removal] {
            actions.map { action in
                switch action {
                case .expireCurrent: Removal(judged: v, latest: true, versionId: nil)
                case .removeVersion(let id, _): Removal(judged: v, latest: latest, versionId: id)
                }
            }
        }

        /// Removes each version if it is still as judged; one that is locked, went, or changed
        /// meanwhile is left alone (a store failure is logged: the next pass tries again).
        mutating func remove(_ removals: [Removal], in b: BucketRecord) {
            for r in removals {
                hooks.beforeRemoval?(r.judged)
                do {
                    let outcome = try ctx.metadata.deleteVersion(
                        bucket: b.name, key: r.judged.key, versionId: r.versionId, now: now,
                        ifJudged: JudgedVersion(seq: r.judged.versionSeq, latest: r.latest))
                    if let removed = outcome.removed { Handlers.removeBlob(of: removed, bucket: b, ctx, ctx.logger) }
                    if r.versionId == nil { report.expired += 1 } else { report.removed += 1 }
                } catch {
                    switch error {
                    case .objectLocked: report.locked += 1
                    case .preconditionFailed: report.changed += 1
                    case .noSuchKey, .noSuchVersion: break
                    default:
                        ctx.logger.error(
                            "lifecycle: \(b.name)/\(r.judged.key) version \(r.versionId ?? "current") not expired: \(error)"
                        )
                    }
                }
            }
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
