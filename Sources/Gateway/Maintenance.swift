import Dispatch
import Foundation
import GatewayCore
import Logging
import Synchronization

/// Background work the agent process runs; handlers never call it.
public enum Maintenance {
    /// Aborts multipart uploads initiated before `cutoff` and deletes their part blobs. Returns
    /// how many uploads went. Safe against a client completing one at the same moment: either
    /// the completion or the abort commits, and only the loser's blobs are deleted.
    public static func expireUploads(initiatedBefore cutoff: Double, _ ctx: GatewayContext) throws -> Int {
        var removed = 0
        while true {
            let batch = try ctx.metadata.uploads(initiatedBefore: cutoff, limit: 100)
            if batch.isEmpty { return removed }
            for upload in batch where try abortUpload(upload, ctx) { removed += 1 }
        }
    }

    /// Aborts one upload and releases its parts' bytes; false when it was completed or aborted
    /// meanwhile. The upload expiry and lifecycle's AbortIncompleteMultipartUpload both go here.
    public static func abortUpload(_ upload: UploadRecord, _ ctx: GatewayContext) throws(StoreError) -> Bool {
        let parts: [PartRecord]
        do {
            parts = try ctx.metadata.abortUpload(upload.uploadId)
        } catch {
            if error == .noSuchUpload { return false }  // completed or aborted meanwhile
            throw error
        }
        if let bucket = try ctx.metadata.bucket(named: upload.bucket) {
            Handlers.releaseParts(of: upload, parts, bucket: bucket, ctx, ctx.logger)
        }
        return true
    }

    /// Probes every zone once and records the result (healthy, degraded, down), then lets
    /// failover act on it (`Failover.afterHealthCheck`). `only` limits the check to some zones
    /// (an operator's probe of one zone through the admin API); the others keep their record.
    @discardableResult
    /// `stillHeld` is asked again once the probes are back, before anything is recorded or
    /// failed over: an agent whose health lease ran out while it probed (a hung mount, a slow
    /// provider) leaves the check to the lease's new holder, or a zone's failure would be
    /// counted twice towards failover_after.
    public static func checkZones(
        _ ctx: GatewayContext, only: Set<String>? = nil, timeout: Double = 30,
        stillHeld: () -> Bool = { true }
    ) -> [ZoneHealth] {
        let zones = only.map { names in ctx.zones.filter { names.contains($0.key) } } ?? ctx.zones
        let (previous, out) = probeZones(
            zones, metadata: ctx.metadata, clock: ctx.clock, timeout: timeout, logger: ctx.logger,
            stillHeld: stillHeld)
        guard stillHeld() else {
            ctx.logger.notice(
                "zone health check: the health lease passed to another host meanwhile; its result dropped")
            return out
        }
        Failover.afterHealthCheck(previous: previous, current: out, ctx)
        return out
    }

    /// Probes `zones` side by side, each on its own thread, and records each result folded into
    /// the zone's previous record. The probes take at most `timeout` seconds: a provider's probe
    /// is bounded by its zone's own timeouts, and one that still has not returned by then (a
    /// filesystem zone on a hung mount) counts as failed rather than holding up the caller or the
    /// other zones. It is not started again while it hangs. Returns the records before and the
    /// new ones, in zone name order.
    public static func probeZones(
        _ zones: [String: any StorageZone], metadata: any MetadataStore, clock: any Clock, timeout: Double,
        logger: Logger, stillHeld: () -> Bool = { true }
    ) -> (previous: [String: ZoneHealth], current: [ZoneHealth]) {
        let previous = Dictionary(((try? metadata.zoneHealth()) ?? []).map { ($0.zone, $0) }) { a, _ in a }
        let results = probeAll(zones, timeout: timeout)
        // Nothing recorded by a prober that lost its lease while probing (`checkZones`).
        guard stillHeld() else { return (previous, []) }
        var out: [ZoneHealth] = []
        for name in zones.keys.sorted() {
            let result = results[name] ?? .failure(.zoneUnavailable("zone \(name): not probed"))
            let h = ZoneHealth.next(after: previous[name], zone: name, result: result, at: clock.now())
            if h.state != previous[name]?.state {
                logger.notice(
                    "zone \(name) is \(h.state.rawValue)\(h.lastError.isEmpty || h.state == .healthy ? "" : ": " + h.lastError)"
                )
            }
            try? metadata.recordZoneHealth(h)
            out.append(h)
        }
        return (previous, out)
    }

    /// Zones whose probe is running (in this process), so a hung one is not piled up on.
    private static let probing = Mutex<Set<String>>([])

    private static func probeAll(_ zones: [String: any StorageZone], timeout: Double) -> [String: Result<
        Double, StoreError
    >] {
        let results = ProbeResults()
        let finished = DispatchGroup()
        for (name, zone) in zones {
            guard probing.withLock({ $0.insert(name).inserted }) else {
                results.set(name, .failure(.zoneUnavailable("zone \(name): the previous probe has not returned yet")))
                continue
            }
            finished.enter()
            Thread.detachNewThread {
                let result: Result<Double, StoreError>
                do throws(StoreError) {
                    result = .success(try zone.probe())
                } catch {
                    result = .failure(error)
                }
                results.set(name, result)
                _ = probing.withLock { $0.remove(name) }
                finished.leave()
            }
        }
        _ = finished.wait(timeout: .now() + timeout)
        var all = results.snapshot
        for name in zones.keys where all[name] == nil {
            let bound = timeout == timeout.rounded() ? String(Int(timeout)) : String(timeout)
            all[name] = .failure(.zoneUnavailable("zone \(name): the probe did not return within \(bound) s"))
        }
        return all
    }

    /// Filled in by the probe threads; a probe that returns after the wait ended is ignored.
    private final class ProbeResults: Sendable {
        private let results = Mutex<[String: Result<Double, StoreError>]>([:])
        func set(_ zone: String, _ result: Result<Double, StoreError>) { results.withLock { $0[zone] = result } }
        var snapshot: [String: Result<Double, StoreError>] { results.withLock { $0 } }
    }
}
