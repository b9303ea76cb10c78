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

    /// Checks up to `budget` objects from where the walk under `cursorKey` left off (only their
    /// copies in `zone` when given), and records where it stopped.
    public static func run(cursorKey: String, zone: String? = nil, budget: Int, _ ctx: GatewayContext)
        throws(StoreError) -> Report
    {
        var report = Report()
        // "bucket/key" of the last object checked ("bucket/" before its first); bucket names have no '/'.
        let cursor = try ctx.metadata.agentState(cursorKey) ?? ""
        var bucket = String(cursor.prefix { $0 != "/" })
        var key = String(cursor.dropFirst(bucket.count + 1))
        if bucket.isEmpty, let first = try ctx.metadata.allBuckets(after: "", limit: 1).first { bucket = first.name }
        while report.checked < budget, !bucket.isEmpty {
            var more = false
            // A pass over one zone skips the buckets that cannot have a copy there.
            if let b = try ctx.metadata.bucket(named: bucket), zone.map({ b.zones.contains($0) }) ?? true {
                let page = try ctx.metadata.listObjects(
                    bucket: bucket, query: ListQuery(after: key, maxKeys: min(1000, budget - report.checked)))
                for o in page.objects {
                    if zone == nil || o.zone == zone || o.replicas.contains(where: { $0.zone == zone }) {
                        let outcome = Repair.check(o, in: b, Repair.Options(zone: zone), ctx)
                        // The zone of a pass failed again: this object is checked again next
                        // time, not skipped (the periodic scrub comes around anyway).
                        if zone != nil && !outcome.unchecked.isEmpty {
                            report.stalled = true
                            break
                        }
                        if !outcome.notes.isEmpty || !outcome.unchecked.isEmpty { report.outcomes.append(outcome) }
                    }
                    key = o.key
                    report.checked += 1
                }
                if report.stalled { break }
                more = page.isTruncated
            }
            if !more {
                key = ""
                bucket = try ctx.metadata.allBuckets(after: bucket, limit: 1).first?.name ?? ""
                report.wrapped = bucket.isEmpty
            }
        }
        if bucket.isEmpty { report.wrapped = true }
        try ctx.metadata.setAgentState(cursorKey, bucket.isEmpty ? "" : bucket + "/" + key)
        return report
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
