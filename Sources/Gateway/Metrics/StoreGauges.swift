import Foundation
import GatewayCore
import Metrics

/// The gauges a scrape reads from the metadata store rather than from the counter files: they
/// describe shared state (the replication queue, zone health, the agent's liveness), which any
/// worker reads alike, so there is nothing to add up across processes.
enum StoreGauges {
    static func add(to s: inout MetricsSnapshot, _ ctx: GatewayContext, now: Double) {
        if let q = try? ctx.metadata.queueStats(now: now) {
            s.set(.replicationQueue, ["pending"], Double(q.pending))
            s.set(.replicationQueue, ["running"], Double(q.running))
            s.set(.replicationQueue, ["dead"], Double(q.dead))
            s.set(.replicationOldestPending, [], q.oldestPendingAge)
            s.set(.replicationDeadLetters, [], Double(q.dead))
        }
        if let down = try? Readiness.zonesDown(ctx.metadata) {
            for z in ctx.catalog.zones { s.set(.zoneUp, [z.name, z.country], down.contains(z.name) ? 0 : 1) }
        }
        if let beats = try? Heartbeat.all(.agent, ctx.metadata) {
            let freshest = beats.map(\.beatAt).max()
            s.set(.agentUp, [], freshest.map { now - $0 < Heartbeat.aliveWithin } == true ? 1 : 0)
            if let freshest { s.set(.agentHeartbeatAge, [], max(0, now - freshest)) }
        }
        // The chain's length is its last seq; a digest's age from the end of its period.
        if let last = try? ctx.metadata.auditRecords(AuditQuery(limit: 1, newest: true)) {
            s.set(.auditRecords, [], Double(last.first?.seq ?? 0))
        }
        if let digest = try? ctx.metadata.auditDigests(after: 0, limit: 1, newest: true).first {
            s.set(.auditLastDigestAge, [], max(0, now - Double(digest.periodEnd) / 1000))
        }
        // A count older than three intervals is left out: the agent stopped, and a number that
        // no longer moves would look like a zone that stopped growing.
        if let stored = ZoneStoredBytes.read(ctx.metadata), now - stored.at <= 3 * ZoneStoredBytes.interval {
            for z in ctx.catalog.zones { s.set(.zoneStoredBytes, [z.name], Double(stored.zones[z.name] ?? 0)) }
        }
    }
}

/// Bytes each zone holds for the buckets' objects, every version (primary copies and verified
/// replicas; not uploads in progress nor blobs no object names: `storedBytesPerZone`), added
/// up by the agent on a thread of its own every few minutes and kept in its notes: reading
/// every version is too slow for a scrape, and the number changes slowly.
public enum ZoneStoredBytes {
    static let key = "metrics/zone-stored-bytes"
    /// Seconds between two counts.
    public static let interval: Double = 300

    struct Note: Codable {
        var at: Double
        var zones: [String: Int64]
    }

    /// Counts and records; returns the bytes per zone.
    @discardableResult
    public static func refresh(_ ctx: GatewayContext, now: Double) throws(StoreError) -> [String: Int64] {
        let zones = try ctx.metadata.storedBytesPerZone()
        let json = (try? JSONEncoder().encode(Note(at: now, zones: zones))).map { String(decoding: $0, as: UTF8.self) }
        try ctx.metadata.setAgentState(key, json)
        return zones
    }

    static func read(_ metadata: any MetadataStore) -> Note? {
        guard let text = try? metadata.agentState(key) else { return nil }
        return try? JSONDecoder().decode(Note.self, from: Data(text.utf8))
    }
}
