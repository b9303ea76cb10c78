import GatewayCore
import Logging

/// Moving a bucket's primary to another zone of its placement when its zone fails. Writes go to
/// the primary (`GatewayContext.writeZone`); promoting a zone reorders the placement so it comes
/// first, and the old primary becomes the first replica target. Objects already written keep
/// their copies where they are, and reads find them in any zone. Only a zone the bucket's
/// constraint allows can be promoted (`Residency.check`), so a bucket with no allowed zone up
/// answers writes with 503 rather than storing a byte anywhere else. A primary that comes back
/// is not made primary again: its missing copies are repaired (`Scrub`).
public enum Failover {
    /// Why a promotion is refused, for an operator to read.
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Makes `zone` the primary of bucket `name`: the zone must be in its placement and allowed
    /// by its constraint, and able to take the bucket (its backend bucket is created first).
    /// A zone the health checker marks down is refused unless `force`. Returns the bucket as it
    /// is now (unchanged when `zone` already is its primary).
    @discardableResult
    public static func promote(bucket name: String, to zone: String, force: Bool = false, _ ctx: GatewayContext)
        throws -> BucketRecord
    {
        guard var b = try ctx.metadata.bucket(named: name) else { throw Refusal("no bucket named \(name)") }
        if b.primaryZone == zone { return b }
        guard b.zones.contains(zone) else {
            let known = ctx.catalog.zone(named: zone) != nil ? "" : " (and no zone of that name is configured)"
            throw Refusal(
                "zone \(zone) is not in bucket \(name)'s placement (\(b.zones.joined(separator: ", "))): its LocationConstraint '\(b.locationConstraint)' does not allow it\(known)"
            )
        }
        do {
            try Residency.check(zone: zone, for: b, catalog: ctx.catalog)
        } catch {
            throw Refusal(
                "zone \(zone) may not hold bucket \(name)'s bytes under its LocationConstraint '\(b.locationConstraint)' with the zones configured now"
            )
        }
        if !force, ctx.zoneHealth.isDown(zone) {
            throw Refusal("zone \(zone) is marked down by the health checker; --force promotes it anyway")
        }
        // Storage first, as at CreateBucket: the primary must have a place for the next write.
        do {
            try ctx.zone(zone).createBucket(ctx.backendBucket(b, in: zone))
        } catch {
            throw Refusal("zone \(zone) cannot take bucket \(name)'s writes now: \(Repair.describe(error))")
        }
        let old = b.primaryZone
        b.zones = [zone] + b.zones.filter { $0 != zone }
        try ctx.metadata.setBucketZones(bucket: name, zones: b.zones)
        ctx.logger.notice(
            "bucket \(name): zone \(zone) is its primary now (was \(old)); placement \(b.zones.joined(separator: ","))")
        return b
    }

    /// The agent's step after every health check (`Maintenance.checkZones`): buckets whose
    /// primary zone failed `failover_after` checks in a row get a new primary (automatic
    /// failover), or an operator is told (manual); a zone back from down (or from failing over)
    /// gets its waiting copies at once and a pass that repairs what it lacks.
    static func afterHealthCheck(previous: [String: ZoneHealth], current: [ZoneHealth], _ ctx: GatewayContext) {
        let after = ctx.replication.failoverAfter
        let health = Dictionary(current.map { ($0.zone, $0) }) { a, _ in a }
        let failed = Set(current.filter { $0.consecutiveFailures >= after }.map(\.zone))
        // Told once, when the zone crosses the threshold; promotions are retried every check.
        let newlyFailed = failed.filter { (previous[$0]?.consecutiveFailures ?? 0) < after }
        if !failed.isEmpty {
            do {
                try forEachBucket(ctx) { b in
                    guard failed.contains(b.primaryZone) else { return }
                    failOver(b, health: health, announce: newlyFailed.contains(b.primaryZone), ctx)
                }
            } catch {
                ctx.logger.error("failover: listing buckets failed: \(error)")
            }
        }
        for h in current where h.consecutiveFailures == 0 {
            guard let before = previous[h.zone], before.state == .down || before.consecutiveFailures >= after else {
                continue
            }
            zoneReturned(h.zone, ctx)
        }
    }

    private static func failOver(
        _ b: BucketRecord, health: [String: ZoneHealth], announce: Bool, _ ctx: GatewayContext
    ) {
        let primary = b.primaryZone
        let failures = health[primary]?.consecutiveFailures ?? 0
        guard ctx.replication.failover == .auto else {
            if announce {
                ctx.logger.warning(
                    "bucket \(b.name): primary zone \(primary) failed \(failures) health checks; writes answer 503 until it is back or `s3gw failover promote --tenant \(b.tenant) \(b.displayName) ZONE` (failover is manual)"
                )
            }
            return
        }
        for zone in candidates(for: b, health: health, ctx) {
            do {
                try promote(bucket: b.name, to: zone, force: true, ctx)  // its health is fresh here
                return
            } catch {
                ctx.logger.warning("bucket \(b.name): could not promote zone \(zone): \(error)")
            }
        }
        if announce {
            ctx.logger.error(
                "bucket \(b.name): primary zone \(primary) failed \(failures) health checks and no other zone its LocationConstraint '\(b.locationConstraint)' allows is healthy; writes answer 503"
            )
        }
    }

    /// The zones automatic failover may promote for `b`, best first: those of its placement
    /// after the primary that its constraint allows and that answered their last health check,
    /// in placement order, healthy ones before slow (degraded) ones.
    static func candidates(for b: BucketRecord, health: [String: ZoneHealth], _ ctx: GatewayContext) -> [String] {
        let answering = b.zones.dropFirst().filter { zone in
            guard let h = health[zone], h.consecutiveFailures == 0 else { return false }
            return (try? Residency.check(zone: zone, for: b, catalog: ctx.catalog)) != nil
        }
        return answering.filter { health[$0]?.state == .healthy } + answering.filter { health[$0]?.state != .healthy }
    }

    /// A zone is back from down: the copies waiting for it are due now (their backoff counted
    /// on it being away), and a repair pass checks every copy it should hold.
    private static func zoneReturned(_ zone: String, _ ctx: GatewayContext) {
        do {
            let woken = try ctx.metadata.wakeJobs(zone: zone, now: ctx.clock.now())
            try Scrub.schedulePass(zone: zone, ctx)
            ctx.logger.notice(
                "zone \(zone) is back: \(woken) waiting job(s) due now; checking the copies it should hold")
        } catch {
            ctx.logger.error("zone \(zone) is back, but scheduling its repair failed: \(error)")
        }
    }

    static func forEachBucket(_ ctx: GatewayContext, _ body: (BucketRecord) throws -> Void) throws {
        var after = ""
        while true {
            let page = try ctx.metadata.allBuckets(after: after, limit: 500)
            for b in page { try body(b) }
            guard let last = page.last, page.count == 500 else { return }
            after = last.name
        }
    }
}
