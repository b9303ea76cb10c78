import GatewayCore
import Logging

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
            for upload in batch {
                let parts: [PartRecord]
                do {
                    parts = try ctx.metadata.abortUpload(upload.uploadId)
                } catch {
                    if error == .noSuchUpload { continue }  // completed or aborted meanwhile
                    throw error
                }
                removed += 1
                guard let bucket = try ctx.metadata.bucket(named: upload.bucket) else { continue }
                Handlers.releaseParts(of: upload, parts, bucket: bucket, ctx, ctx.logger)
            }
        }
    }

    /// Probes every zone once and records the result (healthy, degraded, down).
    @discardableResult
    public static func checkZones(_ ctx: GatewayContext) -> [ZoneHealth] {
        let previous = Dictionary(
            uniqueKeysWithValues: ((try? ctx.metadata.zoneHealth()) ?? []).map { ($0.zone, $0) })
        var out: [ZoneHealth] = []
        for name in ctx.zones.keys.sorted() {
            let result: Result<Double, StoreError>
            do {
                result = .success(try ctx.zones[name]!.probe())
            } catch {
                result = .failure(error)
            }
            let h = ZoneHealth.next(after: previous[name], zone: name, result: result, at: ctx.clock.now())
            if h.state != previous[name]?.state {
                ctx.logger.notice(
                    "zone \(name) is \(h.state.rawValue)\(h.lastError.isEmpty || h.state == .healthy ? "" : ": " + h.lastError)"
                )
            }
            try? ctx.metadata.recordZoneHealth(h)
            out.append(h)
        }
        return out
    }
}
