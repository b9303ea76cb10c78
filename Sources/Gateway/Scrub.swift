import GatewayCore
import Logging
import Synchronization

/// The agent's walk over every object, bucket by bucket in name order and key by key, checking
/// its copies against what their zones hold (`Repair.check`) and queueing repairs. Where a walk
/// is stays in the metadata store (`agentState`), so it resumes after a restart: the periodic
/// scrub under `scrub`, and the pass over a zone back from an outage under `repair:<zone>`.
public enum Scrub {
    static let scrubKey = "scrub"
    static let passPrefix = "repair:"

    public struct Report: Sendable {
        /// Objects looked at.
        public var checked = 0
        /// Outcomes of the objects that needed or got something.
        public var outcomes: [Repair.Outcome] = []
        /// The walk reached the last object and starts over next time.
        public var wrapped = false
        /// A pass over one zone stopped at an object it could not check there.
        public var stalled = false

        public init() {}
    }

    /// Checks up to `budget` versions from where the walk under `cursorKey` left off (only their
    /// copies in `zone` when given), and records where it stopped. Every version is walked —
    /// latest and noncurrent, each its own set of copies; delete markers have none.
    public static func run(cursorKey: String, zone: String? = nil, budget: Int, _ ctx: GatewayContext)
        throws(StoreError) -> Report
    {
        var report = Report()
        var (bucket, position) = try parse(ctx.metadata.agentState(cursorKey) ?? "") { name in
            (try? ctx.metadata.bucket(named: name)) != nil
        }
        if bucket.isEmpty, let first = try ctx.metadata.allBuckets(after: "", limit: 1).first { bucket = first.name }
        while report.checked < budget, !bucket.isEmpty {
            var finished = true
            // A pass over one zone skips the buckets that cannot have a copy there.
            if let b = try ctx.metadata.bucket(named: bucket), zone.map({ b.zones.contains($0) }) ?? true {
                let walk = VersionWalk(ctx.metadata, bucket: bucket, page: min(1000, budget - report.checked))
                var stopped = false
                try walk.visit(after: position) { e in
                    let o = e.record
                    if report.checked >= budget {
                        stopped = true
                        return false
                    }
                    if !o.isDeleteMarker
                        && (zone == nil || o.zone == zone || o.replicas.contains(where: { $0.zone == zone }))
                    {
                        let outcome = Repair.check(o, in: b, Repair.Options(zone: zone), ctx)
                        // The zone of a pass failed again: this version is checked again next
                        // time, not skipped (the periodic scrub comes around anyway).
                        if zone != nil && !outcome.unchecked.isEmpty {
                            report.stalled = true
                            return false
                        }
                        if !outcome.notes.isEmpty || !outcome.unchecked.isEmpty { report.outcomes.append(outcome) }
                    }
                    position = (o.key, o.versionSeq)
                    report.checked += 1
                    return true
                }
                if report.stalled { break }
                // Out of budget: the rest of the bucket comes next time.
                finished = !stopped
            }
            if finished {
                position = nil
                bucket = try ctx.metadata.allBuckets(after: bucket, limit: 1).first?.name ?? ""
                report.wrapped = bucket.isEmpty
            }
        }
        if bucket.isEmpty { report.wrapped = true }
        try ctx.metadata.setAgentState(cursorKey, bucket.isEmpty ? "" : cursor(bucket, position))
        return report
    }

    /// "bucket/key/seq" of the last version checked ("bucket/" before the bucket's first).
    static func cursor(_ bucket: String, _ position: (key: String, seq: String?)?) -> String {
        guard let (key, seq) = position else { return bucket + "/" }
        return bucket + "/" + key + "/" + (seq ?? "")
    }

    /// Reads a cursor: "bucket/key/seq", or one written before versions, "bucket/key" (then the
    /// walk resumes after every version of that key). The seq is 32 hex digits or "" (a row
    /// from before versions); a key ending in such a component is read as key and seq, which
    /// at worst checks one key again. A bucket of another tenant is named "tenant/name":
    /// `exists` tells which reading names a bucket.
    static func parse(_ cursor: String, exists: (String) -> Bool) -> (
        bucket: String, position: (key: String, seq: String?)?
    ) {
        guard !cursor.isEmpty else { return ("", nil) }
        var parts = cursor.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var bucket = parts[0]
        var rest = parts.count > 1 ? parts[1] : ""
        if let slash = rest.firstIndex(of: "/"), !exists(bucket), exists(bucket + "/" + rest[..<slash]) {
            bucket += "/" + rest[..<slash]
            rest = String(rest[rest.index(after: slash)...])
        }
        parts = []
        guard !rest.isEmpty else { return (bucket, nil) }
        if let slash = rest.lastIndex(of: "/") {
            let seq = String(rest[rest.index(after: slash)...])
            if seq.isEmpty || (seq != VersionId.null && VersionId.isWellFormed(seq)) {
                return (bucket, (String(rest[..<slash]), seq))
            }
        }
        return (bucket, (rest, nil))
    }

    /// Starts (or restarts) the pass over everything `zone` should hold.
    static func schedulePass(zone: String, _ ctx: GatewayContext) throws(StoreError) {
        try ctx.metadata.setAgentState(passPrefix + zone, "")
    }
}

/// Paces the scrub in the agent: passes over zones back from an outage first, as fast as one
/// thread checks, then the periodic scrub at `[replication] scrub_per_hour` objects.
public final class Scrubber: Sendable {
    let ctx: GatewayContext
    /// Objects the scrub may check now, earned by the time passed since it last ran.
    private let credit = Mutex<(objects: Double, at: Double?)>((0, nil))
    /// Objects per slice, so a stop or a returning zone waits at most one slice.
    let sliceSize: Int

    public init(context: GatewayContext, sliceSize: Int = 200) {
        ctx = context
        self.sliceSize = sliceSize
    }

    /// One slice of work; false when there was none (the caller waits a little).
    @discardableResult
    public func runSlice() -> Bool {
        do {
            var progressed = false
            for (key, _) in try ctx.metadata.agentStates(prefix: Scrub.passPrefix) {
                let zone = String(key.dropFirst(Scrub.passPrefix.count))
                guard ctx.zones[zone] != nil else {
                    try ctx.metadata.setAgentState(key, nil)  // a zone no longer configured
                    continue
                }
                if ctx.zoneHealth.isDown(zone) { continue }  // away again: the pass waits
                let report = try Scrub.run(cursorKey: key, zone: zone, budget: sliceSize, ctx)
                if report.wrapped {
                    try ctx.metadata.setAgentState(key, nil)
                    ctx.logger.notice("zone \(zone): every copy it should hold has been checked")
                }
                progressed = progressed || report.checked > 0 || report.wrapped
            }
            // Passes that move on come before the periodic scrub.
            if progressed { return true }
            let n = earned()
            guard n > 0 else { return false }
            let report = try Scrub.run(cursorKey: Scrub.scrubKey, budget: n, ctx)
            if report.wrapped { ctx.logger.info("scrub: a pass over every object is complete") }
            return report.checked > 0
        } catch {
            ctx.logger.error("scrub: \(error)")
            return false
        }
    }

    /// Takes the whole objects earned so far (at most one slice).
    private func earned() -> Int {
        let rate = Double(ctx.replication.scrubPerHour)
        guard rate > 0 else { return 0 }
        let now = ctx.clock.now()
        return credit.withLock { c in
            // At most ten minutes' worth is saved up: a stalled agent does not burst afterwards.
            c.objects = min(c.objects + rate * max(0, now - (c.at ?? now)) / 3600, max(1, rate / 6))
            c.at = now
            let n = min(Int(c.objects), sliceSize)
            c.objects -= Double(n)
            return n
        }
    }
}
